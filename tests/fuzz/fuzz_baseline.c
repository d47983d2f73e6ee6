/*
 * fuzz_baseline.c — libFuzzer entry for the baseline reader (src/rules_baseline.c), the file a
 * pull request can commit next to its models and name with --baseline. Each input is written
 * to a private temporary file and loaded with wl_baseline_load; on success it is applied to a
 * small list of findings and written back with wl_baseline_write, and that output must load
 * again with the same number of entries. Any status is fine; a crash, a sanitizer report, a
 * leak or a broken contract (success without a baseline, failure without a message) is a bug.
 */
#include "rules.h"
#include "weightlint.h"

#include "fuzz_common.h"

static const char *path, *path2;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("fuzz_baseline");
    path = fuzz_path("baseline.txt");
    path2 = fuzz_path("again.txt");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(path, data, size);
    wl_baseline *b = NULL;
    wl_err err;
    wl_err_clear(&err);
    wl_status st = wl_baseline_load(path, &b, &err);
    if ((st == WL_OK) != (b != NULL) || (st != WL_OK && err.msg[0] == '\0'))
        abort();
    if (!b)
        return 0;
    /* A finding per baseline entry (its fingerprint is not needed: apply hashes anew), with
     * names holding the characters the writer must escape. */
    wl_finding items[3];
    memset(items, 0, sizeof items);
    char model[] = "m\t1.onnx", layer[] = "fc\n1", id[] = "fc1";
    for (int i = 0; i < 3; i++) {
        items[i].code = "WL101";
        items[i].model = model;
        items[i].layer = i ? layer : NULL;
        items[i].id = i == 2 ? id : NULL;
    }
    wl_findings f = {items, 3, 3};
    size_t n_marked = wl_baseline_apply(b, &f);
    if (n_marked > 3)
        abort();
    FILE *out = fopen(path2, "w");
    if (!out)
        abort();
    wl_err_clear(&err);
    if (wl_baseline_write(&f, out, &err) != WL_OK)
        abort();
    fclose(out);
    wl_baseline *again = NULL;
    wl_err_clear(&err);
    if (wl_baseline_load(path2, &again, &err) != WL_OK || again->n != 3) {
        fprintf(stderr, "written baseline does not load back: %s\n", err.msg);
        abort();
    }
    wl_baseline_free(again);
    wl_baseline_free(b);
    return 0;
}
