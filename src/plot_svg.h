/*
 * plot_svg.h — a small SVG writer for weightlint's spectral plots: a layer's empirical spectral
 * density (ESD) on log-log axes with the fitted power law from xmin (WeightWatcher's
 * plot_ESD / fit_powerlaw picture; Martin & Mahoney, JMLR 22(165), 2021, figs. 4-7), the same
 * ESD on linear axes with the fitted Marchenko–Pastur density and its bulk edge λ+ (ibid., §5
 * and table 2: the 5+1 phases are shapes of this picture), the shuffled-weights ESD overlaid
 * when randomization ran, and a per-layer α / α̂ chart in depth order.
 *
 * Why SVG written by hand rather than PLplot or Cairo: the plots are a histogram, two curves,
 * a few markers and axes, so ~600 lines of C cover them; the output is text, so it embeds in the
 * HTML report as is (no base64 PNG), scales and stays selectable, and it is byte-deterministic,
 * so unit tests can check its structure. A plot is a fixed-size viewBox; the plot area is a
 * nested <svg> viewport, which clips curves without needing document-unique clipPath ids.
 *
 * Every string taken from the model (layer names, phases) goes through wl_markup_escape. The
 * writers never print anywhere but the FILE* they are given; they fail only with WL_E_IO.
 */
#ifndef WL_PLOT_SVG_H
#define WL_PLOT_SVG_H

#include "weightlint.h"

#include <stdio.h>

/* Eigenvalues at or below this are left out of the log-log ESD, as the power-law fit leaves
 * them out (docs/metrics.md: "eigenvalues > 1e-5"). */
#define WL_PLOT_EVAL_MIN 1e-5
/* Histogram bins: ceil(1.5 sqrt(n)), clamped to this range. */
#define WL_PLOT_MIN_BINS 8
#define WL_PLOT_MAX_BINS 60
/* The linear ESD cuts its x axis at WL_PLOT_LINEAR_CUT x λ+ when λmax lies beyond
 * WL_PLOT_LINEAR_FAR x λ+, so that the bulk and its MP fit stay readable; the eigenvalues cut
 * off are counted in a note on the plot. */
#define WL_PLOT_LINEAR_FAR 4.0
#define WL_PLOT_LINEAR_CUT 2.5

typedef enum wl_plot_kind {
    WL_PLOT_LOGLOG = 0, /* log-log ESD, power law from xmin, xmin marker */
    WL_PLOT_LINEAR      /* linear ESD, Marchenko–Pastur density and λ+ */
} wl_plot_kind;

/* Data ranges of a plot's axes (data units; both ends > 0 on log axes). */
typedef struct wl_plot_range {
    double x0, x1, y0, y1;
} wl_plot_range;

typedef struct wl_plot_opts {
    int width, height;          /* viewBox size in px; 0 = 560 x 340 */
    const char *label;          /* shown before the layer name ("base", "candidate"); may be NULL */
    const wl_plot_range *range; /* axes to use (e.g. shared by base and candidate); NULL = own */
} wl_plot_opts;

/*
 * The natural axes of layer l's plot of the given kind, from its eigenvalues (l->evals, which
 * must have been kept: wl_options.keep_evals), the fit and the shuffled ESD. Returns 1 and fills
 * *out, or 0 when the layer has nothing to plot (no eigenvalues kept, non-finite weights, no
 * eigenvalue above WL_PLOT_EVAL_MIN on log axes).
 */
int wl_plot_esd_range(const wl_layer *l, wl_plot_kind kind, wl_plot_range *out);

/* Widens *acc to also cover *r (for base and candidate plots on the same axes). */
void wl_plot_range_union(wl_plot_range *acc, const wl_plot_range *r);

/*
 * Writes one standalone <svg> element (with its xmlns, no XML prolog) plotting layer l. When the
 * layer cannot be plotted (see wl_plot_esd_range) the SVG says why instead of drawing axes.
 * o may be NULL. Reads l only. Fails with WL_E_IO when f reports a write error.
 */
WL_NODISCARD wl_status wl_plot_esd_svg(FILE *f, const wl_layer *l, wl_plot_kind kind,
                                       const wl_plot_opts *o, wl_err *err);

/* One series of a depth chart: a value per layer (NaN = no point; ±inf is drawn as a triangle
 * at the edge of the axis). */
typedef struct wl_plot_series {
    const char *name;     /* legend text (escaped) */
    const double *values; /* n_layers values, in depth order */
    const char *color;    /* CSS colour, a trusted constant ("#4c78a8") */
    int is_dashed;        /* dashed line, hollow markers (e.g. the base model) */
} wl_plot_series;

/*
 * Writes a chart of n_series series over n_layers layers in depth order: x = layer position
 * (names[i] as tick labels, shortened when long, full in each marker's tooltip), y = value,
 * with the band 2 <= α <= 6 shaded when shade_alpha_band is set. o->range, when given, sets
 * the y axis (x0/x1 are ignored). Fails with WL_E_IO on a write error.
 */
WL_NODISCARD wl_status wl_plot_depth_svg(FILE *f, const char *title, const char *const *names,
                                         size_t n_layers, const wl_plot_series *series,
                                         size_t n_series, int shade_alpha_band,
                                         const wl_plot_opts *o, wl_err *err);

/*
 * Writes s as XML/HTML character data or attribute value: & < > " ' become entities, control
 * characters other than tab and newline become U+FFFD, and invalid UTF-8 bytes become U+FFFD
 * (so the output is well-formed whatever the model contains). When max_chars > 0, at most that
 * many characters are written, the last one replaced by an ellipsis when s is longer.
 * s may be NULL (writes nothing).
 */
void wl_markup_escape(FILE *f, const char *s, size_t max_chars);

/* Histogram bin count for n values: ceil(1.5 sqrt(n)) within [WL_PLOT_MIN_BINS,
 * WL_PLOT_MAX_BINS]. */
size_t wl_plot_bins(size_t n);

#endif
