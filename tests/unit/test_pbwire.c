/*
 * test_pbwire.c — the protobuf wire reader on good and malformed bytes.
 */
#include "wl_test.h"

#include "pbwire.h"

#include <string.h>

static void test_fields(void **state)
{
    (void)state;
    /* field 1 varint 150; field 2 "hi"; field 5 fixed32 */
    const uint8_t msg[] = {0x08, 0x96, 0x01, 0x12, 0x02, 'h', 'i', 0x2d, 1, 0, 0, 0};
    wl_pb_reader r;
    wl_pb_field f;
    wl_err err;
    int has;
    wl_err_clear(&err);
    wl_pb_init(&r, msg, msg, sizeof msg);
    assert_int_equal(wl_pb_next(&r, &f, &has, &err), WL_OK);
    assert_true(has && f.number == 1 && f.wire == WL_WIRE_VARINT && f.varint == 150);
    assert_int_equal(wl_pb_next(&r, &f, &has, &err), WL_OK);
    assert_true(has && f.number == 2 && f.len == 2 && memcmp(f.data, "hi", 2) == 0);
    assert_int_equal(f.offset, 3);
    assert_int_equal(wl_pb_next(&r, &f, &has, &err), WL_OK);
    assert_true(has && f.number == 5 && f.varint == 1);
    assert_int_equal(wl_pb_next(&r, &f, &has, &err), WL_OK);
    assert_false(has);
}

static void expect_error(const uint8_t *msg, size_t len, const char *needle)
{
    wl_pb_reader r;
    wl_pb_field f;
    wl_err err;
    int has;
    wl_err_clear(&err);
    wl_pb_init(&r, msg, msg, len);
    wl_status st;
    while ((st = wl_pb_next(&r, &f, &has, &err)) == WL_OK && has)
        ;
    assert_int_equal(st, WL_E_FORMAT);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_malformed(void **state)
{
    (void)state;
    const uint8_t overlong[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    expect_error(overlong, sizeof overlong, "bad varint");
    const uint8_t truncated_varint[] = {0x08, 0x96};
    expect_error(truncated_varint, sizeof truncated_varint, "varint");
    const uint8_t long_len[] = {0x12, 0x05, 'a', 'b'};
    expect_error(long_len, sizeof long_len, "exceeds the 2 bytes left");
    const uint8_t group[] = {0x0b};
    expect_error(group, sizeof group, "wire type 3");
    const uint8_t short_fixed[] = {0x09, 1, 2, 3};
    expect_error(short_fixed, sizeof short_fixed, "truncated");
    const uint8_t field0[] = {0x00, 0x01};
    expect_error(field0, sizeof field0, "invalid field number");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
