/*
 * rules_baseline.c — baseline files, so a team can adopt the gate on existing models and fail
 * only on new findings (the approach of ruff's and detekt's baselines). A baseline is text:
 *
 *   # weightlint baseline 1
 *   <fingerprint>\t<code>\t<model>\t<layer id or ->
 *
 * Only the fingerprint (wl_finding_fingerprint: model path + tensor + rule code) is matched;
 * the other columns are for the reader of a diff.
 */
#include "rules.h"
#include "wl_err.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WL_BASELINE_HEADER    "# weightlint baseline 1"
#define WL_BASELINE_MAX_LINES 1000000
#define WL_BASELINE_MAX_BYTES (256u << 20) /* room for WL_BASELINE_MAX_LINES of 256 bytes */

void wl_baseline_free(wl_baseline *b)
{
    if (!b)
        return;
    free(b->fingerprints);
    free(b);
}

static int is_fingerprint(const char *s)
{
    for (int i = 0; i < 16; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return s[16] == '\t' || s[16] == '\n' || s[16] == '\0' || s[16] == '\r';
}

wl_status wl_baseline_load(const char *path, wl_baseline **out, wl_err *err)
{
    wl_status st = WL_OK;
    char line[4096];
    size_t lineno = 0, cap = 0;
    *out = NULL;
    wl_baseline *b = calloc(1, sizeof *b);
    if (!b)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory reading baseline");
    FILE *f = fopen(path, "r");
    if (!f) {
        st = WL_FAIL(err, wl_errno_status(errno, WL_E_USAGE), "%s: cannot open baseline: %s", path,
                     strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
        (uint64_t)sb.st_size > WL_BASELINE_MAX_BYTES) {
        st = WL_FAIL(err, WL_E_USAGE, "%s: baseline file of %lld bytes, larger than the limit of %u",
                     path, (long long)sb.st_size, WL_BASELINE_MAX_BYTES);
        goto out;
    }
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = WL_FAIL(err, WL_E_USAGE, "%s:%zu: line longer than %zu bytes", path, lineno,
                         sizeof line - 2);
            goto out;
        }
        if (lineno == 1 && strncmp(line, WL_BASELINE_HEADER, strlen(WL_BASELINE_HEADER)) != 0) {
            st = WL_FAIL(err, WL_E_USAGE,
                         "%s:1: not a weightlint baseline (expected '%s'; write one with "
                         "--write-baseline)",
                         path, WL_BASELINE_HEADER);
            goto out;
        }
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (!is_fingerprint(line)) {
            st = WL_FAIL(err, WL_E_USAGE,
                         "%s:%zu: expected a 16-hex-digit fingerprint at the start of the line",
                         path, lineno);
            goto out;
        }
        if (b->n == cap) {
            if (cap >= WL_BASELINE_MAX_LINES) {
                st = WL_FAIL(err, WL_E_LIMIT, "%s: more than %d entries", path,
                             WL_BASELINE_MAX_LINES);
                goto out;
            }
            cap = cap ? 2 * cap : 64;
            char(*fp)[17] = realloc(b->fingerprints, cap * sizeof *fp);
            if (!fp) {
                st = WL_FAIL(err, WL_E_NOMEM, "out of memory reading baseline");
                goto out;
            }
            b->fingerprints = fp;
        }
        memcpy(b->fingerprints[b->n], line, 16);
        b->fingerprints[b->n][16] = '\0';
        for (int i = 0; i < 16; i++)
            b->fingerprints[b->n][i] = (char)tolower((unsigned char)line[i]);
        b->n++;
    }
    if (ferror(f))
        st = WL_FAIL(err, WL_E_USAGE, "%s: read error", path);
    else if (lineno == 0)
        st = WL_FAIL(err, WL_E_USAGE, "%s: empty file (expected '%s')", path,
                     WL_BASELINE_HEADER);
out:
    if (f)
        fclose(f);
    if (st)
        wl_baseline_free(b);
    else
        *out = b;
    return st;
}

size_t wl_baseline_apply(const wl_baseline *b, wl_findings *f)
{
    size_t n = 0;
    if (!b)
        return 0;
    for (size_t i = 0; i < f->n; i++) {
        char fp[17];
        wl_finding_fingerprint(&f->items[i], fp);
        for (size_t j = 0; j < b->n; j++)
            if (memcmp(fp, b->fingerprints[j], 16) == 0) {
                f->items[i].is_baselined = 1;
                n++;
                break;
            }
    }
    return n;
}

/* Tabs and newlines in names would break the line format; they are shown as spaces. */
static void put_field(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, out);
}

wl_status wl_baseline_write(const wl_findings *f, FILE *out, wl_err *err)
{
    fprintf(out, "%s\n# fingerprint\tcode\tmodel\ttensor\n", WL_BASELINE_HEADER);
    for (size_t i = 0; i < f->n; i++) {
        const wl_finding *x = &f->items[i];
        if (x->suppressed)
            continue;
        char fp[17];
        wl_finding_fingerprint(x, fp);
        fprintf(out, "%s\t%s\t", fp, x->code);
        put_field(out, x->model ? x->model : "");
        fputc('\t', out);
        put_field(out, x->id ? x->id : x->layer ? x->layer : "-");
        fputc('\n', out);
    }
    if (fflush(out) != 0 || ferror(out))
        return WL_FAIL(err, WL_E_IO, "cannot write baseline: %s", strerror(errno));
    return WL_OK;
}
