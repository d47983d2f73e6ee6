/*
 * dtype.h — one table for every ONNX TensorProto.DataType: name, element size, which typed
 * field holds it when raw_data is absent, how it widens to double, and in which arithmetic
 * WeightWatcher's conv scaling is done for it. fp16/bf16 bit twiddling lives only here.
 */
#ifndef WL_DTYPE_H
#define WL_DTYPE_H

#include <stddef.h>
#include <stdint.h>

/* Where a tensor keeps its values when it has no raw_data (onnx.proto field numbers). */
typedef enum wl_typed_field {
    WL_FIELD_NONE = 0,
    WL_FIELD_FLOAT = 4,  /* float_data */
    WL_FIELD_INT32 = 5,  /* int32_data (also fp16/bf16 bit patterns, bool, small ints) */
    WL_FIELD_INT64 = 7,  /* int64_data */
    WL_FIELD_DOUBLE = 10, /* double_data */
    WL_FIELD_UINT64 = 11  /* uint64_data */
} wl_typed_field;

/* The arithmetic numpy 1.x uses for "tensor * float64 scalar" on each dtype (value-based
 * casting keeps float16/float32 arrays in their own precision; integers become float64). */
typedef enum wl_scale_kind { WL_SCALE_F64 = 0, WL_SCALE_F32, WL_SCALE_F16 } wl_scale_kind;

typedef struct wl_dtype_info {
    const char *name;        /* ONNX enum name, e.g. "FLOAT16"; NULL for unassigned codes */
    unsigned elem_bits;      /* bits per element in raw_data (8, 16, ..., or 4 / 2 for packed
                                sub-byte types); 0 = not analyzable */
    wl_typed_field field;    /* typed field used without raw_data */
    wl_scale_kind scale;     /* precision of the conv scaling product */
    /* Widens n little-endian raw elements at src (any alignment) to double. Sub-byte types are
     * packed low bits first (element 2i in the low nibble of byte i, as ONNX and onnxruntime
     * store INT4/UINT4/FLOAT4E2M1; four 2-bit elements per byte from bit 0 up). */
    void (*raw_to_double)(const uint8_t *src, size_t n, double *dst);
} wl_dtype_info;

/* Returns the table entry for an ONNX data_type, or NULL when the code is outside the table. */
const wl_dtype_info *wl_dtype_get(int64_t data_type);
/* Bytes that n elements of dt occupy in raw_data (rounded up to whole bytes for packed
 * sub-byte types), or UINT64_MAX when that overflows. dt must be analyzable (elem_bits > 0). */
uint64_t wl_dtype_bytes(const wl_dtype_info *dt, uint64_t n);

/* Name for messages: the ONNX name, or "data_type <n>" (static buffer per call site: use at
 * once). */
const char *wl_dtype_name(int64_t data_type);

/* IEEE 754 binary16 <-> float, round to nearest even (what numpy does). */
float wl_half_to_float(uint16_t h);
uint16_t wl_float_to_half(float f);
/* bfloat16 bits (the top 16 bits of a float32) to float. */
float wl_bf16_to_float(uint16_t b);
/* One code of the 8- and 4-bit float types to double (NaN codes give NaN). Formats as in
 * onnx/docs/docsgen/source/technical/float8.md and float4.md. */
double wl_f8e4m3fn_to_double(uint8_t b);
double wl_f8e4m3fnuz_to_double(uint8_t b);
double wl_f8e5m2_to_double(uint8_t b);
double wl_f8e5m2fnuz_to_double(uint8_t b);
double wl_f8e8m0_to_double(uint8_t b);
double wl_f4e2m1_to_double(uint8_t nibble);

/* Multiplies n values (already widened to double from the given dtype) by s in the dtype's own
 * arithmetic, as numpy 1.x does for WeightWatcher's conv2d_norm (spec §3.3). */
void wl_dtype_scale(wl_scale_kind kind, double *v, size_t n, double s);

#endif
