/*
 * dequant.c — dequantization of stored weights (see dequant.h). Parameters (scales, zero
 * points, g_idx) are small tensors read whole into doubles; the weight itself is read once
 * from the mapping (or external file) straight into the caller's widening buffer, so packed
 * bytes are never copied.
 */
#include "dequant.h"

#include "dtype.h"
#include "wl_err.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *wl_tensor_set_name(const wl_tensor_set *s, size_t i)
{
    return s->refs && s->refs[i].name_hint ? s->refs[i].name_hint : s->hdrs[i].name;
}

const wl_tensor *wl_tensor_set_find(const wl_tensor_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(wl_tensor_set_name(s, i), name) == 0)
            return &s->hdrs[i];
    return NULL;
}

/* ------------------------------------------------------------------ parameters */

/* The header of a parameter tensor, checked to be a numeric constant. */
static wl_status find_param(const wl_tensor_set *s, const wl_dq_spec *q, const char *what,
                            const char *name, const wl_tensor **out, wl_err *err)
{
    *out = wl_tensor_set_find(s, name);
    if (*out == NULL)
        return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': %s '%s' is not a constant tensor", q->op,
                       q->node, what, name);
    if (wl_dtype_get((*out)->data_type)->elem_bits == 0)
        return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': %s '%s' has data type %s", q->op, q->node,
                       what, name, wl_dtype_name((*out)->data_type));
    return WL_OK;
}

/* Reads a small parameter tensor (scale, zero point) into a new array; *n_out values. */
static wl_status load_param(const wl_tensor_set *s, const char *name, double **out, uint64_t *n_out,
                            wl_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (name == NULL)
        return WL_OK;
    const wl_tensor *p = wl_tensor_set_find(s, name);
    if (p == NULL || wl_dtype_get(p->data_type)->elem_bits == 0)
        return WL_FAIL(err, WL_E_FORMAT, "dequantization parameter '%s' is not a numeric constant",
                       name);
    double *v = malloc((p->n_elems ? p->n_elems : 1) * sizeof *v);
    if (v == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    wl_status st = wl_tensor_to_double(p, v, err);
    if (st != WL_OK) {
        free(v);
        return st;
    }
    *out = v;
    *n_out = p->n_elems;
    return WL_OK;
}

/* The value the runtime stores after computing v in float (FLOAT16 / BFLOAT16: through float,
 * as onnxruntime's MLFloat16 and BFloat16 arithmetic does). */
static double round_to(int64_t dtype, double v)
{
    switch (dtype) {
    case 1: /* FLOAT */
        return (double)(float)v;
    case 10: /* FLOAT16 */
        return (double)wl_half_to_float(wl_float_to_half((float)v));
    case 16: { /* BFLOAT16, round to nearest even from float */
        float f = (float)v;
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        if ((b & 0x7fffffffu) > 0x7f800000u)
            return v;
        b = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
        memcpy(&f, &b, sizeof f);
        return (double)f;
    }
    default:
        return v;
    }
}

/* block_size of the contrib ops: onnxruntime requires a power of two >= 16. */
static wl_status check_block_size(const wl_dq_spec *q, wl_err *err)
{
    int64_t b = q->block_size;
    if (b >= 16 && (b & (b - 1)) == 0)
        return WL_OK;
    return WL_FAIL(err, WL_E_FORMAT,
                   "%s node '%s': block_size = %lld (must be a power of two >= 16)", q->op, q->node,
                   (long long)b);
}

/* The K and N attributes of MatMulNBits / MatMulBnb4: required, positive, within WL_MAX_DIM. */
static wl_status check_kn(const wl_dq_spec *q, wl_err *err)
{
    if (q->K <= 0 || q->N <= 0)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': attributes K = %lld, N = %lld (both required, > 0)", q->op,
                       q->node, (long long)q->K, (long long)q->N);
    if (q->K > WL_MAX_DIM || q->N > WL_MAX_DIM)
        return WL_FAIL(err, WL_E_LIMIT, "%s node '%s': K = %lld, N = %lld beyond the limit %lld",
                       q->op, q->node, (long long)q->K, (long long)q->N, (long long)WL_MAX_DIM);
    return WL_OK;
}

/* ------------------------------------------------------------------ prepare */

/* DequantizeLinear and the ops that carry a scale and zero point: per tensor, per axis or
 * blocked along axis (ONNX opset 21: scale has x's rank, dims[axis] = ceil(d / block_size)). */
static wl_status prepare_linear(const wl_tensor_set *s, wl_dq_spec *q, const wl_tensor *t,
                                wl_err *err)
{
    const wl_tensor *sc = NULL, *zp = NULL;
    wl_status st;
    if (q->scale != NULL && (st = find_param(s, q, "scale", q->scale, &sc, err)) != WL_OK)
        return st;
    if (q->zero_point != NULL &&
        (st = find_param(s, q, "zero point", q->zero_point, &zp, err)) != WL_OK)
        return st;
    const wl_tensor *ref = sc ? sc : zp;
    if (ref == NULL)
        return WL_OK;
    if (sc && zp && zp->n_elems != sc->n_elems)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': zero point '%s' has %llu values, scale '%s' has %llu "
                       "(they must have the same shape)",
                       q->op, q->node, zp->name, (unsigned long long)zp->n_elems, sc->name,
                       (unsigned long long)sc->n_elems);
    if (q->axis < -t->rank || q->axis >= (t->rank ? t->rank : 1))
        q->axis = 0;
    int64_t axis = q->axis < 0 ? q->axis + t->rank : q->axis;
    q->axis = axis;
    if (q->block_size < 0)
        return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': block_size = %lld (must be > 0)", q->op,
                       q->node, (long long)q->block_size);
    if (q->block_size > 0 && ref->n_elems != 1) {
        if (ref->rank != t->rank)
            return WL_FAIL(err, WL_E_FORMAT,
                           "%s node '%s': blocked scale '%s' has rank %d, the weight '%s' has "
                           "rank %d (they must be equal)",
                           q->op, q->node, ref->name, ref->rank, t->name, t->rank);
        for (int d = 0; d < t->rank; d++) {
            int64_t want =
                d == axis ? (t->dims[d] + q->block_size - 1) / q->block_size : t->dims[d];
            if (ref->dims[d] != want)
                return WL_FAIL(err, WL_E_FORMAT,
                               "%s node '%s': blocked scale '%s' has dims[%d] = %lld, expected "
                               "%lld (weight '%s', block_size %lld along axis %lld)",
                               q->op, q->node, ref->name, d, (long long)ref->dims[d],
                               (long long)want, t->name, (long long)q->block_size, (long long)axis);
        }
        return WL_OK;
    }
    q->block_size = 0;
    if (ref->n_elems == 1)
        return WL_OK;
    if (t->rank > 0 && ref->n_elems == (uint64_t)t->dims[axis])
        return WL_OK;
    return WL_FAIL(err, WL_E_FORMAT,
                   "%s node '%s': scale '%s' has %llu values, expected 1 (per tensor) or %lld "
                   "(per axis %lld of weight '%s')",
                   q->op, q->node, ref->name, (unsigned long long)ref->n_elems,
                   (long long)(t->rank ? t->dims[axis] : 1), (long long)axis, t->name);
}

static wl_status need_dtype(const wl_dq_spec *q, const char *what, const wl_tensor *t, int ok,
                            const char *allowed, wl_err *err)
{
    if (ok)
        return WL_OK;
    return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': %s '%s' has data type %s (must be %s)", q->op,
                   q->node, what, t->name, wl_dtype_name(t->data_type), allowed);
}

static int is_float_type(int64_t dt)
{
    return dt == 1 || dt == 10 || dt == 16;
}

/* MatMulNBits (onnxruntime ContribOperators.md): B uint8 [N, n_blocks, blob] with n_blocks =
 * ceil(K / block_size) and blob = block_size * bits / 8; scales [N * n_blocks]; zero points
 * uint8 packed [N * ceil(n_blocks * bits / 8)] or typed like the scales [N * n_blocks]; g_idx
 * int32 [K]. */
static wl_status prepare_nbits(const wl_tensor_set *s, wl_dq_spec *q, const wl_tensor *t,
                               wl_err *err)
{
    wl_status st;
    if ((st = check_kn(q, err)) != WL_OK)
        return st;
    if (q->bits != 2 && q->bits != 4 && q->bits != 8)
        return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': bits = %lld (supported: 2, 4, 8)", q->op,
                       q->node, (long long)q->bits);
    if ((st = check_block_size(q, err)) != WL_OK ||
        (st = need_dtype(q, "B", t, t->data_type == 2, "UINT8", err)) != WL_OK)
        return st;
    uint64_t n_blocks = ((uint64_t)q->K + (uint64_t)q->block_size - 1) / (uint64_t)q->block_size;
    uint64_t blob = (uint64_t)q->block_size * (uint64_t)q->bits / 8;
    uint64_t want = (uint64_t)q->N * n_blocks * blob;
    if (t->rank == 3 && t->dims[0] != q->N)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': attribute N = %lld contradicts B '%s' dims[0] = %lld", q->op,
                       q->node, (long long)q->N, t->name, (long long)t->dims[0]);
    if (t->rank == 3 && (uint64_t)t->dims[1] != n_blocks)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': attribute K = %lld needs ceil(K / block_size) = %llu blocks, "
                       "B '%s' has dims[1] = %lld",
                       q->op, q->node, (long long)q->K, (unsigned long long)n_blocks, t->name,
                       (long long)t->dims[1]);
    if (t->n_elems != want || (t->rank >= 1 && t->dims[0] != q->N))
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': B '%s' holds %llu bytes (dims[0] = %lld), expected N x "
                       "n_blocks x blob = %lld x %llu x %llu = %llu (K = %lld, bits = %lld, "
                       "block_size = %lld)",
                       q->op, q->node, t->name, (unsigned long long)t->n_elems,
                       (long long)(t->rank ? t->dims[0] : 0), (long long)q->N,
                       (unsigned long long)n_blocks, (unsigned long long)blob,
                       (unsigned long long)want, (long long)q->K, (long long)q->bits,
                       (long long)q->block_size);
    const wl_tensor *sc, *zp = NULL, *gi = NULL;
    if (q->scale == NULL)
        return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': no scales input", q->op, q->node);
    if ((st = find_param(s, q, "scales", q->scale, &sc, err)) != WL_OK ||
        (st = need_dtype(q, "scales", sc, is_float_type(sc->data_type),
                         "FLOAT, FLOAT16 or BFLOAT16", err)) != WL_OK)
        return st;
    if (sc->n_elems != (uint64_t)q->N * n_blocks)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': scales '%s' has %llu values, expected N x n_blocks = %lld "
                       "x %llu = %llu",
                       q->op, q->node, sc->name, (unsigned long long)sc->n_elems, (long long)q->N,
                       (unsigned long long)n_blocks,
                       (unsigned long long)((uint64_t)q->N * n_blocks));
    if (q->zero_point != NULL) {
        if ((st = find_param(s, q, "zero points", q->zero_point, &zp, err)) != WL_OK)
            return st;
        uint64_t zwant = zp->data_type == 2
                             ? (uint64_t)q->N * ((n_blocks * (uint64_t)q->bits + 7) / 8)
                             : (uint64_t)q->N * n_blocks;
        if ((st = need_dtype(q, "zero points", zp,
                             zp->data_type == 2 || zp->data_type == 6 ||
                                 is_float_type(zp->data_type),
                             "UINT8 (packed), INT32 or the scales' float type", err)) != WL_OK)
            return st;
        if (zp->n_elems != zwant)
            return WL_FAIL(
                err, WL_E_FORMAT,
                "%s node '%s': zero points '%s' has %llu values, expected %llu (%s)", q->op,
                q->node, zp->name, (unsigned long long)zp->n_elems, (unsigned long long)zwant,
                zp->data_type == 2 ? "N x ceil(n_blocks x bits / 8), packed" : "N x n_blocks");
    }
    if (q->g_idx != NULL) {
        if ((st = find_param(s, q, "g_idx", q->g_idx, &gi, err)) != WL_OK)
            return st;
        if (gi->n_elems != (uint64_t)q->K)
            return WL_FAIL(err, WL_E_FORMAT,
                           "%s node '%s': g_idx '%s' has %llu values, expected K = %lld", q->op,
                           q->node, gi->name, (unsigned long long)gi->n_elems, (long long)q->K);
        double *g;
        uint64_t ng;
        if ((st = load_param(s, q->g_idx, &g, &ng, err)) != WL_OK)
            return st;
        for (uint64_t k = 0; k < ng; k++)
            if (!(g[k] >= 0 && g[k] < (double)n_blocks)) {
                st = WL_FAIL(err, WL_E_FORMAT,
                             "%s node '%s': g_idx '%s'[%llu] = %g (must be in [0, %llu))", q->op,
                             q->node, gi->name, (unsigned long long)k, g[k],
                             (unsigned long long)n_blocks);
                break;
            }
        free(g);
        if (st != WL_OK)
            return st;
    }
    if (q->out_dtype == 0)
        q->out_dtype = sc->data_type;
    return WL_OK;
}

/* MatMulBnb4: B uint8 [(N*K + 1) / 2] (the [N, K] transpose of the K x N matrix, two codes per
 * byte, high nibble first), absmax [ceil(N*K / block_size)], quant_type 0 (FP4) or 1 (NF4). */
static wl_status prepare_bnb4(const wl_tensor_set *s, wl_dq_spec *q, const wl_tensor *t,
                              wl_err *err)
{
    wl_status st;
    if ((st = check_kn(q, err)) != WL_OK)
        return st;
    if (q->quant_type != 0 && q->quant_type != 1)
        return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': quant_type = %lld (0 = FP4, 1 = NF4)",
                       q->op, q->node, (long long)q->quant_type);
    if ((st = check_block_size(q, err)) != WL_OK ||
        (st = need_dtype(q, "B", t, t->data_type == 2, "UINT8", err)) != WL_OK)
        return st;
    uint64_t numel = (uint64_t)q->N * (uint64_t)q->K;
    if (t->n_elems != (numel + 1) / 2)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': B '%s' holds %llu bytes, expected (N x K + 1) / 2 = %llu "
                       "(N = %lld, K = %lld)",
                       q->op, q->node, t->name, (unsigned long long)t->n_elems,
                       (unsigned long long)((numel + 1) / 2), (long long)q->N, (long long)q->K);
    const wl_tensor *am;
    if (q->scale == NULL)
        return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': no absmax input", q->op, q->node);
    if ((st = find_param(s, q, "absmax", q->scale, &am, err)) != WL_OK ||
        (st = need_dtype(q, "absmax", am, is_float_type(am->data_type),
                         "FLOAT, FLOAT16 or BFLOAT16", err)) != WL_OK)
        return st;
    uint64_t nb = (numel + (uint64_t)q->block_size - 1) / (uint64_t)q->block_size;
    if (am->n_elems != nb)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': absmax '%s' has %llu values, expected ceil(N x K / "
                       "block_size) = %llu",
                       q->op, q->node, am->name, (unsigned long long)am->n_elems,
                       (unsigned long long)nb);
    if (q->out_dtype == 0)
        q->out_dtype = am->data_type;
    return WL_OK;
}

/* GatherBlockQuantized with the table [rows, cols] quantized along its last axis: data INT4 /
 * UINT4 (one code per element) or UINT8 (bits 8, or two 4-bit codes per byte, low nibble
 * first, as MatMulNBits); scales [rows, ceil(cols / block_size)]; zero points of the data's
 * type and packing (default 0 for INT4/UINT4, 2^(bits-1) for UINT8). */
static wl_status prepare_gather_block(const wl_tensor_set *s, wl_dq_spec *q, const wl_tensor *t,
                                      int64_t *rows, int64_t *cols, wl_err *err)
{
    wl_status st;
    if ((st =
             need_dtype(q, "data", t, t->data_type == 2 || t->data_type == 21 || t->data_type == 22,
                        "UINT8, UINT4 or INT4", err)) != WL_OK)
        return st;
    if (t->rank != 2)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': data '%s' has rank %d (only 2-D tables are supported)", q->op,
                       q->node, t->name, t->rank);
    if (q->axis != -1 && q->axis != 1)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': quantize_axis = %lld (only the last axis is supported)",
                       q->op, q->node, (long long)q->axis);
    if (t->data_type == 2 && q->bits != 4 && q->bits != 8)
        return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': bits = %lld (must be 4 or 8)", q->op,
                       q->node, (long long)q->bits);
    if (t->data_type != 2)
        q->bits = 4;
    if ((st = check_block_size(q, err)) != WL_OK)
        return st;
    *rows = t->dims[0];
    *cols = t->data_type == 2 && q->bits == 4 ? 2 * t->dims[1] : t->dims[1];
    int64_t nb = (*cols + q->block_size - 1) / q->block_size;
    const wl_tensor *sc, *zp;
    if (q->scale == NULL)
        return WL_FAIL(err, WL_E_FORMAT, "%s node '%s': no scales input", q->op, q->node);
    if ((st = find_param(s, q, "scales", q->scale, &sc, err)) != WL_OK ||
        (st = need_dtype(q, "scales", sc, is_float_type(sc->data_type),
                         "FLOAT, FLOAT16 or BFLOAT16", err)) != WL_OK)
        return st;
    if (sc->n_elems != (uint64_t)(*rows * nb))
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s node '%s': scales '%s' has %llu values, expected %lld x %lld = %lld "
                       "(block_size %lld over %lld columns)",
                       q->op, q->node, sc->name, (unsigned long long)sc->n_elems, (long long)*rows,
                       (long long)nb, (long long)(*rows * nb), (long long)q->block_size,
                       (long long)*cols);
    if (q->zero_point != NULL) {
        if ((st = find_param(s, q, "zero points", q->zero_point, &zp, err)) != WL_OK ||
            (st = need_dtype(q, "zero points", zp, zp->data_type == t->data_type,
                             wl_dtype_name(t->data_type), err)) != WL_OK)
            return st;
        uint64_t zwant = (uint64_t)(*rows * nb);
        if (t->data_type == 2 && q->bits == 4)
            zwant = (uint64_t)(*rows * ((nb + 1) / 2));
        if (zp->n_elems != zwant)
            return WL_FAIL(err, WL_E_FORMAT,
                           "%s node '%s': zero points '%s' has %llu values, expected %llu", q->op,
                           q->node, zp->name, (unsigned long long)zp->n_elems,
                           (unsigned long long)zwant);
    }
    if (q->out_dtype == 0)
        q->out_dtype = sc->data_type;
    return WL_OK;
}

wl_status wl_dq_prepare(const wl_tensor_set *s, wl_dq_spec *q, const wl_tensor *t, int64_t *rows,
                        int64_t *cols, wl_err *err)
{
    *rows = t->rank >= 1 ? t->dims[0] : 1;
    *cols = 1;
    for (int d = 1; d < t->rank; d++)
        *cols *= t->dims[d];
    wl_status st = WL_OK;
    switch (q->kind) {
    case WL_DQ_NONE:
        return WL_OK;
    case WL_DQ_LINEAR:
        st = prepare_linear(s, q, t, err);
        if (st == WL_OK && q->round_output && q->out_dtype == 0 && q->scale != NULL)
            q->out_dtype = wl_tensor_set_find(s, q->scale)->data_type;
        break;
    case WL_DQ_NBITS:
        st = prepare_nbits(s, q, t, err);
        *rows = q->N;
        *cols = q->K;
        break;
    case WL_DQ_BNB4:
        st = prepare_bnb4(s, q, t, err);
        *rows = q->N;
        *cols = q->K;
        break;
    case WL_DQ_GATHER_BLOCK:
        st = prepare_gather_block(s, q, t, rows, cols, err);
        break;
    }
    if (!q->round_output)
        q->out_dtype = 0;
    return st;
}

/* ------------------------------------------------------------------ decode */

static wl_status decode_linear(const wl_tensor_set *s, const wl_dq_spec *q, const wl_tensor *t,
                               double *w, wl_err *err)
{
    double *zp = NULL, *sc = NULL;
    uint64_t n_zp = 0, n_sc = 0;
    const char *scale = q->scale;
    char guess[1024];
    /* onnxruntime's dynamic quantization (ConvInteger/MatMulInteger) applies the weight scale
     * after the op; its tensors are named <w>_zero_point and <w>_scale. */
    if (scale == NULL && q->zero_point != NULL) {
        size_t len = strlen(q->zero_point);
        if (len > 11 && strcmp(q->zero_point + len - 11, "_zero_point") == 0 &&
            len < sizeof guess) {
            snprintf(guess, sizeof guess, "%.*s_scale", (int)(len - 11), q->zero_point);
            const wl_tensor *g = wl_tensor_set_find(s, guess);
            const wl_tensor *z = wl_tensor_set_find(s, q->zero_point);
            if (g != NULL && z != NULL && (g->n_elems == 1 || g->n_elems == z->n_elems))
                scale = guess;
        }
    }
    wl_status st = wl_tensor_to_double(t, w, err);
    if (st != WL_OK)
        return st;
    if ((st = load_param(s, q->zero_point, &zp, &n_zp, err)) != WL_OK ||
        (st = load_param(s, scale, &sc, &n_sc, err)) != WL_OK)
        goto out;
    int64_t out_dtype = q->out_dtype;
    if (out_dtype == 0 && q->round_output && scale != NULL)
        out_dtype = wl_tensor_set_find(s, scale)->data_type;
    int64_t axis = q->axis;
    uint64_t inner = 1, axis_len = 1;
    if (axis >= 0 && axis < t->rank) {
        for (int d = (int)axis + 1; d < t->rank; d++)
            inner *= (uint64_t)t->dims[d];
        axis_len = (uint64_t)t->dims[axis];
    }
    uint64_t bs = q->block_size > 0 ? (uint64_t)q->block_size : 0;
    uint64_t n_blk = bs ? (axis_len + bs - 1) / bs : 0;
    uint64_t n_par = n_sc ? n_sc : n_zp;
    for (uint64_t e = 0; e < t->n_elems; e++) {
        uint64_t c = 0;
        if (n_par > 1) {
            uint64_t a = (e / inner) % axis_len;
            c = bs ? ((e / (inner * axis_len)) * n_blk + a / bs) * inner + e % inner : a;
        }
        double z = n_zp == 0 ? 0.0 : zp[n_zp == 1 ? 0 : c];
        double sv = n_sc == 0 ? 1.0 : sc[n_sc == 1 ? 0 : c];
        w[e] = round_to(out_dtype, (w[e] - z) * sv);
    }
out:
    free(zp);
    free(sc);
    return st;
}

/* The bits-wide field at element index i of a packed byte array, low bits first. */
static unsigned packed_at(const uint8_t *p, uint64_t i, unsigned bits)
{
    uint64_t bit = i * bits;
    return (p[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
}

static wl_status decode_nbits(const wl_tensor_set *s, const wl_dq_spec *q, const wl_tensor *t,
                              double *w, wl_err *err)
{
    double *sc = NULL, *zp = NULL, *gi = NULL;
    uint64_t n_sc, n_zp, n_gi;
    uint8_t *zpb = NULL;
    wl_payload p = {0};
    wl_status st;
    const wl_tensor *zt = q->zero_point ? wl_tensor_set_find(s, q->zero_point) : NULL;
    if ((st = load_param(s, q->scale, &sc, &n_sc, err)) != WL_OK ||
        (st = load_param(s, q->zero_point, &zp, &n_zp, err)) != WL_OK ||
        (st = load_param(s, q->g_idx, &gi, &n_gi, err)) != WL_OK)
        goto out;
    if ((st = wl_tensor_map_payload(t, &p, err)) != WL_OK)
        goto out;
    unsigned bits = (unsigned)q->bits;
    uint64_t K = (uint64_t)q->K, N = (uint64_t)q->N, bsz = (uint64_t)q->block_size;
    uint64_t n_blocks = (K + bsz - 1) / bsz, blob = bsz * bits / 8;
    uint64_t zrow = (n_blocks * bits + 7) / 8; /* packed zero-point bytes per row n */
    int zp_packed = zt != NULL && zt->data_type == 2;
    if (zp_packed) {
        zpb = malloc(n_zp ? n_zp : 1);
        if (zpb == NULL) {
            st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
            goto out;
        }
        for (uint64_t i = 0; i < n_zp; i++)
            zpb[i] = (uint8_t)zp[i];
    }
    double zdefault = (double)(1u << (bits - 1));
    for (uint64_t n = 0; n < N; n++) {
        const uint8_t *row = p.data + n * n_blocks * blob;
        for (uint64_t k = 0; k < K; k++) {
            uint64_t blk = gi ? (uint64_t)gi[k] : k / bsz;
            unsigned code = packed_at(row + (k / bsz) * blob, k % bsz, bits);
            double scale = sc[n * n_blocks + blk], v;
            if (gi != NULL) {
                /* onnxruntime's g_idx kernel (Dequantize4BitsKernelReOrder) ignores the zero
                 * points and computes q * scale + (-scale * 2^(bits-1)) in float32. */
                v = (double)((float)((double)code * scale) + (float)(-scale * zdefault));
            } else if (zp != NULL && !zp_packed) {
                /* typed (float) zero points: q * scale + (-scale * zp), two float32 roundings */
                double z = zp[n * n_blocks + blk];
                v = (double)((float)((double)code * scale) + (float)(-scale * z));
            } else {
                double z = zp_packed ? (double)packed_at(zpb + n * zrow, blk, bits) : zdefault;
                v = ((double)code - z) * scale;
            }
            w[n * K + k] = round_to(q->out_dtype, v);
        }
    }
out:
    wl_payload_unmap(&p);
    free(zpb);
    free(sc);
    free(zp);
    free(gi);
    return st;
}

/* onnxruntime contrib_ops/cpu/quantization/blockwise_quant_block_bnb4.h: fp4_qaunt_map and
 * nf4_qaunt_map (float32 constants). */
static const float bnb4_fp4[16] = {0.00000000f,  5.208333333e-03f,  0.66666667f,  1.00000000f,
                                   0.33333333f,  0.50000000f,       0.16666667f,  0.25000000f,
                                   -0.00000000f, -5.208333333e-03f, -0.66666667f, -1.00000000f,
                                   -0.33333333f, -0.50000000f,      -0.16666667f, -0.25000000f};
static const float bnb4_nf4[16] = {-1.0f,
                                   -0.6961928009986877f,
                                   -0.5250730514526367f,
                                   -0.39491748809814453f,
                                   -0.28444138169288635f,
                                   -0.18477343022823334f,
                                   -0.09105003625154495f,
                                   0.0f,
                                   0.07958029955625534f,
                                   0.16093020141124725f,
                                   0.24611230194568634f,
                                   0.33791524171829224f,
                                   0.44070982933044434f,
                                   0.5626170039176941f,
                                   0.7229568362236023f,
                                   1.0f};

double wl_dq_bnb4_code(int64_t quant_type, unsigned code)
{
    return (double)(quant_type == 1 ? bnb4_nf4 : bnb4_fp4)[code & 15];
}

static wl_status decode_bnb4(const wl_tensor_set *s, const wl_dq_spec *q, const wl_tensor *t,
                             double *w, wl_err *err)
{
    double *am = NULL;
    uint64_t n_am;
    wl_payload p = {0};
    wl_status st;
    if ((st = load_param(s, q->scale, &am, &n_am, err)) != WL_OK ||
        (st = wl_tensor_map_payload(t, &p, err)) != WL_OK)
        goto out;
    uint64_t numel = (uint64_t)q->N * (uint64_t)q->K, bsz = (uint64_t)q->block_size;
    for (uint64_t i = 0; i < numel; i++) {
        uint8_t byte = p.data[i / 2];
        unsigned code = (i % 2 == 0) ? byte >> 4 : byte & 15u;
        /* The kernel multiplies in T: the code converted to T first (exact for float). */
        double c = round_to(q->out_dtype, wl_dq_bnb4_code(q->quant_type, code));
        w[i] = round_to(q->out_dtype, c * am[i / bsz]);
    }
out:
    wl_payload_unmap(&p);
    free(am);
    return st;
}

static wl_status decode_gather_block(const wl_tensor_set *s, const wl_dq_spec *q,
                                     const wl_tensor *t, double *w, wl_err *err)
{
    double *sc = NULL, *zp = NULL;
    uint64_t n_sc, n_zp;
    wl_status st;
    if ((st = load_param(s, q->scale, &sc, &n_sc, err)) != WL_OK ||
        (st = load_param(s, q->zero_point, &zp, &n_zp, err)) != WL_OK)
        goto out;
    int packed4 = t->data_type == 2 && q->bits == 4;
    uint64_t rows = (uint64_t)t->dims[0];
    uint64_t cols = packed4 ? 2 * (uint64_t)t->dims[1] : (uint64_t)t->dims[1];
    uint64_t bsz = (uint64_t)q->block_size, nb = (cols + bsz - 1) / bsz;
    double zdefault = t->data_type == 2 ? (double)(1u << (q->bits - 1)) : 0.0;
    if (packed4) {
        /* Widen the bytes in place at the end of w, then split them into nibbles forward. */
        uint64_t nbytes = t->n_elems;
        double *bytes = w + rows * cols - nbytes;
        if ((st = wl_tensor_to_double(t, bytes, err)) != WL_OK)
            goto out;
        for (uint64_t i = 0; i < rows * cols; i++) {
            unsigned b = (unsigned)bytes[i / 2];
            w[i] = (double)((i % 2 == 0) ? (b & 15u) : (b >> 4));
        }
    } else if ((st = wl_tensor_to_double(t, w, err)) != WL_OK) {
        goto out;
    }
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < cols; c++) {
            uint64_t b = c / bsz;
            double z = zdefault;
            if (zp != NULL)
                z = packed4 ? (double)(((unsigned)zp[r * ((nb + 1) / 2) + b / 2] >> (4 * (b % 2))) &
                                       15u)
                            : zp[r * nb + b];
            w[r * cols + c] = round_to(q->out_dtype, (w[r * cols + c] - z) * sc[r * nb + b]);
        }
out:
    free(sc);
    free(zp);
    return st;
}

wl_status wl_dq_decode(const wl_tensor_set *s, const wl_dq_spec *q, const wl_tensor *t, double *w,
                       wl_err *err)
{
    switch (q->kind) {
    case WL_DQ_LINEAR:
        return decode_linear(s, q, t, w, err);
    case WL_DQ_NBITS:
        return decode_nbits(s, q, t, w, err);
    case WL_DQ_BNB4:
        return decode_bnb4(s, q, t, w, err);
    case WL_DQ_GATHER_BLOCK:
        return decode_gather_block(s, q, t, w, err);
    case WL_DQ_NONE:
        break;
    }
    return wl_tensor_to_double(t, w, err);
}

/* ------------------------------------------------------------------ encoding names */

/* Interned encoding strings: wl_layer.dtype is static by contract, and a model has few
 * distinct encodings. Bounded: past the cap the plain kind is returned. */
#define WL_MAX_ENCODINGS 256
static char *encodings[WL_MAX_ENCODINGS];
static size_t n_encodings;
static pthread_mutex_t encodings_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *intern(const char *s, const char *fallback)
{
    const char *r = fallback;
    pthread_mutex_lock(&encodings_mu);
    for (size_t i = 0; i < n_encodings; i++)
        if (strcmp(encodings[i], s) == 0) {
            r = encodings[i];
            goto out;
        }
    if (n_encodings < WL_MAX_ENCODINGS) {
        char *c = strdup(s);
        if (c != NULL) {
            encodings[n_encodings++] = c;
            r = c;
        }
    }
out:
    pthread_mutex_unlock(&encodings_mu);
    return r;
}

const char *wl_dq_encoding(const wl_dq_spec *q, const wl_tensor *t)
{
    char buf[64];
    const char *stored = wl_dtype_name(t->data_type);
    switch (q->kind) {
    case WL_DQ_NONE:
        return wl_dtype_get(t->data_type)->name;
    case WL_DQ_LINEAR:
        if (q->block_size <= 0)
            return wl_dtype_get(t->data_type)->name;
        snprintf(buf, sizeof buf, "%s block %lld", stored, (long long)q->block_size);
        return intern(buf, stored);
    case WL_DQ_NBITS:
        snprintf(buf, sizeof buf, "uint%lld block %lld", (long long)q->bits,
                 (long long)q->block_size);
        return intern(buf, "MatMulNBits");
    case WL_DQ_BNB4:
        snprintf(buf, sizeof buf, "%s block %lld", q->quant_type == 1 ? "nf4" : "fp4",
                 (long long)q->block_size);
        return intern(buf, "MatMulBnb4");
    case WL_DQ_GATHER_BLOCK:
        snprintf(buf, sizeof buf, "%s block %lld",
                 t->data_type == 22 ? "int4"
                 : q->bits == 4     ? "uint4"
                                    : "uint8",
                 (long long)q->block_size);
        return intern(buf, "GatherBlockQuantized");
    }
    return stored;
}
