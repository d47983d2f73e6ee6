/*
 * plot_svg.c — the ESD plots and the depth chart of plot_svg.h, written as SVG 1.1 text.
 *
 * Normalisation (so that the histogram and the curves share one density axis):
 *   log-log: bin density = count / (n · width) over the n eigenvalues > WL_PLOT_EVAL_MIN (the
 *     data the power law was fitted to); the fitted law p(x) = (n_tail / n) · (α − 1) / xmin ·
 *     (x / xmin)^−α for x ≥ xmin is the continuous power-law pdf (Clauset, Shalizi & Newman
 *     2009, eq. 2.2) scaled to the tail's share of the data.
 *   linear: bin density over all eigenvalues; the Marchenko–Pastur density as WeightWatcher
 *     fits it, ρ(λ) = √((λ+ − λ)(λ − λ−)) / (2π σ² y λ) with y = 1/Q and σ = √λ+ / (1 + √y) in
 *     eigenvalue units (Marchenko & Pastur 1967; WeightWatcher's marchenko_pastur_fun), whose
 *     unit area is compared with the density of the whole spectrum, spikes included.
 * The shuffled-weights ESD is binned on the same edges and normalised by its own count.
 */
#include "plot_svg.h"

#include "distfit.h"
#include "wl_err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEF_WIDTH   560
#define DEF_HEIGHT  340
#define MAX_TICKS   64
#define MP_SAMPLES  240
#define FIT_SAMPLES 48 /* points of each competing fit, log-spaced over the tail */
#define PI          3.14159265358979323846

#define COL_ESD   "#4c78a8"
#define COL_FIT   "#d62728"
#define COL_XMIN  "#333333"
#define COL_MP    "#ff7f0e"
#define COL_RAND  "#2ca02c"
#define COL_GRID  "#e6e6e6"
#define COL_AXIS  "#444444"
#define COL_TEXT  "#222222"
#define COL_MUTED "#666666"
#define COL_ALT   "#7f7f7f" /* the competing fits (dotted), labelled at their ends */
#define HALO                                                                                       \
    " paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\" stroke-linejoin=\"round\""
#define FONT "DejaVu Sans, Verdana, Arial, sans-serif"

/* ---------------------------------------------------------------- escaping */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes there are not one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid: RFC 3629 §4). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void wl_markup_escape(FILE *f, const char *s, size_t max_chars)
{
    if (s == NULL)
        return;
    const unsigned char *p = (const unsigned char *)s;
    size_t total = 0;
    if (max_chars > 0) {
        /* count characters (an invalid byte counts as one) to know whether to shorten */
        for (const unsigned char *q = p; *q; total++) {
            size_t n = utf8_len(q);
            q += n ? n : 1;
        }
    }
    int shorten = max_chars > 0 && total > max_chars;
    for (size_t written = 0; *p; written++) {
        if (shorten && written + 1 == max_chars) {
            fputs("\xE2\x80\xA6", f); /* U+2026 … */
            return;
        }
        size_t n = utf8_len(p);
        if (n == 0) {
            fputs("\xEF\xBF\xBD", f); /* U+FFFD for a byte that is not UTF-8 */
            p++;
            continue;
        }
        if (n > 1) {
            fwrite(p, 1, n, f);
            p += n;
            continue;
        }
        switch (*p) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            /* XML 1.0 allows no C0 control but tab, LF, CR; DEL is legal but invisible */
            if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7F)
                fputs("\xEF\xBF\xBD", f);
            else
                fputc(*p, f);
        }
        p++;
    }
}

/* ---------------------------------------------------------------- numbers and axes */

size_t wl_plot_bins(size_t n)
{
    double b = ceil(1.5 * sqrt((double)n));
    if (b < WL_PLOT_MIN_BINS)
        return WL_PLOT_MIN_BINS;
    if (b > WL_PLOT_MAX_BINS)
        return WL_PLOT_MAX_BINS;
    return (size_t)b;
}

/* A pixel coordinate as text: one decimal (integers without it), clamped to +-1e5 so that no
 * path ever holds an absurd number. Returned by value so that it can be an fprintf argument:
 * fprintf(f, "x=\"%s\"", P(x).s) (the array lives until the end of the full expression). */
typedef struct pxstr {
    char s[16];
} pxstr;

static pxstr P(double v)
{
    pxstr r;
    if (!isfinite(v))
        v = v > 0 ? 1e5 : -1e5; /* NaN never reaches here; +-inf only from a degenerate axis */
    if (v > 1e5)
        v = 1e5;
    if (v < -1e5)
        v = -1e5;
    double t = round(v * 10.0) / 10.0;
    if (t == 0.0)
        t = 0.0; /* no "-0" */
    snprintf(r.s, sizeof r.s, t == floor(t) ? "%.0f" : "%.1f", t);
    return r;
}

/* Human-readable value for titles and tooltips: 4 significant digits, inf/nan spelled out. */
static void fmt_val(double v, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (isinf(v))
        snprintf(buf, size, v > 0 ? "inf" : "-inf");
    else if (v != 0.0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3))
        snprintf(buf, size, "%.3e", v);
    else
        snprintf(buf, size, "%.4g", v);
}

typedef struct axis {
    double d0, d1; /* data range */
    double p0, p1; /* pixel range (p1 < p0 for y) */
    int is_log;
} axis;

static double axis_map(const axis *a, double v)
{
    double t;
    if (a->is_log)
        t = (log10(v) - log10(a->d0)) / (log10(a->d1) - log10(a->d0));
    else
        t = (v - a->d0) / (a->d1 - a->d0);
    return a->p0 + t * (a->p1 - a->p0);
}

typedef struct tick {
    double v;
    int is_major; /* labelled */
    char label[24];
} tick;

/* 1-2-5 step near span / target */
static double nice_step(double span, int target)
{
    double raw = span / target;
    double mag = pow(10.0, floor(log10(raw)));
    double m = raw / mag;
    double s = m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10;
    return s * mag;
}

static void fmt_tick_lin(double v, double step, char *buf, size_t size)
{
    if (fabs(v) < step * 1e-9)
        v = 0.0;
    if (v != 0.0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3)) {
        /* "8e9", "1.2e10", "5e-4": shorter than printf's "8e+09" */
        int k = (int)floor(log10(fabs(v)));
        snprintf(buf, size, "%.2ge%d", v / pow(10.0, k), k);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, size, "%.*f", dec, v);
}

static void fmt_tick_log(double v, char *buf, size_t size)
{
    double k = log10(v);
    if (fabs(k - round(k)) < 1e-9 && (k < -3 || k > 4))
        snprintf(buf, size, "1e%d", (int)round(k));
    else if (v < 1)
        snprintf(buf, size, "%.*f", (int)ceil(-k - 1e-9), v);
    else
        snprintf(buf, size, "%.0f", v);
}

/* Ticks of an axis: 1-2-5 steps on a linear axis; decades on a log axis, with 2 and 5 labelled
 * on short ranges and unlabelled minor ticks when there are few decades. Returns the count. */
static size_t make_ticks(const axis *a, int target, tick *t)
{
    size_t n = 0;
    if (!a->is_log) {
        double step = nice_step(a->d1 - a->d0, target);
        for (double v = ceil(a->d0 / step - 1e-9) * step; v <= a->d1 + step * 1e-9 && n < MAX_TICKS;
             v += step) {
            t[n].v = v;
            t[n].is_major = 1;
            fmt_tick_lin(v, step, t[n].label, sizeof t[n].label);
            n++;
        }
        return n;
    }
    int k0 = (int)floor(log10(a->d0)), k1 = (int)ceil(log10(a->d1));
    int decades = k1 - k0;
    int every = decades > 8 ? (decades + 7) / 8 : 1;
    int n_dec = 0; /* powers of ten inside the range */
    for (int k = k0; k <= k1; k++) {
        double v = pow(10.0, k);
        n_dec += v >= a->d0 * (1 - 1e-9) && v <= a->d1 * (1 + 1e-9);
    }
    int label_25 = n_dec < 3; /* a short range also labels 2x and 5x */
    for (int k = k0; k <= k1 && n < MAX_TICKS; k++) {
        double dec = pow(10.0, k);
        for (int m = 1; m <= 9 && n < MAX_TICKS; m++) {
            double v = m * dec;
            if (v < a->d0 * (1 - 1e-9) || v > a->d1 * (1 + 1e-9))
                continue;
            int labelled = (m == 1 && (k % every) == 0) || (label_25 && (m == 2 || m == 5));
            if (m != 1 && !labelled && decades > 6)
                continue;
            t[n].v = v;
            t[n].is_major = labelled;
            t[n].label[0] = '\0';
            if (labelled)
                fmt_tick_log(v, t[n].label, sizeof t[n].label);
            n++;
        }
    }
    return n;
}

/* Plot area frame, grid, ticks, tick labels and axis titles. */
static void draw_axes(FILE *f, const axis *x, const axis *y, const char *xtitle, const char *ytitle)
{
    tick t[MAX_TICKS];
    size_t n = make_ticks(x, 6, t);
    fputs("<g class=\"grid\" stroke=\"" COL_GRID "\" stroke-width=\"1\">", f);
    for (size_t i = 0; i < n; i++) {
        if (!t[i].is_major)
            continue;
        double p = axis_map(x, t[i].v);
        fprintf(f, "<line x1=\"%s\" x2=\"%s\" y1=\"%s\" y2=\"%s\"/>", P(p).s, P(p).s, P(y->p0).s,
                P(y->p1).s);
    }
    tick u[MAX_TICKS];
    size_t m = make_ticks(y, 5, u);
    for (size_t i = 0; i < m; i++) {
        if (!u[i].is_major)
            continue;
        double p = axis_map(y, u[i].v);
        fprintf(f, "<line x1=\"%s\" x2=\"%s\" y1=\"%s\" y2=\"%s\"/>", P(x->p0).s, P(x->p1).s,
                P(p).s, P(p).s);
    }
    fputs("</g>\n", f);
    fprintf(f,
            "<rect class=\"frame\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"none\" "
            "stroke=\"" COL_AXIS "\" stroke-width=\"1\"/>\n",
            P(x->p0).s, P(y->p1).s, P(x->p1 - x->p0).s, P(y->p0 - y->p1).s);
    /* tick marks as one path per axis */
    fputs("<path class=\"ticks\" stroke=\"" COL_AXIS "\" stroke-width=\"1\" d=\"", f);
    for (size_t i = 0; i < n; i++) {
        double p = axis_map(x, t[i].v);
        fprintf(f, "M%s %sv%s", P(p).s, P(y->p0).s, P(t[i].is_major ? 5 : 3).s);
    }
    for (size_t i = 0; i < m; i++) {
        double p = axis_map(y, u[i].v);
        fprintf(f, "M%s %sh%s", P(x->p0).s, P(p).s, P(u[i].is_major ? -5 : -3).s);
    }
    fputs("\"/>\n", f);
    fputs("<g class=\"tick-labels\" font-size=\"11\" fill=\"" COL_TEXT "\">", f);
    for (size_t i = 0; i < n; i++) {
        if (!t[i].is_major)
            continue;
        fprintf(f, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>",
                P(axis_map(x, t[i].v)).s, P(y->p0 + 17).s, t[i].label);
    }
    for (size_t i = 0; i < m; i++) {
        if (!u[i].is_major)
            continue;
        fprintf(f, "<text x=\"%s\" y=\"%s\" text-anchor=\"end\">%s</text>", P(x->p0 - 8).s,
                P(axis_map(y, u[i].v) + 4).s, u[i].label);
    }
    fputs("</g>\n", f);
    fprintf(f,
            "<text class=\"axis-title\" font-size=\"12\" fill=\"" COL_MUTED
            "\" x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>\n",
            P((x->p0 + x->p1) / 2).s, P(y->p0 + 34).s, xtitle);
    fputs("<text class=\"axis-title\" font-size=\"12\" fill=\"" COL_MUTED
          "\" transform=\"translate(",
          f);
    fprintf(f, "%s %s) rotate(-90)\" text-anchor=\"middle\">%s</text>\n", P(14).s,
            P((y->p0 + y->p1) / 2).s, ytitle);
}

/* Opens the nested viewport that clips the data to the plot area; coordinates inside stay the
 * outer ones thanks to the matching viewBox. */
static void open_clip(FILE *f, const axis *x, const axis *y)
{
    fprintf(f,
            "<svg class=\"plot-area\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" viewBox=\"%s %s "
            "%s %s\" overflow=\"hidden\">\n",
            P(x->p0).s, P(y->p1).s, P(x->p1 - x->p0).s, P(y->p0 - y->p1).s, P(x->p0).s, P(y->p1).s,
            P(x->p1 - x->p0).s, P(y->p0 - y->p1).s);
}

/* ---------------------------------------------------------------- the ESD data */

typedef struct hist {
    size_t n_bins;
    double *edges;  /* n_bins + 1 */
    double *dens;   /* n_bins */
    size_t n_in;    /* values inside the edges */
    size_t n_above; /* values above the last edge */
} hist;

static void hist_free(hist *h)
{
    free(h->edges);
    free(h->dens);
    h->edges = h->dens = NULL;
}

/* Bins the values of v[0..n) that exceed floor_v, on n_bins edges spanning [x0, x1] (log-spaced
 * when is_log), as density over the count of values that exceed floor_v. 0 or -1 (no memory). */
static int hist_build(hist *h, const double *v, size_t n, double floor_v, double x0, double x1,
                      int is_log, size_t n_bins)
{
    memset(h, 0, sizeof *h);
    h->n_bins = n_bins;
    h->edges = malloc((n_bins + 1) * sizeof *h->edges);
    h->dens = calloc(n_bins, sizeof *h->dens);
    if (!h->edges || !h->dens) {
        hist_free(h);
        return -1;
    }
    double l0 = is_log ? log10(x0) : x0, l1 = is_log ? log10(x1) : x1;
    for (size_t i = 0; i <= n_bins; i++) {
        double t = l0 + (l1 - l0) * (double)i / (double)n_bins;
        h->edges[i] = is_log ? pow(10.0, t) : t;
    }
    size_t n_data = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (!(x > floor_v))
            continue;
        n_data++;
        if (x < x0)
            continue;
        if (x > x1) {
            h->n_above++;
            continue;
        }
        double t = ((is_log ? log10(x) : x) - l0) / (l1 - l0);
        size_t b = t >= 1 ? n_bins - 1 : (size_t)(t * (double)n_bins);
        h->dens[b] += 1.0;
        h->n_in++;
    }
    for (size_t b = 0; b < n_bins && n_data; b++)
        h->dens[b] /= (double)n_data * (h->edges[b + 1] - h->edges[b]);
    return 0;
}

/* Index of the first value > floor_v in the ascending array v (n if none). */
static size_t first_above(const double *v, size_t n, double floor_v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] > floor_v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int has_fit(const wl_layer *l)
{
    return l->status == WL_LAYER_SUCCESS && l->alpha > 1 && isfinite(l->alpha) && l->xmin > 0 &&
           l->num_pl_spikes > 0;
}

static int has_mp_fit(const wl_layer *l)
{
    return l->has_mp && l->bulk_max > 0 && isfinite(l->bulk_max) && l->Q > 0 && isfinite(l->Q);
}

static int has_rand_evals(const wl_layer *l)
{
    return l->has_rand && l->rand_evals && l->n_rand_evals > 0;
}

/* Fitted power-law density at x (see the file header). */
static double pl_density(const wl_layer *l, size_t n_data, double x)
{
    double share = (double)l->num_pl_spikes / (double)n_data;
    return share * (l->alpha - 1) / l->xmin * pow(x / l->xmin, -l->alpha);
}

/* Marchenko–Pastur density at x in eigenvalue units (see the file header); 0 outside. */
static double mp_density(const wl_layer *l, double x)
{
    double y = 1.0 / l->Q, sy = sqrt(y);
    double s2 = l->bulk_max / ((1 + sy) * (1 + sy));
    double a = s2 * (1 - sy) * (1 - sy), b = l->bulk_max;
    if (x <= a || x >= b || x <= 0)
        return 0.0;
    return sqrt((b - x) * (x - a)) / (2 * PI * s2 * y * x);
}

static double mp_lower_edge(const wl_layer *l)
{
    double sy = sqrt(1.0 / l->Q);
    return l->bulk_max / ((1 + sy) * (1 + sy)) * (1 - sy) * (1 - sy);
}

/* The right end of the linear plot's x axis. When λmax lies beyond WL_PLOT_LINEAR_FAR x λ+,
 * the axis ends at WL_PLOT_LINEAR_CUT x λ+ or at the 95th percentile of the eigenvalues,
 * whichever is larger (a rank-collapsed layer's λ+ sits near 0, its spectrum does not), and
 * the eigenvalues cut off are counted in a note. Otherwise it covers everything drawn: λmax,
 * λ+ and the shuffled spectrum. */
static double linear_x1(const wl_layer *l)
{
    size_t n = (size_t)l->num_evals;
    double top = l->evals[n - 1];
    if (has_mp_fit(l) && top > WL_PLOT_LINEAR_FAR * l->bulk_max) {
        double x1 = WL_PLOT_LINEAR_CUT * l->bulk_max;
        double q95 = l->evals[(size_t)floor(0.95 * (double)(n - 1))];
        if (q95 > x1)
            x1 = q95;
        x1 *= 1.04;
        return x1 < top * 1.04 ? x1 : top * 1.04;
    }
    if (has_mp_fit(l) && l->bulk_max > top)
        top = l->bulk_max;
    if (has_rand_evals(l) && l->rand_evals[l->n_rand_evals - 1] > top)
        top = l->rand_evals[l->n_rand_evals - 1];
    else if (l->has_rand && l->max_rand_eval > top)
        top = l->max_rand_eval;
    double x1 = top * 1.04;
    return x1 > 0 ? x1 : 1.0; /* 1 for an all-zero spectrum */
}

static int plottable(const wl_layer *l)
{
    return l->status != WL_LAYER_NONFINITE && l->evals && l->num_evals > 0;
}

/* The whole of one ESD plot's data: x range, histogram(s), y range. */
typedef struct esd_data {
    wl_plot_range r;
    size_t n_data; /* eigenvalues in the ESD's normalisation */
    size_t n_zero; /* log-log: eigenvalues <= WL_PLOT_EVAL_MIN, not shown */
    hist h, hr;    /* ESD and shuffled ESD (hr.n_bins = 0 when absent) */
} esd_data;

static void esd_data_free(esd_data *d)
{
    hist_free(&d->h);
    hist_free(&d->hr);
}

static void y_range_of(esd_data *d, const wl_layer *l, wl_plot_kind kind, double *lo, double *hi)
{
    double ymin = INFINITY, ymax = 0;
    const hist *hs[2] = {&d->h, &d->hr};
    for (int k = 0; k < 2; k++)
        for (size_t b = 0; b < hs[k]->n_bins; b++) {
            double v = hs[k]->dens[b];
            if (v > 0 && v < ymin)
                ymin = v;
            if (v > ymax)
                ymax = v;
        }
    if (kind == WL_PLOT_LOGLOG && has_fit(l) && d->n_data > 0) {
        double top = l->evals[l->num_evals - 1];
        double p0 = pl_density(l, d->n_data, l->xmin), p1 = pl_density(l, d->n_data, top);
        if (p0 > ymax)
            ymax = p0;
        if (p1 > 0 && p1 < ymin)
            ymin = p1;
    }
    if (kind == WL_PLOT_LINEAR && has_mp_fit(l)) {
        /* the MP peak counts up to 1.5 x the histogram's (it diverges at 0 when Q = 1) */
        double a = mp_lower_edge(l), b = l->bulk_max, peak = 0;
        for (int i = 1; i < MP_SAMPLES; i++) {
            double v = mp_density(l, a + (b - a) * i / MP_SAMPLES);
            if (v > peak)
                peak = v;
        }
        if (peak > 1.5 * ymax)
            peak = 1.5 * ymax;
        if (peak > ymax)
            ymax = peak;
    }
    if (!(ymax > 0))
        ymax = 1;
    if (!(ymin < INFINITY))
        ymin = ymax / 10;
    *lo = ymin;
    *hi = ymax;
}

/* Builds the plot data of l on the x range of rin (or its own when rin is NULL). 1 on
 * success, 0 when l is not plottable, -1 when out of memory. */
static int esd_data_build(esd_data *d, const wl_layer *l, wl_plot_kind kind,
                          const wl_plot_range *rin)
{
    memset(d, 0, sizeof *d);
    if (!plottable(l))
        return 0;
    const double *ev = l->evals;
    size_t n = (size_t)l->num_evals;
    int is_log = kind == WL_PLOT_LOGLOG;
    double floor_v = is_log ? WL_PLOT_EVAL_MIN : -INFINITY;
    size_t i0 = is_log ? first_above(ev, n, floor_v) : 0;
    d->n_data = n - i0;
    d->n_zero = i0;
    if (d->n_data == 0)
        return 0;
    size_t nr = has_rand_evals(l) ? l->n_rand_evals : 0;
    size_t j0 = nr ? (is_log ? first_above(l->rand_evals, nr, floor_v) : 0) : 0;
    double x0, x1;
    if (rin) {
        x0 = rin->x0;
        x1 = rin->x1;
    } else if (is_log) {
        double lo = ev[i0], hi = ev[n - 1];
        if (j0 < nr) {
            lo = l->rand_evals[j0] < lo ? l->rand_evals[j0] : lo;
            hi = l->rand_evals[nr - 1] > hi ? l->rand_evals[nr - 1] : hi;
        }
        if (hi <= lo * 1.01) {
            lo /= 3;
            hi *= 3;
        }
        x0 = lo / 1.15;
        x1 = hi * 1.15;
    } else {
        x0 = 0;
        x1 = linear_x1(l);
    }
    size_t bins = wl_plot_bins(d->n_data);
    if (hist_build(&d->h, ev, n, floor_v, x0, x1, is_log, bins) != 0)
        return -1;
    if (j0 < nr && hist_build(&d->hr, l->rand_evals, nr, floor_v, x0, x1, is_log, bins) != 0) {
        esd_data_free(d);
        return -1;
    }
    double y0, y1;
    y_range_of(d, l, kind, &y0, &y1);
    d->r.x0 = x0;
    d->r.x1 = x1;
    if (is_log) {
        d->r.y0 = y0 / 2;
        d->r.y1 = y1 * 2;
        if (d->r.y0 < d->r.y1 * 1e-12)
            d->r.y0 = d->r.y1 * 1e-12;
    } else {
        d->r.y0 = 0;
        d->r.y1 = y1 * 1.1;
    }
    if (rin) {
        d->r.y0 = rin->y0;
        d->r.y1 = rin->y1;
    }
    return 1;
}

int wl_plot_esd_range(const wl_layer *l, wl_plot_kind kind, wl_plot_range *out)
{
    esd_data d;
    int rc = esd_data_build(&d, l, kind, NULL);
    if (rc == 1)
        *out = d.r;
    esd_data_free(&d);
    return rc == 1;
}

void wl_plot_range_union(wl_plot_range *acc, const wl_plot_range *r)
{
    if (r->x0 < acc->x0)
        acc->x0 = r->x0;
    if (r->x1 > acc->x1)
        acc->x1 = r->x1;
    if (r->y0 < acc->y0)
        acc->y0 = r->y0;
    if (r->y1 > acc->y1)
        acc->y1 = r->y1;
}

/* ---------------------------------------------------------------- drawing */

static const char *phase_color(const char *phase)
{
    static const struct {
        const char *name, *color;
    } colors[] = {
        {"random-like", "#8c8c8c"}, {"bleeding-out", "#e0a030"}, {"bulk+spikes", "#4c9be8"},
        {"bulk-decay", "#5bb5a8"},  {"heavy-tailed", "#2e9d58"}, {"rank-collapse", "#d64545"},
    };
    for (size_t i = 0; phase && i < sizeof colors / sizeof colors[0]; i++)
        if (strcmp(phase, colors[i].name) == 0)
            return colors[i].color;
    return "#b0b0b0";
}

static void svg_open(FILE *f, int w, int h, const char *cls, const wl_layer *l, const char *what)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"%s\" viewBox=\"0 0 %d %d\" "
            "width=\"%d\" height=\"%d\" font-family=\"" FONT "\" role=\"img\" aria-label=\"",
            cls, w, h, w, h);
    fputs(what, f);
    if (l) {
        fputs(" of ", f);
        wl_markup_escape(f, l->name, 0);
    }
    fputs("\">\n<rect class=\"background\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", f);
}

/* Title lines: "[label · ]name" and the subtitle; the phase badge at the top right. */
static void draw_title(FILE *f, int w, const wl_layer *l, const char *label, const char *sub)
{
    fputs("<text class=\"title\" x=\"12\" y=\"20\" font-size=\"14\" font-weight=\"bold\" "
          "fill=\"" COL_TEXT "\">",
          f);
    if (label && *label) {
        wl_markup_escape(f, label, 24);
        fputs(" \xC2\xB7 ", f);
    }
    wl_markup_escape(f, l->name, 48);
    fputs("<title>", f);
    wl_markup_escape(f, l->id ? l->id : l->name, 0);
    fputs("</title></text>\n", f);
    fputs("<text class=\"subtitle\" x=\"12\" y=\"38\" font-size=\"12\" fill=\"" COL_TEXT "\">", f);
    wl_markup_escape(f, sub, 0);
    fputs("</text>\n", f);
    const char *phase = l->phase ? l->phase : "unclassified";
    size_t len = strlen(phase);
    if (len > 24)
        len = 24;
    double bw = 14 + 6.6 * (double)len;
    fprintf(f,
            "<g class=\"phase\"><rect x=\"%s\" y=\"8\" rx=\"9\" width=\"%s\" height=\"18\" "
            "fill=\"%s\"/><text x=\"%s\" y=\"21\" font-size=\"11\" text-anchor=\"middle\" "
            "fill=\"#ffffff\">",
            P(w - 10 - bw).s, P(bw).s, phase_color(l->phase), P(w - 10 - bw / 2).s);
    wl_markup_escape(f, phase, 24);
    fputs("</text></g>\n", f);
}

/* Legend entries, drawn top right inside the plot area. */
typedef struct legend_item {
    const char *text; /* trusted (built from numbers) */
    const char *color;
    int kind; /* 0 filled box, 1 line, 2 dashed line, 3 dotted line */
} legend_item;

/* Legend entries in one row between the subtitle and the plot area (never over the data). */
static void draw_legend(FILE *f, const axis *x, double base_y, const legend_item *it, size_t n)
{
    double cx = x->p0;
    fputs("<g class=\"legend\" font-size=\"11\">", f);
    for (size_t i = 0; i < n; i++) {
        if (it[i].kind == 0) {
            fprintf(f, "<rect x=\"%s\" y=\"%s", P(cx).s, P(base_y - 9).s);
            fprintf(f, "\" width=\"16\" height=\"10\" fill=\"%s\" fill-opacity=\"0.55\"/>",
                    it[i].color);
        } else {
            fprintf(f, "<line x1=\"%s\" x2=\"%s\" y1=\"%s\" y2=\"%s", P(cx).s, P(cx + 16).s,
                    P(base_y - 4).s, P(base_y - 4).s);
            fprintf(f, "\" stroke=\"%s\" stroke-width=\"2\"%s/>", it[i].color,
                    it[i].kind == 2   ? " stroke-dasharray=\"5 3\""
                    : it[i].kind == 3 ? " stroke-dasharray=\"2 2\""
                                      : "");
        }
        fprintf(f, "<text x=\"%s\" y=\"%s\" fill=\"" COL_TEXT "\">%s</text>", P(cx + 20).s,
                P(base_y).s, it[i].text);
        size_t chars = 0;
        for (const unsigned char *p = (const unsigned char *)it[i].text; *p; p++)
            chars += (*p & 0xC0) != 0x80;
        cx += 20 + 6.6 * (double)chars + 14;
    }
    fputs("</g>\n", f);
}

/* Histogram bars as one path: one closed rectangle per non-empty bin. */
static void draw_bars(FILE *f, const hist *h, const axis *x, const axis *y)
{
    fputs("<path class=\"esd\" fill=\"" COL_ESD "\" fill-opacity=\"0.55\" stroke=\"" COL_ESD
          "\" stroke-width=\"0.6\" d=\"",
          f);
    double base = y->is_log ? y->p0 + 2 : axis_map(y, 0.0);
    for (size_t b = 0; b < h->n_bins; b++) {
        if (!(h->dens[b] > 0))
            continue;
        double xa = axis_map(x, h->edges[b]), xb = axis_map(x, h->edges[b + 1]);
        double top = axis_map(y, h->dens[b]);
        fprintf(f, "M%s %sV%sH%sV%sZ", P(xa).s, P(base).s, P(top).s, P(xb).s, P(base).s);
    }
    fputs("\"/>\n", f);
}

/* A histogram as a step outline (the shuffled ESD), broken over empty bins on log axes. */
static void draw_steps(FILE *f, const hist *h, const axis *x, const axis *y)
{
    fputs("<path class=\"rand-esd\" fill=\"none\" stroke=\"" COL_RAND
          "\" stroke-width=\"1.6\" d=\"",
          f);
    int open = 0;
    for (size_t b = 0; b < h->n_bins; b++) {
        double v = h->dens[b];
        if (y->is_log && !(v > 0)) {
            open = 0;
            continue;
        }
        double xa = axis_map(x, h->edges[b]), xb = axis_map(x, h->edges[b + 1]);
        double yy = axis_map(y, v);
        fprintf(f, "%s%s %sH%s", open ? "L" : "M", P(xa).s, P(yy).s, P(xb).s);
        open = 1;
    }
    fputs("\"/>\n", f);
}

static void draw_vline(FILE *f, const char *cls, const axis *x, const axis *y, double v,
                       const char *color, const char *dash, const char *label)
{
    double p = axis_map(x, v);
    fprintf(f,
            "<g class=\"%s\"><line x1=\"%s\" x2=\"%s\" y1=\"%s\" y2=\"%s\" stroke=\"%s\" "
            "stroke-width=\"1.5\" stroke-dasharray=\"%s\"/>",
            cls, P(p).s, P(p).s, P(y->p0).s, P(y->p1).s, color, dash);
    if (label) {
        /* right of the line, or left of it when that would run out of the plot area */
        int left = p + 4 + 7.0 * (double)strlen(label) > x->p1;
        fprintf(f, "<text x=\"%s\" y=\"%s", P(left ? p - 4 : p + 4).s, P(y->p0 - 6).s);
        fprintf(f, "\" font-size=\"11\" fill=\"%s\"%s" HALO ">%s</text>", color,
                left ? " text-anchor=\"end\"" : "", label);
    }
    fputs("</g>\n", f);
}

static void message_svg(FILE *f, int w, int h, const wl_layer *l, const char *label,
                        const char *msg)
{
    draw_title(f, w, l, label, "");
    fprintf(f,
            "<text class=\"no-plot\" x=\"%s\" y=\"%s\" font-size=\"13\" text-anchor=\"middle\" "
            "fill=\"" COL_MUTED "\">",
            P(w / 2.0).s, P(h / 2.0).s);
    wl_markup_escape(f, msg, 0);
    fputs("</text>\n", f);
}

static wl_status finish(FILE *f, wl_err *err, const char *what)
{
    fputs("</svg>\n", f);
    if (ferror(f))
        return WL_FAIL(err, WL_E_IO, "cannot write the %s plot: %s", what, strerror(errno));
    return WL_OK;
}

/* The competing fits of --dist-test over the tail [xa, xb], each scaled like the power law to
 * the tail's share of the data, dotted and labelled at its right end: a reader sees whether the
 * straight line or a bending curve follows the points. */
static wl_status draw_alternatives(FILE *f, const wl_layer *l, const axis *x, const axis *y,
                                   double xa, double xb, size_t n_data, wl_err *err)
{
    static const struct {
        int dist;
        const char *label;
    } alts[] = {{WL_DIST_TPL, "TPL"},
                {WL_DIST_EXP, "exp"},
                {WL_DIST_LOGNORMAL, "log-normal"},
                {WL_DIST_STRETCHED, "stretched exp"}};
    const double theta[4][2] = {{l->tpl_alpha, l->tpl_lambda},
                                {l->exponential_lambda, NAN},
                                {l->lognormal_mu, l->lognormal_sigma},
                                {l->stretched_exp_lambda, l->stretched_exp_beta}};
    double xs[FIT_SAMPLES + 1], ld[FIT_SAMPLES + 1];
    double share = (double)l->num_pl_spikes / (double)n_data;
    for (int i = 0; i <= FIT_SAMPLES; i++)
        xs[i] = xa * pow(xb / xa, (double)i / FIT_SAMPLES);
    for (size_t k = 0; k < sizeof alts / sizeof alts[0]; k++) {
        if (!isfinite(theta[k][0]))
            continue;
        wl_status st =
            wl_distfit_log_pdf(alts[k].dist, theta[k], l->xmin, xs, FIT_SAMPLES + 1, ld, err);
        if (st != WL_OK)
            return st;
        fprintf(f, "<path class=\"alt-fit\" fill=\"none\" stroke=\"" COL_ALT
                   "\" stroke-width=\"1.5\" stroke-dasharray=\"2 2\" d=\"");
        /* each curve's label at its own point along the tail (80 %, 60 %, ... of the samples),
         * so that curves that end together are not labelled on top of each other */
        int at = (int)(FIT_SAMPLES * (4 - k) / 5);
        double px = 0, py = 0, lx = 0, ly = 0;
        for (int i = 0; i <= FIT_SAMPLES; i++) {
            px = axis_map(x, xs[i]);
            double v = share * exp(ld[i]);
            py = v > 0 && isfinite(v) ? axis_map(y, v) : y->p0 + 2000;
            if (py > y->p0 + 2000)
                py = y->p0 + 2000; /* far below the axis: the clip path cuts it */
            fprintf(f, "%s%s %s", i ? "L" : "M", P(px).s, P(py).s);
            if (i == at)
                lx = px, ly = py;
        }
        fputs("\"/>\n", f);
        px = lx + 4;
        py = ly;
        if (py < y->p0 - 4 && py > y->p1 + 10)
            fprintf(f,
                    "<text class=\"alt-label\" x=\"%s\" y=\"%s\" font-size=\"10\" "
                    "text-anchor=\"start\" fill=\"" COL_MUTED "\"" HALO ">%s</text>\n",
                    P(px).s, P(py - 3).s, alts[k].label);
    }
    return WL_OK;
}

wl_status wl_plot_esd_svg(FILE *f, const wl_layer *l, wl_plot_kind kind, const wl_plot_opts *o,
                          wl_err *err)
{
    int w = o && o->width > 0 ? o->width : DEF_WIDTH;
    int h = o && o->height > 0 ? o->height : DEF_HEIGHT;
    const char *label = o ? o->label : NULL;
    int is_log = kind == WL_PLOT_LOGLOG;
    svg_open(f, w, h, is_log ? "esd-plot esd-loglog" : "esd-plot esd-linear", l,
             is_log ? "log-log ESD" : "linear ESD");
    esd_data d;
    int rc = esd_data_build(&d, l, kind, o ? o->range : NULL);
    if (rc < 0) {
        esd_data_free(&d);
        fputs("</svg>\n", f);
        return WL_FAIL(err, WL_E_NOMEM, "out of memory for the ESD plot of '%s'", l->name);
    }
    if (rc == 0) {
        char msg[256];
        if (l->status == WL_LAYER_NONFINITE)
            snprintf(msg, sizeof msg, "no spectrum: NaN/Inf weights (first at index %llu)",
                     (unsigned long long)l->nonfinite_index);
        else if (!l->evals)
            snprintf(msg, sizeof msg, "eigenvalues not kept (wl_options.keep_evals)");
        else
            snprintf(msg, sizeof msg, "all %lld eigenvalues are <= 1e-5: nothing on log axes",
                     (long long)l->num_evals);
        message_svg(f, w, h, l, label, msg);
        return finish(f, err, "ESD");
    }

    char sub[320], a[32], b[32], c[32];
    if (is_log) {
        if (has_fit(l)) {
            fmt_val(l->alpha, a, sizeof a);
            fmt_val(l->D, b, sizeof b);
            fmt_val(l->xmin, c, sizeof c);
            char se[128] = "";
            if (isfinite(l->alpha_se)) { /* how far to trust alpha (issue 14) */
                char e1[32], e2[32];
                fmt_val(l->alpha_se, e1, sizeof e1);
                fmt_val(l->alpha_spread, e2, sizeof e2);
                snprintf(se, sizeof se, " \xC2\xB1 %s%s%s%s", e1,
                         isfinite(l->alpha_spread) ? " (spread " : "",
                         isfinite(l->alpha_spread) ? e2 : "", isfinite(l->alpha_spread) ? ")" : "");
            }
            snprintf(sub, sizeof sub,
                     "\xCE\xB1 = %s%s \xC2\xB7 D = %s \xC2\xB7 xmin = %s \xC2\xB7 tail %lld of %zu",
                     a, se, b, c, (long long)l->num_pl_spikes, d.n_data);
        } else {
            snprintf(sub, sizeof sub, "power-law fit failed: %.200s",
                     l->status_reason[0] ? l->status_reason : "no tail to fit");
        }
    } else if (has_mp_fit(l)) {
        fmt_val(l->bulk_max, a, sizeof a);
        fmt_val(l->mp_softrank, b, sizeof b);
        snprintf(sub, sizeof sub,
                 "Marchenko\xE2\x80\x93Pastur: \xCE\xBB+ = %s \xC2\xB7 %lld spikes \xC2\xB7 "
                 "mp_softrank = %s",
                 a, (long long)l->num_spikes, b);
    } else {
        snprintf(sub, sizeof sub, "no Marchenko\xE2\x80\x93Pastur fit%s",
                 l->has_mp ? " (the fit failed)" : " (run with the MP fit on)");
    }
    draw_title(f, w, l, label, sub);

    axis x = {d.r.x0, d.r.x1, 64, w - 16, is_log};
    axis y = {d.r.y0, d.r.y1, h - 46, 64, is_log};
    draw_axes(f, &x, &y, is_log ? "eigenvalue \xCE\xBB (log scale)" : "eigenvalue \xCE\xBB",
              is_log ? "density (log scale)" : "density");
    open_clip(f, &x, &y);
    draw_bars(f, &d.h, &x, &y);
    legend_item items[6];
    size_t n_items = 0;
    items[n_items++] = (legend_item){"ESD", COL_ESD, 0};
    char fit_text[64], edge_text[64], alt_text[64];
    if (d.hr.n_bins) {
        draw_steps(f, &d.hr, &x, &y);
        items[n_items++] = (legend_item){"shuffled", COL_RAND, 1};
    } else if (l->has_rand && l->max_rand_eval > x.d0 && l->max_rand_eval < x.d1) {
        draw_vline(f, "rand-max", &x, &y, l->max_rand_eval, COL_RAND, "2 2", NULL);
        items[n_items++] = (legend_item){"\xCE\xBBmax shuffled", COL_RAND, 3};
    }
    if (is_log && has_fit(l)) {
        double top = l->evals[l->num_evals - 1];
        double xa = l->xmin, xb = top > xa ? top : xa * 1.5;
        fputs("<path class=\"fit\" fill=\"none\" stroke=\"" COL_FIT "\" stroke-width=\"2\" d=\"M",
              f);
        fprintf(f, "%s %sL%s %s\"/>\n", P(axis_map(&x, xa)).s,
                P(axis_map(&y, pl_density(l, d.n_data, xa))).s, P(axis_map(&x, xb)).s,
                P(axis_map(&y, pl_density(l, d.n_data, xb))).s);
        fmt_val(l->alpha, a, sizeof a);
        snprintf(fit_text, sizeof fit_text, "power law \xCE\xB1 = %s", a);
        items[n_items++] = (legend_item){fit_text, COL_FIT, 1};
        draw_vline(f, "xmin", &x, &y, l->xmin, COL_XMIN, "5 3", "xmin");
        items[n_items++] = (legend_item){"xmin", COL_XMIN, 2};
        if (l->has_dist && l->dist_ok) {
            if (draw_alternatives(f, l, &x, &y, xa, xb, d.n_data, err) != WL_OK) {
                esd_data_free(&d);
                fputs("</svg>\n</svg>\n", f);
                return err->code;
            }
            snprintf(alt_text, sizeof alt_text, "competing fits (best: %s)",
                     l->best_fit ? l->best_fit : "?");
            items[n_items++] = (legend_item){alt_text, COL_ALT, 3};
        }
    }
    if (!is_log && has_mp_fit(l)) {
        double lo = mp_lower_edge(l), hi = l->bulk_max;
        fputs("<path class=\"mp\" fill=\"none\" stroke=\"" COL_MP "\" stroke-width=\"2\" d=\"", f);
        for (int i = 0; i <= MP_SAMPLES; i++) {
            /* endpoints nudged inside [λ−, λ+] where the density is finite */
            double t = (i == 0 ? 1e-4 : i == MP_SAMPLES ? 1 - 1e-9 : (double)i / MP_SAMPLES);
            double xv = lo + (hi - lo) * t;
            double yv = mp_density(l, xv);
            double py = axis_map(&y, yv);
            if (py < y.p1 - 2000)
                py = y.p1 - 2000; /* the 1/√λ peak at λ− = 0 (Q = 1) */
            fprintf(f, "%s%s %s", i ? "L" : "M", P(axis_map(&x, xv)).s, P(py).s);
        }
        fputs("\"/>\n", f);
        items[n_items++] = (legend_item){"Marchenko\xE2\x80\x93Pastur", COL_MP, 1};
        draw_vline(f, "bulk-edge", &x, &y, hi, COL_MP, "5 3", "\xCE\xBB+");
        fmt_val(hi, a, sizeof a);
        snprintf(edge_text, sizeof edge_text, "bulk edge \xCE\xBB+ = %s", a);
        items[n_items++] = (legend_item){edge_text, COL_MP, 2};
    }
    fputs("</svg>\n", f); /* plot area */
    draw_legend(f, &x, 56, items, n_items);
    /* notes under the plot: what is not shown */
    char note[200] = "";
    if (is_log && d.n_zero)
        snprintf(note, sizeof note, "%zu eigenvalue%s \xE2\x89\xA4 1e-5 not shown", d.n_zero,
                 d.n_zero == 1 ? "" : "s");
    else if (!is_log && d.h.n_above) {
        fmt_val(l->evals[l->num_evals - 1], a, sizeof a);
        snprintf(note, sizeof note,
                 "\xE2\x86\x92 %zu eigenvalue%s beyond the axis, up to "
                 "\xCE\xBBmax = %s",
                 d.h.n_above, d.h.n_above == 1 ? "" : "s", a);
    }
    if (note[0]) {
        fprintf(f, "<text class=\"note\" x=\"%s\" y=\"%s", P(x.p1 - 6).s, P(y.p1 + 15).s);
        fprintf(f,
                "\" font-size=\"11\" text-anchor=\"end\" fill=\"" COL_TEXT "\"" HALO ">%s</text>\n",
                note);
    }
    esd_data_free(&d);
    return finish(f, err, "ESD");
}

/* ---------------------------------------------------------------- depth chart */

wl_status wl_plot_depth_svg(FILE *f, const char *title, const char *const *names, size_t n_layers,
                            const wl_plot_series *series, size_t n_series, int shade_alpha_band,
                            const wl_plot_opts *o, wl_err *err)
{
    int w = o && o->width > 0 ? o->width : 1100;
    int h = o && o->height > 0 ? o->height : 360;
    int rotate = n_layers <= 40;
    size_t longest = 0; /* characters of the longest (shortened) tick label */
    for (size_t i = 0; rotate && i < n_layers; i++) {
        size_t len = 0;
        for (const unsigned char *p = (const unsigned char *)names[i]; p && *p; p++)
            len += (*p & 0xC0) != 0x80;
        longest = len > longest ? len : longest;
    }
    if (longest > 18)
        longest = 18;
    /* rotated by 35 degrees: 6.6 px per character, sin 35 = 0.57 */
    double bottom = rotate ? 44 + 6.6 * 0.57 * (double)longest + 8 : 48;
    svg_open(f, w, h, "depth-chart", NULL, "chart");
    fputs("<text class=\"title\" x=\"12\" y=\"20\" font-size=\"14\" font-weight=\"bold\" "
          "fill=\"" COL_TEXT "\">",
          f);
    wl_markup_escape(f, title, 0);
    fputs("</text>\n", f);
    if (n_layers == 0) {
        fprintf(f, "<text class=\"no-plot\" x=\"%s\" y=\"%s", P(w / 2.0).s, P(h / 2.0).s);
        fputs("\" font-size=\"13\" text-anchor=\"middle\" fill=\"" COL_MUTED
              "\">no analyzed layers</text>\n",
              f);
        return finish(f, err, "depth");
    }
    double lo = INFINITY, hi = -INFINITY;
    for (size_t s = 0; s < n_series; s++)
        for (size_t i = 0; i < n_layers; i++) {
            double v = series[s].values[i];
            if (!isfinite(v))
                continue;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    if (!(lo <= hi))
        lo = 0, hi = 1;
    if (shade_alpha_band) {
        lo = lo < 0 ? lo : 0;
        hi = hi > 6.5 ? hi : 6.5;
    }
    /* 6 % headroom; a single value (or equal values) gets a range around it */
    double mag = fabs(hi) > 1 ? fabs(hi) : 1;
    double pad = (hi - lo) * 0.06 > 0.05 * mag ? (hi - lo) * 0.06 : 0.05 * mag;
    if (lo < 0 || !shade_alpha_band)
        lo -= pad;
    hi += pad;
    if (o && o->range) {
        lo = o->range->y0;
        hi = o->range->y1;
    }
    axis y = {lo, hi, h - bottom, 50, 0};
    /* x: layer i at the centre of slot i */
    axis x = {-0.5, (double)n_layers - 0.5, 64, w - 16, 0};
    /* the x axis is categorical, so the frame is drawn here rather than by draw_axes */
    {
        tick u[MAX_TICKS];
        size_t m = make_ticks(&y, 6, u);
        fputs("<g class=\"grid\" stroke=\"" COL_GRID "\" stroke-width=\"1\">", f);
        for (size_t i = 0; i < m; i++) {
            double p = axis_map(&y, u[i].v);
            fprintf(f, "<line x1=\"%s\" x2=\"%s\" y1=\"%s\" y2=\"%s\"/>", P(x.p0).s, P(x.p1).s,
                    P(p).s, P(p).s);
        }
        fputs("</g>\n", f);
        if (shade_alpha_band) {
            double ya = axis_map(&y, 6.0), yb = axis_map(&y, 2.0);
            fprintf(f,
                    "<g class=\"alpha-band\"><rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" "
                    "fill=\"#2e9d58\" fill-opacity=\"0.10\"/><text x=\"%s\" y=\"%s",
                    P(x.p0).s, P(ya).s, P(x.p1 - x.p0).s, P(yb - ya).s, P(x.p0 + 6).s,
                    P(ya + 13).s);
            fputs("\" font-size=\"11\" fill=\"#2e9d58\">2 \xE2\x89\xA4 \xCE\xB1 \xE2\x89\xA4 6: "
                  "well-trained range</text></g>\n",
                  f);
        }
        fprintf(f,
                "<rect class=\"frame\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"none\" "
                "stroke=\"" COL_AXIS "\"/>\n",
                P(x.p0).s, P(y.p1).s, P(x.p1 - x.p0).s, P(y.p0 - y.p1).s);
        fputs("<g class=\"tick-labels\" font-size=\"11\" fill=\"" COL_TEXT "\">", f);
        for (size_t i = 0; i < m; i++) {
            fprintf(f, "<text x=\"%s\" y=\"%s\" text-anchor=\"end\">%s</text>", P(x.p0 - 8).s,
                    P(axis_map(&y, u[i].v) + 4).s, u[i].label);
        }
        size_t every = rotate ? 1 : (n_layers + 29) / 30;
        for (size_t i = 0; i < n_layers; i += every) {
            double p = axis_map(&x, (double)i);
            if (rotate) {
                fprintf(
                    f,
                    "<text x=\"%s\" y=\"%s\" text-anchor=\"end\" transform=\"rotate(-35 %s %s)\">",
                    P(p).s, P(y.p0 + 12).s, P(p).s, P(y.p0 + 12).s);
                wl_markup_escape(f, names[i], 18);
                fputs("</text>", f);
            } else {
                fprintf(f, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">%zu</text>", P(p).s,
                        P(y.p0 + 16).s, i);
            }
        }
        fputs("</g>\n", f);
        fprintf(
            f, "<text class=\"axis-title\" font-size=\"12\" fill=\"" COL_MUTED "\" x=\"%s\" y=\"%s",
            P((x.p0 + x.p1) / 2).s, P(h - 6).s);
        fprintf(f, "\" text-anchor=\"middle\">%s</text>\n",
                rotate ? "layer (depth order)" : "layer index (depth order)");
    }
    open_clip(f, &x, &y);
    for (size_t s = 0; s < n_series; s++) {
        const wl_plot_series *se = &series[s];
        fprintf(f, "<g class=\"series\" data-series=\"%zu\">", s);
        fprintf(
            f,
            "<path class=\"series-line\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s d=\"",
            se->color, se->is_dashed ? " stroke-dasharray=\"5 3\"" : "");
        int open = 0;
        for (size_t i = 0; i < n_layers; i++) {
            double v = se->values[i];
            if (!isfinite(v)) {
                open = 0;
                continue;
            }
            fprintf(f, "%s%s %s", open ? "L" : "M", P(axis_map(&x, (double)i)).s,
                    P(axis_map(&y, v)).s);
            open = 1;
        }
        fputs("\"/>\n", f);
        for (size_t i = 0; i < n_layers; i++) {
            double v = se->values[i];
            if (isnan(v))
                continue;
            double cx = axis_map(&x, (double)i);
            char val[32];
            fmt_val(v, val, sizeof val);
            if (isinf(v)) {
                double cy = v > 0 ? y.p1 + 7 : y.p0 - 7, dy = v > 0 ? -6 : 6;
                fprintf(f, "<path class=\"marker off-scale\" d=\"M%s %sh10l-5 %sz\"", P(cx - 5).s,
                        P(cy - dy / 2).s, P(dy).s);
            } else {
                fprintf(f, "<circle class=\"marker\" cx=\"%s\" cy=\"%s\" r=\"3.5\"", P(cx).s,
                        P(axis_map(&y, v)).s);
            }
            if (se->is_dashed)
                fprintf(f, " fill=\"#ffffff\" stroke=\"%s\" stroke-width=\"1.5\">", se->color);
            else
                fprintf(f, " fill=\"%s\">", se->color);
            fputs("<title>", f);
            wl_markup_escape(f, names[i], 0);
            fputs(": ", f);
            wl_markup_escape(f, se->name, 0);
            fprintf(f, " = %s</title>%s\n", val, isinf(v) ? "</path>" : "</circle>");
        }
        fputs("</g>\n", f);
    }
    fputs("</svg>\n", f);
    /* legend, top right above the plot */
    double lx = x.p1;
    for (size_t s = n_series; s-- > 0;) {
        size_t len = 0;
        for (const unsigned char *p = (const unsigned char *)series[s].name; p && *p; p++)
            len += (*p & 0xC0) != 0x80;
        lx -= 40 + 7.0 * (double)len;
        fprintf(
            f, "<g class=\"legend\" font-size=\"11\"><line x1=\"%s\" x2=\"%s\" y1=\"34\" y2=\"34\"",
            P(lx).s, P(lx + 22).s);
        fprintf(f, " stroke=\"%s\" stroke-width=\"2\"%s/><circle cx=\"", series[s].color,
                series[s].is_dashed ? " stroke-dasharray=\"5 3\"" : "");
        fprintf(f, "%s", P(lx + 11).s);
        if (series[s].is_dashed)
            fprintf(f, "\" cy=\"34\" r=\"3.5\" fill=\"#ffffff\" stroke=\"%s\"/>", series[s].color);
        else
            fprintf(f, "\" cy=\"34\" r=\"3.5\" fill=\"%s\"/>", series[s].color);
        fprintf(f, "<text x=\"%s\" y=\"38\" fill=\"" COL_TEXT "\">", P(lx + 28).s);
        wl_markup_escape(f, series[s].name, 0);
        fputs("</text></g>\n", f);
    }
    return finish(f, err, "depth");
}
