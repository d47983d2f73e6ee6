/*
 * dequant.c — dequantization of stored weights (see dequant.h). Parameters (scales, zero
 * points) are small tensors read whole; the weight itself is decoded by the caller's widening
 * buffer, so the packed bytes are read once from the mapping and never copied.
 */
#include "dequant.h"

#include "dtype.h"
#include "wl_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *wl_tensor_set_name(const wl_tensor_set *s, size_t i)
{
    return s->refs[i].name_hint ? s->refs[i].name_hint : s->hdrs[i].name;
}

const wl_tensor *wl_tensor_set_find(const wl_tensor_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(wl_tensor_set_name(s, i), name) == 0)
            return &s->hdrs[i];
    return NULL;
}

/* Reads a small parameter tensor (scale, zero point) into a new array; *n_out values. */
static wl_status load_param(const wl_tensor_set *s, const char *name, double **out,
                            uint64_t *n_out, wl_err *err)
{
    *out = NULL;
    const wl_tensor *p = wl_tensor_set_find(s, name);
    if (p == NULL)
        return WL_FAIL(err, WL_E_FORMAT, "dequantization parameter '%s' is not a constant tensor",
                       name);
    if (wl_dtype_get(p->data_type)->elem_bits == 0)
        return WL_FAIL(err, WL_E_FORMAT, "dequantization parameter '%s' has data type %s", name,
                       wl_dtype_name(p->data_type));
    double *v = malloc((p->n_elems ? p->n_elems : 1) * sizeof *v);
    if (v == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    wl_status st = wl_tensor_to_double(s->f, p, v, err);
    if (st != WL_OK) {
        free(v);
        return st;
    }
    *out = v;
    *n_out = p->n_elems;
    return WL_OK;
}

wl_status wl_dq_linear(const wl_tensor_set *s, const wl_dq_spec *q, const wl_tensor *t,
                       double *w, wl_err *err)
{
    double *zp = NULL, *sc = NULL;
    uint64_t n_zp = 0, n_sc = 0;
    wl_status st = WL_OK;
    const char *scale = q->scale;
    char guess[1024];
    /* onnxruntime's dynamic quantization (ConvInteger/MatMulInteger) applies the weight scale
     * after the op; its tensors are named <w>_zero_point and <w>_scale. */
    if (scale == NULL && q->zero_point != NULL) {
        size_t len = strlen(q->zero_point);
        if (len > 11 && strcmp(q->zero_point + len - 11, "_zero_point") == 0 &&
            len < sizeof guess) {
            snprintf(guess, sizeof guess, "%.*s_scale", (int)(len - 11), q->zero_point);
            if (wl_tensor_set_find(s, guess) != NULL)
                scale = guess;
        }
    }
    if (q->zero_point != NULL && (st = load_param(s, q->zero_point, &zp, &n_zp, err)) != WL_OK)
        goto out;
    if (scale != NULL && (st = load_param(s, scale, &sc, &n_sc, err)) != WL_OK)
        goto out;
    int64_t axis = q->axis < 0 ? q->axis + t->rank : q->axis;
    uint64_t inner = 1;
    if (axis >= 0 && axis < t->rank)
        for (int d = (int)axis + 1; d < t->rank; d++)
            inner *= (uint64_t)t->dims[d];
    uint64_t axis_len = (axis >= 0 && axis < t->rank) ? (uint64_t)t->dims[axis] : 1;
    for (uint64_t e = 0; e < t->n_elems; e++) {
        uint64_t c = axis_len ? (e / inner) % axis_len : 0;
        double z = n_zp == 0 ? 0.0 : n_zp == 1 ? zp[0] : (c < n_zp ? zp[c] : 0.0);
        double sv = n_sc == 0 ? 1.0 : n_sc == 1 ? sc[0] : (c < n_sc ? sc[c] : 1.0);
        w[e] = (w[e] - z) * sv;
    }
out:
    free(zp);
    free(sc);
    return st;
}
