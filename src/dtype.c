/*
 * dtype.c — the ONNX data type table (see dtype.h). Element sizes and typed-field assignments
 * follow the comments of onnx.proto (TensorProto.DataType and the *_data fields).
 */
#include "dtype.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* x86-64 with GCC or Clang: the F16C instructions convert 8 binary16 values per instruction,
 * with the same IEEE round-to-nearest-even as wl_float_to_half, for the fp16 widening and the
 * fp16 conv scaling of whole tensors (a fifth of the CPU of an fp16 conv model such as ISNet
 * in the scalar code). Chosen at run time, so the binary still runs on CPUs without F16C; the
 * scalar code below is the reference and handles the tails. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WL_HAVE_F16C_PATH 1
#include <cpuid.h>
#include <immintrin.h>
#endif

float wl_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while ((mant & 0x400) == 0);
            mant &= 0x3ff;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t wl_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00);
    if (absx < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        if (absx < 0x33000000u) /* < 2^-25: rounds to zero */
            return sign;
        uint32_t mant = (absx & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(absx >> 23); /* 14..24 */
        uint32_t half_mant = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (half_mant & 1)))
            half_mant++;
        return (uint16_t)(sign | half_mant);
    }
    uint32_t h = ((absx >> 13) - ((127u - 15u) << 10));
    uint32_t rem = absx & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

float wl_bf16_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* FLOAT8E4M3FN: bias 7, no infinity, NaN = S.1111.111; exponent 0 is subnormal. */
double wl_f8e4m3fn_to_double(uint8_t b)
{
    int e = (b >> 3) & 0xf, m = b & 7;
    double sign = (b & 0x80) ? -1.0 : 1.0;
    if (e == 0xf && m == 7)
        return NAN;
    return sign * (e == 0 ? ldexp(m / 8.0, -6) : ldexp(1.0 + m / 8.0, e - 7));
}

/* FLOAT8E4M3FNUZ: bias 8, no infinity, no negative zero: 0x80 is the only NaN. */
double wl_f8e4m3fnuz_to_double(uint8_t b)
{
    int e = (b >> 3) & 0xf, m = b & 7;
    double sign = (b & 0x80) ? -1.0 : 1.0;
    if (b == 0x80)
        return NAN;
    return sign * (e == 0 ? ldexp(m / 8.0, -7) : ldexp(1.0 + m / 8.0, e - 8));
}

/* FLOAT8E5M2: IEEE-like, the top byte of a binary16 (bias 15, infinities and NaNs). */
double wl_f8e5m2_to_double(uint8_t b)
{
    return (double)wl_half_to_float((uint16_t)(b << 8));
}

/* FLOAT8E5M2FNUZ: bias 16, no infinity, no negative zero: 0x80 is the only NaN. */
double wl_f8e5m2fnuz_to_double(uint8_t b)
{
    int e = (b >> 2) & 0x1f, m = b & 3;
    double sign = (b & 0x80) ? -1.0 : 1.0;
    if (b == 0x80)
        return NAN;
    return sign * (e == 0 ? ldexp(m / 4.0, -15) : ldexp(1.0 + m / 4.0, e - 16));
}

/* FLOAT8E8M0 (the MX scale type): 2^(b - 127), 0xff is NaN. */
double wl_f8e8m0_to_double(uint8_t b)
{
    return b == 0xff ? NAN : ldexp(1.0, (int)b - 127);
}

/* FLOAT4E2M1: bias 1, no infinity or NaN: +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}. */
double wl_f4e2m1_to_double(uint8_t nibble)
{
    int e = (nibble >> 1) & 3, m = nibble & 1;
    double sign = (nibble & 8) ? -1.0 : 1.0;
    return sign * (e == 0 ? m * 0.5 : ldexp(1.0 + m / 2.0, e - 1));
}

/* Raw little-endian loaders; memcpy because raw_data has arbitrary alignment. */
#define DEFINE_RAW(fn, ctype, expr)                                                              \
    static void fn(const uint8_t *src, size_t n, double *dst)                                    \
    {                                                                                            \
        for (size_t i = 0; i < n; i++) {                                                         \
            ctype v;                                                                             \
            memcpy(&v, src + i * sizeof v, sizeof v);                                            \
            dst[i] = (expr);                                                                     \
        }                                                                                        \
    }

DEFINE_RAW(raw_f32, float, (double)v)
DEFINE_RAW(raw_f64, double, v)
DEFINE_RAW(raw_u8, uint8_t, (double)v)
DEFINE_RAW(raw_i8, int8_t, (double)v)
DEFINE_RAW(raw_u16, uint16_t, (double)v)
DEFINE_RAW(raw_i16, int16_t, (double)v)
DEFINE_RAW(raw_i32, int32_t, (double)v)
DEFINE_RAW(raw_i64, int64_t, (double)v)
DEFINE_RAW(raw_u32, uint32_t, (double)v)
DEFINE_RAW(raw_u64, uint64_t, (double)v)
DEFINE_RAW(raw_bool, uint8_t, v ? 1.0 : 0.0)
DEFINE_RAW(raw_f16_scalar, uint16_t, (double)wl_half_to_float(v))
DEFINE_RAW(raw_bf16, uint16_t, (double)wl_bf16_to_float(v))
DEFINE_RAW(raw_f8e4m3fn, uint8_t, wl_f8e4m3fn_to_double(v))
DEFINE_RAW(raw_f8e4m3fnuz, uint8_t, wl_f8e4m3fnuz_to_double(v))
DEFINE_RAW(raw_f8e5m2, uint8_t, wl_f8e5m2_to_double(v))
DEFINE_RAW(raw_f8e5m2fnuz, uint8_t, wl_f8e5m2fnuz_to_double(v))
DEFINE_RAW(raw_f8e8m0, uint8_t, wl_f8e8m0_to_double(v))

#ifdef WL_HAVE_F16C_PATH
/* CPUID leaf 1 and XGETBV rather than __builtin_cpu_supports: Clang 14 (the fuzz and sanitizer
 * builds) does not know the "f16c" feature name. F16C's 256-bit forms also need the OS to save
 * the YMM state (OSXSAVE, and XCR0's SSE and AVX bits). */
static int detect_f16c(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || !(c & bit_F16C))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & 6u) == 6u;
}

/* Answered once: CPUID traps to the hypervisor on a VM, and the workers ask per tensor. */
static int has_f16c(void)
{
    static int cached = -1; /* -1 unknown; any thread may fill it, all write the same value */
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = detect_f16c();
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* 8 floats to 8 doubles at dst (unaligned). */
__attribute__((target("avx,f16c"))) static inline void store_pd8(double *dst, __m256 f)
{
    _mm256_storeu_pd(dst, _mm256_cvtps_pd(_mm256_castps256_ps128(f)));
    _mm256_storeu_pd(dst + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
}

/* Widens the first n - n % 8 halves; returns how many. */
__attribute__((target("avx,f16c"))) static size_t f16_to_double_f16c(const uint8_t *src,
                                                                       size_t n, double *dst)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        store_pd8(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + 2 * i))));
    return i;
}

/* v[i] = half(float(v[i]) * sh) for the first n - n % 8 values; returns how many. The cast to
 * float, the float product and the rounding to half are each the scalar code's operation. */
__attribute__((target("avx,f16c"))) static size_t scale_f16_f16c(double *v, size_t n, float sh)
{
    __m256 s = _mm256_set1_ps(sh);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128 lo = _mm256_cvtpd_ps(_mm256_loadu_pd(v + i));
        __m128 hi = _mm256_cvtpd_ps(_mm256_loadu_pd(v + i + 4));
        __m256 p = _mm256_mul_ps(_mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1), s);
        __m128i h = _mm256_cvtps_ph(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        store_pd8(v + i, _mm256_cvtph_ps(h));
    }
    return i;
}
#endif

static void raw_f16(const uint8_t *src, size_t n, double *dst)
{
    size_t done = 0;
#ifdef WL_HAVE_F16C_PATH
    if (has_f16c())
        done = f16_to_double_f16c(src, n, dst);
#endif
    raw_f16_scalar(src + 2 * done, n - done, dst + done);
}

/* Packed sub-byte loaders: element i is field i % per_byte of byte i / per_byte, from the low
 * bits up (onnx.proto, "int32_data"/"raw_data" packing rules). */
#define DEFINE_PACKED(fn, bits, expr)                                                            \
    static void fn(const uint8_t *src, size_t n, double *dst)                                    \
    {                                                                                            \
        for (size_t i = 0; i < n; i++) {                                                         \
            unsigned v = (src[i / (8 / (bits))] >> ((bits) * (i % (8 / (bits))))) &              \
                         ((1u << (bits)) - 1);                                                   \
            dst[i] = (expr);                                                                     \
        }                                                                                        \
    }

DEFINE_PACKED(raw_u4, 4, (double)v)
DEFINE_PACKED(raw_i4, 4, (double)((int)v - (v & 8 ? 16 : 0)))
DEFINE_PACKED(raw_f4e2m1, 4, wl_f4e2m1_to_double((uint8_t)v))
DEFINE_PACKED(raw_u2, 2, (double)v)
DEFINE_PACKED(raw_i2, 2, (double)((int)v - (v & 2 ? 4 : 0)))

static const wl_dtype_info dtype_table[] = {
    [0] = {"UNDEFINED", 0, WL_FIELD_NONE, WL_SCALE_F64, NULL},
    [1] = {"FLOAT", 32, WL_FIELD_FLOAT, WL_SCALE_F32, raw_f32},
    [2] = {"UINT8", 8, WL_FIELD_INT32, WL_SCALE_F64, raw_u8},
    [3] = {"INT8", 8, WL_FIELD_INT32, WL_SCALE_F64, raw_i8},
    [4] = {"UINT16", 16, WL_FIELD_INT32, WL_SCALE_F64, raw_u16},
    [5] = {"INT16", 16, WL_FIELD_INT32, WL_SCALE_F64, raw_i16},
    [6] = {"INT32", 32, WL_FIELD_INT32, WL_SCALE_F64, raw_i32},
    [7] = {"INT64", 64, WL_FIELD_INT64, WL_SCALE_F64, raw_i64},
    [8] = {"STRING", 0, WL_FIELD_NONE, WL_SCALE_F64, NULL},
    [9] = {"BOOL", 8, WL_FIELD_INT32, WL_SCALE_F64, raw_bool},
    [10] = {"FLOAT16", 16, WL_FIELD_INT32, WL_SCALE_F16, raw_f16},
    [11] = {"DOUBLE", 64, WL_FIELD_DOUBLE, WL_SCALE_F64, raw_f64},
    [12] = {"UINT32", 32, WL_FIELD_UINT64, WL_SCALE_F64, raw_u32},
    [13] = {"UINT64", 64, WL_FIELD_UINT64, WL_SCALE_F64, raw_u64},
    [14] = {"COMPLEX64", 0, WL_FIELD_NONE, WL_SCALE_F64, NULL},
    [15] = {"COMPLEX128", 0, WL_FIELD_NONE, WL_SCALE_F64, NULL},
    /* onnx 1.12's numpy_helper widens bfloat16 to float32, so the scaling is float32. */
    [16] = {"BFLOAT16", 16, WL_FIELD_INT32, WL_SCALE_F32, raw_bf16},
    /* Newer than Debian's onnx.proto (onnx 1.12), whose protobuf-c code keeps the raw enum
     * value: the numbers are upstream onnx.proto's. The 8- and 4-bit floats widen to float32
     * in onnx's numpy_helper, hence their conv scaling in float32. In int32_data each int32
     * holds one 8-bit code, or one byte of packed 4-/2-bit elements. */
    [17] = {"FLOAT8E4M3FN", 8, WL_FIELD_INT32, WL_SCALE_F32, raw_f8e4m3fn},
    [18] = {"FLOAT8E4M3FNUZ", 8, WL_FIELD_INT32, WL_SCALE_F32, raw_f8e4m3fnuz},
    [19] = {"FLOAT8E5M2", 8, WL_FIELD_INT32, WL_SCALE_F32, raw_f8e5m2},
    [20] = {"FLOAT8E5M2FNUZ", 8, WL_FIELD_INT32, WL_SCALE_F32, raw_f8e5m2fnuz},
    [21] = {"UINT4", 4, WL_FIELD_INT32, WL_SCALE_F64, raw_u4},
    [22] = {"INT4", 4, WL_FIELD_INT32, WL_SCALE_F64, raw_i4},
    [23] = {"FLOAT4E2M1", 4, WL_FIELD_INT32, WL_SCALE_F32, raw_f4e2m1},
    [24] = {"FLOAT8E8M0", 8, WL_FIELD_INT32, WL_SCALE_F32, raw_f8e8m0},
    [25] = {"UINT2", 2, WL_FIELD_INT32, WL_SCALE_F64, raw_u2},
    [26] = {"INT2", 2, WL_FIELD_INT32, WL_SCALE_F64, raw_i2},
};

const wl_dtype_info *wl_dtype_get(int64_t data_type)
{
    if (data_type < 0 || data_type >= (int64_t)(sizeof dtype_table / sizeof dtype_table[0]))
        return NULL;
    return &dtype_table[data_type];
}

uint64_t wl_dtype_bytes(const wl_dtype_info *dt, uint64_t n)
{
    if (dt->elem_bits == 0 || n > (UINT64_MAX - 7) / dt->elem_bits)
        return UINT64_MAX;
    return (n * dt->elem_bits + 7) / 8;
}

const char *wl_dtype_name(int64_t data_type)
{
    const wl_dtype_info *d = wl_dtype_get(data_type);
    if (d != NULL && d->name != NULL)
        return d->name;
    static _Thread_local char buf[32];
    snprintf(buf, sizeof buf, "data_type %lld", (long long)data_type);
    return buf;
}

void wl_dtype_scale(wl_scale_kind kind, double *v, size_t n, double s)
{
    switch (kind) {
    case WL_SCALE_F32: {
        float sf = (float)s;
        for (size_t i = 0; i < n; i++)
            v[i] = (double)((float)v[i] * sf);
        break;
    }
    case WL_SCALE_F16: {
        /* numpy computes float16 products in float32 and rounds to half; an 11-bit by 11-bit
         * product is exact in float32, so this single rounding is the correct one. */
        float sh = wl_half_to_float(wl_float_to_half((float)s));
        size_t i = 0;
#ifdef WL_HAVE_F16C_PATH
        if (has_f16c())
            i = scale_f16_f16c(v, n, sh);
#endif
        for (; i < n; i++)
            v[i] = (double)wl_half_to_float(wl_float_to_half((float)v[i] * sh));
        break;
    }
    case WL_SCALE_F64:
        for (size_t i = 0; i < n; i++)
            v[i] *= s;
        break;
    }
}
