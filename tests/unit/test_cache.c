/*
 * test_cache.c — unit tests of src/cache.c and of the hashing it shares with `--shard`: a mapped
 * file hashed chunk by chunk against Python's hashlib, with its pages given back; the key's
 * sensitivity to each input, the
 * entry round trip (bit-exact, non-finite values included), corrupt and foreign entries as
 * misses, an unusable directory as an error, and a real model analyzed twice through the
 * cache with bit-identical rows.
 */
#include "cache.h"
#include "mapfile.h"
#include "wl_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hexstr(const uint8_t *d, char *out)
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* Resident pages of this process (/proc/self/statm's second field). */
static long resident_pages(void)
{
    long size = 0, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = -1;
        fclose(f);
    }
    return resident;
}

/* wl_mapfile_hash over a 40 MiB + 4,321-byte file (ten chunks and a partial one) gives the
 * digest Python's hashlib gives for the same bytes, and leaves at most about one chunk of the
 * file resident: the pages of each hashed chunk are given back (issue #13's memory bound). */
static void test_mapfile_hash(void **state)
{
    (void)state;
    const size_t n = ((size_t)40 << 20) + 4321;
    char path[] = "/tmp/wl_test_hash_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    uint8_t buf[4096];
    for (size_t off = 0; off < n; off += sizeof buf) {
        size_t k = n - off < sizeof buf ? n - off : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = (uint8_t)(((off + i) * 31 + 7) & 0xff);
        assert_int_equal(write(fd, buf, k), (ssize_t)k);
    }
    close(fd);
    wl_mapfile *m = NULL;
    wl_err err;
    assert_int_equal(wl_mapfile_open(path, "a test file", &m, &err), WL_OK);
    long before = resident_pages();
    struct sha256_ctx h;
    uint8_t d[SHA256_DIGEST_SIZE];
    char hex[65];
    sha256_init(&h);
    wl_mapfile_hash(m, &h);
    long after = resident_pages();
    sha256_digest(&h, sizeof d, d);
    hexstr(d, hex);
    assert_string_equal(hex, "ab886c8048b52d717bb13e1770fbc5f878a983e4ba9fc66241daa0264e0e8972");
    long page = sysconf(_SC_PAGESIZE);
    assert_true(before >= 0 && after >= 0);
    /* Without the release the whole 40 MiB stays mapped in. */
    assert_true((after - before) * page < (long)(2 * WL_MAPFILE_HASH_CHUNK));
    wl_mapfile_close(m);
    unlink(path);
}

static wl_layer sample_layer(void)
{
    wl_layer l;
    memset(&l, 0, sizeof l);
    l.N = 64;
    l.M = 32;
    l.rf = 1;
    l.layer_id = 3;
    l.status = WL_LAYER_SUCCESS;
    l.num_evals = 32;
    l.alpha = 3.0 + 1.0 / 3.0;
    l.D = 0.0625;
    l.xmin = 1e-300;
    l.xmax = INFINITY;
    l.sigma = NAN;
    l.num_pl_spikes = 17;
    l.alpha_weighted = -0.0;
    l.lambda_max = 12.5;
    l.log_norm = 2.0 / 7.0;
    l.has_mp = 1;
    l.num_spikes = 4;
    l.mp_softrank = 0.25;
    l.matrix_rank = 31;
    l.weak_rank_loss = 1;
    return l;
}

static char *tmpdir(void)
{
    char *t = strdup("/tmp/wl-test-cache-XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The key of sample_layer() over a 2 x 3 matrix with the default options. */
static void sample_key(uint8_t key[32])
{
    wl_options o;
    wl_options_init(&o, WL_COMPAT_NONE);
    wl_layer l = sample_layer();
    double w[6] = {1, 2, 3, 4, 5, 6};
    int64_t dims[2] = {2, 3};
    wl_cache_key(&o, &l, dims, 2, w, 6, key);
}

static void test_key(void **state)
{
    (void)state;
    wl_options o;
    wl_options_init(&o, WL_COMPAT_NONE);
    wl_layer l = sample_layer();
    double w[6] = {1, 2, 3, 4, 5, 6};
    int64_t dims[2] = {2, 3};
    uint8_t k0[32], k[32];
    sample_key(k0);
    wl_cache_key(&o, &l, dims, 2, w, 6, k);
    assert_memory_equal(k0, k, 32);
    w[5] = 6.000000000000001; /* one ulp-ish change in one weight */
    wl_cache_key(&o, &l, dims, 2, w, 6, k);
    assert_memory_not_equal(k0, k, 32);
    w[5] = 6;
    int64_t dims2[2] = {3, 2};
    wl_cache_key(&o, &l, dims2, 2, w, 6, k);
    assert_memory_not_equal(k0, k, 32);
    o.mp_fit = 0;
    wl_cache_key(&o, &l, dims, 2, w, 6, k);
    assert_memory_not_equal(k0, k, 32);
    o.mp_fit = 1;
    /* the seed and the layer position only matter with randomize */
    o.seed = 42;
    l.layer_id = 9;
    wl_cache_key(&o, &l, dims, 2, w, 6, k);
    assert_memory_equal(k0, k, 32);
    o.randomize = 1;
    uint8_t kr[32];
    wl_cache_key(&o, &l, dims, 2, w, 6, kr);
    assert_memory_not_equal(k0, kr, 32);
    o.seed = 43;
    wl_cache_key(&o, &l, dims, 2, w, 6, k);
    assert_memory_not_equal(kr, k, 32);
}

/* Two workers key their layers at the same time. OpenBLAS's openblas_get_config() builds its
 * string in one static buffer with strcpy and strcat, so the BLAS provenance in the key once
 * came out cut in one thread: the same layer under a second key, a cache miss and an entry
 * the whole-model run never rewrote (tests/scripts/cache_concurrent.sh, about 1 run in 20). */
typedef struct key_worker {
    const uint8_t *want;
    int mismatches;
} key_worker;

static void *key_repeatedly(void *arg)
{
    key_worker *kw = arg;
    for (int i = 0; i < 20000; i++) {
        uint8_t k[32];
        sample_key(k);
        if (memcmp(k, kw->want, 32) != 0)
            kw->mismatches++;
    }
    return NULL;
}

static void test_key_concurrent(void **state)
{
    (void)state;
    uint8_t want[32];
    sample_key(want);
    key_worker a = {want, 0}, b = {want, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, key_repeatedly, &a), 0);
    key_repeatedly(&b);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(a.mismatches + b.mismatches, 0);
}

static void test_roundtrip(void **state)
{
    (void)state;
    char *dir = tmpdir();
    char sub[600];
    snprintf(sub, sizeof sub, "%s/a/b", dir); /* parents are created */
    wl_cache *c = NULL;
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_cache_open(sub, &c, &err), WL_OK);
    uint8_t key[32], other[32];
    memset(key, 0xab, sizeof key);
    memset(other, 0xcd, sizeof other);
    wl_layer l = sample_layer();
    wl_cache_store(c, key, &l);

    wl_layer got;
    char keep[] = "keep";
    memset(&got, 0, sizeof got);
    got.name = keep;
    got.N = 99;
    assert_int_equal(wl_cache_lookup(c, other, &got), 0);
    assert_int_equal(wl_cache_lookup(c, key, &got), 1);
    assert_string_equal(got.name, "keep"); /* identity columns untouched */
    assert_int_equal(got.N, 99);
    assert_memory_equal(&got.alpha, &l.alpha, sizeof l.alpha);                   /* bit-exact */
    assert_memory_equal(&got.alpha_weighted, &l.alpha_weighted, sizeof(double)); /* -0.0 */
    assert_memory_equal(&got.xmin, &l.xmin, sizeof(double));
    assert_true(isinf(got.xmax));
    assert_true(isnan(got.sigma));
    assert_int_equal(got.num_pl_spikes, 17);
    assert_int_equal(got.has_mp, 1);
    assert_int_equal(got.num_spikes, 4);
    assert_int_equal(got.status, WL_LAYER_SUCCESS);
    assert_string_equal(got.warning, ""); /* derived again from alpha */

    /* a failed fit keeps its reason */
    l.status = WL_LAYER_FIT_FAILED;
    snprintf(l.status_reason, sizeof l.status_reason, "1 of 32 eigenvalues above 1e-5");
    wl_cache_store(c, other, &l);
    assert_int_equal(wl_cache_lookup(c, other, &got), 1);
    assert_int_equal(got.status, WL_LAYER_FIT_FAILED);
    assert_string_equal(got.status_reason, "1 of 32 eigenvalues above 1e-5");

    /* corrupt entries are misses */
    char path[800];
    snprintf(path, sizeof path,
             "%s/ab/abababababababababababababababababababababababababababab"
             "abababab",
             sub);
    static const char *const corrupt[] = {
        "weightlint-cache 1\nkey ab\n", /* foreign key line */
        "weightlint-cache 999\n",       /* other format */
        "weightlint-cache 1\nkey abababababababababababababababababababababababababababababab"
        "abab\nstatus success\n", /* truncated */
        "",
    };
    for (size_t i = 0; i < sizeof corrupt / sizeof corrupt[0]; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(corrupt[i], f);
        fclose(f);
        assert_int_equal(wl_cache_lookup(c, key, &got), 0);
    }
    /* a garbled number inside an otherwise complete entry */
    wl_layer good = sample_layer();
    wl_cache_store(c, key, &good);
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    char *p = strstr(text, "\nnum_spikes 4");
    assert_non_null(p);
    p[12] = 'x';
    rewind(f);
    fwrite(text, 1, n, f);
    fclose(f);
    assert_int_equal(wl_cache_lookup(c, key, &got), 0);

    wl_cache_stats st;
    wl_cache_get_stats(c, &st);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.stores, 3);
    assert_int_equal(st.bad_entries, 5);
    assert_int_equal(st.store_failures, 0);
    wl_cache_close(c);
    wl_cache_get_stats(NULL, &st);
    assert_int_equal(st.hits, 0);
    wl_cache_close(NULL);

    /* a file where the directory should be */
    snprintf(path, sizeof path, "%s/file", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    wl_err_clear(&err);
    assert_int_equal(wl_cache_open(path, &c, &err), WL_E_IO);
    assert_null(c);
    assert_non_null(strstr(err.msg, "Not a directory"));
    rm_rf(dir);
    free(dir);
}

/* The real model twice through one cache: second run all hits, rows bit-identical to a run
 * without the cache. */
static void test_analyze_through_cache(void **state)
{
    (void)state;
    const char *model = "examples/fashion_mlp_trained.onnx";
    if (access(model, R_OK) != 0)
        skip();
    char *dir = tmpdir();
    wl_cache *c = NULL;
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_cache_open(dir, &c, &err), WL_OK);
    wl_options o;
    wl_options_init(&o, WL_COMPAT_NONE);
    o.threads = 1;
    wl_analysis *plain = NULL, *first = NULL, *second = NULL;
    assert_int_equal(wl_analyze_file(model, &o, &plain, &err), WL_OK);
    o.cache = c;
    assert_int_equal(wl_analyze_file(model, &o, &first, &err), WL_OK);
    assert_int_equal(wl_analyze_file(model, &o, &second, &err), WL_OK);
    wl_cache_stats st;
    wl_cache_get_stats(c, &st);
    assert_int_equal(st.misses, plain->n_layers);
    assert_int_equal(st.hits, plain->n_layers);
    assert_int_equal(second->n_layers, plain->n_layers);
    for (size_t i = 0; i < plain->n_layers; i++) {
        const wl_layer *a = &plain->layers[i], *b = &second->layers[i];
        assert_string_equal(a->id, b->id);
        assert_memory_equal(&a->alpha, &b->alpha, sizeof(double));
        assert_memory_equal(&a->alpha_weighted, &b->alpha_weighted, sizeof(double));
        assert_memory_equal(&a->entropy, &b->entropy, sizeof(double));
        assert_memory_equal(&a->bulk_max, &b->bulk_max, sizeof(double));
        assert_int_equal(a->num_spikes, b->num_spikes);
        assert_int_equal(a->matrix_rank, b->matrix_rank);
        assert_ptr_equal(a->phase, b->phase); /* static strings; NULL below 48 eigenvalues */
        assert_ptr_equal(a->phase_reason, b->phase_reason);
        assert_string_equal(a->warning, b->warning);
    }
    assert_memory_equal(&plain->summary, &second->summary, sizeof plain->summary);
    wl_analysis_free(plain);
    wl_analysis_free(first);
    wl_analysis_free(second);
    wl_cache_close(c);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapfile_hash),
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_key_concurrent),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_analyze_through_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
