/*
 * fuzz_onnx.c — libFuzzer entry for the ONNX loader and the analysis behind it (STYLE.md §9.7).
 * Each input is written as model.onnx into a private temporary folder that also holds a
 * 64 KiB file "w.data", so external-data tensors can succeed as well as fail, and analyzed with
 * wl_analyze_file in the default mode and in --compat ww (for inputs whose last byte is odd, as
 * shard 1 of 2). Any status is fine; a crash, a
 * sanitizer report or a leak is a bug. How to build and run it: tests/fuzz/README.md.
 */
#include "weightlint.h"

#include "fuzz_common.h"

static const char *model_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("fuzz_onnx");
    static uint8_t blob[65536];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)(i * 37u + (i >> 8));
    fuzz_write(fuzz_path("w.data"), blob, sizeof blob);
    model_path = fuzz_path("model.onnx");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(model_path, data, size);
    for (int mode = 0; mode < 2; mode++) {
        wl_options opts;
        wl_options_init(&opts, mode ? WL_COMPAT_WW : WL_COMPAT_NONE);
        opts.threads = 1;
        /* Half the inputs (the fuzzer picks which by the last byte) run the ww pass as shard 1
         * of 2: the shard assignment and the hash of the model's files, w.data included. */
        if (mode == 1 && size > 0 && (data[size - 1] & 1)) {
            opts.shard_index = 1;
            opts.shard_count = 2;
        }
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
