/*
 * onnx_graph.c — node list of an ONNX model and the weight-input table (see onnx_graph.h).
 * Which input of which op is a weight comes from the ONNX operator specs (onnx/docs/
 * Operators.md): Gemm A=0,B=1; MatMul 0,1; Conv W=1; ConvTranspose W=1; Gather data=0;
 * LSTM/GRU/RNN W=1, R=2; MatMulInteger B=1 (b_zero_point=3); ConvInteger w=1
 * (w_zero_point=3); QLinearMatMul b=3 (b_scale=4, b_zero_point=5); QLinearConv w=3
 * (w_scale=4, w_zero_point=5); DequantizeLinear x=0 (x_scale=1, x_zero_point=2, axis).
 */
#include "onnx_graph.h"

#include "pbwire.h"
#include "wl_err.h"

#include "onnx/onnx.pb-c.h"

#include <stdlib.h>
#include <string.h>

enum {
    GRAPH_NODE = 1,
    GRAPH_INITIALIZER = 5,
    NODE_INPUT = 1,
    NODE_OUTPUT = 2,
    NODE_NAME = 3,
    NODE_OP_TYPE = 4,
    NODE_ATTRIBUTE = 5,
    NODE_DOMAIN = 7,
    ATTR_NAME = 1,
    ATTR_T = 5,
    ATTR_G = 6,
    ATTR_TENSORS = 10,
    ATTR_GRAPHS = 11,
    ATTR_TP = 14,
    ATTR_TYPE_PROTOS = 15,
    ATTR_SPARSE_TENSOR = 22,
    ATTR_SPARSE_TENSORS = 23,
    MODEL_GRAPH = 7,
};

typedef struct node_list {
    wl_node *v;
    size_t n, cap;
} node_list;

static wl_status push_str(char ***arr, size_t *n, const uint8_t *s, size_t len, wl_err *err)
{
    char **v = realloc(*arr, (*n + 1) * sizeof *v);
    if (v == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory reading nodes");
    *arr = v;
    v[*n] = wl_pb_strdup(s, len);
    if (v[*n] == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory reading nodes");
    (*n)++;
    return WL_OK;
}

/* Small attributes through protobuf-c; *has_graph tells whether it holds a graph to walk.
 * Attributes holding tensors, graphs or type descriptions are walked in place instead: they can
 * be large, and protobuf-c's decoder recurses without a depth limit (a TypeProto nested 20,000
 * deep overflows the stack; tests/gen/mkonnx.c deep_typeproto.onnx). */
static wl_status read_attribute(const wl_onnx_file *f, const wl_pb_field *af, wl_node *nd,
                                int *has_graph, wl_err *err)
{
    wl_pb_reader r;
    wl_pb_field fld;
    int has;
    wl_status st;
    *has_graph = 0;
    int big = 0;
    wl_pb_init(&r, f->map->data, af->data, af->len);
    while ((st = wl_pb_next(&r, &fld, &has, err)) == WL_OK && has) {
        if (fld.number == ATTR_G || fld.number == ATTR_GRAPHS)
            *has_graph = 1;
        if (fld.number == ATTR_T || fld.number == ATTR_G || fld.number == ATTR_TENSORS ||
            fld.number == ATTR_GRAPHS || fld.number == ATTR_TP || fld.number == ATTR_TYPE_PROTOS ||
            fld.number == ATTR_SPARSE_TENSOR || fld.number == ATTR_SPARSE_TENSORS)
            big = 1;
    }
    if (st != WL_OK || big)
        return st;
    wl_pb_alloc pa;
    wl_pb_alloc_init(&pa);
    Onnx__AttributeProto *a = onnx__attribute_proto__unpack(&pa.base, af->len, af->data);
    if (a == NULL && pa.failed)
        return WL_FAIL(err, WL_E_NOMEM, "byte %zu: attribute: out of memory", af->offset);
    if (a == NULL)
        return WL_FAIL(err, WL_E_FORMAT, "byte %zu: attribute: protobuf decode failed", af->offset);
    if (a->name != NULL) {
        if (strcmp(a->name, "transA") == 0)
            nd->trans_a = a->i;
        else if (strcmp(a->name, "transB") == 0)
            nd->trans_b = a->i;
        else if (strcmp(a->name, "group") == 0)
            nd->group = a->i;
        else if (strcmp(a->name, "axis") == 0) {
            nd->axis = a->i;
            nd->has_axis = 1;
        } else if (strcmp(a->name, "perm") == 0) {
            nd->n_perm = a->n_ints < 8 ? (int)a->n_ints : 8;
            for (int i = 0; i < nd->n_perm; i++)
                nd->perm[i] = a->ints[i];
        } else if (strcmp(a->name, "qkv_hidden_sizes") == 0) {
            nd->n_qkv_hidden_sizes = a->n_ints < 4 ? (int)a->n_ints : 4;
            for (size_t i = 0; i < a->n_ints && i < 3; i++)
                nd->qkv_hidden_sizes[i] = a->ints[i];
        } else if (a->has_i && strlen(a->name) < sizeof nd->ints[0].name &&
                   nd->n_ints < WL_NODE_MAX_INTS) {
            wl_node_int *v = &nd->ints[nd->n_ints++];
            strcpy(v->name, a->name);
            v->value = a->i;
        }
    }
    onnx__attribute_proto__free_unpacked(a, &pa.base);
    return WL_OK;
}

static wl_status walk_graph(const wl_onnx_file *f, const uint8_t *data, size_t len,
                            const char *path, int depth, node_list *l, wl_tensor_refs *tensors,
                            wl_err *err);

int wl_node_get_int(const wl_node *nd, const char *name, int64_t *out)
{
    for (int i = 0; i < nd->n_ints; i++)
        if (strcmp(nd->ints[i].name, name) == 0) {
            *out = nd->ints[i].value;
            return 1;
        }
    return 0;
}

/* A Constant node's value tensor (attribute field t), known to the graph by the node's output. */
static wl_status push_constant(const wl_onnx_file *f, const wl_pb_field *attr, const char *path,
                               const wl_node *nd, wl_tensor_refs *tensors, wl_err *err)
{
    wl_pb_reader r;
    wl_pb_field fld;
    int has;
    wl_status st;
    const char *out = nd->n_outputs ? nd->outputs[0] : NULL;
    wl_pb_init(&r, f->map->data, attr->data, attr->len);
    while ((st = wl_pb_next(&r, &fld, &has, err)) == WL_OK && has)
        if (fld.number == ATTR_T && fld.wire == WL_WIRE_LEN) {
            st = wl_tensor_refs_push(tensors, &fld, WL_ORIGIN_CONSTANT, path, (const uint8_t *)out,
                                     out ? strlen(out) : 0, err);
            if (st != WL_OK)
                return st;
        }
    return st;
}

static wl_status read_node(const wl_onnx_file *f, const wl_pb_field *nf, const char *path,
                           int depth, size_t index, node_list *l, wl_tensor_refs *tensors,
                           wl_err *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        wl_node *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory reading nodes");
        l->v = v;
        l->cap = cap;
    }
    wl_node *nd = &l->v[l->n++];
    memset(nd, 0, sizeof *nd);
    nd->group = 1;
    nd->graph_path = strdup(path);
    if (nd->graph_path == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory reading nodes");
    wl_pb_reader r;
    wl_pb_field fld;
    int has;
    wl_status st;
    wl_pb_init(&r, f->map->data, nf->data, nf->len);
    while ((st = wl_pb_next(&r, &fld, &has, err)) == WL_OK && has) {
        if (fld.wire != WL_WIRE_LEN)
            continue;
        switch (fld.number) {
        case NODE_INPUT:
            st = push_str(&nd->inputs, &nd->n_inputs, fld.data, fld.len, err);
            break;
        case NODE_OUTPUT:
            st = push_str(&nd->outputs, &nd->n_outputs, fld.data, fld.len, err);
            break;
        case NODE_NAME:
            free(nd->name);
            if ((nd->name = wl_pb_strdup(fld.data, fld.len)) == NULL)
                st = WL_FAIL(err, WL_E_NOMEM, "out of memory reading nodes");
            break;
        case NODE_OP_TYPE:
            free(nd->op_type);
            if ((nd->op_type = wl_pb_strdup(fld.data, fld.len)) == NULL)
                st = WL_FAIL(err, WL_E_NOMEM, "out of memory reading nodes");
            break;
        case NODE_DOMAIN:
            free(nd->domain);
            nd->domain = wl_pb_strdup(fld.data, fld.len);
            break;
        default:
            break;
        }
        if (st != WL_OK)
            return st;
    }
    if (st != WL_OK)
        return st;
    if (nd->name == NULL)
        nd->name = strdup("");
    if (nd->op_type == NULL)
        nd->op_type = strdup("");
    if (nd->domain == NULL)
        nd->domain = strdup("");
    if (nd->name == NULL || nd->op_type == NULL || nd->domain == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory reading nodes");
    /* Attributes: copy what we need out of nd first, since walking subgraphs grows l->v. */
    size_t self = l->n - 1;
    int is_constant = strcmp(nd->op_type, "Constant") == 0;
    char sub[1024];
    snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "/" : "",
             nd->name[0] ? nd->name : nd->op_type);
    if (nd->name[0] == '\0') {
        size_t used = strlen(sub);
        snprintf(sub + used, sizeof sub - used, "_%zu", index);
    }
    wl_pb_init(&r, f->map->data, nf->data, nf->len);
    while ((st = wl_pb_next(&r, &fld, &has, err)) == WL_OK && has) {
        if (fld.number != NODE_ATTRIBUTE || fld.wire != WL_WIRE_LEN)
            continue;
        int has_graph;
        st = read_attribute(f, &fld, &l->v[self], &has_graph, err);
        if (st != WL_OK)
            return st;
        if (is_constant) {
            st = push_constant(f, &fld, path, &l->v[self], tensors, err);
            if (st != WL_OK)
                return st;
        }
        if (!has_graph)
            continue;
        wl_pb_reader ar;
        wl_pb_field af;
        int ahas;
        const uint8_t *aname = NULL;
        size_t aname_len = 0;
        wl_pb_init(&ar, f->map->data, fld.data, fld.len);
        while ((st = wl_pb_next(&ar, &af, &ahas, err)) == WL_OK && ahas) {
            if (af.number == ATTR_NAME && af.wire == WL_WIRE_LEN) {
                aname = af.data;
                aname_len = af.len;
            } else if ((af.number == ATTR_G || af.number == ATTR_GRAPHS) &&
                       af.wire == WL_WIRE_LEN) {
                char gpath[1200];
                snprintf(gpath, sizeof gpath, "%s/%.*s", sub, (int)aname_len,
                         aname ? (const char *)aname : "");
                st = walk_graph(f, af.data, af.len, gpath, depth + 1, l, tensors, err);
                if (st != WL_OK)
                    return st;
            }
        }
        if (st != WL_OK)
            return st;
    }
    return st;
}

static wl_status walk_graph(const wl_onnx_file *f, const uint8_t *data, size_t len,
                            const char *path, int depth, node_list *l, wl_tensor_refs *tensors,
                            wl_err *err)
{
    if (depth > WL_MAX_NESTING) /* the path is long by now: show its start */
        return WL_FAIL(err, WL_E_LIMIT,
                       "graph '%.60s%s': subgraphs nested %d levels deep, beyond the limit of %d",
                       path, strlen(path) > 60 ? "..." : "", depth, WL_MAX_NESTING);
    wl_pb_reader r;
    wl_pb_field fld;
    int has;
    wl_status st;
    size_t index = 0, n_nodes = 0;
    /* Count first (no allocation): a node costs ~300 bytes in memory and as few as 2 in the
     * file, so the limit is checked before any node of this graph is read. */
    wl_pb_init(&r, f->map->data, data, len);
    while ((st = wl_pb_next(&r, &fld, &has, err)) == WL_OK && has)
        n_nodes += fld.number == GRAPH_NODE;
    if (st != WL_OK)
        return st;
    if (n_nodes > WL_MAX_NODES - l->n)
        return WL_FAIL(err, WL_E_LIMIT, "graph '%.60s%s': %zu nodes%s, more than the limit of %zu",
                       *path ? path : "main", strlen(path) > 60 ? "..." : "", n_nodes,
                       l->n ? " after those of the graphs before" : "", WL_MAX_NODES);
    wl_pb_init(&r, f->map->data, data, len);
    while ((st = wl_pb_next(&r, &fld, &has, err)) == WL_OK && has) {
        if (fld.number != GRAPH_NODE && fld.number != GRAPH_INITIALIZER)
            continue;
        if (fld.wire != WL_WIRE_LEN)
            return WL_FAIL(err, WL_E_FORMAT, "byte %zu: GraphProto.%s has wire type %d, expected 2",
                           fld.offset, fld.number == GRAPH_NODE ? "node" : "initializer", fld.wire);
        if (fld.number == GRAPH_NODE)
            st = read_node(f, &fld, path, depth, index++, l, tensors, err);
        else
            st = wl_tensor_refs_push(
                tensors, &fld, depth == 0 ? WL_ORIGIN_INITIALIZER : WL_ORIGIN_SUBGRAPH_INITIALIZER,
                path, NULL, 0, err);
        if (st != WL_OK)
            return st;
    }
    return st;
}

wl_status wl_graph_load(const wl_onnx_file *f, wl_graph *g, wl_err *err)
{
    memset(g, 0, sizeof *g);
    node_list l = {0};
    wl_pb_reader r;
    wl_pb_field fld;
    int has;
    wl_status st;
    wl_pb_init(&r, f->map->data, f->map->data, f->map->size);
    while ((st = wl_pb_next(&r, &fld, &has, err)) == WL_OK && has) {
        if (fld.number == MODEL_GRAPH && fld.wire == WL_WIRE_LEN) {
            st = walk_graph(f, fld.data, fld.len, "", 0, &l, &g->tensors, err);
            if (st != WL_OK)
                break;
        }
    }
    g->nodes = l.v;
    g->n_nodes = l.n;
    if (st != WL_OK) {
        wl_err_wrap(err, "%s", f->map->path);
        wl_graph_free(g);
    }
    return st;
}

void wl_graph_free(wl_graph *g)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        wl_node *nd = &g->nodes[i];
        for (size_t k = 0; k < nd->n_inputs; k++)
            free(nd->inputs[k]);
        for (size_t k = 0; k < nd->n_outputs; k++)
            free(nd->outputs[k]);
        free(nd->inputs);
        free(nd->outputs);
        free(nd->name);
        free(nd->op_type);
        free(nd->domain);
        free(nd->graph_path);
    }
    free(g->nodes);
    wl_tensor_refs_clear(&g->tensors);
    memset(g, 0, sizeof *g);
}

/* ------------------------------------------------------------------ weight inputs */

typedef struct weight_input {
    const char *op;
    const char *domain; /* NULL: any domain (ONNX ops, also registered in com.microsoft) */
    int input;
    wl_weight_role role;
    int scale_input, zero_point_input; /* -1 when the op has none */
    int quant_axis;                    /* the stored axis a per-channel scale runs along */
    int g_idx_input;                   /* MatMulNBits: -1 otherwise */
} weight_input;

#define MS "com.microsoft"

/* Which input of which op is a weight (ONNX Operators.md; onnxruntime ContribOperators.md for
 * the com.microsoft rows). A table, not a switch ladder. */
static const weight_input weight_inputs[] = {
    {"Attention", MS, 1, WL_ROLE_QKV, -1, -1, 1, -1},
    {"Conv", NULL, 1, WL_ROLE_CONV, -1, -1, 0, -1},
    {"ConvInteger", NULL, 1, WL_ROLE_CONV, -1, 3, 0, -1},
    {"ConvTranspose", NULL, 1, WL_ROLE_CONV, -1, -1, 0, -1},
    /* B [K, N]; b_scale and b_zero_point scalar or per column [N] */
    {"DynamicQuantizeMatMul", MS, 1, WL_ROLE_DENSE, 2, 3, 1, -1},
    /* word, position and segment embedding tables */
    {"EmbedLayerNormalization", MS, 2, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"EmbedLayerNormalization", MS, 3, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"EmbedLayerNormalization", MS, 4, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"FusedConv", MS, 1, WL_ROLE_CONV, -1, -1, 0, -1},
    {"FusedGemm", MS, 0, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"FusedGemm", MS, 1, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"FusedMatMul", MS, 0, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"FusedMatMul", MS, 1, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"GRU", NULL, 1, WL_ROLE_RNN_W, -1, -1, 0, -1},
    {"GRU", NULL, 2, WL_ROLE_RNN_R, -1, -1, 0, -1},
    {"Gather", NULL, 0, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"GatherBlockQuantized", MS, 0, WL_ROLE_GATHER_BLOCK, 2, 3, 1, -1},
    {"Gemm", NULL, 0, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"Gemm", NULL, 1, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"GemmFastGelu", MS, 1, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"LSTM", NULL, 1, WL_ROLE_RNN_W, -1, -1, 0, -1},
    {"LSTM", NULL, 2, WL_ROLE_RNN_R, -1, -1, 0, -1},
    {"MatMul", NULL, 0, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"MatMul", NULL, 1, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"MatMulBnb4", MS, 1, WL_ROLE_BNB4, 2, -1, 0, -1},
    /* B [K, N] int8/uint8; b_zero_point scalar or per column [N] */
    {"MatMulInteger", NULL, 1, WL_ROLE_DENSE, -1, 3, 1, -1},
    /* B [K, N]; b_scale (input 3) and b_zero_point (input 5) scalar or per column */
    {"MatMulIntegerToFloat", MS, 1, WL_ROLE_DENSE, 3, 5, 1, -1},
    {"MatMulNBits", MS, 1, WL_ROLE_NBITS, 2, 3, 0, 4},
    {"NhwcConv", MS, 1, WL_ROLE_CONV, -1, -1, 0, -1},
    /* weight [in, 3 * hidden] int8/uint8; weight_scale 4, weight_zero_point 7 */
    {"QAttention", MS, 1, WL_ROLE_QKV, 4, 7, 1, -1},
    /* B (input 3) with B_scale 4 and B_zero_point 5, per tensor or per column (see usage) */
    {"QGemm", MS, 3, WL_ROLE_DENSE, 4, 5, 1, -1},
    {"QLinearConv", NULL, 3, WL_ROLE_CONV, 4, 5, 0, -1},
    {"QLinearMatMul", NULL, 3, WL_ROLE_DENSE, 4, 5, 1, -1},
    {"RNN", NULL, 1, WL_ROLE_RNN_W, -1, -1, 0, -1},
    {"RNN", NULL, 2, WL_ROLE_RNN_R, -1, -1, 0, -1},
    {"TransposeMatMul", MS, 0, WL_ROLE_DENSE, -1, -1, 0, -1},
    {"TransposeMatMul", MS, 1, WL_ROLE_DENSE, -1, -1, 0, -1},
};

/* Ops whose output carries the same weights (maybe transposed, reshaped or dequantized). */
static const char *const pass_through[] = {
    "Cast",  "Concat", "DequantizeLinear", "Flatten",   "Identity", "QuantizeLinear", "Reshape",
    "Slice", "Split",  "Squeeze",          "Transpose", "Unsqueeze"};

static const weight_input *find_weight_input(const wl_node *nd, int input)
{
    for (size_t i = 0; i < sizeof weight_inputs / sizeof weight_inputs[0]; i++) {
        const weight_input *wi = &weight_inputs[i];
        if (wi->input == input && strcmp(wi->op, nd->op_type) == 0 &&
            (wi->domain == NULL || strcmp(wi->domain, nd->domain) == 0))
            return wi;
    }
    return NULL;
}

int wl_graph_op_known(const wl_node *nd)
{
    for (size_t i = 0; i < sizeof weight_inputs / sizeof weight_inputs[0]; i++) {
        const weight_input *wi = &weight_inputs[i];
        if (strcmp(wi->op, nd->op_type) == 0 &&
            (wi->domain == NULL || strcmp(wi->domain, nd->domain) == 0))
            return 1;
    }
    return 0;
}

/* The input name k of nd, or NULL when absent or omitted (""). */
static const char *input_or_null(const wl_node *nd, int k)
{
    return k >= 0 && (size_t)k < nd->n_inputs && nd->inputs[k][0] ? nd->inputs[k] : NULL;
}

/* The node that reads name as its input 0, or NULL. */
static const wl_node *reader_of(const wl_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].n_inputs > 0 && strcmp(g->nodes[i].inputs[0], name) == 0)
            return &g->nodes[i];
    return NULL;
}

/* onnxruntime's dynamic quantizer stores an embedding as a uint8 table read by Gather, whose
 * rows go through DequantizeLinear (possibly via Cast/Identity/Reshape/Squeeze/Unsqueeze):
 * the table is dequantized with that node's scale and zero point. A per-axis scale there runs
 * along the gathered rows' last axis, i.e. the table's last axis. */
static void follow_gather(const wl_graph *g, const wl_node *gather, wl_usage *u)
{
    static const char *const hops[] = {"Cast",    "Identity",  "Reshape",
                                       "Squeeze", "Unsqueeze", "Flatten"};
    const wl_node *nd = gather;
    for (int hop = 0; hop < 4 && nd->n_outputs > 0; hop++) {
        const wl_node *r = reader_of(g, nd->outputs[0]);
        if (r == NULL)
            return;
        if (strcmp(r->op_type, "DequantizeLinear") == 0) {
            u->scale = input_or_null(r, 1);
            u->zero_point = input_or_null(r, 2);
            u->quant_axis = -1;
            u->dq_node = r;
            return;
        }
        int ok = 0;
        for (size_t i = 0; i < sizeof hops / sizeof hops[0]; i++)
            ok |= strcmp(r->op_type, hops[i]) == 0;
        if (!ok)
            return;
        nd = r;
    }
}

static int is_pass_through(const char *op)
{
    for (size_t i = 0; i < sizeof pass_through / sizeof pass_through[0]; i++)
        if (strcmp(pass_through[i], op) == 0)
            return 1;
    return 0;
}

static int rnn_gates(const char *op)
{
    return strcmp(op, "LSTM") == 0 ? 4 : strcmp(op, "GRU") == 0 ? 3 : 1;
}

void wl_graph_usage(const wl_graph *g, const char *name, wl_usage *u)
{
    memset(u, 0, sizeof *u);
    u->role = WL_ROLE_NONE;
    const char *cur = name;
    const wl_node *first_other = NULL;
    int first_other_input = -1;
    int64_t map[8];      /* axis i of the current tensor is axis map[i] of the stored one */
    int n_map = 0;       /* 0: identity */
    int requantized = 0; /* a float tensor went through QuantizeLinear: the DequantizeLinear
                            after it undoes that, the stored values are already real */
    for (int hop = 0; hop < 8; hop++) {
        const wl_node *next = NULL;
        for (size_t i = 0; i < g->n_nodes; i++) {
            const wl_node *nd = &g->nodes[i];
            for (size_t k = 0; k < nd->n_inputs; k++) {
                if (strcmp(nd->inputs[k], cur) != 0)
                    continue;
                const weight_input *wi = find_weight_input(nd, (int)k);
                if (wi != NULL) {
                    u->role = wi->role;
                    u->node = nd;
                    u->input_index = (int)k;
                    u->n_gates = rnn_gates(nd->op_type);
                    if (u->dq_node == NULL) {
                        u->zero_point = input_or_null(nd, wi->zero_point_input);
                        u->scale = input_or_null(nd, wi->scale_input);
                        u->g_idx = input_or_null(nd, wi->g_idx_input);
                        u->quant_axis = wi->quant_axis;
                        /* QGemm: the per-column scale runs along N, axis 0 of a transposed B */
                        if (strcmp(nd->op_type, "QGemm") == 0 && nd->trans_b)
                            u->quant_axis = 0;
                    }
                    if (strcmp(nd->op_type, "Gather") == 0 && u->dq_node == NULL)
                        follow_gather(g, nd, u);
                    return;
                }
                /* Data input of a pass-through op (any input of Concat). */
                int data_input = k == 0 || strcmp(nd->op_type, "Concat") == 0;
                if (data_input && is_pass_through(nd->op_type) && nd->n_outputs > 0 &&
                    next == NULL) {
                    next = nd;
                    continue;
                }
                if (first_other == NULL) {
                    first_other = nd;
                    first_other_input = (int)k;
                }
            }
        }
        if (next == NULL)
            break;
        if (strcmp(next->op_type, "QuantizeLinear") == 0)
            requantized = 1;
        if (strcmp(next->op_type, "DequantizeLinear") == 0 && !requantized) {
            u->scale = input_or_null(next, 1);
            u->zero_point = input_or_null(next, 2);
            int64_t a = next->has_axis ? next->axis : 1;
            if (n_map > 0) {
                if (a < 0)
                    a += n_map;
                a = (a >= 0 && a < n_map) ? map[a] : a;
                u->dq_after_transpose = 1;
            }
            u->quant_axis = a;
            u->dq_node = next;
        }
        if (strcmp(next->op_type, "Transpose") == 0) {
            u->transposed = 1;
            if (next->n_perm > 0) {
                int64_t nm[8];
                for (int i = 0; i < next->n_perm; i++) {
                    int64_t p = next->perm[i];
                    nm[i] = (n_map == 0 || p < 0 || p >= n_map) ? p : map[p];
                }
                memcpy(map, nm, sizeof nm);
                n_map = next->n_perm;
            }
        }
        if (strcmp(next->op_type, "Slice") == 0 || strcmp(next->op_type, "Concat") == 0 ||
            strcmp(next->op_type, "Split") == 0)
            u->resliced = 1;
        cur = next->outputs[0];
    }
    u->zero_point = u->scale = u->g_idx = NULL;
    u->dq_node = NULL;
    u->other = first_other;
    u->other_input = first_other_input;
    if (first_other != NULL)
        snprintf(u->why, sizeof u->why, "not a weight input: feeds %s input %d (node '%s')",
                 first_other->op_type, first_other_input, first_other->name);
    else
        snprintf(u->why, sizeof u->why, "not used by any node");
}

/* ------------------------------------------------------------------ topological order */

typedef struct producer {
    const char *name; /* an output name (borrowed from the node) */
    size_t node;
} producer;

static int cmp_producer(const void *x, const void *y)
{
    const producer *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : (a->node > b->node) - (a->node < b->node);
}

/* Min-heap of node indices: among the ready nodes the one earliest in the file goes first, so a
 * graph already in topological order keeps its order. */
static void heap_push(size_t *h, size_t *n, size_t v)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static size_t heap_pop(size_t *h, size_t *n)
{
    size_t top = h[0], v = h[--*n], i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = v;
    return top;
}

wl_status wl_graph_topo_ranks(const wl_graph *g, int64_t *rank_out, wl_err *err)
{
    size_t n = g->n_nodes, n_out = 0, n_edges = 0;
    for (size_t i = 0; i < n; i++)
        n_out += g->nodes[i].n_outputs;
    producer *prod = malloc((n_out ? n_out : 1) * sizeof *prod);
    size_t *indeg = calloc(n ? n : 1, sizeof *indeg);
    size_t *start = calloc(n + 1, sizeof *start); /* CSR of the consumer edges */
    size_t *heap = malloc((n ? n : 1) * sizeof *heap);
    size_t *edges = NULL, *fill = NULL;
    wl_status st = WL_OK;
    if (!prod || !indeg || !start || !heap) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory ordering %zu nodes", n);
        goto out;
    }
    n_out = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < g->nodes[i].n_outputs; k++)
            if (g->nodes[i].outputs[k][0])
                prod[n_out++] = (producer){g->nodes[i].outputs[k], i};
    qsort(prod, n_out, sizeof *prod, cmp_producer);
    /* Two passes over the inputs: count the edges per producer, then fill them. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t j = 0; j < n; j++) {
            const wl_node *nd = &g->nodes[j];
            for (size_t k = 0; k < nd->n_inputs; k++) {
                if (nd->inputs[k][0] == '\0')
                    continue;
                producer key = {nd->inputs[k], 0};
                /* the first producer of that name (a malformed graph may have two) */
                size_t lo = 0, hi = n_out;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (strcmp(prod[mid].name, key.name) < 0)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                if (lo == n_out || strcmp(prod[lo].name, key.name) != 0 || prod[lo].node == j)
                    continue;
                if (pass == 0) {
                    start[prod[lo].node + 1]++;
                    indeg[j]++;
                    n_edges++;
                } else {
                    edges[fill[prod[lo].node]++] = j;
                }
            }
        }
        if (pass == 0) {
            for (size_t i = 0; i < n; i++)
                start[i + 1] += start[i];
            edges = malloc((n_edges ? n_edges : 1) * sizeof *edges);
            fill = malloc((n ? n : 1) * sizeof *fill);
            if (!edges || !fill) {
                st = WL_FAIL(err, WL_E_NOMEM, "out of memory ordering %zu nodes", n);
                goto out;
            }
            memcpy(fill, start, n * sizeof *fill);
        }
    }
    size_t n_heap = 0;
    int64_t next_rank = 0;
    for (size_t i = 0; i < n; i++) {
        rank_out[i] = -1;
        if (indeg[i] == 0)
            heap_push(heap, &n_heap, i);
    }
    while (n_heap > 0) {
        size_t v = heap_pop(heap, &n_heap);
        rank_out[v] = next_rank++;
        for (size_t e = start[v]; e < start[v + 1]; e++)
            if (--indeg[edges[e]] == 0)
                heap_push(heap, &n_heap, edges[e]);
    }
    for (size_t i = 0; i < n; i++) /* a cycle (malformed graph): after the rest, in file order */
        if (rank_out[i] < 0)
            rank_out[i] = next_rank++;
out:
    free(prod);
    free(indeg);
    free(start);
    free(heap);
    free(edges);
    free(fill);
    return st;
}
