/*
 * cmd_merge.c — `weightlint merge PART... -o analysis.json`: joins the parts of a sharded run
 * (`analyze --shard K/N --format json`, docs/shards.md) into the analysis JSON a single process
 * writes: the same layers in tensor order, the same summary (recomputed from the layers by the
 * same code) and coverage. The parts must come from the same model file (SHA-256), the same
 * settings and this weightlint version, and cover every shard exactly once with the layers the
 * shard assignment gave them; otherwise nothing is written and the exit code is 3.
 */
#include "analysis_in.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char merge_help[] =
    "usage: weightlint merge [-o FILE] PART...\n"
    "\n"
    "Joins the parts of a sharded analysis (the JSON `weightlint analyze` writes for each\n"
    "shard) into the analysis JSON of a single run. Refuses (exit 3, nothing written) parts of different\n"
    "model files, settings or weightlint versions, a missing or repeated shard, or a part\n"
    "whose layers are not its shard's.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE  write the analysis to FILE instead of stdout\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit codes: 0 merged, 2 usage error, 3 a part unreadable, foreign or incomplete.\n";

/* Checks part p's model m against part 0's; prints why and returns -1 when it does not fit. */
static int same_run(const cli_analysis_doc *parts, char **names, int p, int m)
{
    const wl_analysis *a = parts[0].models[m], *b = parts[p].models[m];
    if (b->shard_count == 0) {
        cli_error("merge: %s: model '%s' is not a shard part (made without analyze --shard)",
                  names[p], b->path);
        return -1;
    }
    if (strcmp(a->path, b->path) != 0) {
        cli_error("merge: %s is a part of model '%s', %s of '%s'", names[p], b->path, names[0],
                  a->path);
        return -1;
    }
    if (strcmp(a->model_sha256, b->model_sha256) != 0) {
        cli_error("merge: %s and %s analyzed different files named '%s' (SHA-256 %.12s... vs "
                  "%.12s...)",
                  names[0], names[p], a->path, a->model_sha256, b->model_sha256);
        return -1;
    }
    if (strcmp(parts[p].versions[m], wl_version()) != 0) {
        cli_error("merge: %s was written by weightlint %s, this is %s: merge with the same "
                  "version",
                  names[p], parts[p].versions[m], wl_version());
        return -1;
    }
    if (strcmp(parts[0].settings[m], parts[p].settings[m]) != 0) {
        cli_error("merge: %s and %s ran with different settings: %s vs %s", names[0], names[p],
                  parts[0].settings[m], parts[p].settings[m]);
        return -1;
    }
    if (a->shard_count != b->shard_count) {
        cli_error("merge: %s is shard %d of %d, %s shard %d of %d", names[0], a->shard_index,
                  a->shard_count, names[p], b->shard_index, b->shard_count);
        return -1;
    }
    if (a->n_inventory != b->n_inventory || a->n_tensors != b->n_tensors) {
        cli_error("merge: %s and %s list different layers of '%s'", names[0], names[p],
                  a->path);
        return -1;
    }
    for (size_t i = 0; i < a->n_inventory; i++)
        if (strcmp(a->inventory[i].id, b->inventory[i].id) != 0 ||
            a->inventory[i].shard != b->inventory[i].shard) {
            cli_error("merge: %s and %s list different layers of '%s' (at '%s')", names[0],
                      names[p], a->path, a->inventory[i].id);
            return -1;
        }
    /* Its rows must be exactly its shard's, in inventory order. */
    size_t k = 0;
    for (size_t i = 0; i < b->n_inventory; i++) {
        if (b->inventory[i].shard != b->shard_index)
            continue;
        if (k >= b->n_layers || strcmp(b->layers[k].id, b->inventory[i].id) != 0) {
            cli_error("merge: %s (shard %d of %d) lacks layer '%s' of its shard", names[p],
                      b->shard_index, b->shard_count, b->inventory[i].id);
            return -1;
        }
        k++;
    }
    if (k != b->n_layers) {
        cli_error("merge: %s (shard %d of %d) has layer '%s', which is not its shard's",
                  names[p], b->shard_index, b->shard_count, b->layers[k].id);
        return -1;
    }
    return 0;
}

/* The merged result of model m: shallow copies of the parts' rows (the parts own them). */
static int join_model(const cli_analysis_doc *parts, int n_parts, int m, wl_analysis *out)
{
    const wl_analysis *a = parts[0].models[m];
    const wl_analysis **by_shard = calloc((size_t)n_parts, sizeof *by_shard);
    size_t *next = calloc((size_t)n_parts, sizeof *next);
    out->layers = calloc(a->n_inventory ? a->n_inventory : 1, sizeof *out->layers);
    if (by_shard == NULL || next == NULL || out->layers == NULL) {
        free(by_shard);
        free(next);
        cli_error("out of memory");
        return -1;
    }
    for (int p = 0; p < n_parts; p++)
        by_shard[parts[p].models[m]->shard_index] = parts[p].models[m];
    for (size_t i = 0; i < a->n_inventory; i++) {
        int s = a->inventory[i].shard;
        out->layers[out->n_layers++] = by_shard[s]->layers[next[s]++];
    }
    out->path = a->path;
    out->compat = a->compat;
    out->fast = a->fast;
    out->skipped = a->skipped;
    out->n_skipped = a->n_skipped;
    out->n_tensors = a->n_tensors;
    out->ir_version = a->ir_version;
    out->producer = a->producer;
    out->blas = a->blas;
    for (int p = 1; p < n_parts; p++)
        if (strcmp(parts[p].models[m]->blas, a->blas) != 0)
            cli_warning("merge: the parts of '%s' ran on different BLAS builds (%s; %s): the "
                        "merged file names the first",
                        a->path, a->blas, parts[p].models[m]->blas);
    wl_analysis_summarize(out);
    free(by_shard);
    free(next);
    return 0;
}

int cli_merge_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *output = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 'h':
            fputs(merge_help, stdout);
            return WL_EXIT_OK;
        default:
            return cli_bad_option("merge", argv);
        }
    }
    int n_parts = argc - optind;
    if (n_parts < 1) {
        cli_error("merge: no PART given (usage: weightlint merge [-o FILE] PART...)");
        return WL_EXIT_USAGE;
    }
    char **names = argv + optind;
    cli_analysis_doc *parts = calloc((size_t)n_parts, sizeof *parts);
    wl_analysis *merged = NULL, **ptrs = NULL;
    int rc = WL_EXIT_OK, n_models = 0;
    if (parts == NULL) {
        cli_error("out of memory");
        return WL_EXIT_INTERNAL;
    }
    for (int p = 0; p < n_parts && rc == WL_EXIT_OK; p++) {
        wl_err err;
        wl_err_clear(&err);
        wl_status st = cli_analysis_read(names[p], &parts[p], &err);
        if (st != WL_OK) {
            cli_error("%s", err.msg);
            rc = st == WL_E_NOMEM ? WL_EXIT_INTERNAL : WL_EXIT_MODEL;
        }
    }
    if (rc != WL_EXIT_OK)
        goto out;
    n_models = parts[0].n_models;
    rc = WL_EXIT_MODEL;
    for (int p = 1; p < n_parts; p++)
        if (parts[p].n_models != n_models) {
            cli_error("merge: %s holds %d models, %s %d", names[0], n_models, names[p],
                      parts[p].n_models);
            goto out;
        }
    for (int m = 0; m < n_models; m++) {
        for (int p = 0; p < n_parts; p++)
            if (same_run(parts, names, p, m) != 0)
                goto out;
        const wl_analysis *a = parts[0].models[m];
        int *seen = calloc((size_t)a->shard_count, sizeof *seen);
        if (seen == NULL) {
            cli_error("out of memory");
            rc = WL_EXIT_INTERNAL;
            goto out;
        }
        int ok = 1;
        for (int p = 0; p < n_parts && ok; p++) {
            int s = parts[p].models[m]->shard_index;
            if (s < 0 || s >= a->shard_count || seen[s]) {
                cli_error("merge: shard %d of %d of '%s' is given twice (%s)", s,
                          a->shard_count, a->path, names[p]);
                ok = 0;
            } else {
                seen[s] = 1;
            }
        }
        for (int s = 0; s < a->shard_count && ok; s++)
            if (!seen[s]) {
                cli_error("merge: '%s' was split into %d shards; shard %d is missing", a->path,
                          a->shard_count, s);
                ok = 0;
            }
        free(seen);
        if (!ok)
            goto out;
    }
    merged = calloc((size_t)n_models ? (size_t)n_models : 1, sizeof *merged);
    ptrs = calloc((size_t)n_models ? (size_t)n_models : 1, sizeof *ptrs);
    if (merged == NULL || ptrs == NULL) {
        cli_error("out of memory");
        rc = WL_EXIT_INTERNAL;
        goto out;
    }
    for (int m = 0; m < n_models; m++) {
        ptrs[m] = &merged[m];
        if (join_model(parts, n_parts, m, &merged[m]) != 0) {
            rc = WL_EXIT_INTERNAL;
            goto out;
        }
    }
    rc = WL_EXIT_OK;
    FILE *f = stdout;
    char tmp[4096];
    if (output != NULL) {
        snprintf(tmp, sizeof tmp, "%s.tmp", output);
        f = fopen(tmp, "w");
        if (f == NULL) {
            cli_error("%s: cannot write: %s", output, strerror(errno));
            rc = WL_EXIT_USAGE;
            goto out;
        }
    }
    cli_write_analysis_json(f, ptrs, n_models, NULL);
    if (output != NULL) {
        if (fclose(f) != 0 || rename(tmp, output) != 0) {
            cli_error("%s: cannot write: %s", output, strerror(errno));
            remove(tmp);
            rc = WL_EXIT_INTERNAL;
        }
    } else if (fflush(stdout) != 0) {
        rc = WL_EXIT_INTERNAL;
    }
out:
    if (merged != NULL)
        for (int m = 0; m < n_models; m++)
            free(merged[m].layers); /* the rows themselves belong to the parts */
    free(merged);
    free(ptrs);
    for (int p = 0; p < n_parts; p++)
        cli_analysis_doc_free(&parts[p]);
    free(parts);
    return rc;
}
