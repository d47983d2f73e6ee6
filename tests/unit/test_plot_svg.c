/*
 * test_plot_svg.c — structure tests of the SVG plot writer (src/plot_svg.c). Rather than golden
 * bytes (which would churn with every cosmetic change), each plot is checked for what a reader
 * relies on: the document is well-formed XML (a small checker below), each element kind appears
 * the expected number of times, path data holds only finite numbers inside the viewBox, the
 * drawn curves are the right ones (the power law's slope in pixels is -α in data units; the
 * Marchenko–Pastur curve and the histogram each enclose unit area, measured from the axis
 * ticks), and every string from the model is escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distfit.h"
#include "mp.h"
#include "plot_svg.h"
#include "wl_test.h"

#define NASTY "<script>alert(\"x\")</script> & 'q'"

/* wl_layer.name is a mutable char * (owned by an analysis); the fixtures lend these */
static char name_fc1[] = "fc1.weight", name_random[] = "random.weight", name_nasty[] = NASTY,
            name_bad[] = "bad&weight";

/* ---------------------------------------------------------------- helpers */

/* Runs one writer into a memory buffer; returns the text (caller frees). */
typedef wl_status (*writer_fn)(FILE *f, const void *ctx, wl_err *err);

static char *capture(writer_fn fn, const void *ctx)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(fn(f, ctx, &err), WL_OK);
    assert_int_equal(fclose(f), 0);
    return buf;
}

typedef struct esd_ctx {
    const wl_layer *l;
    wl_plot_kind kind;
    const wl_plot_opts *o;
} esd_ctx;

static wl_status write_esd(FILE *f, const void *ctx, wl_err *err)
{
    const esd_ctx *c = ctx;
    return wl_plot_esd_svg(f, c->l, c->kind, c->o, err);
}

static char *esd_svg(const wl_layer *l, wl_plot_kind kind, const wl_plot_opts *o)
{
    esd_ctx c = {l, kind, o};
    return capture(write_esd, &c);
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Valid UTF-8 throughout (RFC 3629), no NUL. */
static int utf8_ok(const unsigned char *s)
{
    while (*s) {
        if (*s < 0x80) {
            s++;
            continue;
        }
        int n = (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2 : (*s & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || *s == 0xC0 || *s == 0xC1)
            return 0;
        for (int i = 1; i <= n; i++)
            if ((s[i] & 0xC0) != 0x80)
                return 0;
        s += n + 1;
    }
    return 1;
}

/* A character reference or one of the five predefined entities at s ('&' included). */
static int entity_ok(const char *s)
{
    static const char *const names[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < 5; i++)
        if (strncmp(s, names[i], strlen(names[i])) == 0)
            return 1;
    if (s[1] != '#')
        return 0;
    const char *p = s + 2;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > s + 2 && *p == ';';
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == ':' || c == '_';
}

/* A small XML well-formedness check: balanced, properly nested elements; quoted attributes
 * without '<'; '&' only as an entity; one root element, named root. Fails the test with the
 * offset of the first problem. */
static void assert_well_formed(const char *doc, const char *root)
{
    const char *stack[64];
    size_t depth = 0, n_roots = 0;
    const char *p = doc;
    assert_true(utf8_ok((const unsigned char *)doc));
    if (strncmp(p, "<?xml", 5) == 0)
        p = strstr(p, "?>") + 2;
    while (*p) {
        if (*p == '&') {
            if (!entity_ok(p))
                fail_msg("bad entity at offset %td: %.20s", p - doc, p);
            p++;
        } else if (*p != '<') {
            if (depth == 0 && *p != '\n' && *p != ' ')
                fail_msg("text outside the root at offset %td", p - doc);
            p++;
        } else if (p[1] == '/') {
            const char *name = p + 2, *e = name;
            while (name_char(*e))
                e++;
            if (depth == 0 || strncmp(stack[depth - 1], name, (size_t)(e - name)) != 0 ||
                name_char(stack[depth - 1][e - name]))
                fail_msg("unbalanced </%.*s> at offset %td", (int)(e - name), name, p - doc);
            depth--;
            if (*e != '>')
                fail_msg("bad end tag at offset %td", p - doc);
            p = e + 1;
        } else {
            const char *name = p + 1, *e = name;
            while (name_char(*e))
                e++;
            if (e == name)
                fail_msg("bad tag at offset %td: %.20s", p - doc, p);
            if (depth == 0) {
                n_roots++;
                if (strncmp(name, root, strlen(root)) != 0)
                    fail_msg("root element is not <%s>", root);
            }
            while (*e == ' ' || *e == '\n') {
                while (*e == ' ' || *e == '\n')
                    e++;
                if (*e == '/' || *e == '>')
                    break;
                const char *an = e;
                while (name_char(*e))
                    e++;
                if (e == an || e[0] != '=' || e[1] != '"')
                    fail_msg("bad attribute at offset %td: %.30s", an - doc, an);
                e += 2;
                while (*e && *e != '"') {
                    if (*e == '<' || (*e == '&' && !entity_ok(e)))
                        fail_msg("bad attribute value at offset %td", e - doc);
                    e++;
                }
                if (*e != '"')
                    fail_msg("unterminated attribute at offset %td", an - doc);
                e++;
            }
            if (e[0] == '/' && e[1] == '>') {
                p = e + 2;
            } else if (e[0] == '>') {
                assert_true(depth < 64);
                stack[depth++] = name;
                p = e + 1;
            } else {
                fail_msg("bad tag end at offset %td: %.20s", e - doc, e);
            }
        }
    }
    assert_int_equal(depth, 0);
    assert_int_equal(n_roots, 1);
}

/* The value of attribute attr of the tag in which the first occurrence of marker ends (caller
 * frees), or NULL. */
static char *attr_of(const char *doc, const char *marker, const char *attr)
{
    const char *m = strstr(doc, marker);
    if (!m)
        return NULL;
    const char *open = m + strlen(marker) - 1; /* the tag where the marker ends */
    while (open > doc && *open != '<')
        open--;
    const char *close = strchr(open, '>');
    char key[32];
    snprintf(key, sizeof key, " %s=\"", attr);
    const char *a = strstr(open, key);
    if (!a || a > close)
        return NULL;
    a += strlen(key);
    const char *e = strchr(a, '"');
    return strndup(a, (size_t)(e - a));
}

/* Parses SVG path data made of M/L/H/V/Z commands (absolute, as the writer emits, plus the
 * relative h/v/l of the markers): every number must be finite and the coordinates must stay
 * inside [lo, hi] on both axes. Returns the number of points visited; pts gets up to max (x, y)
 * pairs of the absolute M/L/H/V positions. */
static size_t path_points(const char *d, double lo, double hi, double *pts, size_t max)
{
    double x = 0, y = 0;
    size_t n = 0;
    const char *p = d;
    while (*p) {
        char c = *p++;
        if (c == ' ')
            continue;
        if (c == 'Z' || c == 'z')
            continue;
        char *end;
        double a = strtod(p, &end);
        assert_true(end != p);
        assert_true(isfinite(a));
        p = end;
        switch (c) {
        case 'M':
        case 'L': {
            while (*p == ' ')
                p++;
            double b = strtod(p, &end);
            assert_true(end != p);
            assert_true(isfinite(b));
            p = end;
            x = a, y = b;
            break;
        }
        case 'l': {
            while (*p == ' ')
                p++;
            double b = strtod(p, &end);
            assert_true(end != p);
            p = end;
            x += a, y += b;
            break;
        }
        case 'H':
            x = a;
            break;
        case 'V':
            y = a;
            break;
        case 'h':
            x += a;
            break;
        case 'v':
            y += a;
            break;
        default:
            fail_msg("unexpected path command '%c' in %.40s", c, d);
        }
        if (x < lo || x > hi || y < lo || y > hi)
            fail_msg("point (%g, %g) outside [%g, %g]", x, y, lo, hi);
        if (pts && n < max) {
            pts[2 * n] = x;
            pts[2 * n + 1] = y;
        }
        n++;
    }
    return n;
}

/* Tick labels of one axis: text elements of the "tick-labels" group with text-anchor
 * "middle" (x axis, position x) or "end" (y axis, position y). Returns how many were found. */
static size_t tick_labels(const char *doc, int y_axis, double *pos, double *val, size_t max)
{
    const char *g = strstr(doc, "<g class=\"tick-labels\"");
    assert_non_null(g);
    const char *end = strstr(g, "</g>");
    size_t n = 0;
    for (const char *t = strstr(g, "<text x=\""); t && t < end && n < max;
         t = strstr(t + 1, "<text x=\"")) {
        double x, y;
        char anchor[16];
        int off = 0;
        if (sscanf(t, "<text x=\"%lf\" y=\"%lf\" text-anchor=\"%15[a-z]\">%n", &x, &y, anchor,
                   &off) != 3 ||
            off == 0)
            continue;
        if (strcmp(anchor, y_axis ? "end" : "middle") != 0)
            continue;
        char *e;
        double v = strtod(t + off, &e);
        if (e == t + off || *e != '<')
            continue;
        pos[n] = y_axis ? y - 4 : x; /* y labels sit 4 px below their tick */
        val[n] = v;
        n++;
    }
    return n;
}

/* Pixels per data unit (or per decade on log axes) from the first and last tick label. */
static double px_per_unit(const char *doc, int y_axis, int is_log, double *origin_px,
                          double *origin_v)
{
    double pos[64], val[64];
    size_t n = tick_labels(doc, y_axis, pos, val, 64);
    assert_true(n >= 2);
    double a = is_log ? log10(val[0]) : val[0], b = is_log ? log10(val[n - 1]) : val[n - 1];
    *origin_px = pos[0];
    *origin_v = a;
    return (pos[n - 1] - pos[0]) / (b - a);
}

/* ---------------------------------------------------------------- fixtures */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A heavy-tailed layer: n eigenvalues drawn from a power law with exponent alpha (density
 * ∝ x^-alpha, x >= 1), fitted with wl_plfit_fit. */
static wl_layer pl_layer(double *ev, size_t n, double alpha, uint64_t seed)
{
    wl_test_rng r = {seed};
    for (size_t i = 0; i < n; i++)
        ev[i] = pow(wl_test_uniform(&r), -1.0 / (alpha - 1));
    qsort(ev, n, sizeof *ev, cmp_double);
    wl_plfit fit;
    wl_plfit_fit(ev, n, &fit);
    assert_true(fit.ok);
    wl_layer l;
    memset(&l, 0, sizeof l);
    l.name = name_fc1;
    l.evals = ev;
    l.num_evals = (int64_t)n;
    l.N = 2 * (int64_t)n;
    l.M = (int64_t)n;
    l.Q = 2.0;
    l.status = WL_LAYER_SUCCESS;
    l.alpha = fit.alpha;
    l.D = fit.D;
    l.xmin = fit.xmin;
    l.xmax = fit.xmax;
    l.num_pl_spikes = fit.num_pl_spikes;
    l.lambda_max = ev[n - 1];
    l.phase = "heavy-tailed";
    return l;
}

/* A random layer: the ESD of a rows x cols Gaussian matrix with its MP fit. */
static wl_layer mp_layer(double *ev, double *w, size_t rows, size_t cols, uint64_t seed)
{
    wl_test_rng r = {seed};
    wl_test_fill_gauss(&r, w, rows, cols, 1.0 / sqrt((double)rows));
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_esd_gram(w, rows, cols, ev, &err), WL_OK);
    size_t n = cols;
    wl_layer l;
    memset(&l, 0, sizeof l);
    l.name = name_random;
    l.evals = ev;
    l.num_evals = (int64_t)n;
    l.N = (int64_t)rows;
    l.M = (int64_t)cols;
    l.Q = (double)rows / (double)cols;
    wl_plfit fit;
    wl_plfit_fit(ev, n, &fit);
    l.status = WL_LAYER_SUCCESS;
    l.alpha = fit.alpha;
    l.D = fit.D;
    l.xmin = fit.xmin;
    l.num_pl_spikes = fit.num_pl_spikes;
    l.lambda_max = ev[n - 1];
    wl_mp_result mp;
    wl_mp_fit(ev, n, (double)rows, (double)cols, &mp);
    assert_true(mp.ok);
    l.has_mp = 1;
    l.bulk_min = mp.bulk_min;
    l.bulk_max = mp.bulk_max;
    l.sigma_mp = mp.sigma_mp;
    l.mp_softrank = mp.mp_softrank;
    l.num_spikes = mp.num_spikes;
    l.phase = "random-like";
    return l;
}

/* ---------------------------------------------------------------- tests */

typedef struct esc_ctx {
    const char *s;
    size_t max;
} esc_ctx;

static wl_status write_esc(FILE *f, const void *ctx, wl_err *err)
{
    const esc_ctx *c = ctx;
    (void)err;
    wl_markup_escape(f, c->s, c->max);
    return WL_OK;
}

static void expect_escape(const char *in, size_t max, const char *want)
{
    esc_ctx c = {in, max};
    char *got = capture(write_esc, &c);
    assert_string_equal(got, want);
    free(got);
}

static void test_escape(void **state)
{
    (void)state;
    expect_escape("a<b>&\"c\"'", 0, "a&lt;b&gt;&amp;&quot;c&quot;&#39;");
    expect_escape("tab\tnl\nbell\a del\x7f", 0, "tab\tnl\nbell\xEF\xBF\xBD del\xEF\xBF\xBD");
    /* valid UTF-8 passes; invalid bytes (stray continuation, 0xFF, overlong '/', a surrogate,
     * a truncated sequence) become U+FFFD one byte at a time */
    expect_escape("\xCE\xB1\xE2\x86\x92\xF0\x9F\x98\x80", 0,
                  "\xCE\xB1\xE2\x86\x92\xF0\x9F\x98\x80");
    expect_escape("\x80", 0, "\xEF\xBF\xBD");
    expect_escape("a\xFFz", 0, "a\xEF\xBF\xBDz");
    expect_escape("\xC0\xAF", 0, "\xEF\xBF\xBD\xEF\xBF\xBD");
    expect_escape("\xED\xA0\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    expect_escape("\xE2\x82", 0, "\xEF\xBF\xBD\xEF\xBF\xBD");
    /* shortening counts characters, never splits a sequence, ends with an ellipsis */
    expect_escape("abcdef", 4, "abc\xE2\x80\xA6");
    expect_escape("abcd", 4, "abcd");
    expect_escape("\xCE\xB1\xCE\xB2\xCE\xB3\xCE\xB4\xCE\xB5", 3, "\xCE\xB1\xCE\xB2\xE2\x80\xA6");
    expect_escape("<<<<<", 3, "&lt;&lt;\xE2\x80\xA6");
    expect_escape(NULL, 0, "");
}

static void test_bins(void **state)
{
    (void)state;
    assert_int_equal(wl_plot_bins(0), WL_PLOT_MIN_BINS);
    assert_int_equal(wl_plot_bins(10), WL_PLOT_MIN_BINS);
    assert_int_equal(wl_plot_bins(100), 15);
    assert_int_equal(wl_plot_bins(512), 34);
    assert_int_equal(wl_plot_bins(100000), WL_PLOT_MAX_BINS);
}

static void test_loglog(void **state)
{
    (void)state;
    double ev[400];
    wl_layer l = pl_layer(ev, 400, 2.5, 7);
    l.name = name_nasty;
    char *svg = esd_svg(&l, WL_PLOT_LOGLOG, NULL);
    assert_well_formed(svg, "svg");
    assert_int_equal(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39), 0);
    assert_int_equal(count(svg, "<svg"), 2); /* the plot and its clipping viewport */
    assert_int_equal(count(svg, "class=\"esd\""), 1);
    assert_int_equal(count(svg, "class=\"fit\""), 1);
    assert_int_equal(count(svg, "<g class=\"xmin\""), 1);
    assert_int_equal(count(svg, "class=\"mp\""), 0);
    assert_int_equal(count(svg, "class=\"bulk-edge\""), 0);
    assert_int_equal(count(svg, "class=\"rand-esd\""), 0);
    assert_int_equal(count(svg, "<g class=\"phase\""), 1);
    assert_non_null(strstr(svg, ">heavy-tailed</text>"));
    /* the model's string never appears raw */
    assert_null(strstr(svg, "<script"));
    assert_null(strstr(svg, "'q'"));
    assert_non_null(strstr(svg, "&lt;script&gt;alert(&quot;x&quot;)"));
    /* α and D in the subtitle, at 4 significant digits */
    char want[64];
    snprintf(want, sizeof want, "\xCE\xB1 = %.4g", l.alpha);
    assert_non_null(strstr(svg, want));
    assert_non_null(strstr(svg, "D = "));

    /* histogram path: closed rectangles inside the viewBox; fit: a segment from xmin */
    char *d = attr_of(svg, "class=\"esd\"", "d");
    assert_non_null(d);
    size_t n_pts = path_points(d, 0, 560, NULL, 0);
    assert_true(n_pts >= 4 && n_pts % 4 == 0); /* M V H V (Z) per non-empty bin */
    assert_true(n_pts / 4 <= wl_plot_bins(400));
    free(d);
    double fit[4];
    d = attr_of(svg, "class=\"fit\"", "d");
    assert_int_equal(path_points(d, -1e5, 1e5, fit, 2), 2);
    free(d);
    char *xl = attr_of(svg, "<g class=\"xmin\"><line", "x1");
    assert_non_null(xl);
    wl_assert_close(fit[0], atof(xl), 0, 0.051);
    free(xl);
    /* slope in pixels = -α in decades, converted with the axes' pixels per decade (y grows
     * downward) */
    double ox, ov, oy, oyv;
    double ppd_x = px_per_unit(svg, 0, 1, &ox, &ov);
    double ppd_y = px_per_unit(svg, 1, 1, &oy, &oyv);
    assert_true(ppd_x > 0 && ppd_y < 0);
    double slope = ((fit[3] - fit[1]) / ppd_y) / ((fit[2] - fit[0]) / ppd_x);
    wl_assert_close(slope, -l.alpha, 0.02, 0);
    /* and the line starts at the fitted density at xmin: (n_tail / n) (α - 1) / xmin */
    double dens = (double)l.num_pl_spikes / 400.0 * (l.alpha - 1) / l.xmin;
    wl_assert_close(oyv + (fit[1] - oy) / ppd_y, log10(dens), 0, 0.01);
    free(svg);
}

/* --dist-test's competing fits over the tail: one dotted path each, starting at xmin at the
 * fitted density scaled to the tail's share (checked for the exponential, whose density at
 * xmin is lambda), a legend naming best_fit, and alpha's uncertainty in the subtitle. */
static void test_competing_fits(void **state)
{
    (void)state;
    double ev[400];
    wl_layer l = pl_layer(ev, 400, 2.5, 11);
    size_t first = 0;
    while (ev[first] < l.xmin)
        first++;
    wl_distfit df;
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_distfit_tail(ev + first, 400 - first, l.xmin, &df, &err), WL_OK);
    assert_true(df.ok);
    char *plain = esd_svg(&l, WL_PLOT_LOGLOG, NULL);
    assert_int_equal(count(plain, "class=\"alt-fit\""), 0); /* no --dist-test: none drawn */
    free(plain);
    l.has_dist = l.dist_ok = 1;
    l.best_fit = df.best_fit;
    l.tpl_alpha = df.tpl_alpha;
    l.tpl_lambda = df.tpl_lambda;
    l.exponential_lambda = df.exp_lambda;
    l.lognormal_mu = df.lognormal_mu;
    l.lognormal_sigma = df.lognormal_sigma;
    l.stretched_exp_lambda = df.stretched_lambda;
    l.stretched_exp_beta = df.stretched_beta;
    l.alpha_se = 0.125;
    l.alpha_spread = 0.5;
    char *svg = esd_svg(&l, WL_PLOT_LOGLOG, NULL);
    assert_well_formed(svg, "svg");
    assert_int_equal(count(svg, "class=\"alt-fit\""), 4);
    char want[96];
    snprintf(want, sizeof want, "competing fits (best: %s)", df.best_fit);
    assert_non_null(strstr(svg, want));
    assert_non_null(strstr(svg, "\xC2\xB1 0.125 (spread 0.5)"));
    /* the exponential is the second alt-fit path: its first point is (xmin, share * lambda) */
    const char *p = strstr(svg, "class=\"alt-fit\"");
    p = strstr(p + 1, "class=\"alt-fit\"");
    char *d = attr_of(p, "class=\"alt-fit\"", "d");
    double pt[2];
    assert_true(path_points(d, -1e5, 1e5, pt, 1) >= 1);
    free(d);
    double ox, ov, oy, oyv;
    double ppd_x = px_per_unit(svg, 0, 1, &ox, &ov);
    double ppd_y = px_per_unit(svg, 1, 1, &oy, &oyv);
    wl_assert_close(ov + (pt[0] - ox) / ppd_x, log10(l.xmin), 0, 0.01);
    double dens = (double)l.num_pl_spikes / 400.0 * df.exp_lambda;
    wl_assert_close(oyv + (pt[1] - oy) / ppd_y, log10(dens), 0, 0.01);
    free(svg);
}

static void test_linear_mp(void **state)
{
    (void)state;
    enum { ROWS = 400, COLS = 200 };
    double *w = malloc(ROWS * COLS * sizeof *w), ev[COLS];
    assert_non_null(w);
    wl_layer l = mp_layer(ev, w, ROWS, COLS, 11);
    free(w);
    wl_plot_opts o = {.label = "base & <b>"};
    char *svg = esd_svg(&l, WL_PLOT_LINEAR, &o);
    assert_well_formed(svg, "svg");
    assert_int_equal(count(svg, "class=\"esd\""), 1);
    assert_int_equal(count(svg, "class=\"mp\""), 1);
    assert_int_equal(count(svg, "<g class=\"bulk-edge\""), 1);
    assert_int_equal(count(svg, "class=\"fit\""), 0);
    assert_non_null(strstr(svg, "base &amp; &lt;b&gt; \xC2\xB7 random.weight"));
    assert_non_null(strstr(svg, ">random-like</text>"));
    assert_null(strstr(svg, "class=\"note\"")); /* a random layer: nothing cut off */

    double ox, ov, oy, oyv;
    double ppu_x = px_per_unit(svg, 0, 0, &ox, &ov);
    double ppu_y = px_per_unit(svg, 1, 0, &oy, &oyv);
    double base_px = oy - oyv * ppu_y; /* pixel row of density 0 */

    /* the MP curve: 241 samples from λ− to λ+, enclosing unit area (it is a density) */
    char *d = attr_of(svg, "class=\"mp\"", "d");
    double pts[2 * 241];
    assert_int_equal(path_points(d, -1e5, 1e5, pts, 241), 241);
    free(d);
    double area = 0;
    for (size_t i = 1; i < 241; i++)
        area += (pts[2 * i] - pts[2 * i - 2]) *
                ((pts[2 * i + 1] - base_px) + (pts[2 * i - 1] - base_px)) / 2;
    wl_assert_close(area / (ppu_x * ppu_y), 1.0, 0.03, 0);
    char *edge = attr_of(svg, "<g class=\"bulk-edge\"><line", "x1");
    wl_assert_close(pts[2 * 240], atof(edge), 0, 0.11);
    wl_assert_close((atof(edge) - ox) / ppu_x + ov, l.bulk_max, 0.01, 0);
    free(edge);

    /* the histogram is a density too: its bars enclose unit area */
    d = attr_of(svg, "class=\"esd\"", "d");
    double bars[4 * 2 * WL_PLOT_MAX_BINS];
    size_t n = path_points(d, 0, 560, bars, 4 * WL_PLOT_MAX_BINS);
    free(d);
    area = 0;
    for (size_t b = 0; b + 3 < n; b += 4) /* M x base V top H x2 V base Z */
        area += (bars[2 * (b + 2)] - bars[2 * b]) * (bars[2 * (b + 1) + 1] - bars[2 * b + 1]);
    wl_assert_close(area / (ppu_x * ppu_y), 1.0, 0.03, 0);
    free(svg);
}

static void test_randomized_overlay(void **state)
{
    (void)state;
    double ev[300], rv[300];
    wl_layer l = pl_layer(ev, 300, 3.0, 3);
    for (size_t i = 0; i < 300; i++)
        rv[i] = 1.0 + 2.0 * (double)i / 299.0;
    l.has_rand = 1;
    l.max_rand_eval = rv[299];
    l.has_mp = 1;
    l.bulk_max = 2.5;
    l.num_spikes = 30;
    l.mp_softrank = 2.5 / ev[299];
    /* with the shuffled spectrum kept: a step outline on both plots */
    l.rand_evals = rv;
    l.n_rand_evals = 300;
    for (int k = 0; k < 2; k++) {
        char *svg = esd_svg(&l, k ? WL_PLOT_LINEAR : WL_PLOT_LOGLOG, NULL);
        assert_well_formed(svg, "svg");
        assert_int_equal(count(svg, "class=\"rand-esd\""), 1);
        assert_int_equal(count(svg, "class=\"rand-max\""), 0);
        char *d = attr_of(svg, "class=\"rand-esd\"", "d");
        assert_true(path_points(d, 0, 560, NULL, 0) > 2);
        free(d);
        if (k == 1) /* λmax far beyond 4 λ+: the axis is cut and the rest counted */
            assert_non_null(strstr(svg, "beyond the axis, up to \xCE\xBBmax"));
        free(svg);
    }
    /* without it: a marker at max_rand_eval */
    l.rand_evals = NULL;
    l.n_rand_evals = 0;
    char *svg = esd_svg(&l, WL_PLOT_LOGLOG, NULL);
    assert_well_formed(svg, "svg");
    assert_int_equal(count(svg, "class=\"rand-esd\""), 0);
    assert_int_equal(count(svg, "class=\"rand-max\""), 1);
    free(svg);
}

static void test_not_plottable(void **state)
{
    (void)state;
    wl_layer l;
    memset(&l, 0, sizeof l);
    l.name = name_bad;
    l.status = WL_LAYER_NONFINITE;
    l.nonfinite_index = 17;
    l.num_evals = 4;
    char *svg = esd_svg(&l, WL_PLOT_LOGLOG, NULL);
    assert_well_formed(svg, "svg");
    assert_int_equal(count(svg, "class=\"esd\""), 0);
    assert_non_null(strstr(svg, "NaN/Inf weights (first at index 17)"));
    assert_non_null(strstr(svg, "bad&amp;weight"));
    assert_non_null(strstr(svg, ">unclassified</text>"));
    free(svg);

    l.status = WL_LAYER_SUCCESS; /* evals not kept */
    svg = esd_svg(&l, WL_PLOT_LINEAR, NULL);
    assert_well_formed(svg, "svg");
    assert_non_null(strstr(svg, "eigenvalues not kept"));
    free(svg);

    /* an all-zero spectrum: nothing on log axes, a bar at 0 on linear axes */
    double zeros[12] = {0};
    l.evals = zeros;
    l.num_evals = 12;
    l.status = WL_LAYER_FIT_FAILED;
    l.alpha = -1;
    snprintf(l.status_reason, sizeof l.status_reason, "0 eigenvalues > 1e-5 <");
    wl_plot_range r;
    assert_int_equal(wl_plot_esd_range(&l, WL_PLOT_LOGLOG, &r), 0);
    assert_int_equal(wl_plot_esd_range(&l, WL_PLOT_LINEAR, &r), 1);
    svg = esd_svg(&l, WL_PLOT_LOGLOG, NULL);
    assert_well_formed(svg, "svg");
    assert_non_null(strstr(svg, "all 12 eigenvalues are &lt;= 1e-5"));
    free(svg);
    svg = esd_svg(&l, WL_PLOT_LINEAR, NULL);
    assert_well_formed(svg, "svg");
    assert_int_equal(count(svg, "class=\"esd\""), 1);
    free(svg);

    /* a failed fit: histogram, no power law, the reason (escaped) in the subtitle */
    double few[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3.0};
    l.evals = few;
    svg = esd_svg(&l, WL_PLOT_LOGLOG, NULL);
    assert_well_formed(svg, "svg");
    assert_int_equal(count(svg, "class=\"esd\""), 1);
    assert_int_equal(count(svg, "class=\"fit\""), 0);
    assert_non_null(strstr(svg, "power-law fit failed: 0 eigenvalues &gt; 1e-5 &lt;"));
    assert_non_null(strstr(svg, "11 eigenvalues \xE2\x89\xA4 1e-5 not shown"));
    free(svg);
}

static void test_shared_range(void **state)
{
    (void)state;
    double a[200], b[200];
    wl_layer la = pl_layer(a, 200, 2.5, 1), lb = pl_layer(b, 200, 4.0, 2);
    for (size_t i = 0; i < 200; i++)
        b[i] *= 100; /* a spectrum two decades higher */
    lb.xmin *= 100;
    wl_plot_range ra, rb;
    assert_int_equal(wl_plot_esd_range(&la, WL_PLOT_LOGLOG, &ra), 1);
    assert_int_equal(wl_plot_esd_range(&lb, WL_PLOT_LOGLOG, &rb), 1);
    assert_true(ra.x0 > 0 && ra.x0 < a[0] && ra.x1 > a[199] && ra.y0 > 0 && ra.y1 > ra.y0);
    wl_plot_range u = ra;
    wl_plot_range_union(&u, &rb);
    assert_true(u.x0 == ra.x0 && u.x1 == rb.x1);
    assert_true(u.y0 <= ra.y0 && u.y0 <= rb.y0 && u.y1 >= ra.y1 && u.y1 >= rb.y1);
    /* both plots on the union's axes: identical tick labels */
    wl_plot_opts o = {.range = &u};
    char *sa = esd_svg(&la, WL_PLOT_LOGLOG, &o), *sb = esd_svg(&lb, WL_PLOT_LOGLOG, &o);
    assert_well_formed(sa, "svg");
    assert_well_formed(sb, "svg");
    const char *ta = strstr(sa, "<g class=\"tick-labels\""),
               *tb = strstr(sb, "<g class=\"tick-labels\"");
    assert_int_equal(strcspn(ta, "\n"), strcspn(tb, "\n"));
    assert_int_equal(strncmp(ta, tb, strcspn(ta, "\n")), 0);
    free(sa);
    free(sb);
    /* a range that misses the data entirely still gives a valid plot */
    wl_plot_range away = {1e6, 1e7, 1e-3, 1};
    o.range = &away;
    sa = esd_svg(&la, WL_PLOT_LOGLOG, &o);
    assert_well_formed(sa, "svg");
    free(sa);
}

typedef struct depth_ctx {
    const char *const *names;
    size_t n;
    const wl_plot_series *s;
    size_t n_series;
} depth_ctx;

static wl_status write_depth(FILE *f, const void *ctx, wl_err *err)
{
    const depth_ctx *c = ctx;
    return wl_plot_depth_svg(f, "\xCE\xB1 <per> layer", c->names, c->n, c->s, c->n_series, 1, NULL,
                             err);
}

static void test_depth_chart(void **state)
{
    (void)state;
    const char *names[6] = {"a", NASTY, "c", "d", "a-very-long-layer-name-that-is-shortened", "f"};
    double alpha[6] = {2.5, 3.0, NAN, 7.5, INFINITY, 4.0};
    double base[6] = {6.0, 6.5, 7.0, NAN, 8.0, 9.0};
    wl_plot_series s[2] = {{"\xCE\xB1", alpha, "#4c78a8", 0},
                           {"\xCE\xB1 (base)", base, "#4c78a8", 1}};
    depth_ctx c = {names, 6, s, 2};
    char *svg = capture(write_depth, &c);
    assert_well_formed(svg, "svg");
    assert_int_equal(count(svg, "<g class=\"series\""), 2);
    /* markers: 4 finite + 1 off-scale for alpha, 5 for base */
    assert_int_equal(count(svg, "<circle class=\"marker\""), 4 + 5);
    assert_int_equal(count(svg, "class=\"marker off-scale\""), 1);
    assert_int_equal(count(svg, "<g class=\"alpha-band\""), 1);
    /* lines break at NaN and inf: alpha runs {a, NASTY}, {d}, {f}; base runs {a..c}, {e, f} */
    char *d = attr_of(svg, "data-series=\"0\"><path", "d");
    assert_int_equal(count(d, "M"), 3);
    path_points(d, 0, 1100, NULL, 0);
    free(d);
    d = attr_of(svg, "data-series=\"1\"><path", "d");
    assert_int_equal(count(d, "M"), 2);
    assert_non_null(strstr(svg, "stroke-dasharray"));
    free(d);
    assert_null(strstr(svg, "<script"));
    assert_non_null(strstr(svg, "&lt;per&gt;"));
    assert_non_null(strstr(svg, "a-very-long-layer\xE2\x80\xA6")); /* 18 characters */
    assert_non_null(strstr(svg, "<title>a-very-long-layer-name-that-is-shortened: "));
    free(svg);

    depth_ctx none = {names, 0, s, 2};
    svg = capture(write_depth, &none);
    assert_well_formed(svg, "svg");
    assert_non_null(strstr(svg, "no analyzed layers"));
    free(svg);
}

static void test_write_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    setvbuf(f, NULL, _IONBF, 0);
    double ev[100];
    wl_layer l = pl_layer(ev, 100, 2.5, 5);
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_plot_esd_svg(f, &l, WL_PLOT_LOGLOG, NULL, &err), WL_E_IO);
    assert_non_null(strstr(err.msg, "cannot write the ESD plot"));
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_bins),
        cmocka_unit_test(test_loglog),
        cmocka_unit_test(test_competing_fits),
        cmocka_unit_test(test_linear_mp),
        cmocka_unit_test(test_randomized_overlay),
        cmocka_unit_test(test_not_plottable),
        cmocka_unit_test(test_shared_range),
        cmocka_unit_test(test_depth_chart),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
