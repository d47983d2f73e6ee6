/*
 * rules_table.c — the rule table: stable codes, names, scopes, default severities, parameters
 * with their built-in defaults, and the --explain text of every rule. One table, indexed by
 * wl_rule_id; everything else (loader, evaluator, reports, --list-rules) reads it. The sources
 * of the thresholds are in docs/rules.md and in the comments of rules/default.yaml.
 */
#include "rules.h"

#include <strings.h>
#include <string.h>

static const char *const severity_names[] = {"off", "info", "warning", "error"};

const char *wl_severity_name(wl_severity s)
{
    if ((unsigned)s >= sizeof severity_names / sizeof severity_names[0])
        return "?";
    return severity_names[s];
}

int wl_severity_parse(const char *s, wl_severity *out)
{
    for (size_t i = 0; i < sizeof severity_names / sizeof severity_names[0]; i++)
        if (strcmp(s, severity_names[i]) == 0) {
            *out = (wl_severity)i;
            return 0;
        }
    return -1;
}

static const wl_rule_info rule_table[WL_RULE_COUNT] = {
    [WL_RULE_UNUSED_SUPPRESSION] =
        {WL_RULE_UNUSED_SUPPRESSION, "WL001", "unused-suppression", WL_SCOPE_TOOL, WL_SEV_WARNING,
         "an ignore or override entry of the rules file matched no tensor",
         "An `ignore:` or `overrides:` entry whose tensor-name globs matched no analyzed tensor\n"
         "in any model checked with this rules file. Suppressions rot: a tensor is renamed by a\n"
         "new exporter version and the entry silently stops applying, or it never applied\n"
         "because of a typo in the glob.\n"
         "\n"
         "Typical false positive: one shared rules file for several models, where an entry is\n"
         "meant for a model that was not on this command line.\n"
         "\n"
         "What to do: fix the glob (`weightlint analyze MODEL` lists the tensor names) or delete\n"
         "the entry. Entries of the built-in presets are never reported.",
         0,
         {{0}}},
    [WL_RULE_UNDER_TRAINED] =
        {WL_RULE_UNDER_TRAINED, "WL101", "under-trained", WL_SCOPE_LAYER, WL_SEV_WARNING,
         "power-law exponent alpha above the well-trained range (alpha > 6)",
         "The tail of the layer's eigenvalue spectrum (ESD of W^T W) decays faster than a\n"
         "well-trained layer's: the power-law exponent alpha is above 6. Heavy-tailed\n"
         "self-regularization theory (Martin & Mahoney, JMLR 2021) finds alpha in [2, 6] for\n"
         "well-trained layers; WeightWatcher labels alpha > 6 \"under-trained\" (its\n"
         "UNDER_TRAINED_THRESH). The layer has learned little structure beyond its random\n"
         "initialization.\n"
         "\n"
         "Not reported when the fit failed or alpha is infinite (see fit-unreliable), when the\n"
         "layer is rank-collapsed (its alpha is fitted on the few eigenvalues left), or when\n"
         "random-like already reports the layer.\n"
         "\n"
         "Typical false positives: small layers (a tail of a handful of eigenvalues: check the\n"
         "tail size and D), fixed matrices that are not learned (Fourier or mel bases), and\n"
         "embedding tables of large vocabularies whose rare rows barely move.\n"
         "\n"
         "What to do: train longer or with a larger learning rate, or check that the exported\n"
         "weights are the trained ones. For a matrix that is not learned, add an ignore entry\n"
         "with the reason.",
         1,
         {{"alpha_max", WL_PARAM_NUMBER, 6.0, "fire when alpha > alpha_max"}}},
    [WL_RULE_OVER_TRAINED] =
        {WL_RULE_OVER_TRAINED, "WL102", "over-trained", WL_SCOPE_LAYER, WL_SEV_INFO,
         "power-law exponent alpha below the well-trained range (alpha < 2)",
         "The ESD tail is very heavy: alpha < 2, the \"very heavy-tailed\" universality class of\n"
         "Martin & Mahoney. WeightWatcher labels it \"over-trained\" (OVER_TRAINED_THRESH = 2):\n"
         "the layer may be over-fitted, over-regularized into a few directions, or trained with\n"
         "too large a learning rate.\n"
         "\n"
         "Never reported for a failed fit: WeightWatcher's alpha = -1 sentinel for a fit with\n"
         "fewer than two eigenvalues above 1e-5 is not a measurement (it reports those layers\n"
         "as over-trained; weightlint reports fit-unreliable). Not reported for a rank-collapsed\n"
         "layer either.\n"
         "\n"
         "Typical false positives: a tail of very few eigenvalues (check the tail size and D),\n"
         "layers with a few huge outliers (correlation traps), and conv and LSTM layers of\n"
         "well-trained models: on 25 real production models, 221 such layers have alpha < 2\n"
         "with good fits, so the rule is info by default (error in the strict preset).\n"
         "\n"
         "What to do: compare with an earlier checkpoint; reduce the learning rate or the number\n"
         "of epochs; look at the layer's spectrum with `weightlint analyze`.",
         1,
         {{"alpha_min", WL_PARAM_NUMBER, 2.0, "fire when alpha < alpha_min"}}},
    [WL_RULE_RANK_COLLAPSE] =
        {WL_RULE_RANK_COLLAPSE, "WL103", "rank-collapse", WL_SCOPE_LAYER, WL_SEV_WARNING,
         "a large share of the layer's eigenvalues is numerically zero",
         "The ESD has a large mass at lambda ~ 0: the share of eigenvalues below 1e-6\n"
         "(WeightWatcher's weak_rank_loss / num_evals) is at least zero_share. This is the\n"
         "\"rank-collapse\" phase of Martin & Mahoney (Table 2): the layer uses only part of its\n"
         "dimensions. Strong weight decay, dead units, or a low-rank factorization stored as a\n"
         "full matrix all do this.\n"
         "\n"
         "The power-law alpha of such a layer is fitted on the few eigenvalues left and reads\n"
         "anything (on one network trained with strong weight decay, WeightWatcher reports\n"
         "alpha = 1.3 for one collapsed layer and 12.6 for another): weightlint reports the\n"
         "collapse and not under-, over-trained or fit-unreliable. When the whole spectrum is\n"
         "below 1e-6 (tiny weights), the relative rank loss is used instead.\n"
         "\n"
         "Typical false positives: a deliberately low-rank layer (LoRA merged into a zero\n"
         "matrix, a padded embedding).\n"
         "\n"
         "What to do: lower the weight decay, look for dead units, or store the layer factored.",
         1,
         {{"zero_share", WL_PARAM_SHARE, 0.5,
           "fire when the share of eigenvalues < 1e-6 is >= zero_share"}}},
    [WL_RULE_RANDOM_LIKE] =
        {WL_RULE_RANDOM_LIKE, "WL104", "random-like", WL_SCOPE_LAYER, WL_SEV_WARNING,
         "the layer's spectrum is that of a random matrix: nothing learned",
         "The ESD is well fitted by the Marchenko-Pastur law of a random matrix: no eigenvalue\n"
         "beyond the bulk edge plus its Tracy-Widom margin (num_spikes = 0), the bulk edge at\n"
         "or above lambda_max (mp_softrank >= min_softrank) and alpha > alpha_min; or, when the\n"
         "randomized ESD was computed, the spectrum is indistinguishable from that of the\n"
         "shuffled weights (rand_distance <= max_rand_distance). This is the \"random-like\" phase\n"
         "of Martin & Mahoney: the layer looks like its initialization. It replaces\n"
         "under-trained and spurious-alpha for the layer.\n"
         "\n"
         "Typical false positives: fixed, non-learned matrices (random projections, Fourier or\n"
         "mel bases), and tiny layers whose spectrum cannot show structure. The rand_distance\n"
         "test is skipped when a slice has fewer than min_slice_evals singular values: a\n"
         "depthwise kernel's [C, 1] slices have one each, which a shuffle cannot change, so\n"
         "their distance is ~0 whatever the weights.\n"
         "\n"
         "What to do: check that the export holds the trained weights (not a fresh\n"
         "initialization) and that the layer receives gradient. For a fixed matrix, add an\n"
         "ignore entry with the reason.",
         4,
         {{"alpha_min", WL_PARAM_NUMBER, 6.0, "and alpha > alpha_min"},
          {"min_softrank", WL_PARAM_NUMBER, 0.9, "and mp_softrank >= min_softrank"},
          {"max_rand_distance", WL_PARAM_NUMBER, 0.01,
           "or rand_distance <= max_rand_distance (with --randomize)"},
          {"min_slice_evals", WL_PARAM_COUNT, 10,
           "the rand_distance test needs this many singular values per slice"}}},
    [WL_RULE_CORRELATION_TRAP] =
        {WL_RULE_CORRELATION_TRAP, "WL105", "correlation-trap", WL_SCOPE_LAYER, WL_SEV_WARNING,
         "large individual weights survive shuffling (correlation traps)",
         "After the layer's weights are randomly shuffled, the spectrum of the shuffled matrix\n"
         "still has eigenvalues beyond its Marchenko-Pastur bulk edge (rand_num_spikes). A\n"
         "shuffle destroys every correlation, so what survives is a few abnormally large\n"
         "individual weights: WeightWatcher calls them correlation traps. They often come from\n"
         "too large a learning rate and can hurt generalization. Evaluated only when the\n"
         "randomized ESD was computed.\n"
         "\n"
         "To count, the largest shuffled eigenvalue must stand min_ratio times above the\n"
         "shuffled bulk edge: a conv layer's slices have different scales, so its pooled\n"
         "shuffled spectrum is a mixture of Marchenko-Pastur laws whose upper edge the single\n"
         "MP fit places too low (1.1-4x on the conv layers of ISNet and PP-OCR, see\n"
         "docs/rules.md); and layers with fewer than min_slice_evals singular values per slice\n"
         "(depthwise kernels) are not judged.\n"
         "\n"
         "Typical false positives: layers with deliberate outlier channels (some LLM layers),\n"
         "re-parameterized convs (RepVGG-style merged branches), quantization artefacts.\n"
         "\n"
         "What to do: look for the outlier weights; lower the learning rate or clip weights.",
         3,
         {{"min_traps", WL_PARAM_COUNT, 1, "fire when rand_num_spikes >= min_traps"},
          {"min_ratio", WL_PARAM_NUMBER, 5.0, "and max_rand_eval >= min_ratio x rand_bulk_max"},
          {"min_slice_evals", WL_PARAM_COUNT, 10, "and this many singular values per slice"}}},
    [WL_RULE_FIT_UNRELIABLE] =
        {WL_RULE_FIT_UNRELIABLE, "WL106", "fit-unreliable", WL_SCOPE_LAYER, WL_SEV_INFO,
         "the power-law fit cannot be trusted: alpha says little about this layer",
         "The layer's alpha should not be trusted, for one of these reasons:\n"
         "  - the fit failed: fewer than two eigenvalues above 1e-5, so WeightWatcher reports\n"
         "    alpha = -1 (a sentinel, not a measurement);\n"
         "  - alpha is infinite or NaN (the tail eigenvalues are all equal);\n"
         "  - the tail is too short: fewer than min_tail eigenvalues >= xmin. The MLE's standard\n"
         "    error is (alpha - 1) / sqrt(n) (Clauset, Shalizi & Newman 2009, eq. 3.2), so a\n"
         "    tail of 6 eigenvalues with alpha = 5 is +-1.6;\n"
         "  - the Kolmogorov-Smirnov distance D between the tail and the fitted power law\n"
         "    exceeds max_D: a power law describes the tail poorly;\n"
         "  - alpha is unstable across xmin: xmin candidates whose KS distance is within\n"
         "    0.05/sqrt(n) of the best give alphas spanning more than max_alpha_spread\n"
         "    (alpha_lo..alpha_hi), so a nearly identical spectrum can report a very different\n"
         "    alpha (docs/metrics.md, \"Uncertainty of alpha\");\n"
         "  - with --dist-test: the tail is better described by an exponential, log-normal or\n"
         "    stretched exponential than by a power law (best_fit; powerlaw 1.5's likelihood-\n"
         "    ratio tests, p <= 0.05; Martin & Mahoney 2019 section 3).\n"
         "This tells a bad layer from a bad fit: an under- or over-trained finding on the same\n"
         "layer rests on this alpha.\n"
         "\n"
         "What to do: nothing for small layers; read under-/over-trained findings on the same\n"
         "layer with care.",
         3,
         {{"min_tail", WL_PARAM_COUNT, 10, "fire when the tail has fewer eigenvalues"},
          {"max_D", WL_PARAM_NUMBER, 0.2, "fire when the KS distance D > max_D"},
          {"max_alpha_spread", WL_PARAM_NUMBER, 2.0,
           "fire when alpha_hi - alpha_lo > max_alpha_spread"}}},
    [WL_RULE_NONFINITE] =
        {WL_RULE_NONFINITE, "WL107", "non-finite-weights", WL_SCOPE_LAYER, WL_SEV_ERROR,
         "the tensor holds NaN or Inf values",
         "The tensor holds at least one NaN or infinite value; no spectrum can be computed.\n"
         "A model with non-finite weights produces NaN outputs for some or all inputs.\n"
         "WeightWatcher aborts the whole analysis here; weightlint reports the tensor and the\n"
         "first bad element and goes on with the others.\n"
         "\n"
         "What to do: find where training diverged (loss scaling in mixed precision, a division\n"
         "by zero in a normalization) or where the export corrupted the weights.",
         0,
         {{0}}},
    [WL_RULE_SPURIOUS_ALPHA] =
        {WL_RULE_SPURIOUS_ALPHA, "WL108", "spurious-alpha", WL_SCOPE_LAYER, WL_SEV_INFO,
         "alpha > 8: the spectrum is random, not heavy-tailed",
         "An alpha above 8 does not describe a heavy tail: WeightWatcher's documentation calls\n"
         "such ESDs \"random, not heavy tailed\" and the number spurious. The layer's spectrum\n"
         "is close to Marchenko-Pastur and alpha only reflects the finite-size edge. Ranking or\n"
         "averaging such alphas (alpha_weighted, model means) is misleading.\n"
         "\n"
         "What to do: treat the layer as under-trained or random-like; leave it out when you\n"
         "compare alphas.",
         1,
         {{"alpha_max", WL_PARAM_NUMBER, 8.0, "fire when alpha > alpha_max"}}},
    [WL_RULE_PHASE] =
        {WL_RULE_PHASE, "WL109", "phase", WL_SCOPE_LAYER, WL_SEV_OFF,
         "the layer is in one of the listed phases (opt-in)",
         "Fires for layers whose 5+1 phase (Martin & Mahoney, Table 2: random-like,\n"
         "bleeding-out, bulk+spikes, bulk-decay, heavy-tailed, rank-collapse) is one of\n"
         "`phases`. Off by default; for example `phase: {severity: info, phases: [bulk+spikes]}`\n"
         "lists the layers whose ESD is a random bulk plus a few strong spikes. docs/rules.md\n"
         "gives the operational criteria of each phase.",
         1,
         {{"phases", WL_PARAM_PHASES, 0, "the phases that fire"}}},
    [WL_RULE_NOT_HEAVY_TAILED] =
        {WL_RULE_NOT_HEAVY_TAILED, "WL110", "not-heavy-tailed", WL_SCOPE_LAYER, WL_SEV_OFF,
         "the tail is exponential, not heavy-tailed (opt-in; needs --dist-test)",
         "Heavy-tailed self-regularization reads a trained layer's quality from the power-law\n"
         "exponent of its spectrum's tail. Martin & Mahoney (ICML 2019, section 3) check that\n"
         "a power law or a truncated power law describes each tail better than an exponential,\n"
         "a stretched exponential and a log-normal. This rule fires when the exponential fits\n"
         "the tail significantly better than the power law (powerlaw 1.5's Vuong test,\n"
         "pl_vs_exponential_R < 0 with p <= p_max): the layer's tail decays exponentially,\n"
         "like a random matrix's finite-size edge, and its alpha is not a heavy-tail exponent.\n"
         "Runs only with --dist-test (analyze, check, report); off by default.\n"
         "\n"
         "Typical false positives: very short tails (the test has little power either way).\n"
         "\n"
         "What to do: treat the layer as under-trained or random-like; do not rank its alpha.",
         1,
         {{"p_max", WL_PARAM_SHARE, 0.05, "fire when the exponential wins with p <= p_max"}}},
    [WL_RULE_ALPHA_WEIGHTED] =
        {WL_RULE_ALPHA_WEIGHTED, "WL201", "alpha-weighted", WL_SCOPE_MODEL, WL_SEV_OFF,
         "the model's mean alpha_weighted is above a threshold (opt-in)",
         "alpha_weighted (alpha-hat) = alpha * log10(lambda_max), averaged over the analyzed\n"
         "layers, is the data-free quality metric of Martin, Peng & Mahoney (Nature\n"
         "Communications 12, 4122, 2021): within one architecture family, a lower value\n"
         "predicts a higher test accuracy. It has no universal threshold, so this rule is off by\n"
         "default: set max_alpha_weighted from a known-good model of the same family.",
         1,
         {{"max_alpha_weighted", WL_PARAM_NUMBER, 5.0,
           "fire when mean alpha_weighted > max_alpha_weighted"}}},
    [WL_RULE_FLAGGED_SHARE] =
        {WL_RULE_FLAGGED_SHARE, "WL202", "flagged-share", WL_SCOPE_MODEL, WL_SEV_ERROR,
         "too many of the model's layers have findings",
         "The share of analyzed layers with at least one (unsuppressed) per-layer finding of\n"
         "severity min_severity or higher exceeds max_share. One under-trained layer is a hint;\n"
         "most of a model's layers flagged means the model as a whole is untrained, broken, or\n"
         "the wrong file. Applies only to models with at least min_layers analyzed layers, so a\n"
         "tiny model is judged by its per-layer findings alone.\n"
         "\n"
         "What to do: read the per-layer findings; check that the right checkpoint was exported.",
         3,
         {{"max_share", WL_PARAM_SHARE, 0.5, "fire when the flagged share > max_share"},
          {"min_layers", WL_PARAM_COUNT, 3, "only for models with this many analyzed layers"},
          {"min_severity", WL_PARAM_SEVERITY, WL_SEV_WARNING,
           "findings of this severity or higher flag a layer"}}},
    [WL_RULE_NO_LAYERS] =
        {WL_RULE_NO_LAYERS, "WL203", "no-layers-analyzed", WL_SCOPE_MODEL, WL_SEV_WARNING,
         "no tensor of the model could be analyzed",
         "No tensor of the model was analyzed: every initializer was skipped (rank not 2 or 4,\n"
         "fewer than 10 eigenvalues, too large, unsupported dtype) or the weights are not\n"
         "stored as initializers. A lint that looked at nothing must not pass silently, but a\n"
         "tiny model should not fail a pull request either: this is a warning by default.\n"
         "\n"
         "What to do: check the coverage line (skipped tensors by reason); for a model whose\n"
         "weights are Constant nodes, see docs/metrics.md.",
         0,
         {{0}}},
    [WL_RULE_UNANALYZED] =
        {WL_RULE_UNANALYZED, "WL204", "unanalyzed-weights", WL_SCOPE_MODEL, WL_SEV_WARNING,
         "a share of the model's weight parameters could not be analyzed",
         "More than max_share of the model's weight parameters sit in tensors that could not be\n"
         "analyzed: matrices read by an op weightlint has no weight role for (unsupported_op,\n"
         "e.g. a custom or new com.microsoft op), an unsupported data type or rank, or too few\n"
         "eigenvalues. Coverage is counted in parameters, not tensors, so one unread 4-bit\n"
         "matrix weighs what it holds. A gate that looked at only part of a model must say so:\n"
         "WeightWatcher stays silent on what it cannot read.\n"
         "\n"
         "What to do: read the skipped tensors (analyze --format json, \"skipped\"); an\n"
         "unsupported_op names the domain, op and input; report it, or raise max_share for a\n"
         "model whose unread part you have checked otherwise.",
         1,
         {{"max_share", WL_PARAM_SHARE, 0.1,
           "fire when the unanalyzed share of the weight parameters > max_share"}}},
};

const wl_rule_info *wl_rule_info_get(wl_rule_id id)
{
    if ((unsigned)id >= WL_RULE_COUNT)
        return &rule_table[0];
    return &rule_table[id];
}

const wl_rule_info *wl_rule_find(const char *code_or_name)
{
    if (!code_or_name)
        return NULL;
    for (size_t i = 0; i < WL_RULE_COUNT; i++)
        if (strcasecmp(code_or_name, rule_table[i].code) == 0 ||
            strcmp(code_or_name, rule_table[i].name) == 0)
            return &rule_table[i];
    return NULL;
}
