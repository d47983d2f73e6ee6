/*
 * json_out.h — a small streaming JSON writer to a FILE*, with string escaping and the
 * project's convention for non-finite numbers (the strings "inf", "-inf", "nan", as in the
 * conformance files). Commas and nesting are tracked so callers only emit keys and values.
 */
#ifndef WL_JSON_OUT_H
#define WL_JSON_OUT_H

#include <stdint.h>
#include <stdio.h>

#define WL_JSON_MAX_DEPTH 32

typedef struct wl_json {
    FILE *f;
    int depth;
    int need_comma[WL_JSON_MAX_DEPTH];
    int pretty;   /* indent with two spaces per level */
    int after_key;
} wl_json;

void wl_json_init(wl_json *j, FILE *f, int pretty);
void wl_json_begin_object(wl_json *j);
void wl_json_end_object(wl_json *j);
void wl_json_begin_array(wl_json *j);
void wl_json_end_array(wl_json *j);
void wl_json_key(wl_json *j, const char *key);
void wl_json_string(wl_json *j, const char *s); /* NULL writes null */
void wl_json_double(wl_json *j, double v);      /* shortest round-trip form; non-finite as strings */
void wl_json_int(wl_json *j, int64_t v);
void wl_json_bool(wl_json *j, int v);
void wl_json_null(wl_json *j);
/* Writes s as a JSON string body (escaped, without quotes) to f. */
void wl_json_escape(FILE *f, const char *s);

#endif
