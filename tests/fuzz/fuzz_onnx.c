/*
 * fuzz_onnx.c — libFuzzer entry for the ONNX loader and the analysis behind it (STYLE.md §9.7).
 * Each input is written as model.onnx into a private temporary folder that also holds a
 * 64 KiB file "w.data", so external-data tensors can succeed as well as fail, and analyzed with
 * wl_analyze_file in the default mode and in --compat ww. Any status is fine; a crash, a
 * sanitizer report or a leak is a bug. How to build and run it: tests/fuzz/README.md.
 */
#include "weightlint.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir_path[4000], data_path[4096 + 16], model_path[4096 + 16];

/* Removes the temporary folder when libFuzzer exits. */
static void cleanup(void)
{
    unlink(model_path);
    unlink(data_path);
    rmdir(dir_path);
}

static void write_all(const char *path, const uint8_t *data, size_t size)
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir_path, sizeof dir_path, "%s/fuzz_onnx.XXXXXX", base);
    if (mkdtemp(dir_path) == NULL) {
        perror("mkdtemp");
        abort();
    }
    static uint8_t blob[65536];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)(i * 37u + (i >> 8));
    snprintf(data_path, sizeof data_path, "%s/w.data", dir_path);
    write_all(data_path, blob, sizeof blob);
    snprintf(model_path, sizeof model_path, "%s/model.onnx", dir_path);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_all(model_path, data, size);
    for (int mode = 0; mode < 2; mode++) {
        wl_options opts;
        wl_options_init(&opts, mode ? WL_COMPAT_WW : WL_COMPAT_NONE);
        opts.threads = 1;
        wl_analysis *a = NULL;
        wl_err err;
        wl_err_clear(&err);
        wl_status st = wl_analyze_file(model_path, &opts, &a, &err);
        /* Contract: success gives an analysis; failure gives none and a message. */
        if ((st == WL_OK) != (a != NULL) || (st != WL_OK && err.msg[0] == '\0'))
            abort();
        wl_analysis_free(a);
    }
    return 0;
}
