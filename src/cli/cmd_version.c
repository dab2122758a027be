/* gendec version: what was built, from which revision, against which libraries. */
#include <cblas.h>
#include <hdf5.h>
#include <mpi.h>
#include <string.h>
#include <yaml.h>

#include "cli.h"
#include "gendec/version.h"

int cmd_version(int argc, char** argv) {
    if (cli_wants_help(argc, argv)) {
        printf("usage: gendec version\n\nPrints gendec's version, the git revision it was built from, and the "
               "versions of MPI, HDF5, OpenBLAS and libyaml it was built against.\n");
        return CLI_EXIT_OK;
    }
    if (argc > 1) return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
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
    return CLI_EXIT_OK;
}
