/*
 * test_dtype.c — the dtype table and the float16/bfloat16 conversions.
 */
#include "wl_test.h"

#include "dtype.h"

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
    assert_int_equal(wl_dtype_get(10)->elem_bytes, 2);
    assert_int_equal(wl_dtype_get(17)->elem_bytes, 0); /* FLOAT8E4M3FN: known, unsupported */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_roundtrip_all_values),
        cmocka_unit_test(test_half_known_values),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_scale_in_stored_precision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
