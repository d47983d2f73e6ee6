/*
 * dequant.h — from stored (quantized) weight tensors to the real-valued matrix an op
 * multiplies. analyze.c decides which tensor is a layer and with which parameters; this module
 * only decodes. Formulas: ONNX DequantizeLinear (onnx/docs/Operators.md), listed with every
 * other encoding in docs/metrics.md "Quantized weights".
 */
#ifndef WL_DEQUANT_H
#define WL_DEQUANT_H

#include "onnx_model.h"

/* The parsed tensors of one model, looked up by the name the graph uses for them. Borrowed
 * arrays, valid as long as the caller keeps them. */
typedef struct wl_tensor_set {
    const wl_onnx_file *f;
    const wl_tensor_ref *refs; /* n refs (for Constant-node names) */
    const wl_tensor *hdrs;     /* n parsed headers, same order */
    size_t n;
} wl_tensor_set;

/* The name the graph uses for tensor i: a Constant node's output, else the tensor's own name. */
const char *wl_tensor_set_name(const wl_tensor_set *s, size_t i);
/* The tensor the graph calls name, or NULL (the first one when names repeat across subgraphs). */
const wl_tensor *wl_tensor_set_find(const wl_tensor_set *s, const char *name);

/* How a stored tensor is dequantized: ONNX DequantizeLinear, y = (x - zero_point) * scale. */
typedef struct wl_dq_spec {
    const char *scale;      /* scale tensor name or NULL (borrowed from the graph) */
    const char *zero_point; /* zero-point tensor name or NULL (borrowed from the graph) */
    int64_t axis;           /* per-axis: the axis the scale runs along (negative from the end) */
} wl_dq_spec;

/* Dequantizes in place the t->n_elems values of t already widened into w: per tensor (one
 * scale) or per axis (one scale per index along q->axis). A missing zero point is 0, a missing
 * scale 1. When only a zero point "<w>_zero_point" is named (onnxruntime's dynamic
 * MatMulInteger/ConvInteger, which apply the scale after the op), "<w>_scale" is used if the
 * model has it. Fails (WL_E_FORMAT) when a named parameter is not a constant tensor of a
 * numeric type. */
WL_NODISCARD wl_status wl_dq_linear(const wl_tensor_set *s, const wl_dq_spec *q,
                                    const wl_tensor *t, double *w, wl_err *err);

#endif
