/*
 * test_dtype.c — the dtype table and the float16/bfloat16 conversions.
 */
#include "wl_test.h"

#include "dtype.h"

#include <stdlib.h>
#include <string.h>

static void test_half_roundtrip_all_values(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = wl_half_to_float((uint16_t)h);
        if (isnan(f))
            continue;
        assert_int_equal(wl_float_to_half(f), h);
    }
}

static void test_half_known_values(void **state)
{
    (void)state;
    wl_assert_close(wl_half_to_float(0x3c00), 1.0, 0, 0);
    wl_assert_close(wl_half_to_float(0xc000), -2.0, 0, 0);
    wl_assert_close(wl_half_to_float(0x7bff), 65504.0, 0, 0);
    wl_assert_close(wl_half_to_float(0x0001), ldexp(1.0, -24), 0, 0); /* smallest subnormal */
    assert_true(isinf(wl_half_to_float(0x7c00)));
    /* Round to nearest even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 -> 1. */
    assert_int_equal(wl_float_to_half(1.0f + ldexpf(1.0f, -11)), 0x3c00);
    assert_int_equal(wl_float_to_half(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02);
    assert_int_equal(wl_float_to_half(1e6f), 0x7c00); /* overflow to inf */
    assert_int_equal(wl_float_to_half(ldexpf(1.0f, -26)), 0x0000);
}

static void test_bf16(void **state)
{
    (void)state;
    wl_assert_close(wl_bf16_to_float(0x3f80), 1.0, 0, 0);
    wl_assert_close(wl_bf16_to_float(0xc040), -3.0, 0, 0);
}

static void test_table(void **state)
{
    (void)state;
    assert_string_equal(wl_dtype_get(1)->name, "FLOAT");
    assert_int_equal(wl_dtype_get(10)->elem_bits, 16);
    assert_int_equal(wl_dtype_get(17)->elem_bits, 8); /* FLOAT8E4M3FN */
    assert_int_equal(wl_dtype_get(22)->elem_bits, 4); /* INT4, packed two per byte */
    assert_int_equal(wl_dtype_get(26)->elem_bits, 2); /* INT2, four per byte */
    assert_int_equal(wl_dtype_get(8)->elem_bits, 0);  /* STRING: not numeric */
    assert_int_equal(wl_dtype_bytes(wl_dtype_get(22), 7), 4);
    assert_int_equal(wl_dtype_bytes(wl_dtype_get(25), 9), 3);
    assert_int_equal(wl_dtype_bytes(wl_dtype_get(1), 3), 12);
    assert_true(wl_dtype_bytes(wl_dtype_get(1), UINT64_MAX / 2) == UINT64_MAX);
    assert_string_equal(wl_dtype_get(22)->name, "INT4");
    assert_null(wl_dtype_get(99));
    assert_null(wl_dtype_get(-1));
    assert_string_equal(wl_dtype_name(99), "data_type 99");
    uint8_t raw[8];
    float f = -1.5f;
    memcpy(raw + 1, &f, 4); /* unaligned */
    double d;
    wl_dtype_get(1)->raw_to_double(raw + 1, 1, &d);
    wl_assert_close(d, -1.5, 0, 0);
}

static void test_scale_in_stored_precision(void **state)
{
    (void)state;
    double v[2] = {0.1f, 3.0};
    wl_dtype_scale(WL_SCALE_F32, v, 2, 0.70710678118654757);
    wl_assert_close(v[0], (double)(0.1f * (float)0.70710678118654757), 0, 0);
    double h[1] = {(double)wl_half_to_float(0x3555)}; /* ~0.333 */
    wl_dtype_scale(WL_SCALE_F16, h, 1, 0.70710678118654757);
    float want = wl_half_to_float(wl_float_to_half(wl_half_to_float(0x3555) *
                                                   wl_half_to_float(wl_float_to_half(0.70710677f))));
    wl_assert_close(h[0], (double)want, 0, 0);
    double i64[1] = {3.0};
    wl_dtype_scale(WL_SCALE_F64, i64, 1, 0.70710678118654757);
    wl_assert_close(i64[0], 3.0 * 0.70710678118654757, 0, 0);
}

/* Same bits, or both NaN of the same sign. */
static void assert_same_double(double got, double want)
{
    if (isnan(want)) {
        assert_true(isnan(got));
        assert_int_equal(signbit(got) != 0, signbit(want) != 0);
        return;
    }
    assert_memory_equal(&got, &want, sizeof got);
}

/* The whole-tensor fp16 widening (the F16C path where the CPU has it, 8 at a time, the scalar
 * code for the tail) gives every one of the 65536 codes exactly what wl_half_to_float gives,
 * from an unaligned buffer. */
static void test_f16_widening_all_codes(void **state)
{
    (void)state;
    enum { N = 65536 + 5 }; /* a tail that is not a multiple of 8 */
    uint8_t *raw = malloc(2 * N + 1);
    double *d = malloc(N * sizeof *d);
    assert_non_null(raw);
    assert_non_null(d);
    for (uint32_t i = 0; i < N; i++) {
        uint16_t h = (uint16_t)(i * 40503u); /* every code once in the first 65536 */
        memcpy(raw + 1 + 2 * i, &h, 2);
    }
    wl_dtype_get(10)->raw_to_double(raw + 1, N, d);
    for (uint32_t i = 0; i < N; i++) {
        uint16_t h;
        memcpy(&h, raw + 1 + 2 * i, 2);
        assert_same_double(d[i], (double)wl_half_to_float(h));
    }
    free(raw);
    free(d);
}

/* The fp16 conv scaling of whole tensors equals the scalar definition
 * half(float(v) * half(s)) on every finite and infinite code, for the conv scales
 * WeightWatcher uses and for scales that overflow and underflow into subnormals. */
static void test_f16_scale_all_codes(void **state)
{
    (void)state;
    const double scales[] = {0.70710678118654757, 1.0 / 3.0, 0.1, 3.0, 1e-3, 1.0};
    enum { N = 65536 + 3 };
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
        for (uint32_t i = 0; i < N; i++)
            v[i] = (double)wl_half_to_float((uint16_t)(i * 40503u));
        wl_dtype_scale(WL_SCALE_F16, v, N, scales[k]);
        float sh = wl_half_to_float(wl_float_to_half((float)scales[k]));
        for (uint32_t i = 0; i < N; i++) {
            float x = wl_half_to_float((uint16_t)(i * 40503u));
            assert_same_double(v[i], (double)wl_half_to_float(wl_float_to_half(x * sh)));
        }
    }
    free(v);
}

/* Reference decoding of an FP8 code built as float32 bits (a different route from dtype.c's
 * ldexp): exponent bias eb, mantissa bits mb, subnormals at exponent field 0. */
static double fp8_ref(uint8_t b, int mb, int eb)
{
    int e = (b & 0x7f) >> mb, m = b & ((1 << mb) - 1);
    float f;
    if (e == 0) {
        f = (float)m / (float)(1 << mb) * ldexpf(1.0f, 1 - eb);
    } else {
        uint32_t bits = ((uint32_t)(e - eb + 127) << 23) | ((uint32_t)m << (23 - mb));
        memcpy(&f, &bits, sizeof f);
    }
    return (b & 0x80) ? -(double)f : (double)f;
}

/* All 256 codes of the four FP8 types, against the float32-bit reference and against the
 * constants ml_dtypes' finfo gives (max, smallest normal and subnormal, NaN/inf codes). */
static void test_fp8_all_codes(void **state)
{
    (void)state;
    int nan_fn = 0, nan_fnuz = 0, nan_e5 = 0, inf_e5 = 0, nan_e5fnuz = 0;
    for (int c = 0; c < 256; c++) {
        uint8_t b = (uint8_t)c;
        double v = wl_f8e4m3fn_to_double(b);
        if ((b & 0x7f) == 0x7f) {
            assert_true(isnan(v));
            nan_fn++;
        } else {
            wl_assert_close(v, fp8_ref(b, 3, 7), 0, 0);
        }
        v = wl_f8e4m3fnuz_to_double(b);
        if (b == 0x80) {
            assert_true(isnan(v));
            nan_fnuz++;
        } else {
            wl_assert_close(v, fp8_ref(b, 3, 8), 0, 0);
        }
        v = wl_f8e5m2_to_double(b);
        if ((b & 0x7c) == 0x7c) {
            if (b & 3) {
                assert_true(isnan(v));
                nan_e5++;
            } else {
                assert_true(isinf(v));
                inf_e5++;
            }
        } else {
            wl_assert_close(v, fp8_ref(b, 2, 15), 0, 0);
        }
        v = wl_f8e5m2fnuz_to_double(b);
        if (b == 0x80) {
            assert_true(isnan(v));
            nan_e5fnuz++;
        } else {
            wl_assert_close(v, fp8_ref(b, 2, 16), 0, 0);
        }
    }
    assert_int_equal(nan_fn, 2);
    assert_int_equal(nan_fnuz, 1);
    assert_int_equal(nan_e5, 6);
    assert_int_equal(inf_e5, 2);
    assert_int_equal(nan_e5fnuz, 1);
    /* ml_dtypes.finfo: float8_e4m3fn max 448, tiny 2^-6, smallest subnormal 2^-9 */
    wl_assert_close(wl_f8e4m3fn_to_double(0x7e), 448.0, 0, 0);
    wl_assert_close(wl_f8e4m3fn_to_double(0x08), ldexp(1.0, -6), 0, 0);
    wl_assert_close(wl_f8e4m3fn_to_double(0x01), ldexp(1.0, -9), 0, 0);
    wl_assert_close(wl_f8e4m3fn_to_double(0xb8), -1.0, 0, 0);
    /* float8_e4m3fnuz max 240, smallest subnormal 2^-10; 0x00 is the only zero */
    wl_assert_close(wl_f8e4m3fnuz_to_double(0x7f), 240.0, 0, 0);
    wl_assert_close(wl_f8e4m3fnuz_to_double(0x01), ldexp(1.0, -10), 0, 0);
    wl_assert_close(wl_f8e4m3fnuz_to_double(0x40), 1.0, 0, 0);
    /* float8_e5m2 max 57344, smallest subnormal 2^-16 */
    wl_assert_close(wl_f8e5m2_to_double(0x7b), 57344.0, 0, 0);
    wl_assert_close(wl_f8e5m2_to_double(0x01), ldexp(1.0, -16), 0, 0);
    wl_assert_close(wl_f8e5m2_to_double(0x3c), 1.0, 0, 0);
    /* float8_e5m2fnuz max 57344, smallest subnormal 2^-17 */
    wl_assert_close(wl_f8e5m2fnuz_to_double(0x7f), 57344.0, 0, 0);
    wl_assert_close(wl_f8e5m2fnuz_to_double(0x01), ldexp(1.0, -17), 0, 0);
    wl_assert_close(wl_f8e5m2fnuz_to_double(0x40), 1.0, 0, 0);
    /* E8M0: 2^(b-127) */
    wl_assert_close(wl_f8e8m0_to_double(127), 1.0, 0, 0);
    wl_assert_close(wl_f8e8m0_to_double(0), ldexp(1.0, -127), 0, 0);
    assert_true(isnan(wl_f8e8m0_to_double(0xff)));
}

/* FLOAT4E2M1's 16 codes (onnx float4.md: no inf or NaN, max 6). */
static void test_fp4_codes(void **state)
{
    (void)state;
    static const double want[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6};
    for (int c = 0; c < 16; c++)
        wl_assert_close(wl_f4e2m1_to_double((uint8_t)c), want[c], 0, 0);
}

/* Packed sub-byte layouts: low nibble (low bit pair) first, as onnx.proto specifies. */
static void test_packed_int4_int2(void **state)
{
    (void)state;
    const uint8_t raw[3] = {0x8f, 0x71, 0x0c}; /* nibbles: f 8 | 1 7 | c 0 */
    double d[5];
    wl_dtype_get(21)->raw_to_double(raw, 5, d); /* UINT4 */
    const double u4[5] = {15, 8, 1, 7, 12};
    for (int i = 0; i < 5; i++)
        wl_assert_close(d[i], u4[i], 0, 0);
    wl_dtype_get(22)->raw_to_double(raw, 5, d); /* INT4: two's complement */
    const double i4[5] = {-1, -8, 1, 7, -4};
    for (int i = 0; i < 5; i++)
        wl_assert_close(d[i], i4[i], 0, 0);
    wl_dtype_get(23)->raw_to_double(raw, 5, d); /* FLOAT4E2M1 */
    const double f4[5] = {-6, -0.0, 0.5, 6, -2};
    for (int i = 0; i < 5; i++)
        wl_assert_close(d[i], f4[i], 0, 0);
    const uint8_t two[2] = {0xe4, 0x02}; /* 2-bit fields from bit 0: 0 1 2 3 | 2 */
    double e[5];
    wl_dtype_get(25)->raw_to_double(two, 5, e); /* UINT2 */
    const double u2[5] = {0, 1, 2, 3, 2};
    for (int i = 0; i < 5; i++)
        wl_assert_close(e[i], u2[i], 0, 0);
    wl_dtype_get(26)->raw_to_double(two, 5, e); /* INT2: [-2, 1] */
    const double i2[5] = {0, 1, -2, -1, -2};
    for (int i = 0; i < 5; i++)
        wl_assert_close(e[i], i2[i], 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_roundtrip_all_values),
        cmocka_unit_test(test_fp8_all_codes),
        cmocka_unit_test(test_fp4_codes),
        cmocka_unit_test(test_packed_int4_int2),
        cmocka_unit_test(test_half_known_values),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_scale_in_stored_precision),
        cmocka_unit_test(test_f16_widening_all_codes),
        cmocka_unit_test(test_f16_scale_all_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
