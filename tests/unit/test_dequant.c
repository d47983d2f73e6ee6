/*
 * test_dequant.c — the weight decoders of dequant.c on known bit patterns: MatMulNBits (2, 4
 * and 8 bits, packed zero points, the default zero point), MatMulBnb4 (the NF4 and FP4 tables
 * of onnxruntime's blockwise_quant_block_bnb4.h, high nibble first), GatherBlockQuantized
 * (packed uint8), blocked DequantizeLinear over INT4, and the bad-input checks.
 */
#include "wl_test.h"

#include "dequant.h"
#include "dtype.h"

#include <stdio.h>
#include <string.h>

/* A parsed header over bytes in memory (raw_data in place). */
static wl_tensor mk(char *name, int64_t dtype, int rank, const int64_t *dims, const void *raw,
                    size_t len)
{
    wl_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.data_type = dtype;
    t.rank = rank;
    t.n_elems = 1;
    for (int i = 0; i < rank; i++) {
        t.dims[i] = dims[i];
        t.n_elems *= (uint64_t)dims[i];
    }
    t.raw = raw;
    t.raw_len = len;
    t.has_raw = 1;
    return t;
}

/* mk() takes the name as the header's owned char * (never freed here). */
#define MK(name, ...) mk(name_buf(name), __VA_ARGS__)
static char names[16][16];
static size_t n_names;
static char *name_buf(const char *s)
{
    char *b = names[n_names++ % 16];
    snprintf(b, sizeof names[0], "%s", s);
    return b;
}

typedef struct fixture {
    wl_tensor hdrs[4];
    wl_tensor_ref refs[4];
    wl_tensor_set set;
} fixture;

static void fixture_init(fixture *fx, size_t n)
{
    memset(fx->refs, 0, sizeof fx->refs);
    fx->set = (wl_tensor_set){.refs = fx->refs, .hdrs = fx->hdrs, .n = n};
}

/* K = 16, N = 2, block 16, 4 bits: row 0 holds codes 0..15, row 1 codes 15..0; scales 0.5 and
 * 0.25; packed zero points 8 (row 0) and 3 (row 1). */
static void test_nbits4(void **state)
{
    (void)state;
    uint8_t b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)((2 * i) | ((2 * i + 1) << 4)); /* low nibble first */
        b[8 + i] = (uint8_t)((15 - 2 * i) | ((14 - 2 * i) << 4));
    }
    float sc[2] = {0.5f, 0.25f};
    uint8_t zp[2] = {8, 3};
    int64_t bd[3] = {2, 1, 8}, sd = 2, zd = 2;
    fixture fx;
    fx.hdrs[0] = MK("B", 2, 3, bd, b, sizeof b);
    fx.hdrs[1] = MK("scales", 1, 1, &sd, sc, sizeof sc);
    fx.hdrs[2] = MK("zp", 2, 1, &zd, zp, sizeof zp);
    fixture_init(&fx, 3);
    wl_dq_spec q = {.kind = WL_DQ_NBITS,
                    .scale = "scales",
                    .zero_point = "zp",
                    .K = 16,
                    .N = 2,
                    .bits = 4,
                    .block_size = 16,
                    .round_output = 1,
                    .op = "MatMulNBits",
                    .node = "mm"};
    wl_err err;
    wl_err_clear(&err);
    int64_t rows, cols;
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(cols, 16);
    assert_int_equal(q.out_dtype, 1);
    double w[32];
    assert_int_equal(wl_dq_decode(&fx.set, &q, &fx.hdrs[0], w, &err), WL_OK);
    for (int k = 0; k < 16; k++) {
        wl_assert_close(w[k], (k - 8) * 0.5, 0, 0);
        wl_assert_close(w[16 + k], (15 - k - 3) * 0.25, 0, 0);
    }
    /* Without zero points the default is 2^(bits-1) = 8. */
    q.zero_point = NULL;
    assert_int_equal(wl_dq_decode(&fx.set, &q, &fx.hdrs[0], w, &err), WL_OK);
    wl_assert_close(w[16], (15 - 8) * 0.25, 0, 0);
    /* Bad inputs: not a power of two, below 16, scales short. */
    q.block_size = 24;
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_E_FORMAT);
    assert_non_null(strstr(err.msg, "block_size = 24"));
    wl_err_clear(&err);
    q.block_size = 8;
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_E_FORMAT);
    wl_err_clear(&err);
    q.block_size = 16;
    q.N = 3;
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_E_FORMAT);
    assert_non_null(strstr(err.msg, "attribute N = 3"));
}

/* 2 and 8 bits: four codes per byte from bit 0 up; one byte per code. */
static void test_nbits2_and_8(void **state)
{
    (void)state;
    uint8_t b2[4] = {0xe4, 0xe4, 0xe4, 0xe4}; /* codes 0 1 2 3 repeated */
    float sc = 1.0f;
    int64_t bd[3] = {1, 1, 4}, sd = 1;
    fixture fx;
    fx.hdrs[0] = MK("B", 2, 3, bd, b2, sizeof b2);
    fx.hdrs[1] = MK("s", 1, 1, &sd, &sc, sizeof sc);
    fixture_init(&fx, 2);
    wl_dq_spec q = {.kind = WL_DQ_NBITS,
                    .scale = "s",
                    .K = 16,
                    .N = 1,
                    .bits = 2,
                    .block_size = 16,
                    .round_output = 1,
                    .op = "MatMulNBits",
                    .node = "mm"};
    wl_err err;
    wl_err_clear(&err);
    int64_t rows, cols;
    double w[16];
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_OK);
    assert_int_equal(wl_dq_decode(&fx.set, &q, &fx.hdrs[0], w, &err), WL_OK);
    for (int k = 0; k < 16; k++)
        wl_assert_close(w[k], (double)(k % 4) - 2.0, 0, 0); /* default zero point 2 */
    uint8_t b8[16];
    for (int k = 0; k < 16; k++)
        b8[k] = (uint8_t)(120 + k);
    int64_t bd8[3] = {1, 1, 16};
    fx.hdrs[0] = MK("B", 2, 3, bd8, b8, sizeof b8);
    q.bits = 8;
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_OK);
    assert_int_equal(wl_dq_decode(&fx.set, &q, &fx.hdrs[0], w, &err), WL_OK);
    for (int k = 0; k < 16; k++)
        wl_assert_close(w[k], (double)(k - 8), 0, 0); /* default zero point 128 */
}

/* bitsandbytes' NF4 code book (QLoRA, Dettmers et al. 2023, create_normal_map), as
 * onnxruntime copies it, and the FP4 map. */
static void test_bnb4_tables(void **state)
{
    (void)state;
    static const double nf4[16] = {-1.0,
                                   -0.6961928009986877,
                                   -0.5250730514526367,
                                   -0.39491748809814453,
                                   -0.28444138169288635,
                                   -0.18477343022823334,
                                   -0.09105003625154495,
                                   0.0,
                                   0.07958029955625534,
                                   0.16093020141124725,
                                   0.24611230194568634,
                                   0.33791524171829224,
                                   0.44070982933044434,
                                   0.5626170039176941,
                                   0.7229568362236023,
                                   1.0};
    for (unsigned c = 0; c < 16; c++)
        wl_assert_close(wl_dq_bnb4_code(1, c), nf4[c], 1e-7, 0); /* float32 constants */
    wl_assert_close(wl_dq_bnb4_code(0, 3), 1.0, 0, 0);
    wl_assert_close(wl_dq_bnb4_code(0, 11), -1.0, 0, 0);
    wl_assert_close(wl_dq_bnb4_code(0, 1), 5.208333333e-03, 1e-7, 0);
    /* decode: high nibble first, absmax per block of 16 of the [N, K] transpose */
    uint8_t b[16];
    for (int i = 0; i < 16; i++)
        b[i] = (uint8_t)((i << 4) | (15 - i));
    float am[2] = {2.0f, 0.5f};
    int64_t bd = 16, ad = 2;
    fixture fx;
    fx.hdrs[0] = MK("B", 2, 1, &bd, b, sizeof b);
    fx.hdrs[1] = MK("absmax", 1, 1, &ad, am, sizeof am);
    fixture_init(&fx, 2);
    wl_dq_spec q = {.kind = WL_DQ_BNB4,
                    .scale = "absmax",
                    .K = 16,
                    .N = 2,
                    .block_size = 16,
                    .quant_type = 1,
                    .round_output = 1,
                    .op = "MatMulBnb4",
                    .node = "mm"};
    wl_err err;
    wl_err_clear(&err);
    int64_t rows, cols;
    double w[32];
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_OK);
    assert_int_equal(wl_dq_decode(&fx.set, &q, &fx.hdrs[0], w, &err), WL_OK);
    for (int i = 0; i < 16; i++) {
        wl_assert_close(w[2 * i], (double)(float)(nf4[i] * (i < 8 ? 2.0 : 0.5)), 1e-7, 0);
        wl_assert_close(w[2 * i + 1], (double)(float)(nf4[15 - i] * (i < 8 ? 2.0 : 0.5)), 1e-7, 0);
    }
    q.quant_type = 2;
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_E_FORMAT);
}

/* DequantizeLinear opset 21 over INT4 [2, 32], blocked along axis 1 with block 16: scale and
 * zero point [2, 2]. */
static void test_linear_blocked_int4(void **state)
{
    (void)state;
    uint8_t x[32];
    for (int i = 0; i < 32; i++)
        x[i] = (uint8_t)(((2 * i) & 15) | (((2 * i + 1) & 15) << 4));
    float sc[4] = {1.0f, 2.0f, 4.0f, 8.0f};
    uint8_t zp[2] = {0x21, 0x43}; /* INT4 zero points 1, 2, 3, 4 */
    int64_t xd[2] = {2, 32}, sd[2] = {2, 2};
    fixture fx;
    fx.hdrs[0] = MK("x", 22, 2, xd, x, sizeof x);
    fx.hdrs[1] = MK("s", 1, 2, sd, sc, sizeof sc);
    fx.hdrs[2] = MK("z", 22, 2, sd, zp, sizeof zp);
    fixture_init(&fx, 3);
    wl_dq_spec q = {.kind = WL_DQ_LINEAR,
                    .scale = "s",
                    .zero_point = "z",
                    .axis = 1,
                    .block_size = 16,
                    .round_output = 1,
                    .op = "DequantizeLinear",
                    .node = "dq"};
    wl_err err;
    wl_err_clear(&err);
    int64_t rows, cols;
    double w[64];
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_OK);
    assert_int_equal(wl_dq_decode(&fx.set, &q, &fx.hdrs[0], w, &err), WL_OK);
    for (int e = 0; e < 64; e++) {
        int code = e & 15, v = code >= 8 ? code - 16 : code;
        int blk = (e / 32) * 2 + (e % 32) / 16;
        wl_assert_close(w[e], (v - (blk + 1)) * sc[blk], 0, 0);
    }
    assert_string_equal(wl_dq_encoding(&q, &fx.hdrs[0]), "INT4 block 16");
    /* a scale of the wrong blocked shape */
    int64_t bad[2] = {2, 3};
    fx.hdrs[1] = MK("s", 1, 2, bad, sc, sizeof sc);
    fx.hdrs[2] = MK("z", 22, 2, bad, zp, sizeof zp);
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_E_FORMAT);
    assert_non_null(strstr(err.msg, "dims[1] = 3, expected 2"));
}

/* GatherBlockQuantized over packed uint8 [rows, cols/2], low nibble first, default zero
 * point 8 (MatMulNBits' convention). */
static void test_gather_block(void **state)
{
    (void)state;
    uint8_t d[8];
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)((2 * i) | ((2 * i + 1) << 4));
    float sc[1] = {0.5f};
    int64_t dd[2] = {1, 8}, sd[2] = {1, 1};
    fixture fx;
    fx.hdrs[0] = MK("table", 2, 2, dd, d, sizeof d);
    fx.hdrs[1] = MK("s", 1, 2, sd, sc, sizeof sc);
    fixture_init(&fx, 2);
    wl_dq_spec q = {.kind = WL_DQ_GATHER_BLOCK,
                    .scale = "s",
                    .axis = 1,
                    .bits = 4,
                    .block_size = 16,
                    .round_output = 1,
                    .op = "GatherBlockQuantized",
                    .node = "g"};
    wl_err err;
    wl_err_clear(&err);
    int64_t rows, cols;
    double w[16];
    assert_int_equal(wl_dq_prepare(&fx.set, &q, &fx.hdrs[0], &rows, &cols, &err), WL_OK);
    assert_int_equal(cols, 16);
    assert_int_equal(wl_dq_decode(&fx.set, &q, &fx.hdrs[0], w, &err), WL_OK);
    for (int k = 0; k < 16; k++)
        wl_assert_close(w[k], (k - 8) * 0.5, 0, 0);
    assert_string_equal(wl_dq_encoding(&q, &fx.hdrs[0]), "uint4 block 16");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nbits4),       cmocka_unit_test(test_nbits2_and_8),
        cmocka_unit_test(test_bnb4_tables),  cmocka_unit_test(test_linear_blocked_int4),
        cmocka_unit_test(test_gather_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
