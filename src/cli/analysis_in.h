/*
 * analysis_in.h — an analysis JSON read back into results (analysis_in.c).
 */
#ifndef WL_CLI_ANALYSIS_IN_H
#define WL_CLI_ANALYSIS_IN_H

#include "weightlint.h"

/* The models of one analysis JSON file. */
typedef struct cli_analysis_doc {
    wl_analysis **models; /* owned; layers, skipped, coverage and provenance as written */
    int n_models;
    char **settings; /* per model: a shard part's settings as compact sorted JSON, else NULL */
    char **versions; /* per model: provenance.weightlint_version */
} cli_analysis_doc;

/* 1 when the file looks like JSON (its first non-blank byte is '{'), not ONNX: how check,
 * compare and report tell an analysis from a model. */
int cli_analysis_sniff(const char *path);

/* The path of the (first) model an analysis JSON names, as a new string, or NULL when the file
 * cannot be read as one: where rules discovery starts for an analysis input. */
char *cli_analysis_model_path(const char *path);

/* Reads an analysis JSON. Returns WL_OK with *doc filled (free with cli_analysis_doc_free),
 * or an error with err->msg "FILE: ...": WL_E_IO (unreadable), WL_E_FORMAT (not JSON, not an
 * analysis, another schema_version, a field of the wrong type), WL_E_NOMEM. Summaries are
 * recomputed from the layers, with the code that made them, so they come out bit-identical. */
wl_status cli_analysis_read(const char *path, cli_analysis_doc *doc, wl_err *err);
void cli_analysis_doc_free(cli_analysis_doc *doc);

#endif
