/*
 * mapfile.c — opening and mapping model files (see mapfile.h).
 */
#include "mapfile.h"

#include "wl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char lfs_magic[] = "version https://git-lfs.github.com/spec/v1";

char *wl_path_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    size_t n = (size_t)(slash - path) + (slash == path); /* "/m.onnx" -> "/" */
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

wl_status wl_mapfile_open(const char *path, const char *what, wl_mapfile **out, wl_err *err)
{
    *out = NULL;
    wl_mapfile *m = calloc(1, sizeof *m);
    int fd = -1;
    wl_status st = WL_OK;
    if (m == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
    m->path = strdup(path);
    m->dir = wl_path_dir(path);
    if (m->path == NULL || m->dir == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = WL_FAIL(err, WL_E_IO, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = WL_FAIL(err, WL_E_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = WL_FAIL(err, WL_E_IO, "%s: is a directory, not %s file", path, what);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = WL_FAIL(err, WL_E_IO, "%s: not a regular file", path);
        goto out;
    }
    if (sb.st_size == 0) {
        st = WL_FAIL(err, WL_E_FORMAT, "%s: empty file (0 bytes), not %s", path, what);
        goto out;
    }
    m->size = (size_t)sb.st_size;
    void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        st = WL_FAIL(err, WL_E_IO, "%s: cannot map %zu bytes: %s", path, m->size, strerror(errno));
        goto out;
    }
    m->data = p;
    if (m->size >= sizeof lfs_magic - 1 && memcmp(m->data, lfs_magic, sizeof lfs_magic - 1) == 0)
        st = WL_FAIL(err, WL_E_FORMAT,
                     "%s: this is a Git LFS pointer file, not the model itself; fetch the real "
                     "file with 'git lfs pull' (on GitHub Actions: actions/checkout with "
                     "'lfs: true')",
                     path);
out:
    if (fd >= 0)
        close(fd);
    if (st != WL_OK) {
        wl_mapfile_close(m);
        return st;
    }
    *out = m;
    return WL_OK;
}

void wl_mapfile_close(wl_mapfile *m)
{
    if (m == NULL)
        return;
    if (m->data != NULL)
        munmap((void *)(uintptr_t)m->data, m->size);
    free(m->path);
    free(m->dir);
    free(m);
}

void wl_map_release_range(const void *base, size_t len, const void *lo_p, const void *hi_p)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t b = (uintptr_t)base, e = b + len;
    uintptr_t lo = (uintptr_t)lo_p, hi = (uintptr_t)hi_p;
    if (base == NULL || lo < b || lo > e)
        return;
    lo = b + ((lo - b) / page) * page;
    hi = b + ((hi - b + page - 1) / page) * page;
    if (hi > e)
        hi = e;
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void wl_mapfile_release(const wl_mapfile *m, const void *lo, const void *hi)
{
    if (m != NULL)
        wl_map_release_range(m->data, m->size, lo, hi);
}

void wl_mapfile_release_all(const wl_mapfile *m)
{
    if (m != NULL)
        wl_map_release_range(m->data, m->size, m->data, m->data + m->size);
}

void wl_mapfile_hash(const wl_mapfile *m, struct sha256_ctx *h)
{
    for (size_t off = 0; m != NULL && off < m->size; off += WL_MAPFILE_HASH_CHUNK) {
        size_t k = m->size - off < WL_MAPFILE_HASH_CHUNK ? m->size - off : WL_MAPFILE_HASH_CHUNK;
        sha256_update(h, k, m->data + off);
        wl_mapfile_release(m, m->data + off, m->data + off + k);
    }
}

wl_status wl_path_contain(const char *dir, const char *location, const char *what,
                          const char *folder, char **out, wl_err *err)
{
    *out = NULL;
    if (location[0] == '\0')
        return WL_FAIL(err, WL_E_FORMAT, "%s is empty", what);
    if (location[0] == '/' || location[0] == '\\')
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s '%s' is an absolute path (refused: it must stay inside %s)", what,
                       location, folder);
    for (const char *p = location; *p;) {
        const char *q = p;
        while (*q && *q != '/' && *q != '\\')
            q++;
        if (q - p == 2 && p[0] == '.' && p[1] == '.')
            return WL_FAIL(err, WL_E_FORMAT, "%s '%s' escapes %s through '..' (refused)", what,
                           location, folder);
        p = *q ? q + 1 : q;
    }
    char real_dir[PATH_MAX], real_file[PATH_MAX], joined[PATH_MAX * 2];
    if (realpath(dir, real_dir) == NULL)
        return WL_FAIL(err, WL_E_IO, "cannot resolve %s '%s': %s", folder, dir, strerror(errno));
    snprintf(joined, sizeof joined, "%s/%s", dir, location);
    if (realpath(joined, real_file) == NULL)
        return WL_FAIL(err, WL_E_IO, "file '%s' (%s '%s'): %s", joined, what, location,
                       strerror(errno));
    size_t dl = strlen(real_dir);
    if (strncmp(real_file, real_dir, dl) != 0 || (real_file[dl] != '/' && dl != 1))
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s '%s' resolves to '%s', outside %s '%s' (symlink escape refused)", what,
                       location, real_file, folder, real_dir);
    *out = strdup(real_file);
    if (*out == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    return WL_OK;
}
