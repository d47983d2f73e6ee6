/*
 * fuzz_rules.c — libFuzzer entry for the rules loader (src/rules_load.c): YAML with anchors,
 * aliases, deep nesting, huge scalars and `extends:` chains between files, the way a pull
 * request controls .weightlint.yaml. The input is cut at each line "#@" into up to three
 * files of a private temporary folder: a.yaml, b.yaml and sub/c.yaml, so `extends: b.yaml`,
 * `extends: ../a.yaml` (a cycle) or `extends: sub/c.yaml` resolve to fuzzed text too. The
 * folder is no git repository, so extends is confined to it (docs/rules.md).
 *
 * Each input runs: wl_rules_load_string on the first part, wl_rules_load_file on a.yaml, and
 * on success the consumers of a ruleset: wl_rules_effective, wl_compare_cfg_from_rules,
 * wl_rules_eval over a real analysis (tests/conformance/models/mlp3.onnx, analysed once) and
 * wl_rules_write_yaml, whose output must load again (--print-config promises a valid rules
 * file). Any status is fine; a crash, a sanitizer report, a leak or a broken contract
 * (success without a ruleset, failure without a message) is a bug.
 */
#include "compare.h"
#include "rules.h"
#include "weightlint.h"

#include "fuzz_common.h"

#include <sys/stat.h>

static const char *paths[3];
static wl_analysis *model; /* NULL when the model is not found (run from the repo root) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("fuzz_rules");
    paths[0] = fuzz_path("a.yaml");
    paths[1] = fuzz_path("b.yaml");
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/sub", fuzz_dir);
    if (mkdir(sub, 0700) != 0)
        abort();
    fuzz_register_dir(sub);
    paths[2] = fuzz_path("sub/c.yaml");
    wl_options opts;
    wl_options_init(&opts, WL_COMPAT_NONE);
    opts.threads = 1;
    wl_err err;
    wl_err_clear(&err);
    const char *m = getenv("FUZZ_MODEL") ? getenv("FUZZ_MODEL")
                                         : "tests/conformance/models/mlp3.onnx";
    if (wl_analyze_file(m, &opts, &model, &err) != WL_OK)
        model = NULL;
    return 0;
}

static void check(wl_status st, const wl_rules *r, const wl_err *err)
{
    if ((st == WL_OK) != (r != NULL) || (st != WL_OK && err->msg[0] == '\0'))
        abort();
}

/* Everything a command does with a loaded ruleset. */
static void use(wl_rules *r)
{
    wl_rule_cfg cfg;
    for (int i = 0; i < WL_RULE_COUNT; i++) {
        wl_rules_effective(r, "fc1.weight", (wl_rule_id)i, &cfg);
        wl_rules_effective(r, NULL, (wl_rule_id)i, &cfg);
    }
    wl_err err;
    wl_err_clear(&err);
    wl_compare_cfg ccfg;
    if (wl_compare_cfg_from_rules(r, &ccfg, &err) != WL_OK && err.msg[0] == '\0')
        abort();
    if (model) {
        wl_findings f = {0};
        wl_err_clear(&err);
        if (wl_rules_eval(r, model, &f, &err) == WL_OK) {
            wl_err_clear(&err);
            if (wl_rules_unused(r, &f, &err) != WL_OK)
                abort();
        }
        wl_findings_clear(&f);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        abort();
    wl_rules_write_yaml(r, mem);
    fclose(mem);
    wl_rules *again = NULL;
    wl_err_clear(&err);
    if (wl_rules_load_string(text, len, "print-config.yaml", &again, &err) != WL_OK) {
        fprintf(stderr, "--print-config output does not load: %s\n%s\n", err.msg, text);
        abort();
    }
    wl_rules_free(again);
    free(text);
}

/* The first "\n#@\n" in [p, end), or NULL. */
static const uint8_t *find(const uint8_t *p, const uint8_t *end, const char *sep)
{
    for (; end - p >= 4; p++)
        if (memcmp(p, sep, 4) == 0)
            return p;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sep[] = "\n#@\n";
    const uint8_t *part = data, *end = data + size;
    size_t first_len = size;
    for (int i = 0; i < 3; i++) {
        const uint8_t *cut = i < 2 ? find(part, end, sep) : NULL;
        const uint8_t *stop = cut ? cut + 1 : end; /* keep the newline in the part */
        if (i == 0)
            first_len = (size_t)(stop - part);
        fuzz_write(paths[i], part, (size_t)(stop - part));
        part = cut ? cut + 4 : end;
    }
    wl_err err;
    wl_err_clear(&err);
    wl_rules *r = NULL;
    wl_status st = wl_rules_load_string((const char *)data, first_len, paths[0], &r, &err);
    check(st, r, &err);
    if (r)
        use(r);
    wl_rules_free(r);
    r = NULL;
    wl_err_clear(&err);
    st = wl_rules_load_file(paths[0], &r, &err);
    check(st, r, &err);
    if (r)
        use(r);
    wl_rules_free(r);
    return 0;
}
