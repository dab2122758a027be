/* gendec report's model work (src/cli/report_model.c). */
#ifndef GD_CLI_REPORT_MODEL_H
#define GD_CLI_REPORT_MODEL_H

#include "gendec/report.h"

/* For run `run` of r with an eval.h5: reads the data file it names, gives the report the component/class names
 * and (with cnn.h5) the CNN's answers on the evaluated images, and (with model.h5) fills ex with Fig. 2 latent
 * samples and the generations of the first n_examples images. A data file that is gone is a warning on stderr,
 * not an error. ex's buffers: cli_report_extra_free. */
gd_status cli_report_prepare(gd_report* r, size_t run, int n_examples, gd_report_extra* ex, gd_error* err);
void cli_report_extra_free(gd_report_extra* x);

#endif
