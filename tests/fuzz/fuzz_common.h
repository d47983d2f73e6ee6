/*
 * fuzz_common.h — what every libFuzzer target of tests/fuzz shares: a private temporary folder
 * made once per process (removed at exit with the files the target registered), and a writer
 * that puts a fuzz input into a file there. Header-only on purpose: each target is one
 * translation unit that run.sh compiles with the library sources.
 */
#ifndef WL_FUZZ_COMMON_H
#define WL_FUZZ_COMMON_H

#include "report.h"
#include "rules.h"
#include "weightlint.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_FILES 16

static char fuzz_dir[4000];
static char fuzz_files[FUZZ_MAX_FILES][4200];
static int fuzz_n_files;
static char fuzz_subdirs[FUZZ_MAX_FILES][4200];
static int fuzz_n_subdirs;

static void fuzz_cleanup(void)
{
    for (int i = 0; i < fuzz_n_files; i++)
        unlink(fuzz_files[i]);
    for (int i = fuzz_n_subdirs - 1; i >= 0; i--)
        rmdir(fuzz_subdirs[i]);
    rmdir(fuzz_dir);
}

/* Makes the private folder "$TMPDIR/<tag>.XXXXXX" (aborts on failure: a harness problem). */
static void fuzz_make_dir(const char *tag)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/%s.XXXXXX", base, tag);
    if (mkdtemp(fuzz_dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup);
}

/* The path of `name` inside the private folder, registered for removal at exit. Call once
 * per name (at initialisation) and keep the pointer. */
static const char *fuzz_path(const char *name)
{
    if (fuzz_n_files == FUZZ_MAX_FILES)
        abort();
    snprintf(fuzz_files[fuzz_n_files], sizeof fuzz_files[0], "%s/%s", fuzz_dir, name);
    return fuzz_files[fuzz_n_files++];
}

/* Registers a subfolder path (created by the target) for removal at exit. */
static void fuzz_register_dir(const char *path)
{
    if (fuzz_n_subdirs == FUZZ_MAX_FILES)
        abort();
    snprintf(fuzz_subdirs[fuzz_n_subdirs++], sizeof fuzz_subdirs[0], "%s", path);
}

static void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n <= 0) {
            perror(path);
            abort();
        }
        data += n;
        size -= (size_t)n;
    }
    close(fd);
}

/* What a reader's successful result must survive: the default rules and every report format
 * over the model `a` (a trusted result from here on, whatever input it came from). A failure
 * is a broken contract: abort. */
__attribute__((unused)) static void fuzz_lint(wl_analysis *a)
{
    wl_rules *r = NULL;
    wl_err err;
    wl_err_clear(&err);
    if (wl_rules_new_default(&r, &err) != WL_OK)
        abort();
    wl_findings f = {0};
    if (wl_rules_eval(r, a, &f, &err) != WL_OK)
        abort();
    wl_report_model rm = {a->path, "preset:default", a, WL_OK, NULL};
    wl_report rep = {&rm, 1, &f, WL_SEV_INFO, WL_SEV_ERROR, 0, 0, 0, 1};
    FILE *null = fopen("/dev/null", "w");
    if (!null)
        abort();
    for (int fmt = 0; fmt < WL_REPORT_N_FORMATS; fmt++) {
        wl_err_clear(&err);
        if (wl_report_write(null, (wl_report_format)fmt, &rep, &err) != WL_OK)
            abort();
    }
    fclose(null);
    wl_findings_clear(&f);
    wl_rules_free(r);
}

#endif
