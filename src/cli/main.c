/* gendec <command> [options]: dispatch, MPI start-up and shutdown. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"version", "print the version, code revision and library versions", cmd_version, 0},
    {"bench", "benchmarks: gemm (sgemm roof)", cmd_bench, 0},
    {"data", "datasets: fetch, show, info, prepare (HDF5 cache)", cmd_data, 0},
    {"config", "check an experiment file and print its resolved configuration", cmd_config, 0},
    {"submit", "submit an experiment's stages as Slurm jobs with dependencies", cmd_submit, 0},
    {"run", "run an experiment's stages in order, skipping those already done", cmd_run, 1},
    {"report", "regenerate the paper's tables and figures from result files", cmd_report, 0},
    {"eval", "classify a split with the trained c-VAE (Eq. 3 + decision rule), write eval.h5", cmd_eval, 1},
    {"sweep", "classifier hyperparameter grid on the validation split, write sweep.h5", cmd_sweep, 1},
    {"train", "train the c-VAE (or --model cnn) on 1 rank or under mpiexec", cmd_train, 1},
    {"sample", "images decoded by each sub-network from random z (paper Fig. 2)", cmd_sample, 0},
    {"attack", "FGM sweep (fgm.h5) or NEAT fooling images (neat.h5) against the CNN, judged by every classifier",
     cmd_attack, 1},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

const cli_command* cli_find_command(const char* name) {
    for (size_t i = 0; i < n_commands; i++)
        if (!strcmp(commands[i].name, name)) return &commands[i];
    return NULL;
}

static void usage(FILE* f) {
    fprintf(f, "usage: gendec <command> [options]\n"
               "       gendec --version | --help\n\n"
               "Decomposition and classification of images through a generative model (Yao et al., ICIP 2019).\n\n"
               "commands:\n");
    for (size_t i = 0; i < n_commands; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nEvery command takes --help. Run under mpiexec for several ranks.\n");
}

int main(int argc, char** argv) {
    /* A file-size limit (ulimit -f) must surface as a write error naming the file, not kill the process. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    const char* name = !strcmp(argv[1], "--version") ? "version" : argv[1];
    for (size_t i = 0; i < n_commands; i++) {
        if (strcmp(commands[i].name, name) != 0) continue;
        int mpi = commands[i].needs_mpi && !cli_wants_help(argc - 1, argv + 1);
        if (mpi) {
            int provided;
            MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
        }
        int rc = commands[i].run(argc - 1, argv + 1);
        if (mpi) {
            /* A rank that fails alone must not leave the others waiting in a collective. */
            if (rc != CLI_EXIT_OK && cli_world_size() > 1 && rc != CLI_EXIT_REQUEUE) MPI_Abort(MPI_COMM_WORLD, rc);
            MPI_Finalize();
        }
        return rc;
    }
    fprintf(stderr, "gendec: '%s' is not a gendec command (see 'gendec --help')\n", argv[1]);
    return CLI_EXIT_USAGE;
}
