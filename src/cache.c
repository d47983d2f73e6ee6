/*
 * cache.c — the per-layer result cache (`--cache DIR`, cache.h). Keys are Nettle's SHA-256: a hit
 * still hashes the whole scored matrix as doubles, so the hash's speed (SHA-NI where the CPU
 * has it) is most of what a hit costs.
 *
 * Why per layer and not per file: a pull request that retrains one layer of a large model
 * re-scores that layer only, external-data models need no special case (the bytes hashed are
 * the scored matrix wherever it was stored), and a renamed or re-exported file with the same
 * weights hits. Entries are text ("name value" lines, doubles in C99 hex-float form, which
 * strtod reads back bit for bit), so a cache can be inspected and a corrupt one is detected
 * rather than trusted: every field must be present exactly once and parse completely.
 */
#include "cache.h"
#include "metrics.h"
#include "phase.h"
#include "wl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ the cache */

struct wl_cache {
    char *dir;
    pthread_mutex_t mu_storage;
    pthread_mutex_t *mu; /* &mu_storage (lockable through a const handle); guards stats, seq */
    wl_cache_stats stats;
    uint64_t seq; /* temporary-file counter */
};

/* The computed columns of a layer, in entry order: one table drives writing and reading. */
typedef enum field_kind { F_F64, F_I64, F_INT } field_kind;

typedef struct field {
    const char *name;
    size_t offset;
    field_kind kind;
} field;

/* clang-format off */
#define FD(m) {#m, offsetof(wl_layer, m), F_F64}
#define FI(m) {#m, offsetof(wl_layer, m), F_I64}
#define FB(m) {#m, offsetof(wl_layer, m), F_INT}
static const field fields[] = {
    FI(num_evals), FD(alpha), FD(D), FD(xmin), FD(xmax), FD(sigma), FI(num_pl_spikes),
    FD(alpha_weighted), FD(alpha_se), FD(alpha_lo), FD(alpha_hi), FD(alpha_spread), FD(lambda_max), FD(norm), FD(log_norm), FD(log_spectral_norm),
    FD(log_alpha_norm), FD(stable_rank), FD(entropy), FD(sv_max), FD(sv_min),
    FI(matrix_rank), FI(rank_loss), FI(weak_rank_loss),
    FB(has_mp), FI(num_spikes), FD(sigma_mp), FD(mp_softrank), FD(bulk_min), FD(bulk_max),
    FD(W_scale),
    FB(has_rand), FI(rand_num_spikes), FD(rand_sigma_mp), FD(rand_mp_softrank),
    FD(rand_bulk_max), FD(max_rand_eval), FD(rand_distance), FD(ww_softrank),
};
/* clang-format on */
#undef FD
#undef FI
#undef FB
#define N_FIELDS (sizeof fields / sizeof fields[0])

static const char entry_magic[] = "weightlint-cache";

static void count(wl_cache *c, uint64_t *counter)
{
    pthread_mutex_lock(c->mu);
    (*counter)++;
    pthread_mutex_unlock(c->mu);
}

static void hex(const uint8_t *key, char out[2 * WL_CACHE_KEY_BYTES + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < WL_CACHE_KEY_BYTES; i++) {
        out[2 * i] = digits[key[i] >> 4];
        out[2 * i + 1] = digits[key[i] & 15];
    }
    out[2 * WL_CACHE_KEY_BYTES] = '\0';
}

/* mkdir -p for one path; 0 or -1 with errno. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

wl_status wl_cache_open(const char *dir, wl_cache **out, wl_err *err)
{
    *out = NULL;
    if (dir == NULL || *dir == '\0')
        return WL_FAIL(err, WL_E_USAGE, "cache directory: empty path");
    if (make_dirs(dir) != 0) {
        int e = errno;
        wl_status st = WL_FAIL(err, WL_E_IO, "cache directory '%s': %s", dir, strerror(e));
        err->sys_errno = e;
        return st;
    }
    wl_cache *c = calloc(1, sizeof *c);
    if (c == NULL || (c->dir = strdup(dir)) == NULL) {
        free(c);
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    }
    c->mu = &c->mu_storage;
    pthread_mutex_init(c->mu, NULL);
    *out = c;
    return WL_OK;
}

void wl_cache_close(wl_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(c->mu);
    free(c->dir);
    free(c);
}

void wl_cache_get_stats(const wl_cache *c, wl_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    pthread_mutex_lock(c->mu);
    *out = c->stats;
    pthread_mutex_unlock(c->mu);
}

static void hash_i64(struct sha256_ctx *s, int64_t v)
{
    sha256_update(s, sizeof v, (const uint8_t *)&v);
}

static void hash_str(struct sha256_ctx *s, const char *str)
{
    sha256_update(s, strlen(str) + 1, (const uint8_t *)str);
}

void wl_cache_key(const wl_options *opts, const wl_layer *l, const int64_t *mdims, int mrank,
                  const double *w, size_t n, uint8_t key[WL_CACHE_KEY_BYTES])
{
    struct sha256_ctx s;
    sha256_init(&s);
    const uint32_t order = 0x01020304; /* host byte order of the hashed numbers */
    hash_str(&s, entry_magic);
    hash_i64(&s, WL_CACHE_FORMAT);
    hash_str(&s, wl_version());
    hash_str(&s, wl_blas_info());
    sha256_update(&s, sizeof order, (const uint8_t *)&order);
    hash_i64(&s, (int64_t)sizeof(double));
    hash_i64(&s, (int64_t)opts->compat);
    hash_i64(&s, opts->mp_fit);
    hash_i64(&s, opts->fast);
    hash_i64(&s, opts->randomize);
    if (opts->randomize) {
        hash_i64(&s, (int64_t)opts->seed);
        hash_i64(&s, l->layer_id);
    }
    hash_i64(&s, l->N);
    hash_i64(&s, l->M);
    hash_i64(&s, l->rf);
    hash_i64(&s, mrank);
    for (int i = 0; i < mrank; i++)
        hash_i64(&s, mdims[i]);
    if (mrank == 4) /* w is in slice order (score.c): never the key of a stored-order kernel */
        hash_str(&s, "conv kernel in slice order [out, kh*kw, in]");
    hash_i64(&s, (int64_t)n);
    sha256_update(&s, n * sizeof *w, (const uint8_t *)w);
    sha256_digest(&s, WL_CACHE_KEY_BYTES, key);
}

static void entry_path(const wl_cache *c, const uint8_t *key, char *buf, size_t size, int dir_only)
{
    char h[2 * WL_CACHE_KEY_BYTES + 1];
    hex(key, h);
    if (dir_only)
        snprintf(buf, size, "%s/%.2s", c->dir, h);
    else
        snprintf(buf, size, "%s/%.2s/%s", c->dir, h, h);
}

/* Reads a whole entry (at most WL_CACHE_MAX_ENTRY bytes) into a new NUL-terminated buffer. */
static char *read_entry(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(WL_CACHE_MAX_ENTRY + 1);
    size_t n = buf ? fread(buf, 1, WL_CACHE_MAX_ENTRY + 1, f) : 0;
    int bad = ferror(f) || n > WL_CACHE_MAX_ENTRY;
    fclose(f);
    if (buf == NULL || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Parses one field value; 0 on success. The whole token must be consumed. */
static int parse_field(const field *fd, const char *v, wl_layer *l)
{
    char *end;
    errno = 0;
    void *dst = (char *)l + fd->offset;
    if (fd->kind == F_F64) {
        double d = strtod(v, &end);
        if (end == v || *end != '\0')
            return -1;
        memcpy(dst, &d, sizeof d);
    } else {
        long long x = strtoll(v, &end, 10);
        if (end == v || *end != '\0' || errno == ERANGE)
            return -1;
        if (fd->kind == F_I64) {
            int64_t y = x;
            memcpy(dst, &y, sizeof y);
        } else {
            if (x != 0 && x != 1)
                return -1;
            int y = (int)x;
            memcpy(dst, &y, sizeof y);
        }
    }
    return 0;
}

/* Parses an entry into *l (a scratch copy); 0 when it is complete and well-formed. */
static int parse_entry(char *text, const char *want_key, wl_layer *l)
{
    unsigned char seen[N_FIELDS] = {0};
    int has_status = 0, has_reason = 0, has_end = 0, line_no = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        if (has_end)
            return -1; /* nothing may follow the trailer */
        if (strcmp(line, "end") == 0 && line_no > 2) {
            has_end = 1;
            continue;
        }
        char *sp = strchr(line, ' ');
        const char *v = sp ? sp + 1 : "";
        if (sp)
            *sp = '\0';
        if (line_no == 1) {
            char want[32];
            snprintf(want, sizeof want, "%d", WL_CACHE_FORMAT);
            if (strcmp(line, entry_magic) != 0 || strcmp(v, want) != 0)
                return -1;
        } else if (line_no == 2) {
            if (strcmp(line, "key") != 0 || strcmp(v, want_key) != 0)
                return -1;
        } else if (strcmp(line, "status") == 0 && !has_status) {
            if (strcmp(v, "success") == 0)
                l->status = WL_LAYER_SUCCESS;
            else if (strcmp(v, "failed") == 0)
                l->status = WL_LAYER_FIT_FAILED;
            else
                return -1;
            has_status = 1;
        } else if (strcmp(line, "status_reason") == 0 && !has_reason) {
            if (strlen(v) >= sizeof l->status_reason)
                return -1;
            snprintf(l->status_reason, sizeof l->status_reason, "%s", v);
            has_reason = 1;
        } else {
            size_t i = 0;
            while (i < N_FIELDS && strcmp(fields[i].name, line) != 0)
                i++;
            if (i == N_FIELDS || seen[i] || parse_field(&fields[i], v, l) != 0)
                return -1;
            seen[i] = 1;
        }
    }
    if (!has_status || !has_reason || !has_end)
        return -1; /* a torn entry (its last value may be cut mid-number) is never trusted */
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!seen[i])
            return -1;
    return 0;
}

int wl_cache_lookup(wl_cache *c, const uint8_t key[WL_CACHE_KEY_BYTES], wl_layer *l)
{
    char path[4200], h[2 * WL_CACHE_KEY_BYTES + 1];
    entry_path(c, key, path, sizeof path, 0);
    hex(key, h);
    if (access(path, F_OK) != 0) {
        count(c, &c->stats.misses);
        return 0;
    }
    char *text = read_entry(path);
    wl_layer tmp = *l;
    if (text == NULL || parse_entry(text, h, &tmp) != 0) {
        free(text);
        count(c, &c->stats.bad_entries);
        count(c, &c->stats.misses);
        return 0;
    }
    free(text);
    /* copy the computed columns only: the identity columns and owned pointers stay l's */
    for (size_t i = 0; i < N_FIELDS; i++) {
        size_t sz = fields[i].kind == F_F64   ? sizeof(double)
                    : fields[i].kind == F_I64 ? sizeof(int64_t)
                                              : sizeof(int);
        memcpy((char *)l + fields[i].offset, (const char *)&tmp + fields[i].offset, sz);
    }
    l->status = tmp.status;
    memcpy(l->status_reason, tmp.status_reason, sizeof l->status_reason);
    l->warning = wl_metrics_warning(l->alpha);
    wl_phase_assign(l);
    count(c, &c->stats.hits);
    return 1;
}

void wl_cache_store(wl_cache *c, const uint8_t key[WL_CACHE_KEY_BYTES], const wl_layer *l)
{
    if (l->status != WL_LAYER_SUCCESS && l->status != WL_LAYER_FIT_FAILED)
        return; /* non-finite layers are cheap to find again and carry a position */
    char dir[4200], path[4200], tmp[4400], h[2 * WL_CACHE_KEY_BYTES + 1];
    entry_path(c, key, dir, sizeof dir, 1);
    entry_path(c, key, path, sizeof path, 0);
    hex(key, h);
    pthread_mutex_lock(c->mu);
    uint64_t seq = c->seq++;
    pthread_mutex_unlock(c->mu);
    /* The temporary name is unique per host, process and store, and created exclusively: on a
     * cache shared by shards on several machines (NFS), two writers never share one. The
     * rename then replaces an entry atomically, so a reader sees a whole entry or none. */
    char host[64] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    for (char *q = host; *q; q++)
        if (*q == '/')
            *q = '_';
    snprintf(tmp, sizeof tmp, "%s/.%s.%s.%ld.%" PRIu64 ".tmp", dir, h, host, (long)getpid(),
             seq);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        goto fail;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0) {
            close(fd);
            remove(tmp);
        }
        goto fail;
    }
    fprintf(f, "%s %d\nkey %s\nstatus %s\nstatus_reason %s\n", entry_magic, WL_CACHE_FORMAT, h,
            l->status == WL_LAYER_SUCCESS ? "success" : "failed", l->status_reason);
    for (size_t i = 0; i < N_FIELDS; i++) {
        const void *src = (const char *)l + fields[i].offset;
        if (fields[i].kind == F_F64) {
            double d;
            memcpy(&d, src, sizeof d);
            /* %a is exact; NaN's sign does not matter to any consumer */
            if (isnan(d))
                fprintf(f, "%s nan\n", fields[i].name);
            else
                fprintf(f, "%s %a\n", fields[i].name, d);
        } else if (fields[i].kind == F_I64) {
            int64_t x;
            memcpy(&x, src, sizeof x);
            fprintf(f, "%s %" PRId64 "\n", fields[i].name, x);
        } else {
            int x;
            memcpy(&x, src, sizeof x);
            fprintf(f, "%s %d\n", fields[i].name, x);
        }
    }
    fputs("end\n", f); /* an entry without it was cut short (a full disk, a crash) */
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        remove(tmp);
        goto fail;
    }
    count(c, &c->stats.stores);
    return;
fail:
    count(c, &c->stats.store_failures);
}
