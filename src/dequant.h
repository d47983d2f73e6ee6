/*
 * dequant.h — from stored (quantized) weight tensors to the real-valued matrix an op
 * multiplies. analyze.c decides which tensor is a layer and with which parameters; this module
 * validates the parameters against the tensors and decodes. Formulas: ONNX DequantizeLinear
 * (onnx/docs/Operators.md, opsets 10-21) and onnxruntime's contrib ops MatMulNBits, MatMulBnb4
 * and GatherBlockQuantized (onnxruntime docs/ContribOperators.md and their CPU kernels); every
 * encoding is listed with its formula in docs/metrics.md "Quantized weights".
 */
#ifndef WL_DEQUANT_H
#define WL_DEQUANT_H

#include "onnx_model.h"

/* The parsed tensors of one model, looked up by the name the graph uses for them. Borrowed
 * arrays, valid as long as the caller keeps them. */
typedef struct wl_tensor_set {
    const wl_tensor_ref *refs; /* n refs (for Constant-node names) */
    const wl_tensor *hdrs;     /* n parsed headers, same order */
    size_t n;
} wl_tensor_set;

/* The name the graph uses for tensor i: a Constant node's output, else the tensor's own name. */
const char *wl_tensor_set_name(const wl_tensor_set *s, size_t i);
/* The tensor the graph calls name, or NULL (the first one when names repeat across subgraphs). */
const wl_tensor *wl_tensor_set_find(const wl_tensor_set *s, const char *name);

typedef enum wl_dq_kind {
    WL_DQ_NONE = 0,    /* the stored values as they are */
    WL_DQ_LINEAR,      /* y = (x - zero_point) * scale: DequantizeLinear, QLinear*, *Integer* ops */
    WL_DQ_NBITS,       /* com.microsoft MatMulNBits: B [N, K/block, blob] of 2/4/8-bit codes */
    WL_DQ_BNB4,        /* com.microsoft MatMulBnb4: FP4/NF4 codes times a per-block absmax */
    WL_DQ_GATHER_BLOCK /* com.microsoft GatherBlockQuantized: blocked int4/uint4/uint8 table */
} wl_dq_kind;

/* How a stored tensor becomes the matrix; filled by analyze.c from the consuming node. Names
 * are borrowed from the graph. */
typedef struct wl_dq_spec {
    wl_dq_kind kind;
    const char *scale;      /* scale (LINEAR, NBITS, GATHER_BLOCK) or absmax (BNB4) tensor */
    const char *zero_point; /* zero-point tensor or NULL (default: 0; NBITS 2^(bits-1)) */
    const char *g_idx;      /* NBITS: the optional per-row block index, or NULL */
    int64_t axis;           /* LINEAR/GATHER_BLOCK: the axis the scale runs along (negative: from
                               the end) */
    int64_t block_size;     /* LINEAR (opset 21 blocked) and the contrib ops; 0 = not blocked */
    int64_t bits;           /* NBITS: 2, 4 or 8; GATHER_BLOCK: 4 or 8 */
    int64_t K, N;           /* NBITS, BNB4: the logical K x N matrix */
    int64_t quant_type;     /* BNB4: 0 FP4, 1 NF4 */
    int64_t out_dtype;      /* ONNX data type the runtime computes the result in (FLOAT rounds each
                               value to float32, FLOAT16 to binary16); 0 = exact (double) */
    int round_output;       /* round to out_dtype (a DequantizeLinear output, a contrib-op
                               dequantization); 0 for ops that scale after an integer product */
    const char *op;         /* the consuming op and node, for messages */
    const char *node;
} wl_dq_spec;

/* Checks q against the headers of t and its parameter tensors (no payload is read): the sizes
 * ONNX / onnxruntime require (blob bytes for K, N and bits; block_size a power of two >= 16;
 * as many scales and zero points as blocks or channels; the attributes agreeing with the
 * tensors). Sets q->out_dtype from the scale's type when q->round_output and it is 0. OUT: the
 * decoded matrix as rows x cols row-major (for LINEAR the tensor's own layout, rows = dims[0],
 * cols = the rest). Fails with WL_E_FORMAT naming the tensor, the node and the problem. */
WL_NODISCARD wl_status wl_dq_prepare(const wl_tensor_set *s, wl_dq_spec *q, const wl_tensor *t,
                                     int64_t *rows, int64_t *cols, wl_err *err);

/* Decodes t into w (rows * cols values from wl_dq_prepare, or t->n_elems for NONE/LINEAR)
 * reading the stored bytes once from the mapping. q must have passed wl_dq_prepare. */
WL_NODISCARD wl_status wl_dq_decode(const wl_tensor_set *s, const wl_dq_spec *q, const wl_tensor *t,
                                    double *w, wl_err *err);

/* The 16 code values of MatMulBnb4 (quant_type 0 FP4, 1 NF4), as onnxruntime's
 * blockwise_quant_block_bnb4.h defines them. */
double wl_dq_bnb4_code(int64_t quant_type, unsigned code);

/* The stored encoding for a layer's dtype column: the ONNX type name ("INT8"), or with the
 * blocking ("INT4 block 32" for blocked DequantizeLinear, "uint4 block 32" for MatMulNBits,
 * "nf4 block 64" for MatMulBnb4). Static storage (interned, thread-safe), never NULL. */
const char *wl_dq_encoding(const wl_dq_spec *q, const wl_tensor *t);

#endif
