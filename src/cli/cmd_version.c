/* gendec version: what was built, from which revision, against which libraries. */
#include <cblas.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "cli.h"
#include "gendec/version.h"

/* `gendec version --mpi`: starts MPI (under mpiexec or srun) and has rank 0 print the world size and the
 * hosts, so that a job can check that its MPI step comes up. Returns the exit code. */
static int version_mpi(void) {
    int provided, rank, size;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "gendec version: MPI_Init failed\n");
        return CLI_EXIT_FAIL;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char host[64] = {0};
    gethostname(host, sizeof host - 1);
    char* all = rank == 0 ? calloc((size_t)size, sizeof host) : NULL;
    if (rank == 0 && !all) MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_FAIL);
    MPI_Gather(host, (int)sizeof host, MPI_CHAR, all, (int)sizeof host, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        int nodes = 0;
        for (int r = 0; r < size; r++) {
            int seen = 0;
            for (int q = 0; q < r && !seen; q++) seen = !strcmp(all + (size_t)r * sizeof host, all + (size_t)q * sizeof host);
            nodes += !seen;
        }
        printf("  MPI world: %d rank%s on %d node%s (rank 0 on %s)\n", size, size == 1 ? "" : "s", nodes,
               nodes == 1 ? "" : "s", host);
        fflush(stdout);
    }
    free(all);
    MPI_Finalize();
    return CLI_EXIT_OK;
}

int cmd_version(int argc, char** argv) {
    if (cli_wants_help(argc, argv)) {
        printf("usage: gendec version [--mpi]\n\nPrints gendec's version, the git revision it was built from, and the "
               "versions of MPI, HDF5, OpenBLAS and libyaml it was built against.\n"
               "  --mpi   also start MPI and print the number of ranks and nodes (run it under mpiexec or srun;\n"
               "          only rank 0 prints; `gendec submit` runs it as its pre-flight job)\n");
        return CLI_EXIT_OK;
    }
    int with_mpi = argc == 2 && !strcmp(argv[1], "--mpi");
    if (argc > 1 && !with_mpi) return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    if (with_mpi) {
        /* Every rank runs this; only rank 0 (by the launcher's environment) prints the versions. */
        const char* r = getenv("OMPI_COMM_WORLD_RANK");
        if (!r) r = getenv("PMIX_RANK");
        if (!r) r = getenv("SLURM_PROCID");
        if (r && atoi(r) != 0) return version_mpi();
    }
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(mpi, &len);
    char* nl = strchr(mpi, '\n');
    if (nl) *nl = '\0';
    char* comma = strchr(mpi, ',');
    if (comma) *comma = '\0';
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    hbool_t parallel = 0;
#ifdef H5_HAVE_PARALLEL
    parallel = 1;
#endif
    printf("gendec %s (git %s)\n", GD_VERSION, GD_GIT_REVISION);
    printf("  MPI      %s (standard %d.%d)\n", mpi, MPI_VERSION, MPI_SUBVERSION);
    printf("  HDF5     %u.%u.%u%s (built against %d.%d.%d)\n", maj, min, rel, parallel ? " parallel" : " serial",
           H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
    printf("  OpenBLAS %s\n", openblas_get_config());
    printf("  libyaml  %s\n", yaml_get_version_string());
    if (with_mpi) {
        fflush(stdout);
        return version_mpi();
    }
    return CLI_EXIT_OK;
}
