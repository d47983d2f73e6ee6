/*
 * layer_select.h — which tensors of a model are layers, and how each becomes a matrix: the op
 * table of onnx_graph.c where the source has a graph (the default mode), WeightWatcher's rank
 * rule (--compat ww), and the rank and type rules of docs/safetensors.md for checkpoints
 * without a graph. Each tensor gives a result row and a job (analyze_plan.h) or a skipped entry
 * with its reason.
 */
#ifndef WL_LAYER_SELECT_H
#define WL_LAYER_SELECT_H

#include "analyze_plan.h"
#include "onnx_graph.h"
#include "onnx_model.h"
#include "safetensors.h"

/* State shared by the classification of every tensor of one model. */
typedef struct model_ctx {
    const wl_onnx_file *f;  /* the ONNX source, or NULL */
    wl_st_checkpoint *ckpt; /* the safetensors source (no graph), or NULL */
    const wl_options *opts;
    wl_tensor_ref *refs;  /* the tensors considered (borrowed from inits or graph) */
    wl_tensor_refs inits; /* --compat ww: the top-level initializers */
    wl_tensor *hdrs;      /* one parsed header per ref */
    size_t n;
    wl_graph graph;    /* default mode only */
    wl_tensor_set set; /* refs + hdrs, for looking up dequantization parameters */
    int64_t *topo;     /* rank of each graph node in topological order (default mode) */
    wl_growable layers, skipped, jobs;
} model_ctx;

/* The name shown for tensor i: its own, else (Constant nodes) the node's output name. */
const char *wl_select_name(const model_ctx *m, size_t i);

/* Decides what tensor i is and appends its rows and jobs, or its skipped entry. */
WL_NODISCARD wl_status wl_select_tensor(model_ctx *m, size_t i, wl_err *err);

/* Without a graph: sets every row's depth to its rank in natural name order. */
WL_NODISCARD wl_status wl_select_name_depths(model_ctx *m, wl_err *err);

#endif
