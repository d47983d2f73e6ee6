/*
 * membudget.h — what the worker pool of analyze.c counts against its memory budget, in one
 * place so that a unit test can check the admitted bytes (issue #13). The bound is 64 MB +
 * 3 x the largest matrix in float64. Everything resident while a job runs is counted: the
 * worker's widening buffer and a BLAS thread buffer (held across jobs), the job's Gram, copies,
 * spectra and fit arrays, and the window of mapped file pages it reads (WL_WIDEN_WINDOW_BYTES).
 * Freed heap memory is given back to the kernel after every job (malloc_trim), so it is not
 * held between jobs uncounted.
 */
#ifndef WL_MEMBUDGET_H
#define WL_MEMBUDGET_H

#include "weightlint.h"

#include <stdint.h>

/* The fixed part of the bound: the binary, its libraries, the tensor headers and result rows. */
#define WL_MEM_FIXED_BYTES ((uint64_t)64 << 20)
/* What the process holds before any job: the binary's and libraries' touched pages, the tensor
 * headers and result rows of a model of up to a few thousand tensors (measured: 16 MB peak on
 * the bundled MLPs, 12 MB with --layers none). The budget admits jobs up to the bound minus this. */
#define WL_MEM_BASELINE_BYTES ((uint64_t)16 << 20)
/* What one OpenBLAS thread keeps touched in its packing buffer once it has run a dsyrk (measured
 * with /proc/PID/smaps on 1024x4096 and 2048x8192: 3 MB; counted with margin). */
#define WL_BLAS_THREAD_BYTES ((uint64_t)6 << 20)

/* Predicted cost of scoring a rows x cols matrix in `slices` slices: dsyrk plus dsyevd flops up
 * to constants. Orders the pool (largest first) and balances --shard. */
uint64_t wl_job_cost(uint64_t rows, uint64_t cols, uint64_t slices);

/* Bytes a job allocates while it runs beyond its worker's widening buffer, with these options. */
uint64_t wl_job_work_bytes(uint64_t rows, uint64_t cols, uint64_t slices,
                           const wl_options *opts);

/* The pool's budget for a model whose largest matrix takes largest_tensor_bytes in float64: the
 * bound, 64 MB + 3 x largest, less the baseline. */
uint64_t wl_pool_budget(uint64_t largest_tensor_bytes);

#endif
