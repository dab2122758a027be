/* infer's private helpers shared between its files. */
#ifndef GD_INFER_INTERNAL_H
#define GD_INFER_INTERNAL_H

#include <mpi.h>

#include "gendec/infer.h"

/* GD_EMPI (collective) unless every rank's solver has the same options and generator shape. */
gd_status gd_infer_check_same_options(const gd_infer* s, MPI_Comm comm, gd_error* err);

#endif
