/*
 * rules_load.c — the rules-file loader: libyaml's document API, then a strict walk that checks
 * every key, type and value against the rule table (rules_table.c). Every error names the file,
 * the 1-based line:column from libyaml's marks, what was found and what was expected, like
 * "rules.yaml:4:16: alpha_max: expected a number, got 'high'".
 *
 * File format (docs/rules.md): top-level keys version, extends, rules, overrides, ignore,
 * compare. A file is applied on top of what it extends (a preset name or a relative path), or
 * on top of the built-in defaults. YAML aliases are refused (no billion-laughs expansion), as
 * are files above WL_RULES_MAX_BYTES and extends chains deeper than WL_RULES_MAX_DEPTH.
 */
#include "phase.h"
#include "rules.h"
#include "wl_err.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define WL_RULES_MAX_BYTES   (1u << 20) /* a rules file is text written by hand */
#define WL_RULES_MAX_DEPTH   8          /* extends chain; deeper is almost surely a cycle */
#define WL_RULES_MAX_NESTING 64         /* mappings/lists inside each other */
#define WL_RULES_MAX_ENTRIES 10000      /* overrides + ignores + compare keys per file */
#define WL_RULES_FILENAME    ".weightlint.yaml"

typedef struct loader {
    const char *file;     /* name used in messages */
    const char *root;     /* resolved folder that `extends:` files must lie in (see load_base) */
    int is_preset;
    int depth;            /* extends depth */
    yaml_document_t doc;
    unsigned char *seen;  /* per node id - 1: visited by the alias check */
    size_t n_nodes;
    wl_err *err;
} loader;

static wl_status load_text(const char *text, size_t len, const char *name,
                           const char *extends_root, int is_preset, int depth, wl_rules **out,
                           wl_err *err);

/* ------------------------------------------------------------------ helpers */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static wl_status nomem(wl_err *err)
{
    return WL_FAIL(err, WL_E_NOMEM, "out of memory while loading rules");
}

static wl_status fail_at(loader *L, const yaml_node_t *n, const char *fmt, ...) WL_PRINTF(3, 4);
static wl_status fail_at(loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t line = n ? n->start_mark.line + 1 : 1, col = n ? n->start_mark.column + 1 : 1;
    return WL_FAIL(L->err, WL_E_RULES, "%s:%zu:%zu: %s", L->file, line, col, msg);
}

static yaml_node_t *node_at(loader *L, int id)
{
    return yaml_document_get_node(&L->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A short description of a node for "got ..." in messages. */
static void describe(const yaml_node_t *n, char *buf, size_t size)
{
    if (!n)
        snprintf(buf, size, "nothing");
    else if (n->type == YAML_MAPPING_NODE)
        snprintf(buf, size, "a mapping");
    else if (n->type == YAML_SEQUENCE_NODE)
        snprintf(buf, size, "a list");
    else if (n->data.scalar.length == 0)
        snprintf(buf, size, "an empty value");
    else
        snprintf(buf, size, "'%.60s%s'", (const char *)n->data.scalar.value,
                 n->data.scalar.length > 60 ? "..." : "");
}

static int is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* Refuses aliases: with the document API an alias is a second reference to a node, so a node
 * reached twice in a walk from the root is one. Also bounds the walk. */
static wl_status check_aliases(loader *L, yaml_node_t *n, int depth)
{
    int id = (int)(n - L->doc.nodes.start) + 1;
    if (id < 1 || (size_t)id > L->n_nodes)
        return WL_FAIL(L->err, WL_E_INTERNAL, "%s: node outside the document", L->file);
    if (L->seen[id - 1])
        return fail_at(L, n, "YAML aliases (*name) are not supported in rules files");
    L->seen[id - 1] = 1;
    if (depth > WL_RULES_MAX_NESTING)
        return fail_at(L, n, "nesting deeper than %d levels", WL_RULES_MAX_NESTING);
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top; it++) {
            wl_status st = check_aliases(L, node_at(L, *it), depth + 1);
            if (st)
                return st;
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node_at(L, p->key);
            if (!scalar(k))
                return fail_at(L, k, "mapping keys must be plain strings");
            wl_status st = check_aliases(L, k, depth + 1);
            if (!st)
                st = check_aliases(L, node_at(L, p->value), depth + 1);
            if (st)
                return st;
        }
    }
    return WL_OK;
}

/* Refuses a key that appears twice in a mapping. */
static wl_status check_duplicates(loader *L, yaml_node_t *map)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++)
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++)
            if (strcmp(scalar(node_at(L, p->key)), scalar(node_at(L, q->key))) == 0)
                return fail_at(L, node_at(L, p->key), "duplicate key '%s' (first at line %zu)",
                               scalar(node_at(L, p->key)),
                               node_at(L, q->key)->start_mark.line + 1);
    return WL_OK;
}

static wl_status expect_map(loader *L, yaml_node_t *n, const char *what)
{
    char got[96];
    if (n->type == YAML_MAPPING_NODE)
        return check_duplicates(L, n);
    /* A top level that is not a mapping means this is not a rules file at all; its content is
     * never quoted, so a config that points at some other file cannot print it into a CI log. */
    if (n == yaml_document_get_root_node(&L->doc))
        return fail_at(L, n, "%s: expected a mapping, got %s (not a rules file)", what,
                       n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar");
    describe(n, got, sizeof got);
    return fail_at(L, n, "%s: expected a mapping, got %s", what, got);
}

static wl_status parse_number(loader *L, yaml_node_t *n, const char *what, double *out)
{
    char got[96];
    const char *s = scalar(n);
    if (s && is_plain(n) && *s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (*end == '\0' && errno == 0 && isfinite(v)) {
            *out = v;
            return WL_OK;
        }
    }
    describe(n, got, sizeof got);
    return fail_at(L, n, "%s: expected a number, got %s", what, got);
}

static wl_status parse_string(loader *L, yaml_node_t *n, const char *what, const char **out)
{
    char got[96];
    const char *s = scalar(n);
    if (s && *s) {
        *out = s;
        return WL_OK;
    }
    describe(n, got, sizeof got);
    return fail_at(L, n, "%s: expected a non-empty string, got %s", what, got);
}

/* fnmatch(3) accepts any pattern; refuse the ones that are surely mistakes: empty, an
 * unterminated [...] set, a trailing backslash. */
static const char *glob_problem(const char *g)
{
    if (!*g)
        return "empty pattern";
    for (const char *p = g; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return "trailing backslash";
            p++;
        } else if (*p == '[') {
            const char *q = p + 1;
            if (*q == '!' || *q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']')
                q++;
            if (!*q)
                return "unterminated '[' set";
            p = q;
        }
    }
    return NULL;
}

/* Parses a glob or a list of globs into a new array. */
static wl_status parse_globs(loader *L, yaml_node_t *n, char ***out, size_t *n_out)
{
    char got[96];
    yaml_node_t *one[1] = {n};
    yaml_node_t **items = one;
    size_t count = 1;
    yaml_node_t **list = NULL;
    wl_status st = WL_OK;
    if (n->type == YAML_SEQUENCE_NODE) {
        count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (count == 0)
            return fail_at(L, n, "layers: expected a glob or a non-empty list of globs");
        list = calloc(count, sizeof *list);
        if (!list)
            return nomem(L->err);
        for (size_t i = 0; i < count; i++)
            list[i] = node_at(L, n->data.sequence.items.start[i]);
        items = list;
    }
    char **globs = calloc(count, sizeof *globs);
    if (!globs) {
        st = nomem(L->err);
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        const char *s = scalar(items[i]);
        if (!s) {
            describe(items[i], got, sizeof got);
            st = fail_at(L, items[i], "layers: expected a tensor-name glob, got %s", got);
            goto out;
        }
        const char *why = glob_problem(s);
        if (why) {
            st = fail_at(L, items[i], "layers: bad glob '%s': %s", s, why);
            goto out;
        }
        if (!(globs[i] = xstrdup(s))) {
            st = nomem(L->err);
            goto out;
        }
    }
    *out = globs;
    *n_out = count;
    globs = NULL;
out:
    if (globs) {
        for (size_t i = 0; i < count; i++)
            free(globs[i]);
        free(globs);
    }
    free(list);
    return st;
}

static const wl_rule_info *find_rule(loader *L, yaml_node_t *k, wl_status *st)
{
    const wl_rule_info *ri = wl_rule_find(scalar(k));
    if (!ri)
        *st = fail_at(L, k,
                      "unknown rule '%s' (expected a rule code or name, e.g. WL101 or "
                      "under-trained; see weightlint check --list-rules)",
                      scalar(k) ? scalar(k) : "");
    return ri;
}

static wl_status parse_severity(loader *L, yaml_node_t *n, const char *what, wl_severity *out)
{
    char got[96];
    const char *s = scalar(n);
    if (s && wl_severity_parse(s, out) == 0)
        return WL_OK;
    describe(n, got, sizeof got);
    return fail_at(L, n, "%s: expected a severity (error, warning, info or off), got %s", what,
                   got);
}

static wl_status parse_phases(loader *L, yaml_node_t *n, const char *what, double *out)
{
    char got[96];
    size_t n_names;
    const char *const *names = wl_phase_names(&n_names);
    unsigned mask = 0;
    size_t count = 1;
    if (n->type == YAML_SEQUENCE_NODE)
        count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *it = n->type == YAML_SEQUENCE_NODE
                              ? node_at(L, n->data.sequence.items.start[i])
                              : n;
        const char *s = scalar(it);
        size_t j = 0;
        while (s && j < n_names && strcmp(s, names[j]) != 0)
            j++;
        if (!s || j == n_names) {
            describe(it, got, sizeof got);
            return fail_at(L, it,
                           "%s: expected a phase (random-like, bleeding-out, bulk+spikes, "
                           "bulk-decay, heavy-tailed, rank-collapse), got %s",
                           what, got);
        }
        mask |= 1u << j;
    }
    *out = (double)mask;
    return WL_OK;
}

static wl_status parse_param(loader *L, const wl_param_info *pi, yaml_node_t *n, double *out)
{
    wl_status st;
    wl_severity sev;
    switch (pi->type) {
    case WL_PARAM_NUMBER:
        return parse_number(L, n, pi->name, out);
    case WL_PARAM_SHARE:
        if ((st = parse_number(L, n, pi->name, out)))
            return st;
        if (*out < 0 || *out > 1)
            return fail_at(L, n, "%s: %g is out of range (expected a share in [0, 1])", pi->name,
                           *out);
        return WL_OK;
    case WL_PARAM_COUNT:
        if ((st = parse_number(L, n, pi->name, out)))
            return st;
        if (*out < 0 || *out > 1e9 || floor(*out) != *out)
            return fail_at(L, n, "%s: %g is not a count (expected an integer in [0, 1e9])",
                           pi->name, *out);
        return WL_OK;
    case WL_PARAM_PHASES:
        return parse_phases(L, n, pi->name, out);
    case WL_PARAM_SEVERITY:
        if ((st = parse_severity(L, n, pi->name, &sev)))
            return st;
        *out = (double)sev;
        return WL_OK;
    }
    return WL_FAIL(L->err, WL_E_INTERNAL, "unknown parameter type %d", (int)pi->type);
}

/* One rule's value: a severity name, or a mapping of severity and parameters. */
static wl_status parse_rule_value(loader *L, const wl_rule_info *ri, yaml_node_t *v,
                                  wl_rule_patch *patch)
{
    char got[96], expected[256];
    wl_status st;
    memset(patch, 0, sizeof *patch);
    patch->rule = ri->id;
    if (v->type == YAML_SCALAR_NODE) {
        if (wl_severity_parse(scalar(v), &patch->severity) == 0) {
            patch->has_severity = 1;
            return WL_OK;
        }
        describe(v, got, sizeof got);
        return fail_at(L, v,
                       "%s: expected a severity (error, warning, info or off) or a mapping of "
                       "settings, got %s",
                       ri->name, got);
    }
    if ((st = expect_map(L, v, ri->name)))
        return st;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(L, p->key), *val = node_at(L, p->value);
        const char *key = scalar(k);
        if (strcmp(key, "severity") == 0) {
            if ((st = parse_severity(L, val, "severity", &patch->severity)))
                return st;
            patch->has_severity = 1;
            continue;
        }
        size_t i = 0;
        while (i < ri->n_params && strcmp(key, ri->params[i].name) != 0)
            i++;
        if (i == ri->n_params) {
            size_t len = (size_t)snprintf(expected, sizeof expected, "severity");
            for (size_t j = 0; j < ri->n_params && len < sizeof expected; j++)
                len += (size_t)snprintf(expected + len, sizeof expected - len, ", %s",
                                        ri->params[j].name);
            return fail_at(L, k, "unknown key '%s' in rule %s %s (expected %s)", key, ri->code,
                           ri->name, expected);
        }
        if ((st = parse_param(L, &ri->params[i], val, &patch->param[i])))
            return st;
        patch->param_mask |= 1u << i;
    }
    return WL_OK;
}

static void apply_patch(wl_rule_cfg *cfg, const wl_rule_patch *p)
{
    if (p->has_severity)
        cfg->severity = p->severity;
    for (size_t i = 0; i < WL_RULE_MAX_PARAMS; i++)
        if (p->param_mask & (1u << i))
            cfg->param[i] = p->param[i];
}

/* A `rules:` mapping into a new patch array. */
static wl_status parse_rules_map(loader *L, yaml_node_t *n, wl_rule_patch **out, size_t *n_out)
{
    wl_status st;
    if ((st = expect_map(L, n, "rules")))
        return st;
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    wl_rule_patch *patches = calloc(count ? count : 1, sizeof *patches);
    if (!patches)
        return nomem(L->err);
    size_t i = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
         p++, i++) {
        yaml_node_t *k = node_at(L, p->key);
        const wl_rule_info *ri = find_rule(L, k, &st);
        if (!ri)
            goto fail;
        /* "WL101" and "under-trained" in one mapping name the same rule twice */
        for (size_t j = 0; j < i; j++)
            if (patches[j].rule == ri->id) {
                st = fail_at(L, k, "rule %s %s is set twice in this mapping", ri->code,
                             ri->name);
                goto fail;
            }
        if ((st = parse_rule_value(L, ri, node_at(L, p->value), &patches[i])))
            goto fail;
    }
    *out = patches;
    *n_out = count;
    return WL_OK;
fail:
    free(patches);
    return st;
}

static wl_status set_origin(loader *L, wl_rules_origin *o, const yaml_node_t *n)
{
    if (!(o->file = xstrdup(L->file)))
        return nomem(L->err);
    o->line = (int)n->start_mark.line + 1;
    o->column = (int)n->start_mark.column + 1;
    o->is_preset = L->is_preset;
    return WL_OK;
}

static wl_status grow(void **arr, size_t n, size_t elem, wl_err *err)
{
    if (n >= WL_RULES_MAX_ENTRIES)
        return WL_FAIL(err, WL_E_LIMIT, "more than %d entries in a rules file",
                       WL_RULES_MAX_ENTRIES);
    void *p = realloc(*arr, (n + 1) * elem);
    if (!p)
        return nomem(err);
    *arr = p;
    memset((char *)p + n * elem, 0, elem);
    return WL_OK;
}

static wl_status parse_overrides(loader *L, yaml_node_t *n, wl_rules *r)
{
    char got[96];
    wl_status st;
    if (n->type != YAML_SEQUENCE_NODE) {
        describe(n, got, sizeof got);
        return fail_at(L, n, "overrides: expected a list of {layers, rules} entries, got %s",
                       got);
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = node_at(L, *it), *layers = NULL, *rules = NULL;
        if ((st = expect_map(L, e, "overrides entry")))
            return st;
        for (yaml_node_pair_t *p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node_at(L, p->key);
            if (strcmp(scalar(k), "layers") == 0)
                layers = node_at(L, p->value);
            else if (strcmp(scalar(k), "rules") == 0)
                rules = node_at(L, p->value);
            else
                return fail_at(L, k, "unknown key '%s' in an overrides entry (expected layers, "
                                     "rules)",
                               scalar(k));
        }
        if (!layers)
            return fail_at(L, e, "overrides entry without 'layers:' (the tensor-name globs it "
                                 "applies to)");
        if (!rules)
            return fail_at(L, e, "overrides entry without 'rules:' (the settings it applies)");
        if ((st = grow((void **)&r->overrides, r->n_overrides, sizeof *r->overrides, L->err)))
            return st;
        wl_rules_override *o = &r->overrides[r->n_overrides++];
        if ((st = set_origin(L, &o->origin, e)) ||
            (st = parse_globs(L, layers, &o->globs, &o->n_globs)) ||
            (st = parse_rules_map(L, rules, &o->patches, &o->n_patches)))
            return st;
    }
    return WL_OK;
}

static wl_status parse_rule_list(loader *L, yaml_node_t *n, uint32_t *mask)
{
    wl_status st = WL_OK;
    size_t count = 1;
    if (n->type == YAML_SEQUENCE_NODE)
        count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (n->type == YAML_MAPPING_NODE || count == 0)
        return fail_at(L, n, "rules: expected a rule or a non-empty list of rules");
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *it = n->type == YAML_SEQUENCE_NODE
                              ? node_at(L, n->data.sequence.items.start[i])
                              : n;
        const wl_rule_info *ri = find_rule(L, it, &st);
        if (!ri)
            return st;
        *mask |= 1u << ri->id;
    }
    return WL_OK;
}

static wl_status parse_ignores(loader *L, yaml_node_t *n, wl_rules *r)
{
    char got[96];
    wl_status st;
    if (n->type != YAML_SEQUENCE_NODE) {
        describe(n, got, sizeof got);
        return fail_at(L, n, "ignore: expected a list of {layers, rules, reason} entries, got %s",
                       got);
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = node_at(L, *it), *layers = NULL, *rules = NULL, *reason = NULL;
        if ((st = expect_map(L, e, "ignore entry")))
            return st;
        for (yaml_node_pair_t *p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node_at(L, p->key);
            if (strcmp(scalar(k), "layers") == 0)
                layers = node_at(L, p->value);
            else if (strcmp(scalar(k), "rules") == 0)
                rules = node_at(L, p->value);
            else if (strcmp(scalar(k), "reason") == 0)
                reason = node_at(L, p->value);
            else
                return fail_at(L, k,
                               "unknown key '%s' in an ignore entry (expected layers, rules, "
                               "reason)",
                               scalar(k));
        }
        if (!reason)
            return fail_at(L, e, "ignore entry without 'reason:' (a suppression must say why)");
        const char *why;
        if ((st = parse_string(L, reason, "reason", &why)))
            return st;
        if ((st = grow((void **)&r->ignores, r->n_ignores, sizeof *r->ignores, L->err)))
            return st;
        wl_rules_ignore *ig = &r->ignores[r->n_ignores++];
        if ((st = set_origin(L, &ig->origin, e)))
            return st;
        if (!(ig->reason = xstrdup(why)))
            return nomem(L->err);
        if (layers && (st = parse_globs(L, layers, &ig->globs, &ig->n_globs)))
            return st;
        if (rules && (st = parse_rule_list(L, rules, &ig->rule_mask)))
            return st;
    }
    return WL_OK;
}

/* Flattens the reserved compare: section into key paths and scalar values. A path longer than
 * its buffer is refused: cut short, two keys could become one (fuzz_rules found a
 * --print-config that no longer loaded). */
#define WL_RULES_MAX_KEY_PATH 511

static wl_status flatten(loader *L, yaml_node_t *n, const char *prefix, wl_rules *r)
{
    wl_status st;
    char key[WL_RULES_MAX_KEY_PATH + 1];
    if (n->type == YAML_SCALAR_NODE) {
        if ((st = grow((void **)&r->compare, r->n_compare, sizeof *r->compare, L->err)))
            return st;
        wl_rules_kv *kv = &r->compare[r->n_compare++];
        kv->line = (int)n->start_mark.line + 1;
        kv->column = (int)n->start_mark.column + 1;
        if (!(kv->key = xstrdup(prefix)) || !(kv->value = xstrdup(scalar(n))))
            return nomem(L->err);
        return WL_OK;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        size_t i = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top; it++, i++) {
            if ((size_t)snprintf(key, sizeof key, "%s[%zu]", prefix, i) >= sizeof key)
                return fail_at(L, n, "compare: key path longer than %d bytes",
                               WL_RULES_MAX_KEY_PATH);
            if ((st = flatten(L, node_at(L, *it), key, r)))
                return st;
        }
        return WL_OK;
    }
    if ((st = check_duplicates(L, n)))
        return st;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        if ((size_t)snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "",
                             scalar(node_at(L, p->key))) >= sizeof key)
            return fail_at(L, node_at(L, p->key), "compare: key path longer than %d bytes",
                           WL_RULES_MAX_KEY_PATH);
        if ((st = flatten(L, node_at(L, p->value), key, r)))
            return st;
    }
    return WL_OK;
}

/* ------------------------------------------------------------------ rulesets */

static void origin_clear(wl_rules_origin *o)
{
    free(o->file);
}

void wl_rules_free(wl_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_overrides; i++) {
        wl_rules_override *o = &r->overrides[i];
        for (size_t j = 0; j < o->n_globs; j++)
            free(o->globs[j]);
        free(o->globs);
        free(o->patches);
        origin_clear(&o->origin);
    }
    free(r->overrides);
    for (size_t i = 0; i < r->n_ignores; i++) {
        wl_rules_ignore *ig = &r->ignores[i];
        for (size_t j = 0; j < ig->n_globs; j++)
            free(ig->globs[j]);
        free(ig->globs);
        free(ig->reason);
        origin_clear(&ig->origin);
    }
    free(r->ignores);
    for (size_t i = 0; i < r->n_compare; i++) {
        free(r->compare[i].key);
        free(r->compare[i].value);
    }
    free(r->compare);
    free(r->compare_file);
    free(r->source);
    free(r->chain);
    free(r);
}

wl_status wl_rules_new_default(wl_rules **out, wl_err *err)
{
    *out = NULL;
    wl_rules *r = calloc(1, sizeof *r);
    if (!r || !(r->source = xstrdup("built-in defaults")) || !(r->chain = xstrdup("built-in"))) {
        wl_rules_free(r);
        return nomem(err);
    }
    for (size_t i = 0; i < WL_RULE_COUNT; i++) {
        const wl_rule_info *ri = wl_rule_info_get((wl_rule_id)i);
        r->cfg[i].severity = ri->severity;
        for (size_t j = 0; j < ri->n_params; j++)
            r->cfg[i].param[j] = ri->params[j].def;
    }
    *out = r;
    return WL_OK;
}

static const wl_rules_preset_src *find_preset(const char *name)
{
    for (size_t i = 0; i < wl_rules_n_preset_srcs; i++)
        if (strcmp(wl_rules_preset_srcs[i].name, name) == 0)
            return &wl_rules_preset_srcs[i];
    return NULL;
}

static int looks_like_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') || (n > 5 && strcmp(s + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(s + n - 4, ".yml") == 0);
}

static wl_status read_file(const char *path, const char *shown, char **text, size_t *len,
                           wl_err *err)
{
    wl_status st = WL_OK;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        st = WL_FAIL(err, wl_errno_status(errno, WL_E_IO), "%s: cannot open rules file: %s", shown,
                     strerror(errno));
        err->sys_errno = errno;
        return st;
    }
    buf = malloc(WL_RULES_MAX_BYTES + 1);
    if (!buf) {
        st = nomem(err);
        goto out;
    }
    size_t n = fread(buf, 1, WL_RULES_MAX_BYTES + 1, f);
    if (ferror(f)) {
        st = WL_FAIL(err, WL_E_IO, "%s: read error", shown);
        goto out;
    }
    if (n > WL_RULES_MAX_BYTES) {
        st = WL_FAIL(err, WL_E_RULES, "%s: rules file larger than %u bytes", shown,
                     WL_RULES_MAX_BYTES);
        goto out;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return st;
}

/* Collapses "." and ".." components of an absolute path in place, without touching the file
 * system, so a path can be judged before anything outside the root is opened or stat'ed. */
static void normalize_path(char *p)
{
    char *out = p, *in = p;
    while (*in) {
        while (*in == '/')
            in++;
        char *end = strchr(in, '/');
        size_t n = end ? (size_t)(end - in) : strlen(in);
        if (n == 0)
            break;
        if (n == 1 && in[0] == '.') {
            /* skip */
        } else if (n == 2 && in[0] == '.' && in[1] == '.') {
            while (out > p && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, in, n);
            out += n;
        }
        in += n;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

static int path_within(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/';
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The folder that a top-level rules file's `extends:` chain is confined to: the enclosing
 * repository (the nearest ancestor holding .git), else the folder holding the file. A pull
 * request controls .weightlint.yaml, so without this bound `extends: ../../etc/passwd` would
 * let it open, and print into the job log, any file the runner can read. */
static wl_status find_root(const char *file, char *root, wl_err *err)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(file, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == file)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
    if (!realpath(dir, root)) {
        wl_status st = WL_FAIL(err, WL_E_IO, "%s: cannot resolve the rules file's folder: %s",
                               file, strerror(errno));
        err->sys_errno = errno;
        return st;
    }
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s", root);
    for (;;) {
        char git[PATH_MAX + 8];
        struct stat sb;
        snprintf(git, sizeof git, "%s%s.git", probe, strcmp(probe, "/") ? "/" : "");
        if (stat(git, &sb) == 0) {
            snprintf(root, PATH_MAX, "%s", probe);
            return WL_OK;
        }
        char *last = strrchr(probe, '/');
        if (!last || strcmp(probe, "/") == 0)
            return WL_OK; /* no repository: the rules file's own folder */
        if (last == probe)
            last[1] = '\0';
        else
            *last = '\0';
    }
}

/* Resolves a rules file and checks that it lies inside root: first lexically (so nothing
 * outside is even opened), then after symlinks. Writes the resolved path to `resolved`. */
static wl_status contain_path(const char *path, const char *root, char *resolved,
                              const char *where, wl_err *err)
{
    char lexical[2 * PATH_MAX + 2];
    int n;
    if (path[0] == '/') {
        n = snprintf(lexical, sizeof lexical, "%s", path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return WL_FAIL(err, WL_E_IO, "%s: cannot read the working directory", where);
        n = snprintf(lexical, sizeof lexical, "%s/%s", cwd, path);
    }
    if (n < 0 || (size_t)n >= sizeof lexical)
        return WL_FAIL(err, WL_E_RULES, "%s: path too long", where);
    normalize_path(lexical);
    if (!path_within(root, lexical))
        return WL_FAIL(err, WL_E_RULES,
                       "%s: '%s' lies outside %s; extends may name a built-in preset or a .yaml "
                       "file inside the repository (or, outside a repository, inside the "
                       "config's folder)",
                       where, path, root);
    if (!realpath(lexical, resolved)) {
        wl_status st = WL_FAIL(err, WL_E_RULES, "%s: cannot open rules file '%s': %s", where,
                               path, strerror(errno));
        err->sys_errno = errno;
        return st;
    }
    if (!path_within(root, resolved))
        return WL_FAIL(err, WL_E_RULES,
                       "%s: '%s' is a symlink to a file outside %s; extends may only name "
                       "files inside it",
                       where, path, root);
    struct stat sb;
    if (stat(resolved, &sb) != 0 || !S_ISREG(sb.st_mode))
        return WL_FAIL(err, WL_E_RULES, "%s: '%s' is not a regular file", where, path);
    return WL_OK;
}

static int has_yaml_suffix(const char *s)
{
    size_t n = strlen(s);
    return (n > 5 && strcmp(s + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(s + n - 4, ".yml") == 0);
}

/* Loads what `extends:` names: a preset, or a .yaml file relative to the extending file's
 * folder that lies inside the root (find_root). */
static wl_status load_base(loader *L, yaml_node_t *n, wl_rules **out)
{
    const char *name;
    wl_status st = parse_string(L, n, "extends", &name);
    if (st)
        return st;
    if (L->depth + 1 > WL_RULES_MAX_DEPTH)
        return fail_at(L, n, "extends: chain deeper than %d files (a cycle?)",
                       WL_RULES_MAX_DEPTH);
    if (!looks_like_path(name)) {
        const wl_rules_preset_src *p = find_preset(name);
        if (!p) {
            char names[128] = "";
            size_t len = 0;
            for (size_t i = 0; i < wl_rules_n_preset_srcs && len < sizeof names; i++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s, ",
                                        wl_rules_preset_srcs[i].name);
            return fail_at(L, n, "extends: unknown preset '%s' (expected %sor a path to a .yaml "
                                 "file)",
                           name, names);
        }
        char pname[64];
        snprintf(pname, sizeof pname, "preset:%s", p->name);
        return load_text(p->text, strlen(p->text), pname, L->root, 1, L->depth + 1, out,
                         L->err);
    }
    if (L->is_preset)
        return fail_at(L, n, "extends: a built-in preset can only extend another preset");
    if (!has_yaml_suffix(name))
        return fail_at(L, n, "extends: '%s' is not a .yaml or .yml file", name);
    if (!L->root)
        return fail_at(L, n, "extends: a rules text that is not a file can only extend a preset");
    char path[PATH_MAX], resolved[PATH_MAX], where[PATH_MAX + 64];
    const char *slash = strrchr(L->file, '/');
    if (name[0] == '/' || !slash)
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - L->file), L->file, name);
    snprintf(where, sizeof where, "%s:%zu:%zu: extends", L->file, n->start_mark.line + 1,
             n->start_mark.column + 1);
    if ((st = contain_path(path, L->root, resolved, where, L->err)))
        return st;
    char *text = NULL;
    size_t len = 0;
    if ((st = read_file(resolved, path, &text, &len, L->err))) {
        wl_err_wrap(L->err, "%s", where);
        if (st != WL_E_NOMEM)
            L->err->code = WL_E_RULES;
        return st == WL_E_NOMEM ? st : WL_E_RULES;
    }
    st = load_text(text, len, path, L->root, 0, L->depth + 1, out, L->err);
    free(text);
    return st;
}

static const char *const top_keys = "version, extends, rules, overrides, ignore, compare";

static wl_status apply_document(loader *L, yaml_node_t *root, wl_rules **out)
{
    wl_status st;
    wl_rules *r = NULL;
    yaml_node_t *extends = NULL;
    if (root && (st = expect_map(L, root, "rules file (top level)")))
        return st;
    /* pass 1: version and extends, which decide what the rest applies to */
    for (yaml_node_pair_t *p = root ? root->data.mapping.pairs.start : NULL;
         root && p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
        if (strcmp(scalar(k), "version") == 0) {
            double ver;
            if ((st = parse_number(L, v, "version", &ver)))
                return st;
            if (ver != 1)
                return fail_at(L, v, "version: %g is not supported (expected 1)", ver);
        } else if (strcmp(scalar(k), "extends") == 0) {
            extends = v;
        }
    }
    st = extends ? load_base(L, extends, &r) : wl_rules_new_default(&r, L->err);
    if (st)
        return st;
    /* pass 2: everything else, on top of the base */
    for (yaml_node_pair_t *p = root ? root->data.mapping.pairs.start : NULL;
         root && p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
        const char *key = scalar(k);
        if (strcmp(key, "version") == 0 || strcmp(key, "extends") == 0)
            continue;
        if (strcmp(key, "rules") == 0) {
            wl_rule_patch *patches = NULL;
            size_t n = 0;
            if ((st = parse_rules_map(L, v, &patches, &n)))
                goto fail;
            for (size_t i = 0; i < n; i++)
                apply_patch(&r->cfg[patches[i].rule], &patches[i]);
            free(patches);
        } else if (strcmp(key, "overrides") == 0) {
            if ((st = parse_overrides(L, v, r)))
                goto fail;
        } else if (strcmp(key, "ignore") == 0) {
            if ((st = parse_ignores(L, v, r)))
                goto fail;
        } else if (strcmp(key, "compare") == 0) {
            /* the gate of `weightlint compare` (src/compare.c interprets it): stored, replaces
             * the base's section */
            for (size_t i = 0; i < r->n_compare; i++) {
                free(r->compare[i].key);
                free(r->compare[i].value);
            }
            r->n_compare = 0;
            r->has_compare = 1;
            free(r->compare_file);
            if (!(r->compare_file = xstrdup(L->file))) {
                st = nomem(L->err);
                goto fail;
            }
            if (v->type == YAML_SCALAR_NODE && scalar(v)[0] != '\0') {
                st = fail_at(L, v, "compare: expected a mapping (the regression gate of "
                                   "weightlint compare)");
                goto fail;
            }
            if (v->type != YAML_SCALAR_NODE && (st = flatten(L, v, "", r)))
                goto fail;
        } else {
            st = fail_at(L, k, "unknown key '%s' (expected one of: %s)", key, top_keys);
            goto fail;
        }
    }
    /* provenance */
    {
        size_t need = strlen(L->file) + strlen(r->chain) + 8;
        char *chain = malloc(need);
        char *source = xstrdup(L->file);
        if (!chain || !source) {
            free(chain);
            free(source);
            st = nomem(L->err);
            goto fail;
        }
        snprintf(chain, need, "%s -> %s", L->file, r->chain);
        free(r->chain);
        free(r->source);
        r->chain = chain;
        r->source = source;
    }
    *out = r;
    return WL_OK;
fail:
    wl_rules_free(r);
    return st;
}

/* libyaml failed for want of memory: it says so (YAML_MEMORY_ERROR), or, in some allocation
 * failures of libyaml 0.2.5's document loader (a tag copy), leaves no error at all. */
static int yaml_out_of_memory(const yaml_parser_t *parser)
{
    return parser->error == YAML_MEMORY_ERROR || parser->error == YAML_NO_ERROR;
}

/* Refuses nesting deeper than WL_RULES_MAX_NESTING with libyaml's event parser, before the
 * document loader (which takes seconds on 100,000 nested brackets) ever sees the text. */
static wl_status check_nesting(const char *text, size_t len, const char *name, wl_err *err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0;
    wl_status st = WL_OK;
    if (!yaml_parser_initialize(&parser))
        return nomem(err);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            if (yaml_out_of_memory(&parser))
                st = nomem(err);
            break; /* syntax errors are reported by the loader, with its context */
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > WL_RULES_MAX_NESTING) {
                st = WL_FAIL(err, WL_E_RULES, "%s:%zu:%zu: nesting deeper than %d levels", name,
                             ev.start_mark.line + 1, ev.start_mark.column + 1,
                             WL_RULES_MAX_NESTING);
                yaml_event_delete(&ev);
                break;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    return st;
}

static wl_status load_text(const char *text, size_t len, const char *name,
                           const char *extends_root, int is_preset, int depth, wl_rules **out,
                           wl_err *err)
{
    wl_status st = WL_OK;
    yaml_parser_t parser;
    loader L;
    int have_doc = 0;
    memset(&L, 0, sizeof L);
    L.file = name;
    L.root = extends_root;
    L.is_preset = is_preset;
    L.depth = depth;
    L.err = err;
    *out = NULL;
    wl_status nest = check_nesting(text, len, name, err);
    if (nest)
        return nest;
    if (!yaml_parser_initialize(&parser))
        return nomem(err);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &L.doc)) {
        if (yaml_out_of_memory(&parser))
            st = nomem(err);
        else if (parser.context)
            st = WL_FAIL(err, WL_E_RULES, "%s:%zu:%zu: invalid YAML: %s %s (started at %zu:%zu)",
                         name, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                         parser.problem ? parser.problem : "syntax error", parser.context,
                         parser.context_mark.line + 1, parser.context_mark.column + 1);
        else
            st = WL_FAIL(err, WL_E_RULES, "%s:%zu:%zu: invalid YAML: %s", name,
                         parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                         parser.problem ? parser.problem : "syntax error");
        goto out;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&L.doc);
    if (root && root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)
        root = NULL; /* a file of comments only */
    L.n_nodes = (size_t)(L.doc.nodes.top - L.doc.nodes.start);
    if (root) {
        if (!(L.seen = calloc(L.n_nodes, 1))) {
            st = nomem(err);
            goto out;
        }
        if ((st = check_aliases(&L, root, 0)))
            goto out;
    }
    /* a second document in the stream is a mistake (a stray "---") */
    {
        yaml_document_t next;
        if (yaml_parser_load(&parser, &next)) {
            yaml_node_t *r2 = yaml_document_get_root_node(&next);
            size_t line = r2 ? r2->start_mark.line + 1 : 0;
            yaml_document_delete(&next);
            if (r2) {
                st = WL_FAIL(err, WL_E_RULES,
                             "%s:%zu:1: a second YAML document (expected one document)", name,
                             line);
                goto out;
            }
        } else if (parser.error == YAML_MEMORY_ERROR) {
            st = nomem(err);
            goto out;
        }
    }
    st = apply_document(&L, root, out);
out:
    free(L.seen);
    if (have_doc)
        yaml_document_delete(&L.doc);
    yaml_parser_delete(&parser);
    return st;
}

wl_status wl_rules_load_string(const char *text, size_t len, const char *name, wl_rules **out,
                               wl_err *err)
{
    return load_text(text, len, name ? name : "<rules>", NULL, 0, 0, out, err);
}

wl_status wl_rules_load_file(const char *path, wl_rules **out, wl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    char root[PATH_MAX], resolved[PATH_MAX];
    *out = NULL;
    /* The file itself must lie inside its root too: a committed .weightlint.yaml that is a
     * symlink to a file elsewhere is refused like an `extends:` that names it. */
    wl_status st = find_root(path, root, err);
    if (st)
        return st;
    if (!realpath(path, resolved)) {
        st = WL_FAIL(err, WL_E_IO, "%s: cannot open rules file: %s", path, strerror(errno));
        err->sys_errno = errno;
        return st;
    }
    if (!path_within(root, resolved))
        return WL_FAIL(err, WL_E_RULES,
                       "%s: a symlink to a file outside %s; a rules file must lie inside the "
                       "repository (or the folder) that holds it",
                       path, root);
    if ((st = read_file(resolved, path, &text, &len, err)))
        return st;
    st = load_text(text, len, path, root, 0, 0, out, err);
    free(text);
    return st;
}

wl_status wl_rules_load_preset(const char *name, wl_rules **out, wl_err *err)
{
    *out = NULL;
    const wl_rules_preset_src *p = find_preset(name);
    if (!p)
        return WL_FAIL(err, WL_E_USAGE, "unknown preset '%s' (expected default, strict or llm)",
                       name);
    char pname[64];
    snprintf(pname, sizeof pname, "preset:%s", p->name);
    return load_text(p->text, strlen(p->text), pname, NULL, 1, 0, out, err);
}

/* ------------------------------------------------------------------ discovery */

wl_status wl_rules_discover(const char *model_path, char **out, wl_err *err)
{
    char dir[PATH_MAX], resolved[PATH_MAX], cand[PATH_MAX + 32];
    *out = NULL;
    const char *slash = strrchr(model_path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == model_path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - model_path), model_path);
    if (!realpath(dir, resolved))
        return WL_OK; /* the model's folder does not exist: the analysis reports it */
    /* Report what is found relative to the working directory when it lies below it, so
     * messages and reports do not depend on where the checkout is. */
    char cwd[PATH_MAX];
    size_t n_cwd = 0;
    if (getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") != 0)
        n_cwd = strlen(cwd);
    for (;;) {
        struct stat sb;
        snprintf(cand, sizeof cand, "%s%s%s", resolved, strcmp(resolved, "/") ? "/" : "",
                 WL_RULES_FILENAME);
        if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode)) {
            const char *shown = cand;
            if (n_cwd && strncmp(cand, cwd, n_cwd) == 0 && cand[n_cwd] == '/')
                shown = cand + n_cwd + 1;
            if (!(*out = xstrdup(shown)))
                return nomem(err);
            return WL_OK;
        }
        char *last = strrchr(resolved, '/');
        if (!last || strcmp(resolved, "/") == 0)
            return WL_OK;
        if (last == resolved)
            last[1] = '\0';
        else
            *last = '\0';
    }
}
