/*
 * fuzz_dtype.c — libFuzzer entry for the raw-data decoders of src/dtype.c (float16, bfloat16,
 * the FLOAT8 and FLOAT4 formats, packed INT4/UINT4/INT2/UINT2, ...), which turn the bytes of
 * a model's raw_data into doubles. The first input byte picks the ONNX data_type; the rest is
 * the payload, decoded as the most elements it holds (wl_dtype_bytes of them must fit), into
 * a buffer of exactly that many doubles, so a decoder reading or writing past either end is
 * caught by ASan. Integer types must decode to integers in their range; a float type may give
 * NaN or Inf (a per-layer finding, not an error).
 */
#include "dtype.h"

#include "fuzz_common.h"

#include <math.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const wl_dtype_info *dt = wl_dtype_get(data[0] % 32);
    if (dt == NULL || dt->elem_bits == 0 || dt->raw_to_double == NULL)
        return 0;
    size_t avail = size - 1;
    size_t n = (size_t)((uint64_t)avail * 8 / dt->elem_bits);
    if (wl_dtype_bytes(dt, n) > avail)
        abort(); /* the size rule and the element count disagree */
    /* a private copy of exactly the payload bytes, so a read past them is an ASan report */
    uint8_t *src = malloc(avail ? avail : 1);
    double *dst = malloc((n ? n : 1) * sizeof *dst);
    if (!src || !dst)
        abort();
    memcpy(src, data + 1, avail);
    dt->raw_to_double(src, n, dst);
    for (size_t i = 0; i < n; i++) {
        double v = dst[i];
        int is_float = strstr(dt->name, "FLOAT") != NULL || strcmp(dt->name, "DOUBLE") == 0;
        if (!is_float && (!isfinite(v) || v != floor(v)))
            abort(); /* an integer type decoded to a non-integer */
    }
    free(src);
    free(dst);
    return 0;
}
