/*
 * failmalloc.c — allocation-failure injection for tests only (issue #12): an LD_PRELOAD shim
 * that makes the Nth heap allocation of a run return NULL (errno ENOMEM), so every recovery
 * path of weightlint can be driven without touching the library (SQLite's test_malloc.c and
 * jq's inject_errors.c do the same inside the program; a shim keeps src/ free of test seams).
 *
 *   WL_FAILMALLOC_N=N       fail the Nth allocation (1-based) counted from main(); 0/unset: none
 *   WL_FAILMALLOC_COUNT=F   at exit, write the number of allocations counted to file F
 *   (gdb: `break failmalloc_hit` stops at the failing allocation)
 *
 * Counted: malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, strdup, strndup,
 * made by weightlint, its libraries (libyaml, protobuf-c, OpenBLAS, libc's own stdio, getline,
 * asprintf...) on any thread, from the first instruction of main() on: allocations of the
 * shared libraries' constructors are not counted (failing them tests those libraries, not
 * weightlint). Only the Nth fails; later ones succeed, so each run tests one recovery path.
 *
 * Under AddressSanitizer: preload this shim before libasan (LD_PRELOAD="failmalloc.so
 * libasan.so.8", ASAN_OPTIONS=verify_asan_link_order=0). Every call is then passed on to
 * ASan's allocator through dlsym(RTLD_NEXT), so leaks and misuse are still caught; strdup and
 * strndup are wrapped too because ASan implements them without calling malloc.
 * tests/scripts/alloc_failures.sh runs the sweep; tests/alloc/README.md has the results.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static char *(*real_strdup)(const char *);
static char *(*real_strndup)(const char *, size_t);

static atomic_ulong n_counted; /* allocations since main() */
static atomic_int counting;    /* set when main() starts */
static unsigned long fail_at;  /* WL_FAILMALLOC_N */
static int resolving;

/* dlsym itself may allocate before the real functions are known: serve it from here. */
static _Alignas(16) char boot[8192];
static size_t boot_used;

static int from_boot(const void *p)
{
    return (const char *)p >= boot && (const char *)p < boot + sizeof boot;
}

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot)
        return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p;
}

static void resolve(void)
{
    if (real_malloc || resolving)
        return;
    resolving = 1;
    real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    real_strdup = (char *(*)(const char *))dlsym(RTLD_NEXT, "strdup");
    real_strndup = (char *(*)(const char *, size_t))dlsym(RTLD_NEXT, "strndup");
    resolving = 0;
}

/* Called on the failing allocation: `break failmalloc_hit` in gdb shows who asked. */
__attribute__((noinline)) void failmalloc_hit(unsigned long n);
__attribute__((noinline)) void failmalloc_hit(unsigned long n)
{
    __asm__ volatile("" ::"r"(n) : "memory");
}

/* 1 when this allocation is the one to fail. */
static int should_fail(void)
{
    if (!atomic_load(&counting))
        return 0;
    unsigned long k = atomic_fetch_add(&n_counted, 1) + 1;
    if (fail_at != 0 && k == fail_at) {
        failmalloc_hit(k);
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *malloc(size_t n)
{
    resolve();
    if (!real_malloc)
        return boot_alloc(n);
    return should_fail() ? NULL : real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    resolve();
    if (!real_calloc) {
        if (b && a > (size_t)-1 / b)
            return NULL;
        return boot_alloc(a * b); /* static memory: already zero */
    }
    return should_fail() ? NULL : real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    resolve();
    if (from_boot(p)) {
        void *q = malloc(n);
        if (q)
            memcpy(q, p, n < sizeof boot - (size_t)((char *)p - boot) ? n : sizeof boot - (size_t)((char *)p - boot));
        return q;
    }
    return should_fail() ? NULL : real_realloc(p, n);
}

void free(void *p)
{
    if (p == NULL || from_boot(p))
        return;
    resolve();
    real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    resolve();
    return should_fail() ? ENOMEM : real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    resolve();
    return should_fail() ? NULL : real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
    resolve();
    return should_fail() ? NULL : real_memalign(align, n);
}

char *strdup(const char *s)
{
    resolve();
    return should_fail() ? NULL : real_strdup(s);
}

char *strndup(const char *s, size_t n)
{
    resolve();
    return should_fail() ? NULL : real_strndup(s, n);
}

/* Counting starts with main(): wrap the main that libc's start routine is given. */
typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int counted_main(int argc, char **argv, char **envp)
{
    /* read here, not at the first allocation: under ASan that comes before the environment */
    const char *n = getenv("WL_FAILMALLOC_N");
    fail_at = n ? strtoul(n, NULL, 10) : 0;
    atomic_store(&counting, 1);
    return real_main(argc, argv, envp);
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end);
int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    int (*real_start)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
                      void *) =
        (int (*)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
                 void *))dlsym(RTLD_NEXT, "__libc_start_main");
    real_main = main;
    return real_start(counted_main, argc, argv, init, fini, rtld_fini, stack_end);
}

__attribute__((destructor)) static void report_count(void)
{
    const char *path = getenv("WL_FAILMALLOC_COUNT");
    if (!path)
        return;
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%lu\n", atomic_load(&n_counted));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        if (write(fd, buf, (size_t)len) != len) {
            /* nothing to do: the sweep sees a missing count */
        }
        close(fd);
    }
}
