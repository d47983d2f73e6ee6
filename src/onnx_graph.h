/*
 * onnx_graph.h — the nodes of an ONNX model (main graph and nested If/Loop/Scan bodies) and,
 * for each tensor, the op input that really consumes it as a weight. weightlint's default mode
 * uses this to pick the matrix an op multiplies (docs/metrics.md "Layers in the default mode").
 * --compat ww never reads the nodes, as WeightWatcher does not.
 */
#ifndef WL_ONNX_GRAPH_H
#define WL_ONNX_GRAPH_H

#include "onnx_model.h"

/* One node, with the few attributes the extraction needs. */
typedef struct wl_node {
    char *name;        /* may be "" */
    char *op_type;
    char *graph_path;  /* "" for the main graph */
    char **inputs;     /* "" for an omitted optional input */
    size_t n_inputs;
    char **outputs;
    size_t n_outputs;
    int64_t trans_a, trans_b, group, axis;
    int has_axis;
    int64_t perm[8];   /* Transpose */
    int n_perm;
} wl_node;

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
    WL_ROLE_RNN_R       /* recurrence weights R [dirs, gates*hidden, hidden] */
} wl_weight_role;

typedef struct wl_usage {
    wl_weight_role role;
    const wl_node *node;   /* the consuming node (borrowed from the graph) */
    int input_index;       /* which input of node */
    int n_gates;           /* RNN: 4 LSTM, 3 GRU, 1 RNN */
    const char *zero_point; /* dequantization: zero-point tensor name or NULL (borrowed) */
    const char *scale;      /* scale tensor name or NULL (borrowed) */
    int64_t quant_axis;     /* per-axis dequantization axis (DequantizeLinear/QLinear) */
    int transposed;         /* passed through a Transpose on the way (spectrum unchanged) */
    int resliced;           /* passed through Slice/Split/Concat: blocks may be reordered */
    char why[160];          /* for ROLE_NONE: what it feeds, e.g. "feeds Add input 1 (node 'x')" */
} wl_usage;

/* Finds how the tensor called name is consumed, following Cast, Identity, Transpose, Reshape,
 * Squeeze/Unsqueeze, Flatten, Slice/Split/Concat and DequantizeLinear outputs (at most 8
 * hops). */
void wl_graph_usage(const wl_graph *g, const char *name, wl_usage *u);

#endif
