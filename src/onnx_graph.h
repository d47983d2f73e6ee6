/*
 * onnx_graph.h — the nodes of an ONNX model (main graph and nested If/Loop/Scan bodies) and,
 * for each tensor, the op input that really consumes it as a weight. weightlint's default mode
 * uses this to pick the matrix an op multiplies (docs/metrics.md "Layers in the default mode").
 * --compat ww never reads the nodes, as WeightWatcher does not.
 */
#ifndef WL_ONNX_GRAPH_H
#define WL_ONNX_GRAPH_H

#include "onnx_model.h"

/* An integer attribute kept for the weight decoders (K, N, bits, block_size, ...). */
typedef struct wl_node_int {
    char name[24];
    int64_t value;
} wl_node_int;

#define WL_NODE_MAX_INTS 12

/* One node, with the few attributes the extraction needs. */
typedef struct wl_node {
    char *name;        /* may be "" */
    char *op_type;
    char *domain;      /* "" for the default ONNX domain, "com.microsoft", ... */
    char *graph_path;  /* "" for the main graph */
    char **inputs;     /* "" for an omitted optional input */
    size_t n_inputs;
    char **outputs;
    size_t n_outputs;
    int64_t trans_a, trans_b, group, axis;
    int has_axis;
    int64_t perm[8];   /* Transpose */
    int n_perm;
    wl_node_int ints[WL_NODE_MAX_INTS]; /* other integer attributes, the first ones seen */
    int n_ints;
    int64_t qkv_hidden_sizes[3]; /* Attention / QAttention */
    int n_qkv_hidden_sizes;      /* 0 when absent; a count != 3 is kept to be reported */
} wl_node;

/* The integer attribute called name of nd: 1 and *out set when present, else 0. */
int wl_node_get_int(const wl_node *nd, const char *name, int64_t *out);

typedef struct wl_graph {
    wl_node *nodes;
    size_t n_nodes;
    wl_tensor_refs tensors; /* every tensor, in walk order: initializers of the main graph and
                               of subgraphs, and Constant-node values (named by their output) */
} wl_graph;

/* Walks every graph of the model once (main graph, If/Loop/Scan bodies nested up to
 * WL_MAX_NESTING) and collects its nodes and its tensors. Attributes of the small kinds are
 * decoded with protobuf-c; tensor-, graph- and type-valued ones are walked in place. Free with
 * wl_graph_free. */
WL_NODISCARD wl_status wl_graph_load(const wl_onnx_file *f, wl_graph *g, wl_err *err);
void wl_graph_free(wl_graph *g);

/* What a tensor is used for. */
typedef enum wl_weight_role {
    WL_ROLE_NONE = 0,   /* feeds no weight input (bias, mask, shape, scale, ...) */
    WL_ROLE_DENSE,      /* Gemm A/B, MatMul either side, Gather table, MatMulInteger, QLinearMatMul */
    WL_ROLE_CONV,       /* Conv / ConvTranspose / ConvInteger / QLinearConv kernel */
    WL_ROLE_RNN_W,      /* LSTM / GRU / RNN input weights W [dirs, gates*hidden, in] */
    WL_ROLE_RNN_R,      /* recurrence weights R [dirs, gates*hidden, hidden] */
    WL_ROLE_QKV,        /* com.microsoft Attention / QAttention packed [in, q + k + v] */
    WL_ROLE_NBITS,      /* com.microsoft MatMulNBits B */
    WL_ROLE_BNB4,       /* com.microsoft MatMulBnb4 B */
    WL_ROLE_GATHER_BLOCK /* com.microsoft GatherBlockQuantized data */
} wl_weight_role;

typedef struct wl_usage {
    wl_weight_role role;
    const wl_node *node;   /* the consuming node (borrowed from the graph) */
    int input_index;       /* which input of node */
    int n_gates;           /* RNN: 4 LSTM, 3 GRU, 1 RNN */
    const char *zero_point; /* dequantization: zero-point tensor name or NULL (borrowed) */
    const char *scale;      /* scale tensor name or NULL (borrowed) */
    const char *g_idx;      /* MatMulNBits g_idx or NULL (borrowed) */
    int64_t quant_axis;     /* per-axis dequantization axis of the stored tensor */
    const wl_node *dq_node; /* the DequantizeLinear applied on the way (before the op, or after
                               a Gather), or NULL; its block_size / output_dtype apply */
    int dq_after_transpose; /* a Transpose came before dq_node (quant_axis already mapped) */
    int transposed;         /* passed through a Transpose on the way (spectrum unchanged) */
    int resliced;           /* passed through Slice/Split/Concat: blocks may be reordered */
    const wl_node *other;   /* for ROLE_NONE: the first node reading it, or NULL */
    int other_input;        /* which input of other */
    char why[160];          /* for ROLE_NONE: what it feeds, e.g. "feeds Add input 1 (node 'x')" */
} wl_usage;

/* Whether nd's op has a row in the weight table (then its other inputs are its parameters,
 * not weights weightlint cannot read). */
int wl_graph_op_known(const wl_node *nd);

/* Finds how the tensor called name is consumed, following Cast, Identity, Transpose, Reshape,
 * Squeeze/Unsqueeze, Flatten, Slice/Split/Concat, QuantizeLinear and DequantizeLinear outputs
 * (at most 8 hops; a float weight through QuantizeLinear then DequantizeLinear is analyzed as
 * stored), and a DequantizeLinear on a Gather's output (a quantized embedding table). */
void wl_graph_usage(const wl_graph *g, const char *name, wl_usage *u);

/* The rank of every node in a topological order of the data flow (node j after the nodes that
 * produce its inputs; nested-graph nodes by the names they read), ties in file order, so a
 * graph already sorted keeps its order and one that is not (the ONNX spec requires it, some
 * exporters do not) is sorted. A cycle's nodes come last, in file order. rank_out has
 * g->n_nodes entries (caller-owned). Fails only with WL_E_NOMEM. */
WL_NODISCARD wl_status wl_graph_topo_ranks(const wl_graph *g, int64_t *rank_out, wl_err *err);

#endif
