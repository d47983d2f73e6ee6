/*
 * mkonnx.c — writes small synthetic ONNX files for the golden tests (STYLE.md §9.7, like
 * llama.cpp's test-gguf.cpp): a few good models and one file per bad-input class of issue #2
 * ("Bad input"). Messages are built with protobuf-c (onnx__model_proto__pack); where a file must
 * be malformed, the damage is injected as protobuf-c "unknown fields" (a raw tag plus arbitrary
 * bytes, packed after the known fields) or by cutting the packed bytes.
 *
 *   usage: mkonnx OUTDIR      (creates OUTDIR; prints one line per file written)
 *
 * Weights come from a seeded splitmix64 stream, so every run writes the same bytes. Every 2-D
 * weight meant to be analyzed is at least 10 in its smaller dimension (min_evals = 10).
 * This is a test tool: on any failure it prints a message and exits 1.
 */
#include "onnx/onnx.pb-c.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ arena and errors */

/* Every message of a model is allocated here and released at once after it is written. */
static void **arena;
static size_t arena_n, arena_cap;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mkonnx: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xalloc(size_t n)
{
    if (arena_n == arena_cap) {
        size_t cap = arena_cap ? arena_cap * 2 : 256;
        void **v = realloc(arena, cap * sizeof *v);
        if (v == NULL)
            die("out of memory");
        arena = v;
        arena_cap = cap;
    }
    void *p = calloc(1, n ? n : 1);
    if (p == NULL)
        die("out of memory");
    arena[arena_n++] = p;
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xalloc(n);
    memcpy(p, s, n);
    return p;
}

static void arena_reset(void)
{
    for (size_t i = 0; i < arena_n; i++)
        free(arena[i]);
    arena_n = 0;
}

/* ------------------------------------------------------------------ splitmix64 */

static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
    rng_state = seed;
}

/* splitmix64 (Steele, Lea & Flood 2014). */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform on (0, 1), never 0. */
static double rng_uniform(void)
{
    return ((double)(rng_next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Standard normal (Box–Muller). */
static double rng_gauss(void)
{
    double u1 = rng_uniform(), u2 = rng_uniform();
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Integer uniform on [lo, hi]. */
static int64_t rng_int(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* ------------------------------------------------------------------ message builders */

static Onnx__TensorProto *tensor_new(const char *name, int32_t dtype, int rank,
                                     const int64_t *dims)
{
    Onnx__TensorProto *t = xalloc(sizeof *t);
    onnx__tensor_proto__init(t);
    if (name != NULL)
        t->name = xstrdup(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = xalloc((size_t)(rank ? rank : 1) * sizeof *t->dims);
    if (rank > 0)
        memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
    return t;
}

static void tensor_set_raw(Onnx__TensorProto *t, const void *data, size_t len)
{
    t->has_raw_data = 1;
    t->raw_data.len = len;
    t->raw_data.data = xalloc(len);
    if (len > 0)
        memcpy(t->raw_data.data, data, len);
}

/* n Gaussian values with standard deviation sd, from the current stream. */
static float *gauss_values(size_t n, double sd)
{
    float *v = xalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(sd * rng_gauss());
    return v;
}

/* A FLOAT tensor (any rank) with raw_data holding the given values. */
static Onnx__TensorProto *raw_f32_values(const char *name, int rank, const int64_t *dims,
                                         const float *v)
{
    Onnx__TensorProto *t = tensor_new(name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims);
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    tensor_set_raw(t, v, n * sizeof *v);
    return t;
}

/* A rows x cols FLOAT weight in raw_data, Gaussian with variance 1/cols, from seed. */
static Onnx__TensorProto *raw_weight(const char *name, int64_t rows, int64_t cols, uint64_t seed)
{
    int64_t dims[2] = {rows, cols};
    rng_seed(seed);
    float *v = gauss_values((size_t)(rows * cols), 1.0 / sqrt((double)cols));
    return raw_f32_values(name, 2, dims, v);
}

/* A 1-D FLOAT bias in raw_data. */
static Onnx__TensorProto *raw_bias(const char *name, int64_t n, uint64_t seed)
{
    rng_seed(seed);
    float *v = gauss_values((size_t)n, 0.1);
    return raw_f32_values(name, 1, &n, v);
}

static void tensor_set_external(Onnx__TensorProto *t, const char *location, uint64_t offset,
                                uint64_t length)
{
    char buf[2][32];
    snprintf(buf[0], sizeof buf[0], "%llu", (unsigned long long)offset);
    snprintf(buf[1], sizeof buf[1], "%llu", (unsigned long long)length);
    const char *keys[3] = {"location", "offset", "length"};
    const char *vals[3] = {location, buf[0], buf[1]};
    t->n_external_data = 3;
    t->external_data = xalloc(3 * sizeof *t->external_data);
    for (int i = 0; i < 3; i++) {
        Onnx__StringStringEntryProto *e = xalloc(sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = xstrdup(keys[i]);
        e->value = xstrdup(vals[i]);
        t->external_data[i] = e;
    }
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->has_raw_data = 0;
}

/* Appends an unknown field (tag, wire type, then the bytes as given) to a message: protobuf-c
 * packs it verbatim after the known fields. This is how malformed wire data is injected. */
static void add_unknown(ProtobufCMessage *m, uint32_t tag, int wire, const void *data,
                        size_t len)
{
    ProtobufCMessageUnknownField *u = xalloc((m->n_unknown_fields + 1) * sizeof *u);
    if (m->n_unknown_fields > 0)
        memcpy(u, m->unknown_fields, m->n_unknown_fields * sizeof *u);
    u[m->n_unknown_fields].tag = tag;
    u[m->n_unknown_fields].wire_type = (ProtobufCWireType)wire;
    u[m->n_unknown_fields].len = len;
    u[m->n_unknown_fields].data = xalloc(len);
    if (len > 0)
        memcpy(u[m->n_unknown_fields].data, data, len);
    m->unknown_fields = u;
    m->n_unknown_fields++;
}

#define MAX_ITEMS 64

static Onnx__GraphProto *graph_new(const char *name)
{
    Onnx__GraphProto *g = xalloc(sizeof *g);
    onnx__graph_proto__init(g);
    g->name = xstrdup(name);
    g->initializer = xalloc(MAX_ITEMS * sizeof *g->initializer);
    g->node = xalloc(MAX_ITEMS * sizeof *g->node);
    return g;
}

static void graph_add_init(Onnx__GraphProto *g, Onnx__TensorProto *t)
{
    if (g->n_initializer == MAX_ITEMS)
        die("too many initializers");
    g->initializer[g->n_initializer++] = t;
}

static void graph_add_node(Onnx__GraphProto *g, Onnx__NodeProto *n)
{
    if (g->n_node == MAX_ITEMS)
        die("too many nodes");
    g->node[g->n_node++] = n;
}

static Onnx__NodeProto *node_new(const char *name, const char *op, const char *output)
{
    Onnx__NodeProto *n = xalloc(sizeof *n);
    onnx__node_proto__init(n);
    if (name != NULL)
        n->name = xstrdup(name);
    n->op_type = xstrdup(op);
    n->attribute = xalloc(MAX_ITEMS * sizeof *n->attribute);
    if (output != NULL) {
        n->n_output = 1;
        n->output = xalloc(sizeof *n->output);
        n->output[0] = xstrdup(output);
    }
    return n;
}

static void node_add_input(Onnx__NodeProto *n, const char *input)
{
    char **v = xalloc((n->n_input + 1) * sizeof *v);
    if (n->n_input > 0)
        memcpy(v, n->input, n->n_input * sizeof *v);
    v[n->n_input++] = xstrdup(input);
    n->input = v;
}

static Onnx__AttributeProto *node_add_attr(Onnx__NodeProto *n, const char *name)
{
    if (n->n_attribute == MAX_ITEMS)
        die("too many attributes");
    Onnx__AttributeProto *a = xalloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = xstrdup(name);
    n->attribute[n->n_attribute++] = a;
    return a;
}

static void attr_set_graph(Onnx__AttributeProto *a, Onnx__GraphProto *g)
{
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    a->g = g;
}

static void attr_set_tensor(Onnx__AttributeProto *a, Onnx__TensorProto *t)
{
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    a->t = t;
}

/* A node op(x, name) -> y consuming the tensor called name. */
static void graph_consume(Onnx__GraphProto *g, const char *op, const char *name)
{
    char buf[3][300];
    snprintf(buf[0], sizeof buf[0], "%s_%s", op, name);
    snprintf(buf[1], sizeof buf[1], "x_%s", name);
    snprintf(buf[2], sizeof buf[2], "y_%s", name);
    Onnx__NodeProto *n = node_new(buf[0], op, buf[2]);
    node_add_input(n, buf[1]);
    node_add_input(n, name);
    graph_add_node(g, n);
}

/* weightlint's default mode scores the tensors that ops multiply (Gemm, MatMul, Conv, ...):
 * gives every initializer of g that no node uses yet a consumer, MatMul for the 2-D ones and
 * Add (a bias) for the others. */
static void graph_consume_all(Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_initializer; i++) {
        const char *name = g->initializer[i]->name;
        int used = 0;
        for (size_t k = 0; k < g->n_node && !used; k++)
            for (size_t j = 0; j < g->node[k]->n_input; j++)
                if (strcmp(g->node[k]->input[j], name) == 0)
                    used = 1;
        if (!used)
            graph_consume(g, g->initializer[i]->n_dims == 2 ? "MatMul" : "Add", name);
    }
}

static Onnx__ModelProto *model_new(Onnx__GraphProto *g)
{
    Onnx__ModelProto *m = xalloc(sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->producer_name = xstrdup("mkonnx");
    m->producer_version = xstrdup("1");
    Onnx__OperatorSetIdProto *op = xalloc(sizeof *op);
    onnx__operator_set_id_proto__init(op);
    op->domain = xstrdup("");
    op->has_version = 1;
    op->version = 17;
    m->n_opset_import = 1;
    m->opset_import = xalloc(sizeof *m->opset_import);
    m->opset_import[0] = op;
    m->graph = g;
    return m;
}

/* ------------------------------------------------------------------ output */

static const char *outdir;

static void path_of(char *buf, size_t n, const char *name)
{
    if ((size_t)snprintf(buf, n, "%s/%s", outdir, name) >= n)
        die("path too long: %s/%s", outdir, name);
}

static void write_bytes(const char *name, const void *data, size_t len)
{
    char path[4096];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    if ((len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        die("%s: write failed: %s", path, strerror(errno));
    printf("%s (%zu bytes)\n", path, len);
}

static uint8_t *pack_model(const Onnx__ModelProto *m, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = xalloc(*len);
    if (onnx__model_proto__pack(m, buf) != *len)
        die("pack size mismatch");
    return buf;
}

/* Packs m into OUTDIR/name and releases every message built since the last write. */
static void write_model(const char *name, Onnx__ModelProto *m)
{
    if (m->graph != NULL)
        graph_consume_all(m->graph);
    size_t len;
    uint8_t *buf = pack_model(m, &len);
    write_bytes(name, buf, len);
    arena_reset();
}

static void make_dir(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        die("path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                die("mkdir %s: %s", buf, strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
}

/* ------------------------------------------------------------------ good models */

/* Gemm(x, W, b) with transB = 1 (PyTorch's Linear: W is [out, in]). */
static void graph_add_gemm(Onnx__GraphProto *g, const char *name, const char *x, const char *w,
                           const char *b, const char *y)
{
    Onnx__NodeProto *n = node_new(name, "Gemm", y);
    node_add_input(n, x);
    node_add_input(n, w);
    node_add_input(n, b);
    Onnx__AttributeProto *a = node_add_attr(n, "transB");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = 1;
    graph_add_node(g, n);
}

/* The MLP used by several cases, 32 -> 64 -> 32 -> 10 as PyTorch exports it: fc1 [64, 32],
 * fc2 [32, 64], fc3 [10, 32], biases, and Gemm/Relu nodes. */
static Onnx__GraphProto *mlp_graph(void)
{
    Onnx__GraphProto *g = graph_new("mlp");
    graph_add_init(g, raw_weight("fc1.weight", 64, 32, 101));
    graph_add_init(g, raw_bias("fc1.bias", 64, 102));
    graph_add_init(g, raw_weight("fc2.weight", 32, 64, 103));
    graph_add_init(g, raw_bias("fc2.bias", 32, 104));
    graph_add_init(g, raw_weight("fc3.weight", 10, 32, 105));
    graph_add_init(g, raw_bias("fc3.bias", 10, 106));
    graph_add_gemm(g, "fc1", "input", "fc1.weight", "fc1.bias", "h1");
    Onnx__NodeProto *r = node_new("relu1", "Relu", "h1r");
    node_add_input(r, "h1");
    graph_add_node(g, r);
    graph_add_gemm(g, "fc2", "h1r", "fc2.weight", "fc2.bias", "h2");
    r = node_new("relu2", "Relu", "h2r");
    node_add_input(r, "h2");
    graph_add_node(g, r);
    graph_add_gemm(g, "fc3", "h2r", "fc3.weight", "fc3.bias", "logits");
    return g;
}

static void gen_good_mlp(void)
{
    write_model("good_mlp.onnx", model_new(mlp_graph()));
}

/* Only biases: nothing to analyze (exit 0 with an explained empty result). */
static void gen_no_layers(void)
{
    Onnx__GraphProto *g = graph_new("biases");
    graph_add_init(g, raw_bias("fc1.bias", 64, 201));
    graph_add_init(g, raw_bias("fc2.bias", 32, 202));
    graph_add_init(g, raw_bias("fc3.bias", 10, 203));
    write_model("no_layers.onnx", model_new(g));
}

/* NaN in fc1 (flat index 17), +Inf in fc2 (flat index 5), fc3 finite; and two 64x32x3x3 convs
 * (18,432 values: the widening feeds the kernel's preparation in 16,384-value steps), each with
 * -Inf before a NaN that comes first in slice order (channel c, tap q is c*9 + q within a kernel
 * row), so the stored-order index is the one reported: conv.weight at 300 (kernel row 1,
 * channel 1, tap 3; NaN at 306, channel 2, tap 0), prepared while widening; conv2.weight at
 * 17,000 (row 59, channel 0, tap 8; NaN at 17,001), prepared after the last step. */
static void gen_nonfinite(void)
{
    Onnx__GraphProto *g = graph_new("nonfinite");
    Onnx__TensorProto *a = raw_weight("fc1.weight", 32, 16, 301);
    Onnx__TensorProto *b = raw_weight("fc2.weight", 24, 12, 302);
    float nan_v = NAN, inf_v = INFINITY, ninf_v = -INFINITY;
    memcpy(a->raw_data.data + 17 * 4, &nan_v, 4);
    memcpy(b->raw_data.data + 5 * 4, &inf_v, 4);
    graph_add_init(g, a);
    graph_add_init(g, b);
    graph_add_init(g, raw_weight("fc3.weight", 20, 10, 303));
    const char *names[2] = {"conv.weight", "conv2.weight"};
    const size_t at[2] = {300, 17000};
    for (int i = 0; i < 2; i++) {
        int64_t kdims[4] = {64, 32, 3, 3};
        rng_seed(304 + (uint64_t)i);
        float *k = gauss_values(64 * 32 * 9, 1.0 / sqrt(288.0));
        k[at[i]] = ninf_v;
        k[at[i] + (i == 0 ? 6 : 1)] = nan_v;
        graph_add_init(g, raw_f32_values(names[i], 4, kdims, k));
        Onnx__NodeProto *c = node_new(names[i], "Conv", i == 0 ? "y" : "y2");
        node_add_input(c, "x");
        node_add_input(c, names[i]);
        graph_add_node(g, c);
    }
    write_model("nonfinite.onnx", model_new(g));
}

/* A 0-D scalar initializer between two layers (WeightWatcher crashes on it). */
/* A rank-1 layer (one eigenvalue above 1e-5: the power-law fit cannot be made) beside a good
 * one: the default mode reports the failure without WeightWatcher's -1 sentinels. */
static void gen_failed_fit(void)
{
    Onnx__GraphProto *g = graph_new("failed_fit");
    int64_t dims[2] = {20, 12};
    float *v = xalloc(20 * 12 * sizeof *v);
    for (int i = 0; i < 20; i++)
        for (int j = 0; j < 12; j++)
            v[i * 12 + j] = (float)((i + 1) * (j % 3 + 1)) * 0.25f; /* u vᵀ */
    graph_add_init(g, raw_f32_values("rank1.weight", 2, dims, v));
    graph_add_init(g, raw_weight("fc.weight", 24, 12, 311));
    write_model("failed_fit.onnx", model_new(g));
}

static void gen_scalar0d(void)
{
    Onnx__GraphProto *g = graph_new("scalar");
    graph_add_init(g, raw_weight("fc1.weight", 32, 16, 401));
    float s = 0.5f;
    graph_add_init(g, raw_f32_values("scale", 0, NULL, &s));
    graph_add_init(g, raw_weight("fc2.weight", 16, 12, 402));
    write_model("scalar0d.onnx", model_new(g));
}

/* FLOAT8E4M3FN (17) is newer than Debian's onnx.proto (protobuf-c keeps the enum value): random
 * codes other than the NaN codes S.1111.111, analyzed next to an ordinary layer. */
static void gen_fp8(void)
{
    Onnx__GraphProto *g = graph_new("fp8");
    graph_add_init(g, raw_weight("fc1.weight", 32, 16, 501));
    int64_t dims[2] = {16, 16};
    Onnx__TensorProto *t = tensor_new("fc2.weight_fp8", 17, 2, dims);
    uint8_t codes[256];
    rng_seed(502);
    for (size_t i = 0; i < sizeof codes; i++) {
        codes[i] = (uint8_t)rng_next();
        if ((codes[i] & 0x7f) == 0x7f)
            codes[i] ^= 1;
    }
    tensor_set_raw(t, codes, sizeof codes);
    graph_add_init(g, t);
    write_model("fp8.onnx", model_new(g));
}

/* ------------------------------------------------------------------ low-bit weights */

static void attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = node_add_attr(n, name);
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
}

static Onnx__NodeProto *ms_node(const char *name, const char *op, const char *output)
{
    Onnx__NodeProto *n = node_new(name, op, output);
    n->domain = xstrdup("com.microsoft");
    return n;
}

static Onnx__TensorProto *raw_u8(const char *name, int rank, const int64_t *dims,
                                 const uint8_t *v, size_t len)
{
    Onnx__TensorProto *t = tensor_new(name, ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, rank, dims);
    tensor_set_raw(t, v, len);
    return t;
}

/* A MatMulNBits model as onnxruntime's quantizer writes it (asymmetric, min/max per block of
 * the K axis): B [N, K/block, block*bits/8] packed low bits first, scales [N * K/block] float,
 * zero points packed the same way [N * ceil(K/block * bits / 8)]. The variant argument breaks
 * one thing for the bad-input cases: 0 none, 1 B one byte short, 2 block_size 24, 3 block_size
 * 8, 4 a scale short, 5 zero points one byte long, 6 attribute N != B's dims[0]. */
static void gen_nbits_variant(const char *file, int variant)
{
    enum { K = 64, N = 48, BLK = 32, BITS = 4 };
    const int nb = K / BLK, blob = BLK * BITS / 8, zrow = (nb * BITS + 7) / 8;
    rng_seed(1001);
    float *w = gauss_values((size_t)K * N, 1.0 / sqrt((double)K)); /* w[k * N + n] */
    uint8_t *b = xalloc((size_t)N * nb * blob), *zp = xalloc((size_t)N * zrow + 1);
    float *sc = xalloc((size_t)N * nb * sizeof *sc);
    memset(b, 0, (size_t)N * nb * blob);
    memset(zp, 0, (size_t)N * zrow + 1);
    for (int n = 0; n < N; n++)
        for (int bl = 0; bl < nb; bl++) {
            float lo = 0, hi = 0;
            for (int k = bl * BLK; k < (bl + 1) * BLK; k++) {
                float v = w[k * N + n];
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            float scale = (hi - lo) / 15.0f;
            int z = (int)lrintf(-lo / scale);
            z = z < 0 ? 0 : z > 15 ? 15 : z;
            sc[n * nb + bl] = scale;
            zp[n * zrow + bl / 2] |= (uint8_t)(z << (4 * (bl % 2)));
            for (int j = 0; j < BLK; j++) {
                int q = (int)lrintf(w[(bl * BLK + j) * N + n] / scale) + z;
                q = q < 0 ? 0 : q > 15 ? 15 : q;
                b[(n * nb + bl) * blob + j / 2] |= (uint8_t)(q << (4 * (j % 2)));
            }
        }
    Onnx__GraphProto *g = graph_new("q4");
    int64_t bd[3] = {N, nb, blob};
    size_t blen = (size_t)N * nb * blob;
    if (variant == 1) { /* one byte short: dims [N, nb, blob - 1] would be the honest dims */
        bd[2] = blob - 1;
        blen = (size_t)N * nb * (blob - 1);
    }
    graph_add_init(g, raw_u8("fc.weight_Q4", 3, bd, b, blen));
    int64_t sd = variant == 4 ? N * nb - 1 : N * nb;
    graph_add_init(g, raw_f32_values("fc.weight_scales", 1, &sd, sc));
    int64_t zd = variant == 5 ? N * zrow + 1 : N * zrow;
    graph_add_init(g, raw_u8("fc.weight_zp", 1, &zd, zp, (size_t)zd));
    Onnx__NodeProto *mm = ms_node("fc_q4", "MatMulNBits", "y");
    node_add_input(mm, "x");
    node_add_input(mm, "fc.weight_Q4");
    node_add_input(mm, "fc.weight_scales");
    node_add_input(mm, "fc.weight_zp");
    attr_int(mm, "K", K);
    attr_int(mm, "N", variant == 6 ? N + 1 : N);
    attr_int(mm, "bits", BITS);
    attr_int(mm, "block_size", variant == 2 ? 24 : variant == 3 ? 8 : BLK);
    graph_add_node(g, mm);
    write_model(file, model_new(g));
}

/* A uint8 embedding table read by Gather and dequantized after the lookup (onnxruntime's
 * dynamic quantizer), a packed QKV Attention weight, a 4-bit GatherBlockQuantized table, and a
 * weight fed to an op of an unknown domain (unsupported_op: counted against the parameter
 * coverage). */
static void gen_lowbit_roles(void)
{
    Onnx__GraphProto *g = graph_new("roles");
    enum { V = 50, D = 16 };
    rng_seed(1101);
    uint8_t table[V * D];
    for (int i = 0; i < V * D; i++) {
        double v = 128 + 30 * rng_gauss();
        table[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrint(v));
    }
    int64_t td[2] = {V, D};
    graph_add_init(g, raw_u8("embed.weight_quantized", 2, td, table, sizeof table));
    float s = 0.01f;
    graph_add_init(g, raw_f32_values("embed.weight_scale", 0, NULL, &s));
    uint8_t z = 128;
    graph_add_init(g, raw_u8("embed.weight_zero_point", 0, NULL, &z, 1));
    Onnx__NodeProto *ga = node_new("embed", "Gather", "rows_q");
    node_add_input(ga, "embed.weight_quantized");
    node_add_input(ga, "ids");
    graph_add_node(g, ga);
    Onnx__NodeProto *dq = node_new("embed_dq", "DequantizeLinear", "rows");
    node_add_input(dq, "rows_q");
    node_add_input(dq, "embed.weight_scale");
    node_add_input(dq, "embed.weight_zero_point");
    graph_add_node(g, dq);
    graph_add_init(g, raw_weight("attn.qkv.weight", 32, 96, 1102));
    Onnx__NodeProto *at = ms_node("attn", "Attention", "ctx");
    node_add_input(at, "rows");
    node_add_input(at, "attn.qkv.weight");
    attr_int(at, "num_heads", 2);
    graph_add_node(g, at);
    /* GatherBlockQuantized: uint8 [32, 16] holding 32 x 32 4-bit codes, 2-D scales [32, 1]
     * (a parameter of a known op: not_weight, not unsupported_op) */
    uint8_t gq[32 * 16];
    for (int i = 0; i < 32 * 16; i++)
        gq[i] = (uint8_t)(rng_next() & 0xff);
    int64_t gd[2] = {32, 16}, gsd[2] = {32, 1};
    graph_add_init(g, raw_u8("tok.weight_q4", 2, gd, gq, sizeof gq));
    float gs[32];
    for (int i = 0; i < 32; i++)
        gs[i] = 0.01f * (float)(1 + i % 7);
    graph_add_init(g, raw_f32_values("tok.weight_scales", 2, gsd, gs));
    Onnx__NodeProto *gb = ms_node("tok", "GatherBlockQuantized", "tok_rows");
    node_add_input(gb, "tok.weight_q4");
    node_add_input(gb, "ids");
    node_add_input(gb, "tok.weight_scales");
    attr_int(gb, "block_size", 32);
    attr_int(gb, "bits", 4);
    attr_int(gb, "quantize_axis", 1);
    graph_add_node(g, gb);
    graph_add_init(g, raw_weight("mystery.weight", 40, 32, 1103));
    Onnx__NodeProto *my = node_new("mystery", "MysteryMatMul", "out");
    my->domain = xstrdup("com.example");
    node_add_input(my, "ctx");
    node_add_input(my, "mystery.weight");
    graph_add_node(g, my);
    write_model("lowbit_roles.onnx", model_new(g));
}

static void gen_lowbit(void)
{
    gen_nbits_variant("q4.onnx", 0);
    gen_nbits_variant("q4_blob_short.onnx", 1);
    gen_nbits_variant("q4_block_not_pow2.onnx", 2);
    gen_nbits_variant("q4_block_small.onnx", 3);
    gen_nbits_variant("q4_few_scales.onnx", 4);
    gen_nbits_variant("q4_zp_length.onnx", 5);
    gen_nbits_variant("q4_n_attr.onnx", 6);
    gen_lowbit_roles();
}

/* Exact fp16 bits of a float that fp16 represents exactly as a normal number (or zero). */
static uint16_t exact_half_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    if ((x & 0x7fffffffu) == 0)
        return (uint16_t)sign;
    int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    if (e <= 0 || e >= 31 || (x & 0x1fffu) != 0)
        die("%g is not exactly representable as a normal fp16", (double)f);
    return (uint16_t)(sign | ((uint32_t)e << 10) | ((x >> 13) & 0x3ffu));
}

static uint16_t exact_bf16_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if ((x & 0xffffu) != 0)
        die("%g is not exactly representable as bf16", (double)f);
    return (uint16_t)(x >> 16);
}

/* One tensor of the typed-field model, and its raw_data twin. */
typedef struct typed_case {
    const char *name;
    int32_t dtype;
    int64_t rows, cols;
} typed_case;

static const typed_case typed_cases[] = {
    {"f32_typed", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 20, 12},
    {"f16_typed", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, 20, 12},
    {"bf16_typed", ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16, 20, 12},
    {"f64_typed", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 20, 12},
    {"i8_typed", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 20, 12},
    {"u8_typed", ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 20, 12},
    {"i32_typed", ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 20, 12},
    {"i64_typed", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 20, 12},
    {"u32_typed", ONNX__TENSOR_PROTO__DATA_TYPE__UINT32, 20, 12},
    {"bool_typed", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, 20, 12},
    {"f16_diag", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, 12, 12},
};

/* Builds a typed_case with values chosen so that every dtype holds them exactly: k/64 for
 * integers |k| <= 100 in the float types, k itself in the integer types, 0/1 for BOOL; the
 * diagonal case is diag(1..12), whose eigenvalues of W^T W are 1, 4, ..., 144. raw != 0 stores
 * raw_data (little-endian), else the typed field onnx.proto assigns to the type. */
static Onnx__TensorProto *typed_tensor(const typed_case *c, uint64_t seed, int raw)
{
    int64_t dims[2] = {c->rows, c->cols};
    size_t n = (size_t)(c->rows * c->cols);
    Onnx__TensorProto *t = tensor_new(c->name, c->dtype, 2, dims);
    int64_t *k = xalloc(n * sizeof *k);
    rng_seed(seed);
    int is_diag = strcmp(c->name, "f16_diag") == 0;
    for (size_t i = 0; i < n; i++) {
        if (is_diag)
            k[i] = (i / (size_t)c->cols == i % (size_t)c->cols) ? (int64_t)(i / (size_t)c->cols) + 1
                                                               : 0;
        else if (c->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
            k[i] = rng_int(0, 1);
        else if (c->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ||
                 c->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__UINT32)
            k[i] = rng_int(0, 200);
        else
            k[i] = rng_int(-100, 100);
    }
    int is_float = c->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                   c->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ||
                   c->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16 ||
                   c->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    double scale = (is_float && !is_diag) ? 1.0 / 64.0 : 1.0;
    uint8_t *bytes = xalloc(n * 8);
    size_t esize = 0;
    switch (c->dtype) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        esize = 4;
        t->n_float_data = n;
        t->float_data = xalloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            float f = (float)((double)k[i] * scale);
            t->float_data[i] = f;
            memcpy(bytes + 4 * i, &f, 4);
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
        esize = 2;
        t->n_int32_data = n;
        t->int32_data = xalloc(n * sizeof(int32_t));
        for (size_t i = 0; i < n; i++) {
            float f = (float)((double)k[i] * scale);
            uint16_t h = c->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ? exact_half_bits(f)
                                                                           : exact_bf16_bits(f);
            t->int32_data[i] = h; /* the bit pattern, zero-extended (onnx.proto) */
            memcpy(bytes + 2 * i, &h, 2);
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        esize = 8;
        t->n_double_data = n;
        t->double_data = xalloc(n * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            double d = (double)k[i] * scale;
            t->double_data[i] = d;
            memcpy(bytes + 8 * i, &d, 8);
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        esize = 1;
        t->n_int32_data = n;
        t->int32_data = xalloc(n * sizeof(int32_t));
        for (size_t i = 0; i < n; i++) {
            t->int32_data[i] = (int32_t)k[i];
            bytes[i] = (uint8_t)k[i];
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        esize = 4;
        t->n_int32_data = n;
        t->int32_data = xalloc(n * sizeof(int32_t));
        for (size_t i = 0; i < n; i++) {
            int32_t v = (int32_t)k[i];
            t->int32_data[i] = v;
            memcpy(bytes + 4 * i, &v, 4);
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        esize = 8;
        t->n_int64_data = n;
        t->int64_data = xalloc(n * sizeof(int64_t));
        for (size_t i = 0; i < n; i++) {
            t->int64_data[i] = k[i];
            memcpy(bytes + 8 * i, &k[i], 8);
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
        esize = 4;
        t->n_uint64_data = n;
        t->uint64_data = xalloc(n * sizeof(uint64_t));
        for (size_t i = 0; i < n; i++) {
            uint32_t v = (uint32_t)k[i];
            t->uint64_data[i] = v;
            memcpy(bytes + 4 * i, &v, 4);
        }
        break;
    default:
        die("typed_tensor: dtype %d", (int)c->dtype);
    }
    if (raw) {
        t->n_float_data = t->n_int32_data = t->n_double_data = 0;
        t->n_int64_data = t->n_uint64_data = 0;
        tensor_set_raw(t, bytes, n * esize);
    }
    return t;
}

/* typed_fields.onnx keeps every value in the typed *_data fields; typed_raw.onnx is its
 * raw_data twin and must analyze identically. */
static void gen_typed(void)
{
    for (int raw = 0; raw <= 1; raw++) {
        Onnx__GraphProto *g = graph_new("typed");
        for (size_t i = 0; i < sizeof typed_cases / sizeof typed_cases[0]; i++)
            graph_add_init(g, typed_tensor(&typed_cases[i], 600 + i, raw));
        write_model(raw ? "typed_raw.onnx" : "typed_fields.onnx", model_new(g));
    }
}

/* A main-graph layer and an If node whose then_branch holds a Constant weight (no tensor name:
 * the node's output names it) and whose else_branch holds a bias initializer. */
static void gen_constant_if(void)
{
    Onnx__GraphProto *g = graph_new("main");
    graph_add_init(g, raw_weight("fc1.weight", 32, 16, 701));
    Onnx__GraphProto *then_g = graph_new("then");
    Onnx__NodeProto *c = node_new("const_w", "Constant", "then.weight");
    Onnx__TensorProto *w = raw_weight(NULL, 24, 12, 702);
    attr_set_tensor(node_add_attr(c, "value"), w);
    graph_add_node(then_g, c);
    graph_consume(then_g, "MatMul", "then.weight");
    Onnx__GraphProto *else_g = graph_new("else");
    graph_add_init(else_g, raw_bias("else.bias", 12, 703));
    graph_consume_all(else_g);
    Onnx__NodeProto *ifn = node_new("If_0", "If", "y");
    node_add_input(ifn, "cond");
    attr_set_graph(node_add_attr(ifn, "then_branch"), then_g);
    attr_set_graph(node_add_attr(ifn, "else_branch"), else_g);
    graph_add_node(g, ifn);
    write_model("constant_if.onnx", model_new(g));
}

/* External data: ext_good.onnx with ext_good.data beside it (fc2 at an offset that is not
 * page-aligned and crosses a page), and ext_good_raw.onnx, its raw_data twin. */
static void gen_ext_good(void)
{
    static const struct {
        const char *name;
        int64_t rows, cols;
        uint64_t seed, offset;
    } L[3] = {{"fc1.weight", 64, 32, 801, 0},
              {"fc2.weight", 32, 16, 802, 8192 + 12},
              {"fc3.weight", 16, 10, 803, 4096 * 3 + 100}};
    size_t size = 4096 * 3 + 100 + 16 * 10 * 4;
    uint8_t *blob = xalloc(size);
    Onnx__GraphProto *g = graph_new("ext");
    Onnx__GraphProto *twin = graph_new("ext");
    for (int i = 0; i < 3; i++) {
        Onnx__TensorProto *t = raw_weight(L[i].name, L[i].rows, L[i].cols, L[i].seed);
        graph_add_init(twin, t);
        memcpy(blob + L[i].offset, t->raw_data.data, t->raw_data.len);
        Onnx__TensorProto *e = tensor_new(L[i].name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2,
                                          t->dims);
        tensor_set_external(e, "ext_good.data", L[i].offset, t->raw_data.len);
        graph_add_init(g, e);
        if (i == 0) {
            graph_add_init(g, raw_bias("fc1.bias", 64, 804));
            graph_add_init(twin, raw_bias("fc1.bias", 64, 804));
        }
    }
    write_bytes("ext_good.data", blob, size);
    Onnx__ModelProto *m = model_new(g);
    Onnx__ModelProto *mt = model_new(twin);
    graph_consume_all(g);
    size_t len;
    uint8_t *buf = pack_model(m, &len);
    write_bytes("ext_good.onnx", buf, len);
    write_model("ext_good_raw.onnx", mt);
}

/* ------------------------------------------------------------------ bad inputs */

/* good_mlp cut in the middle of fc2.weight's raw_data. */
static void gen_truncated(void)
{
    Onnx__GraphProto *g = mlp_graph();
    Onnx__TensorProto *fc2 = g->initializer[2];
    Onnx__ModelProto *m = model_new(g);
    graph_consume_all(g);
    size_t len;
    uint8_t *buf = pack_model(m, &len);
    size_t at = 0;
    while (at + 64 <= len && memcmp(buf + at, fc2->raw_data.data, 64) != 0)
        at++;
    if (at + 64 > len)
        die("truncated: fc2.weight not found in the packed model");
    size_t cut = at + fc2->raw_data.len / 2;
    write_bytes("truncated.onnx", buf, cut);
    arena_reset();
}

/* An 11-byte varint (ten bytes with the continuation bit, then 0x01) as the value of a second
 * data_type field at the end of fc2.weight. */
static void gen_bad_varint(void)
{
    Onnx__GraphProto *g = mlp_graph();
    uint8_t v[11];
    memset(v, 0xff, 10);
    v[10] = 0x01;
    add_unknown(&g->initializer[2]->base, 2, PROTOBUF_C_WIRE_TYPE_VARINT, v, sizeof v);
    write_model("bad_varint.onnx", model_new(g));
}

/* ModelProto.graph (field 7) as a varint instead of a length-delimited message. */
static void gen_wrong_wire(void)
{
    Onnx__ModelProto *m = model_new(NULL);
    uint8_t v = 5;
    add_unknown(&m->base, 7, PROTOBUF_C_WIRE_TYPE_VARINT, &v, 1);
    write_model("wrong_wire.onnx", m);
}

/* A group start (wire type 3, which ONNX never uses) as field 9 of fc2.weight. */
static void gen_wrong_wire_group(void)
{
    Onnx__GraphProto *g = mlp_graph();
    add_unknown(&g->initializer[2]->base, 9, 3, NULL, 0);
    write_model("wrong_wire_group.onnx", model_new(g));
}

/* If nodes nested 70 deep through then_branch (limit WL_MAX_NESTING = 64), under a main graph
 * that has one ordinary layer. */
static void gen_deep_nesting(void)
{
    enum { DEPTH = 70 };
    Onnx__GraphProto *inner = graph_new("g70");
    graph_add_init(inner, raw_bias("deep.bias", 10, 901));
    for (int d = DEPTH - 1; d >= 0; d--) {
        char name[32];
        snprintf(name, sizeof name, d ? "g%d" : "main", d);
        Onnx__GraphProto *g = graph_new(name);
        if (d == 0)
            graph_add_init(g, raw_weight("fc1.weight", 32, 16, 902));
        snprintf(name, sizeof name, "If_%d", d);
        Onnx__NodeProto *n = node_new(name, "If", "y");
        node_add_input(n, "cond");
        attr_set_graph(node_add_attr(n, "then_branch"), inner);
        graph_add_node(g, n);
        inner = g;
    }
    write_model("deep_nesting.onnx", model_new(inner));
}

/* One bad 10x10 FLOAT tensor "fc2.weight" between two good layers. */
static void write_bad_tensor_model(const char *file, Onnx__TensorProto *bad)
{
    Onnx__GraphProto *g = graph_new("bad");
    graph_add_init(g, raw_weight("fc1.weight", 32, 16, 1001));
    graph_add_init(g, bad);
    graph_add_init(g, raw_weight("fc3.weight", 16, 10, 1003));
    write_model(file, model_new(g));
}

static void gen_bad_tensors(void)
{
    float zeros[100] = {0};
    {
        int64_t dims[2] = {-3, 10};
        Onnx__TensorProto *t = tensor_new("fc2.weight", 1, 2, dims);
        tensor_set_raw(t, zeros, 120);
        write_bad_tensor_model("negative_dim.onnx", t);
    }
    {
        int64_t dims[2] = {(int64_t)1 << 32, 10};
        Onnx__TensorProto *t = tensor_new("fc2.weight", 1, 2, dims);
        tensor_set_raw(t, zeros, 400);
        write_bad_tensor_model("absurd_dim.onnx", t);
    }
    {
        int64_t dims[3] = {(int64_t)1 << 31, (int64_t)1 << 31, (int64_t)1 << 31};
        Onnx__TensorProto *t = tensor_new("fc2.weight", 1, 3, dims);
        tensor_set_raw(t, zeros, 400);
        write_bad_tensor_model("dims_overflow.onnx", t);
    }
    {
        int64_t dims[2] = {10, 10};
        Onnx__TensorProto *t = tensor_new("fc2.weight", 1, 2, dims);
        tensor_set_raw(t, zeros, 396);
        write_bad_tensor_model("raw_len_mismatch.onnx", t);
    }
    {
        int64_t dims[2] = {10, 10};
        Onnx__TensorProto *t = tensor_new("fc2.weight", 1, 2, dims);
        t->n_float_data = 99;
        t->float_data = xalloc(99 * sizeof(float));
        write_bad_tensor_model("typed_count_mismatch.onnx", t);
    }
    {
        int64_t dims[2] = {10, 10};
        Onnx__TensorProto *t = tensor_new("fc2.weight", 99, 2, dims);
        tensor_set_raw(t, zeros, 400);
        write_bad_tensor_model("unknown_dtype.onnx", t);
    }
}

/* A 10x10 FLOAT "fc2.weight" stored externally at location (length 400 bytes). */
static void write_ext_model(const char *file, const char *location)
{
    int64_t dims[2] = {10, 10};
    Onnx__TensorProto *t = tensor_new("fc2.weight", 1, 2, dims);
    tensor_set_external(t, location, 0, 400);
    write_bad_tensor_model(file, t);
}

static void gen_ext_bad(void)
{
    uint8_t blob[400] = {0};
    write_ext_model("ext_dotdot.onnx", "../gen_outside.data");
    write_ext_model("ext_absolute.onnx", "/etc/passwd");
    write_ext_model("ext_missing.onnx", "missing.data");
    write_bytes("ext_short.data", blob, 100);
    write_ext_model("ext_short.onnx", "ext_short.data");

    /* Symlink escape: symlink/ext_symlink.onnx reads symlink/w.data -> ../outside.data, which
     * exists and is long enough, but lies outside the model's folder. */
    char path[4096];
    write_bytes("outside.data", blob, sizeof blob);
    path_of(path, sizeof path, "symlink");
    make_dir(path);
    path_of(path, sizeof path, "symlink/w.data");
    if (unlink(path) != 0 && errno != ENOENT)
        die("unlink %s: %s", path, strerror(errno));
    if (symlink("../outside.data", path) != 0)
        die("symlink %s: %s", path, strerror(errno));
    write_ext_model("symlink/ext_symlink.onnx", "w.data");
}

/* ------------------------------------------------------------------ hand-encoded */

/* A growable byte buffer for messages too deep for protobuf-c's recursive pack. */
typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static void put_varint(uint8_t *out, size_t *n, uint64_t v)
{
    do {
        out[(*n)++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
}

/* Wraps b as field number of a message: b = tag, length, b. */
static void wrap_len(bytes *b, uint32_t number)
{
    uint8_t head[20];
    size_t h = 0;
    put_varint(head, &h, (uint64_t)number << 3 | 2);
    put_varint(head, &h, b->n);
    uint8_t *p = xalloc(b->n + h);
    memcpy(p, head, h);
    if (b->n > 0)
        memcpy(p + h, b->p, b->n);
    b->p = p;
    b->n += h;
}

/* Appends a length-delimited field (tag, length, data) to b. */
static void append_len(bytes *b, uint32_t number, const void *data, size_t len)
{
    bytes f = {xalloc(len), len};
    if (len > 0)
        memcpy(f.p, data, len);
    wrap_len(&f, number);
    uint8_t *p = xalloc(b->n + f.n);
    if (b->n > 0)
        memcpy(p, b->p, b->n);
    memcpy(p + b->n, f.p, f.n);
    b->p = p;
    b->n += f.n;
}

/* A Relu node whose attribute carries a TypeProto nested 20000 deep (sequence of sequence of
 * ... float tensor, AttributeProto.tp = 14): message nesting far beyond WL_MAX_NESTING, which a
 * recursive decoder must not follow. The attribute is an INT named "alpha" so that nothing
 * else about it is unusual. Built bottom-up by hand: protobuf-c packs recursively too. */
static void gen_deep_typeproto(void)
{
    enum { DEPTH = 20000 };
    /* Every level is 8 bytes at most; build in one buffer from the inside out. */
    size_t cap = (size_t)DEPTH * 8 + 64, start = cap;
    uint8_t *buf = xalloc(cap);
    static const uint8_t leaf[] = {0x0a, 0x02, 0x08, 0x01}; /* tensor_type { elem_type: 1 } */
    start -= sizeof leaf;
    memcpy(buf + start, leaf, sizeof leaf);
    for (int d = 0; d < DEPTH; d++) {
        for (int k = 0; k < 2; k++) { /* TypeProto.Sequence.elem_type = 1, then sequence_type = 4 */
            uint8_t head[12];
            size_t h = 0;
            put_varint(head, &h, (uint64_t)(k == 0 ? 1 : 4) << 3 | 2);
            put_varint(head, &h, cap - start);
            start -= h;
            memcpy(buf + start, head, h);
        }
    }
    bytes attr = {NULL, 0};
    append_len(&attr, 1, "alpha", 5);
    static const uint8_t type_int[] = {0xa0, 0x01, 0x02, 0x18, 0x01}; /* type = INT, i = 1 */
    uint8_t *p = xalloc(attr.n + sizeof type_int);
    memcpy(p, attr.p, attr.n);
    memcpy(p + attr.n, type_int, sizeof type_int);
    attr.p = p;
    attr.n += sizeof type_int;
    append_len(&attr, 14, buf + start, cap - start);
    bytes node = {NULL, 0};
    append_len(&node, 1, "x", 1);
    append_len(&node, 2, "y", 1);
    append_len(&node, 3, "relu", 4);
    append_len(&node, 4, "Relu", 4);
    append_len(&node, 5, attr.p, attr.n);
    /* The graph: the node and one ordinary layer, through protobuf-c (the node goes in as an
     * unknown field 1, which is where GraphProto.node lives). */
    Onnx__GraphProto *g = graph_new("deep_type");
    graph_add_init(g, raw_weight("fc1.weight", 32, 16, 1101));
    graph_consume_all(g);
    uint8_t *node_payload = xalloc(node.n + 8);
    size_t h = 0;
    put_varint(node_payload, &h, node.n);
    memcpy(node_payload + h, node.p, node.n);
    add_unknown(&g->base, 1, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, node_payload, h + node.n);
    write_model("deep_typeproto.onnx", model_new(g));
}

/* Resource limits (issue #12): a graph of WL_MAX_NODES + 1 empty nodes (2 bytes of file each,
 * ~300 bytes of memory each once read), and a FLOAT16 weight of
 * 131072 x 65536 (16 GiB, the largest payload allowed) stored in limits/huge.data, which is
 * NOT written here: the golden test makes it as a sparse file. Analyzing it would need
 * 160 GiB. (In limits/, which bad_inputs.sh does not sweep: without its data it is exit 4.) */
static void gen_limits(void)
{
    Onnx__GraphProto *g = graph_new("many_nodes");
    Onnx__NodeProto *n = xalloc(sizeof *n); /* an empty NodeProto: 2 bytes of file */
    onnx__node_proto__init(n);
    g->n_node = ((size_t)1 << 20) + 1;
    g->node = xalloc(g->n_node * sizeof *g->node);
    for (size_t i = 0; i < g->n_node; i++)
        g->node[i] = n;
    write_model("many_nodes.onnx", model_new(g));

    g = graph_new("huge");
    int64_t dims[2] = {131072, 65536};
    Onnx__TensorProto *t = tensor_new("fc.weight", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, 2, dims);
    tensor_set_external(t, "huge.data", 0, (uint64_t)131072 * 65536 * 2);
    graph_add_init(g, t);
    char path[4096];
    path_of(path, sizeof path, "limits");
    make_dir(path);
    write_model("limits/huge_ext.onnx", model_new(g));
}

static void gen_raw_files(void)
{
    static const char lfs[] =
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 26843545\n";
    write_bytes("lfs_pointer.onnx", lfs, sizeof lfs - 1);
    write_bytes("empty.onnx", "", 0);
    static const char text[] = "this is a text file, not an ONNX model\n";
    write_bytes("not_onnx.onnx", text, sizeof text - 1);
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: mkonnx OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    make_dir(outdir);
    gen_good_mlp();
    gen_no_layers();
    gen_nonfinite();
    gen_failed_fit();
    gen_scalar0d();
    gen_fp8();
    gen_lowbit();
    gen_typed();
    gen_constant_if();
    gen_ext_good();
    gen_truncated();
    gen_bad_varint();
    gen_wrong_wire();
    gen_wrong_wire_group();
    gen_deep_nesting();
    gen_deep_typeproto();
    gen_bad_tensors();
    gen_ext_bad();
    gen_limits();
    gen_raw_files();
    arena_reset();
    free(arena);
    return 0;
}
