/*
 * json_out.c — streaming JSON writer (see json_out.h). Doubles are printed with the shortest
 * "%.*g" precision that reads back to the same value, so strtod recovers them exactly.
 */
#include "json_out.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void wl_json_init(wl_json *j, FILE *f, int pretty)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->pretty = pretty;
}

static void newline_indent(wl_json *j)
{
    if (!j->pretty)
        return;
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

/* Called before any value or key: writes the separator owed at this level. */
static void before_item(wl_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0) {
        if (j->need_comma[j->depth])
            fputc(',', j->f);
        j->need_comma[j->depth] = 1;
        newline_indent(j);
    }
}

static void open_level(wl_json *j, char c)
{
    before_item(j);
    fputc(c, j->f);
    if (j->depth + 1 < WL_JSON_MAX_DEPTH)
        j->depth++;
    j->need_comma[j->depth] = 0;
}

static void close_level(wl_json *j, char c)
{
    int had_items = j->need_comma[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (had_items)
        newline_indent(j);
    fputc(c, j->f);
}

void wl_json_begin_object(wl_json *j)
{
    open_level(j, '{');
}

void wl_json_end_object(wl_json *j)
{
    close_level(j, '}');
}

void wl_json_begin_array(wl_json *j)
{
    open_level(j, '[');
}

void wl_json_end_array(wl_json *j)
{
    close_level(j, ']');
}

/* The length of the well-formed UTF-8 sequence at p (1-4; Unicode 15 table 3-7: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 when p does not start one. */
static int utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    int n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

void wl_json_escape(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80) { /* JSON is UTF-8 (RFC 8259 §8.1): a stray byte becomes U+FFFD */
            int n = utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", f);
                continue;
            }
            fwrite(p, 1, (size_t)n, f);
            p += n - 1;
            continue;
        }
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
}

void wl_json_key(wl_json *j, const char *key)
{
    before_item(j);
    fputc('"', j->f);
    wl_json_escape(j->f, key);
    fputs(j->pretty ? "\": " : "\":", j->f);
    j->after_key = 1;
}

void wl_json_string(wl_json *j, const char *s)
{
    if (s == NULL) {
        wl_json_null(j);
        return;
    }
    before_item(j);
    fputc('"', j->f);
    wl_json_escape(j->f, s);
    fputc('"', j->f);
}

void wl_json_double(wl_json *j, double v)
{
    if (isnan(v)) {
        wl_json_string(j, "nan");
        return;
    }
    if (isinf(v)) {
        wl_json_string(j, v > 0 ? "inf" : "-inf");
        return;
    }
    before_item(j);
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* Keep integral doubles recognisably floating point ("2.0", not "2"). */
    if (strpbrk(buf, ".eEn") == NULL)
        strcat(buf, ".0");
    fputs(buf, j->f);
}

void wl_json_int(wl_json *j, int64_t v)
{
    before_item(j);
    fprintf(j->f, "%lld", (long long)v);
}

void wl_json_bool(wl_json *j, int v)
{
    before_item(j);
    fputs(v ? "true" : "false", j->f);
}

void wl_json_null(wl_json *j)
{
    before_item(j);
    fputs("null", j->f);
}
