/* conv_bench's results: one row per layer, printed as a table, written as
 * JSON (docs/bench-format.md, "conv_bench --json") and as an SVG chart. */
#ifndef CONV_REPORT_H
#define CONV_REPORT_H

#include "conv_desc.h"
#include "kernels/kernels.h"

/* What one row measures: clayer's algorithms (their cly_conv_algo values,
 * from CLY_CONV_DIRECT), CLBlast's two references (on the OpenCL device),
 * then oneDNN on the host CPU in its blocked and plain layouts (the peers,
 * skipped where conv_bench was built without oneDNN). */
enum {
    SERIES_CONVGEMM = CLY_CONV_ALGO_COUNT,
    SERIES_IM2COL_SGEMM,
    SERIES_ONEDNN_BLOCKED,
    SERIES_ONEDNN_PLAIN,
    SERIES_COUNT
};
enum { SERIES_FIRST = CLY_CONV_DIRECT, SERIES_OPENCL_END = SERIES_ONEDNN_BLOCKED };

typedef struct conv_row {
    conv_desc d;
    double flops;               /* 2 * N*K*OH*OW * C/G*FH*FW */
    cly_conv_algo pick;         /* what AUTO chooses */
    double ms[SERIES_COUNT];    /* median device ms; < 0: did not run */
    double err[SERIES_COUNT];   /* max |y - ref| / max |ref|; < 0: not checked */
    double min_ms[SERIES_COUNT]; /* the fastest run (oneDNN only); < 0: not recorded */
    int reference;              /* the series clayer and CLBlast were checked against; -1: none ran */
    int onednn_checked;         /* the clayer series oneDNN's outputs were checked against; -1: none */
    char onednn_impl[2][48];    /* the implementation oneDNN picked, blocked and plain */
    char why[SERIES_COUNT][192]; /* why a series did not run */
} conv_row;

/* "direct", "im2col", "gemm1x1", "clblast_convgemm", "clblast_im2col_sgemm",
 * "onednn_blocked", "onednn_plain". */
const char *conv_series_name(int series);
/* The fastest clayer algorithm of a row; CLY_CONV_AUTO when none ran. */
cly_conv_algo conv_row_best(const conv_row *r);
/* time(reference) / time(series): above 1, the series is faster; < 0 if unknown. */
double conv_row_speedup(const conv_row *r, int series, int reference);

/* The summary table: per layer, the best clayer algorithm against both references. */
void conv_print_summary(const conv_row *rows, size_t n);
/* What ran the oneDNN series: its version ("oneDNN 2.6.3 (OpenMP threads)",
 * or why it is missing) and its thread count (0: not set). */
typedef struct conv_peer_info {
    char onednn[96];
    int onednn_threads;
    const char *wait_policy; /* $OMP_WAIT_POLICY; NULL: unset (libgomp's default) */
} conv_peer_info;

/* 0, or 1 after printing why the file could not be written. `set` is the
 * --set given (NULL with explicit shapes), mb the --mb override (0: none). */
int conv_write_json(const char *path, const cly_device_info *dev, const conv_peer_info *peers, int runs, int mb,
                    const char *set, const conv_row *rows, size_t n);
int conv_write_svg(const char *path, const cly_device_info *dev, int runs, const conv_row *rows, size_t n);

#endif
