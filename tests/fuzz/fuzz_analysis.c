/*
 * fuzz_analysis.c — libFuzzer entry for the analysis-JSON reader (src/cli/analysis_in.c): the
 * file that check, compare, report and merge accept in place of a model (issue #13), and that a
 * pull request or a shared shard folder can supply. Each input is written to a private file and
 * read with cli_analysis_read. On success every model must feed the default rules and all six
 * report formats, and the analysis must round-trip: written with cli_write_analysis_json and
 * read again, it must read, and written a second time it must give the same bytes (the writer
 * and the reader agree on every field). Any status is fine; a crash, a sanitizer report, a
 * leak or a broken contract (success without models, failure without a message) is a bug.
 */
#include "cli/analysis_in.h"
#include "cli/cli.h"
#include "report.h"
#include "rules.h"
#include "weightlint.h"

#include "fuzz_common.h"

static const char *path, *path2, *path3;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("fuzz_analysis");
    path = fuzz_path("analysis.json");
    path2 = fuzz_path("again.json");
    path3 = fuzz_path("third.json");
    return 0;
}

/* Writes doc's models as an analysis JSON to p. */
static void write_doc(const char *p, const cli_analysis_doc *doc)
{
    FILE *f = fopen(p, "w");
    if (!f)
        abort();
    cli_write_analysis_json(f, doc->models, doc->n_models, NULL);
    if (fclose(f) != 0)
        abort();
}

/* The whole content of p, NUL-terminated, in a new buffer (*n its length). */
static char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        abort();
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
        abort();
    buf[len] = '\0';
    fclose(f);
    *n = (size_t)len;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(path, data, size);
    cli_analysis_doc doc;
    memset(&doc, 0, sizeof doc);
    wl_err err;
    wl_err_clear(&err);
    wl_status st = cli_analysis_read(path, &doc, &err);
    if (st != WL_OK) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    if (doc.n_models < 1 || !doc.models)
        abort();
    for (int m = 0; m < doc.n_models; m++)
        fuzz_lint(doc.models[m]);

    write_doc(path2, &doc);
    cli_analysis_doc again;
    memset(&again, 0, sizeof again);
    wl_err_clear(&err);
    if (cli_analysis_read(path2, &again, &err) != WL_OK) {
        fprintf(stderr, "written analysis does not read back: %s\n", err.msg);
        abort();
    }
    write_doc(path3, &again);
    size_t n2, n3;
    char *b2 = slurp(path2, &n2), *b3 = slurp(path3, &n3);
    if (n2 != n3 || memcmp(b2, b3, n2) != 0) {
        fprintf(stderr, "analysis JSON does not round-trip to the same bytes\n");
        abort();
    }
    free(b2);
    free(b3);
    cli_analysis_doc_free(&again);
    cli_analysis_doc_free(&doc);
    return 0;
}
