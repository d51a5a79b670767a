/* The C consumer: every exported function called from C99 the way a C user would,
 * including the misuse a C user can commit (NULL, bad handles, bad views) and threads. */
#include "oxbridge.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static oxb_view view_of(void *data, size_t len, ptrdiff_t stride, oxb_dtype dtype) {
    oxb_view v;
    v.data = data;
    v.len = len;
    v.stride = stride;
    v.dtype = dtype;
    return v;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static int close_to(double got, double want, double rel) {
    return fabs(got - want) <= rel * fabs(want) + 1e-300;
}

/* Deterministic pseudo-random doubles in [-1, 1) (xorshift64*), so runs are reproducible. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double next_uniform(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 4503599627370496.0 - 1.0;
}

static void test_version(void) {
    CHECK(strcmp(oxb_version(), OXB_VERSION) == 0);
    CHECK(oxb_abi_version() == OXB_ABI_VERSION);
    CHECK(oxb_header_hash() != 0);
    CHECK(OXB_VERSION_MAJOR >= 0 && OXB_VERSION_MINOR >= 0 && OXB_VERSION_PATCH >= 0);
}

/* The message pointer belongs to the thread, so it is inspected there. */
static void *last_error_in_new_thread(void *result) {
    const char *message = oxb_last_error_message();
    *(int *)result = message != NULL && strcmp(message, "") == 0;
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    pthread_t thread;
    int other_thread_clean = 0;
    CHECK(process_array(NULL, 3) < 0);
    CHECK(strlen(oxb_last_error_message()) > 0);
    CHECK(pthread_create(&thread, NULL, last_error_in_new_thread, &other_thread_clean) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(other_thread_clean);
    CHECK(strlen(oxb_last_error_message()) > 0);
}

static void test_seed_process_array(void) {
    double small[5] = {1.0, -2.5, 0.0, 1e308, -0.0};
    size_t n = 1u << 20, i;
    double *big = (double *)malloc(n * sizeof *big);
    int ok = 1;

    CHECK(process_array(small, 5) == 0);
    CHECK(small[0] == 2.0 && small[1] == -5.0 && small[2] == 0.0);
    CHECK(isinf(small[3]) && small[3] > 0);
    CHECK(same_bits(small[4], -0.0));

    CHECK(process_array(NULL, 0) == 0);
    CHECK(process_array(small, 0) == 0 && small[0] == 2.0);
    CHECK(process_array(NULL, 1) == -(int)OXB_NULL_POINTER);
    CHECK(strstr(oxb_last_error_message(), "data") != NULL);
    CHECK(process_array(small, -1) == -(int)OXB_INVALID_ARGUMENT);
    CHECK(strstr(oxb_last_error_message(), "-1") != NULL);
    CHECK(small[0] == 2.0);

    /* Large enough for the parallel path. */
    CHECK(big != NULL);
    if (big == NULL) return;
    for (i = 0; i < n; i++) big[i] = (double)i - 7.25;
    CHECK(process_array(big, (int)n) == 0);
    for (i = 0; i < n; i++) ok &= big[i] == 2.0 * ((double)i - 7.25);
    CHECK(ok);
    free(big);
}

static void test_process_every_dtype(void) {
    double f64[4] = {1.0, 2.0, -3.0, 0.5};
    float f32[4] = {1.0f, 2.0f, -3.0f, 0.5f};
    int64_t i64[4] = {1, 2, -3, 40};
    int32_t i32[4] = {1, 2, -3, 40};
    oxb_view v;

    v = view_of(f64, 4, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_process_array(&v, 3.0, 0.5));
    CHECK(f64[0] == 3.5 && f64[1] == 6.5 && f64[2] == -8.5 && f64[3] == 2.0);

    v = view_of(f32, 4, 1, OXB_DTYPE_F32);
    CHECK_OK(oxb_process_array(&v, 3.0, 0.5));
    CHECK(f32[0] == 3.5f && f32[1] == 6.5f && f32[2] == -8.5f && f32[3] == 2.0f);

    v = view_of(i64, 4, 1, OXB_DTYPE_I64);
    CHECK_OK(oxb_process_array(&v, -2.0, 7.0));
    CHECK(i64[0] == 5 && i64[1] == 3 && i64[2] == 13 && i64[3] == -73);

    v = view_of(i32, 4, 1, OXB_DTYPE_I32);
    CHECK_OK(oxb_process_array(&v, -2.0, 7.0));
    CHECK(i32[0] == 5 && i32[1] == 3 && i32[2] == 13 && i32[3] == -73);
}

static void test_process_strides(void) {
    double a[7] = {0, 1, 2, 3, 4, 5, 6};
    double b[5] = {10, 11, 12, 13, 14};
    double c[3] = {5, 6, 7};
    oxb_view v;

    /* Every second element: the others are untouched. */
    v = view_of(a, 4, 2, OXB_DTYPE_F64);
    CHECK_OK(oxb_process_array(&v, 2.0, 0.0));
    CHECK(a[0] == 0 && a[1] == 1 && a[2] == 4 && a[3] == 3 && a[4] == 8 && a[5] == 5 &&
          a[6] == 12);

    /* Negative stride: data points at the last element, as numpy's a[::-1] does. */
    v = view_of(&b[4], 5, -1, OXB_DTYPE_F64);
    CHECK_OK(oxb_process_array(&v, 1.0, 1.0));
    CHECK(b[0] == 11 && b[4] == 15);

    /* A zero stride is fine for one element but would alias for more. */
    v = view_of(c, 1, 0, OXB_DTYPE_F64);
    CHECK_OK(oxb_process_array(&v, 2.0, 0.0));
    CHECK(c[0] == 10);
    v = view_of(c, 3, 0, OXB_DTYPE_F64);
    CHECK_FAILS(oxb_process_array(&v, 2.0, 0.0), OXB_INVALID_ARGUMENT, "stride");
    CHECK(c[0] == 10 && c[1] == 6);
}

static void test_process_bad_input(void) {
    int64_t i64[3] = {1, INT64_MAX / 2 + 1, 3};
    int32_t i32[2] = {INT32_MIN, 0};
    double d[2] = {1.0, 2.0};
    char bytes[3 * sizeof(double)];
    oxb_view v;

    CHECK_FAILS(oxb_process_array(NULL, 2.0, 0.0), OXB_NULL_POINTER, "view");
    v = view_of(NULL, 2, 1, OXB_DTYPE_F64);
    CHECK_FAILS(oxb_process_array(&v, 2.0, 0.0), OXB_NULL_POINTER, "data");
    v = view_of(NULL, 0, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_process_array(&v, 2.0, 0.0));

    v = view_of(d, 2, 1, 99);
    CHECK_FAILS(oxb_process_array(&v, 2.0, 0.0), OXB_INVALID_ARGUMENT, "99");
    CHECK(d[0] == 1.0);

    /* Misaligned doubles are refused, not read. */
    memset(bytes, 0, sizeof bytes);
    v = view_of(bytes + 1, 2, 1, OXB_DTYPE_F64);
    CHECK_FAILS(oxb_process_array(&v, 2.0, 0.0), OXB_INVALID_ARGUMENT, "align");

    /* Integer overflow is found before anything is written. */
    v = view_of(i64, 3, 1, OXB_DTYPE_I64);
    CHECK_FAILS(oxb_process_array(&v, 2.0, 0.0), OXB_INVALID_ARGUMENT, "overflow");
    CHECK(i64[0] == 1 && i64[1] == INT64_MAX / 2 + 1 && i64[2] == 3);
    v = view_of(i32, 2, 1, OXB_DTYPE_I32);
    CHECK_FAILS(oxb_process_array(&v, -1.0, 0.0), OXB_INVALID_ARGUMENT, "overflow");
    CHECK(i32[0] == INT32_MIN && i32[1] == 0);

    /* Integers cannot take a fractional scale or a NaN offset. */
    v = view_of(i32 + 1, 1, 1, OXB_DTYPE_I32);
    CHECK_FAILS(oxb_process_array(&v, 0.5, 0.0), OXB_INVALID_ARGUMENT, "scale");
    CHECK_FAILS(oxb_process_array(&v, 1.0, NAN), OXB_INVALID_ARGUMENT, "offset");
    CHECK(i32[1] == 0);

    /* Success after failures clears nothing the caller relies on and works as before. */
    v = view_of(d, 2, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_process_array(&v, 2.0, 0.0));
    CHECK(d[0] == 2.0 && d[1] == 4.0);
}

static void test_accumulator_lifecycle(void) {
    size_t live_before = oxb_live_handles();
    oxb_accumulator acc = 0, other = 0;
    double values[6] = {1.0, 2.0, NAN, 4.0, -1.0, 0.5};
    int64_t ints[3] = {INT64_MAX, INT64_MAX, INT64_MAX};
    oxb_stats s;
    oxb_view v;

    CHECK_FAILS(oxb_accumulator_create(NULL), OXB_NULL_POINTER, "out");
    CHECK_OK(oxb_accumulator_create(&acc));
    CHECK(acc != 0);
    CHECK(oxb_live_handles() == live_before + 1);

    CHECK_OK(oxb_accumulator_stats(acc, &s));
    CHECK(s.count == 0 && s.nan_count == 0 && isnan(s.mean));

    v = view_of(values, 6, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_accumulator_push(acc, &v));
    CHECK_OK(oxb_accumulator_stats(acc, &s));
    CHECK(s.count == 5 && s.nan_count == 1);
    CHECK(s.sum == 6.5 && s.mean == 1.3 && s.min == -1.0 && s.max == 4.0);
    /* Population variance of {1, 2, 4, -1, 0.5}: mean 1.3, m2 = 13.8. */
    CHECK(close_to(s.m2, 13.8, 1e-14) && close_to(s.variance, 13.8 / 5, 1e-14));
    CHECK(s.is_integer == 0);
    CHECK_FAILS(oxb_accumulator_stats(acc, NULL), OXB_NULL_POINTER, "out");
    CHECK_FAILS(oxb_accumulator_push(acc, NULL), OXB_NULL_POINTER, "view");

    /* Exact integer sums past int64: 3 * (2^63 - 1) = 2^64 + (2^63 - 3). */
    CHECK_OK(oxb_accumulator_create(&other));
    v = view_of(ints, 3, 1, OXB_DTYPE_I64);
    CHECK_OK(oxb_accumulator_push(other, &v));
    CHECK_OK(oxb_accumulator_stats(other, &s));
    CHECK(s.is_integer == 1 && s.int_sum_high == 1 && s.int_sum_low == 0x7FFFFFFFFFFFFFFDull);
    CHECK(s.int_min == INT64_MAX && s.int_max == INT64_MAX);

    /* Merging: dst sees both, src is unchanged; self-merge doubles. */
    CHECK_OK(oxb_accumulator_merge(acc, other));
    CHECK_OK(oxb_accumulator_stats(acc, &s));
    CHECK(s.count == 8 && s.nan_count == 1 && s.max == (double)INT64_MAX && s.is_integer == 0);
    CHECK_OK(oxb_accumulator_stats(other, &s));
    CHECK(s.count == 3);
    CHECK_OK(oxb_accumulator_merge(other, other));
    CHECK_OK(oxb_accumulator_stats(other, &s));
    CHECK(s.count == 6 && s.int_sum_high == 2);

    CHECK_OK(oxb_accumulator_reset(acc));
    CHECK_OK(oxb_accumulator_stats(acc, &s));
    CHECK(s.count == 0 && s.nan_count == 0);

    /* Misuse: destroyed, never issued, zero and wrong handles are refused, not followed. */
    CHECK_OK(oxb_accumulator_destroy(acc));
    CHECK_FAILS(oxb_accumulator_destroy(acc), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_accumulator_stats(acc, &s), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_accumulator_push(acc, &v), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_accumulator_merge(acc, other), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_accumulator_merge(other, acc), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_accumulator_reset(acc), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_accumulator_reset(0), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_accumulator_stats(0xDEADBEEF12345678ull, &s), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_accumulator_destroy(UINT64_MAX), OXB_INVALID_HANDLE, "handle");
    CHECK_OK(oxb_accumulator_stats(other, &s));
    CHECK(s.count == 6);

    /* A new handle never equals a destroyed one, even when its slot is reused. */
    {
        oxb_accumulator again = 0;
        CHECK_OK(oxb_accumulator_create(&again));
        CHECK(again != acc);
        CHECK_FAILS(oxb_accumulator_stats(acc, &s), OXB_INVALID_HANDLE, "handle");
        CHECK_OK(oxb_accumulator_destroy(again));
    }
    CHECK_OK(oxb_accumulator_destroy(other));
    CHECK(oxb_live_handles() == live_before);
}

#define THREADS 8
#define PUSHES 200
#define CHUNK 1000

struct pusher {
    oxb_accumulator shared;
    int64_t base;
    int failures;
};

/* Pushes known integers into a shared accumulator and into a private one. */
static void *push_from_thread(void *arg) {
    struct pusher *p = (struct pusher *)arg;
    int64_t chunk[CHUNK];
    oxb_accumulator mine = 0;
    oxb_stats s;
    oxb_view v;
    int round, i;

    if (oxb_accumulator_create(&mine) != OXB_OK) p->failures++;
    for (round = 0; round < PUSHES; round++) {
        for (i = 0; i < CHUNK; i++) chunk[i] = p->base + round * CHUNK + i;
        v = view_of(chunk, CHUNK, 1, OXB_DTYPE_I64);
        if (oxb_accumulator_push(p->shared, &v) != OXB_OK) p->failures++;
        if (oxb_accumulator_push(mine, &v) != OXB_OK) p->failures++;
    }
    if (oxb_accumulator_stats(mine, &s) != OXB_OK || s.count != PUSHES * CHUNK ||
        s.int_min != p->base || s.int_max != p->base + PUSHES * CHUNK - 1)
        p->failures++;
    /* A failure on this thread leaves the other threads' messages alone. */
    if (oxb_accumulator_destroy(0) != OXB_INVALID_HANDLE) p->failures++;
    if (oxb_accumulator_destroy(mine) != OXB_OK) p->failures++;
    return NULL;
}

static void test_threads(void) {
    pthread_t threads[THREADS];
    struct pusher pushers[THREADS];
    oxb_accumulator shared = 0;
    oxb_stats s;
    int t, failures = 0;
    int64_t n = (int64_t)THREADS * PUSHES * CHUNK;

    CHECK_OK(oxb_accumulator_create(&shared));
    for (t = 0; t < THREADS; t++) {
        pushers[t].shared = shared;
        pushers[t].base = (int64_t)t * PUSHES * CHUNK;
        pushers[t].failures = 0;
        CHECK(pthread_create(&threads[t], NULL, push_from_thread, &pushers[t]) == 0);
    }
    for (t = 0; t < THREADS; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        failures += pushers[t].failures;
    }
    CHECK(failures == 0);
    /* The threads pushed 0 .. n-1 exactly once between them. */
    CHECK_OK(oxb_accumulator_stats(shared, &s));
    CHECK(s.count == (uint64_t)n && s.int_min == 0 && s.int_max == n - 1);
    CHECK(s.int_sum_high == 0 && s.int_sum_low == (uint64_t)(n * (n - 1) / 2));
    CHECK(close_to(s.mean, (double)(n - 1) / 2, 1e-15));
    CHECK(close_to(s.variance, ((double)n * n - 1) / 12, 1e-12));
    CHECK_OK(oxb_accumulator_destroy(shared));
}

/* Neumaier-compensated sums: an oracle accurate to an ulp or so that does not rely on
 * long double (valgrind runs long double arithmetic at double precision). */
struct compensated {
    double sum, error;
};

static void compensated_add(struct compensated *c, double v) {
    double t = c->sum + v;
    c->error += fabs(c->sum) >= fabs(v) ? (c->sum - t) + v : (v - t) + c->sum;
    c->sum = t;
}

static double oracle_sum(const double *x, size_t n) {
    struct compensated c = {0.0, 0.0};
    size_t i;
    for (i = 0; i < n; i++) compensated_add(&c, x[i]);
    return c.sum + c.error;
}

static double oracle_m2(const double *x, size_t n, double mean) {
    struct compensated c = {0.0, 0.0};
    size_t i;
    for (i = 0; i < n; i++) compensated_add(&c, (x[i] - mean) * (x[i] - mean));
    return c.sum + c.error;
}

static void test_stats(void) {
    double a[5] = {3.0, NAN, -1.0, 2.0, 8.0};
    float f[4] = {1.5f, 2.5f, -4.0f, 0.0f};
    int32_t ints[4] = {INT32_MAX, INT32_MAX, INT32_MIN, 7};
    oxb_stats s, left, right, merged;
    oxb_view v;
    size_t n = 100000, i;
    double *big = (double *)malloc(n * sizeof *big);
    double sum, mean, m2;

    v = view_of(a, 5, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_stats_compute(&v, &s));
    CHECK(s.count == 4 && s.nan_count == 1 && s.sum == 12.0 && s.mean == 3.0);
    CHECK(s.min == -1.0 && s.max == 8.0 && close_to(s.m2, 42.0, 1e-15));

    v = view_of(f, 4, 1, OXB_DTYPE_F32);
    CHECK_OK(oxb_stats_compute(&v, &s));
    CHECK(s.count == 4 && s.sum == 0.0 && s.min == -4.0 && s.max == 2.5);

    v = view_of(ints, 4, 1, OXB_DTYPE_I32);
    CHECK_OK(oxb_stats_compute(&v, &s));
    CHECK(s.is_integer == 1 && s.int_sum_high == 0 &&
          (int64_t)s.int_sum_low == (int64_t)INT32_MAX + 6);
    CHECK(s.int_min == INT32_MIN && s.int_max == INT32_MAX);

    v = view_of(NULL, 0, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_stats_compute(&v, &s));
    CHECK(s.count == 0 && isnan(s.mean) && isnan(s.variance));

    CHECK_FAILS(oxb_stats_compute(NULL, &s), OXB_NULL_POINTER, "view");
    v = view_of(a, 5, 1, OXB_DTYPE_F64);
    CHECK_FAILS(oxb_stats_compute(&v, NULL), OXB_NULL_POINTER, "out");

    /* A large array against a compensated two-pass oracle, and merging its halves. */
    CHECK(big != NULL);
    if (big == NULL) return;
    for (i = 0; i < n; i++) big[i] = 1e6 + next_uniform();
    sum = oracle_sum(big, n);
    mean = sum / (double)n;
    m2 = oracle_m2(big, n, mean);
    v = view_of(big, n, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_stats_compute(&v, &s));
    CHECK(close_to(s.sum, sum, 1e-15) && close_to(s.mean, mean, 1e-15));
    CHECK(close_to(s.m2, m2, 1e-9));

    v = view_of(big, n / 3, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_stats_compute(&v, &left));
    v = view_of(big + n / 3, n - n / 3, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_stats_compute(&v, &right));
    CHECK_OK(oxb_stats_merge(&left, &right, &merged));
    CHECK(merged.count == n && close_to(merged.mean, s.mean, 1e-15) &&
          close_to(merged.m2, s.m2, 1e-9) && merged.min == s.min && merged.max == s.max);
    /* `out` may alias an input. */
    CHECK_OK(oxb_stats_merge(&left, &right, &left));
    CHECK(left.count == n && close_to(left.mean, s.mean, 1e-15));
    CHECK_FAILS(oxb_stats_merge(NULL, &right, &merged), OXB_NULL_POINTER, "a");
    free(big);
}

static void test_stats_axis(void) {
    /* 2 x 3 in C order, and the same matrix in Fortran order. */
    double c_order[6] = {1, 2, 3, 4, 5, 6};
    double f_order[6] = {1, 4, 2, 5, 3, 6};
    oxb_view2d m;
    oxb_stats out[3];

    m.data = c_order;
    m.rows = 2;
    m.cols = 3;
    m.row_stride = 3;
    m.col_stride = 1;
    m.dtype = OXB_DTYPE_F64;
    CHECK_OK(oxb_stats_axis(&m, OXB_AXIS_COLUMNS, out, 3));
    CHECK(out[0].mean == 2.5 && out[1].mean == 3.5 && out[2].mean == 4.5);
    CHECK(out[0].variance == 2.25 && out[2].min == 3 && out[2].max == 6);
    CHECK_OK(oxb_stats_axis(&m, OXB_AXIS_ROWS, out, 2));
    CHECK(out[0].sum == 6 && out[1].sum == 15 && out[1].count == 3);
    CHECK_OK(oxb_stats_axis(&m, OXB_AXIS_ALL, out, 1));
    CHECK(out[0].sum == 21 && out[0].count == 6);

    m.data = f_order;
    m.row_stride = 1;
    m.col_stride = 2;
    CHECK_OK(oxb_stats_axis(&m, OXB_AXIS_COLUMNS, out, 3));
    CHECK(out[0].mean == 2.5 && out[1].mean == 3.5 && out[2].mean == 4.5);
    CHECK_OK(oxb_stats_axis(&m, OXB_AXIS_ROWS, out, 2));
    CHECK(out[0].sum == 6 && out[1].sum == 15);

    CHECK_FAILS(oxb_stats_axis(&m, OXB_AXIS_COLUMNS, out, 2), OXB_INVALID_ARGUMENT, "out_len");
    CHECK_FAILS(oxb_stats_axis(&m, 7, out, 3), OXB_INVALID_ARGUMENT, "axis");
    CHECK_FAILS(oxb_stats_axis(NULL, OXB_AXIS_ALL, out, 1), OXB_NULL_POINTER, "matrix");
    CHECK_FAILS(oxb_stats_axis(&m, OXB_AXIS_ALL, NULL, 1), OXB_NULL_POINTER, "out");
}

static void test_histogram(void) {
    double a[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    double range[2] = {0.0, 10.0};
    double bad_range[2] = {5.0, 1.0};
    double nan_range[2] = {0.0, NAN};
    uint64_t counts[5];
    double edges[6];
    oxb_view v = view_of(a, 10, 1, OXB_DTYPE_F64);
    int i;

    CHECK_OK(oxb_histogram(&v, 5, NULL, counts, edges));
    for (i = 0; i < 5; i++) CHECK(counts[i] == 2);
    CHECK(edges[0] == 0.0 && edges[5] == 9.0 && close_to(edges[1], 1.8, 1e-15));

    /* The last bin includes its right edge; values outside the range are not counted. */
    CHECK_OK(oxb_histogram(&v, 2, range + 0, counts, edges));
    CHECK(counts[0] == 5 && counts[1] == 5 && edges[1] == 5.0);
    range[1] = 9.0;
    CHECK_OK(oxb_histogram(&v, 1, range, counts, edges));
    CHECK(counts[0] == 10);
    range[0] = 2.0;
    range[1] = 4.0;
    CHECK_OK(oxb_histogram(&v, 2, range, counts, edges));
    CHECK(counts[0] == 1 && counts[1] == 2);

    CHECK_FAILS(oxb_histogram(&v, 0, NULL, counts, edges), OXB_INVALID_ARGUMENT, "bins");
    CHECK_FAILS(oxb_histogram(&v, 2, bad_range, counts, edges), OXB_INVALID_ARGUMENT, "range");
    CHECK_FAILS(oxb_histogram(&v, 2, nan_range, counts, edges), OXB_INVALID_ARGUMENT, "range");
    CHECK_FAILS(oxb_histogram(&v, 2, NULL, NULL, edges), OXB_NULL_POINTER, "counts");
    CHECK_FAILS(oxb_histogram(&v, 2, NULL, counts, NULL), OXB_NULL_POINTER, "edges");
    CHECK_FAILS(oxb_histogram(NULL, 2, NULL, counts, edges), OXB_NULL_POINTER, "view");
}

static void test_quantile(void) {
    int32_t a[5] = {5, 1, 4, 2, 3};
    double with_nan[3] = {1.0, NAN, 2.0};
    double q[5] = {0.0, 0.25, 0.5, 0.9, 1.0};
    double bad_q[1] = {1.5};
    double out[5];
    oxb_view v = view_of(a, 5, 1, OXB_DTYPE_I32);

    CHECK_OK(oxb_quantile(&v, q, 5, out));
    CHECK(out[0] == 1 && out[1] == 2 && out[2] == 3 && close_to(out[3], 4.6, 1e-15) &&
          out[4] == 5);
    /* The data is read, not reordered. */
    CHECK(a[0] == 5 && a[1] == 1 && a[4] == 3);

    v = view_of(with_nan, 3, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_quantile(&v, q, 1, out));
    CHECK(isnan(out[0]));
    v = view_of(NULL, 0, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_quantile(&v, q, 1, out));
    CHECK(isnan(out[0]));

    v = view_of(a, 5, 1, OXB_DTYPE_I32);
    CHECK_FAILS(oxb_quantile(&v, bad_q, 1, out), OXB_INVALID_ARGUMENT, "1.5");
    CHECK_FAILS(oxb_quantile(&v, NULL, 1, out), OXB_NULL_POINTER, "q");
    CHECK_FAILS(oxb_quantile(&v, q, 1, NULL), OXB_NULL_POINTER, "out");
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void test_sort(void) {
    size_t n = 300000, i, nans = 0;
    double *a = (double *)malloc(n * sizeof *a);
    double *expected = (double *)malloc(n * sizeof *expected);
    int32_t ints[6] = {3, -1, INT32_MAX, 0, INT32_MIN, -1};
    double strided[6] = {3, 100, 4, 200, 5, 300};
    oxb_view v;
    int ok = 1;

    CHECK(a != NULL && expected != NULL);
    if (a == NULL || expected == NULL) return;
    for (i = 0; i < n; i++) a[i] = i % 1000 == 7 ? NAN : next_uniform() * 1e6;
    for (i = 0; i < n; i++)
        if (isnan(a[i])) nans++; else expected[i - nans] = a[i];
    qsort(expected, n - nans, sizeof *expected, cmp_double);
    v = view_of(a, n, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_sort(&v));
    for (i = 0; i < n - nans; i++) ok &= same_bits(a[i], expected[i]);
    for (; i < n; i++) ok &= isnan(a[i]);
    CHECK(ok);

    v = view_of(ints, 6, 1, OXB_DTYPE_I32);
    CHECK_OK(oxb_sort(&v));
    CHECK(ints[0] == INT32_MIN && ints[1] == -1 && ints[2] == -1 && ints[3] == 0 &&
          ints[4] == 3 && ints[5] == INT32_MAX);

    /* Every second element, back to front: sorted along the view, the rest untouched. */
    v = view_of(&strided[4], 3, -2, OXB_DTYPE_F64);
    CHECK_OK(oxb_sort(&v));
    CHECK(strided[4] == 3 && strided[2] == 4 && strided[0] == 5 && strided[1] == 100 &&
          strided[3] == 200 && strided[5] == 300);

    CHECK_FAILS(oxb_sort(NULL), OXB_NULL_POINTER, "view");
    free(a);
    free(expected);
}

static void test_threads_setting(void) {
    size_t threads = 0, initial = 0;
    CHECK_OK(oxb_num_threads(&initial));
    CHECK(initial >= 1);
    CHECK_OK(oxb_set_num_threads(3));
    CHECK_OK(oxb_num_threads(&threads));
    CHECK(threads == 3);
    CHECK_OK(oxb_set_num_threads(0));
    CHECK_OK(oxb_num_threads(&threads));
    CHECK(threads == initial);
    CHECK_FAILS(oxb_num_threads(NULL), OXB_NULL_POINTER, "out");
}

/* Writes `size` bytes to a new temporary file and returns its path (static storage). */
static const char *temp_file(const char *name, const void *data, size_t size) {
    static char paths[4][256];
    static int next;
    char *path = paths[next++ % 4];
    FILE *f;
    snprintf(path, 256, "/tmp/oxbridge_c_test_%ld_%s", (long)getpid(), name);
    f = fopen(path, "wb");
    if (f == NULL) return path;
    fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

static int progress_calls;
static uint64_t progress_last_done, progress_last_total;

static int count_progress(uint64_t done, uint64_t total, void *user) {
    progress_calls++;
    progress_last_done = done;
    progress_last_total = total;
    CHECK(user == (void *)&progress_calls);
    return 0;
}

static void test_dataset_csv(void) {
    static const char csv[] = "name,price,qty\r\n\"a, \"\"b\"\"\",1.5,3\r\nc,,5\r\n\"multi\nline\",2.5,-7\r\n";
    const char *path = temp_file("prices.csv", csv, sizeof csv - 1);
    size_t live_before = oxb_live_handles(), columns = 0;
    oxb_dataset ds = 0;
    oxb_column_info info;
    oxb_column_description out[3];
    size_t only_qty[1] = {2};
    uint64_t rows = 0;

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK(oxb_live_handles() == live_before + 1);
    CHECK_OK(oxb_dataset_num_columns(ds, &columns));
    CHECK(columns == 3);
    CHECK_OK(oxb_dataset_column_info(ds, 1, &info));
    CHECK(strcmp(info.name, "price") == 0 && strcmp(info.dtype, "float64") == 0);
    CHECK_FAILS(oxb_dataset_column_info(ds, 3, &info), OXB_INVALID_ARGUMENT, "out of range");
    CHECK_OK(oxb_dataset_num_rows(ds, NULL, NULL, &rows));
    CHECK(rows == 3);

    progress_calls = 0;
    CHECK_OK(oxb_dataset_describe(ds, NULL, 0, count_progress, &progress_calls, out));
    CHECK(progress_calls >= 1 && progress_last_done == progress_last_total);
    CHECK(out[0].kind == OXB_KIND_TEXT && out[0].stats.count == 3 && out[0].min_len == 1 &&
          out[0].max_len == 10);
    CHECK(out[1].kind == OXB_KIND_FLOAT && out[1].stats.count == 2 &&
          out[1].stats.nan_count == 1 && out[1].stats.sum == 4.0 && out[1].stats.max == 2.5);
    CHECK(out[2].kind == OXB_KIND_INT && out[2].stats.is_integer && out[2].stats.int_sum_low == 1 &&
          out[2].stats.int_min == -7);

    memset(out, 0, sizeof out);
    CHECK_OK(oxb_dataset_describe(ds, only_qty, 1, NULL, NULL, out));
    CHECK(out[0].kind == OXB_KIND_INT && out[0].stats.count == 3 && out[1].stats.count == 0);
    only_qty[0] = 9;
    CHECK_FAILS(oxb_dataset_describe(ds, only_qty, 1, NULL, NULL, out), OXB_INVALID_ARGUMENT, "9");
    CHECK_FAILS(oxb_dataset_describe(ds, NULL, 1, NULL, NULL, out), OXB_NULL_POINTER, "columns");
    CHECK_FAILS(oxb_dataset_describe(ds, NULL, 0, NULL, NULL, NULL), OXB_NULL_POINTER, "out");

    CHECK_OK(oxb_dataset_close(ds));
    CHECK_FAILS(oxb_dataset_close(ds), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_dataset_num_rows(ds, NULL, NULL, &rows), OXB_INVALID_HANDLE, "handle");
    CHECK(oxb_live_handles() == live_before);
    unlink(path);
}

/* The full description: quantiles, distinct counts, top values, histograms; merged from
 * two files, serialised and read back. */
static void test_description(void) {
    static const char first[] = "sym,px\nb,1\na,2\nb,3\n";
    static const char second[] = "sym,px\nc,4\nb,\n";
    const char *p1 = temp_file("part1.csv", first, sizeof first - 1);
    size_t live_before = oxb_live_handles();
    oxb_dataset ds = 0;
    oxb_description d1 = 0, d2 = 0, merged = 0, back = 0;
    oxb_describe_options options;
    const double exact_at[1] = {0.5};
    double probs[3] = {0.0, 0.5, 1.0}, q[3];
    uint64_t counts[4], rows = 0;
    double edges[5];
    size_t n = 0, written = 0, len = 0;
    const char *name = NULL;
    oxb_column_description column;
    oxb_column_sketch sketch;
    oxb_top_value top[4];
    unsigned char *bytes;

    memset(&options, 0, sizeof options);
    options.exact_quantiles = exact_at;
    options.exact_quantiles_len = 1;
    CHECK_OK(oxb_dataset_open(p1, NULL, &ds));
    CHECK_OK(oxb_dataset_description(ds, NULL, 0, &options, NULL, NULL, &d1));
    CHECK_OK(oxb_dataset_close(ds));
    unlink(p1);
    const char *p2 = temp_file("part2.csv", second, sizeof second - 1);
    CHECK_OK(oxb_dataset_open(p2, NULL, &ds));
    CHECK_OK(oxb_dataset_description(ds, NULL, 0, NULL, NULL, NULL, &d2));
    CHECK_OK(oxb_dataset_close(ds));
    unlink(p2);

    CHECK_OK(oxb_description_num_columns(d1, &n));
    CHECK(n == 2);
    CHECK_OK(oxb_description_column(d1, 1, &name, &column));
    CHECK(strcmp(name, "px") == 0 && column.kind == OXB_KIND_INT && column.stats.count == 3);
    CHECK_OK(oxb_description_dtype(d1, 0, &name));
    CHECK(strcmp(name, "text") == 0);
    CHECK_OK(oxb_description_dtype(d1, 1, &name));
    CHECK(strcmp(name, "int64") == 0);
    CHECK_FAILS(oxb_description_dtype(d1, 2, &name), OXB_INVALID_ARGUMENT, "out of range");
    CHECK_OK(oxb_description_quantiles(d1, 1, probs, 3, q));
    CHECK(q[0] == 1.0 && q[1] == 2.0 && q[2] == 3.0);
    CHECK_OK(oxb_description_sketch(d1, 0, &sketch));
    CHECK(sketch.distinct == 2.0 && sketch.distinct_is_exact == 1 && sketch.top_count == 2 &&
          sketch.top_len == 1 && sketch.top[0] == 'b' && sketch.text_min[0] == 'a' &&
          sketch.text_max[0] == 'b' && sketch.top_error == 0 && sketch.mixed == 0);

    CHECK_OK(oxb_description_merge(d1, d2, &merged));
    CHECK_OK(oxb_description_num_rows(merged, &rows));
    CHECK(rows == 5);
    CHECK_OK(oxb_description_column(merged, 1, &name, &column));
    CHECK(column.stats.count == 4 && column.stats.nan_count == 1 && column.stats.int_sum_low == 10);
    CHECK_OK(oxb_description_quantiles(merged, 1, probs, 3, q));
    CHECK(q[0] == 1.0 && q[1] == 2.5 && q[2] == 4.0);
    CHECK_OK(oxb_description_histogram(merged, 1, 3, counts, edges, &written));
    CHECK(written == 3 && counts[0] == 1 && counts[1] == 1 && counts[2] == 2 && edges[0] == 1.0 &&
          edges[3] == 4.0);
    CHECK_OK(oxb_description_histogram(merged, 0, 3, counts, edges, &written));
    CHECK(written == 0);
    CHECK_OK(oxb_description_top_values(merged, 0, 4, top, &written));
    CHECK(written == 3 && top[0].count == 3 && top[0].value[0] == 'b' && top[1].value[0] == 'a');

    CHECK_OK(oxb_description_to_bytes(merged, NULL, 0, &len));
    bytes = malloc(len);
    CHECK(bytes != NULL);
    CHECK_FAILS(oxb_description_to_bytes(merged, bytes, len - 1, &len), OXB_INVALID_ARGUMENT, "needs");
    CHECK_OK(oxb_description_to_bytes(merged, bytes, len, &len));
    CHECK_OK(oxb_description_from_bytes(bytes, len, &back));
    CHECK_OK(oxb_description_quantiles(back, 1, probs, 3, q));
    CHECK(q[1] == 2.5);
    CHECK_FAILS(oxb_description_from_bytes(bytes, len - 1, &back), OXB_DATA_FORMAT, "description");
    bytes[0] = 'X';
    CHECK_FAILS(oxb_description_from_bytes(bytes, len, &back), OXB_DATA_FORMAT, "magic");
    free(bytes);
    CHECK_FAILS(oxb_description_column(merged, 2, &name, &column), OXB_INVALID_ARGUMENT, "out of range");

    CHECK_OK(oxb_description_close(d1));
    CHECK_OK(oxb_description_close(d2));
    CHECK_OK(oxb_description_close(merged));
    CHECK_OK(oxb_description_close(back));
    CHECK_FAILS(oxb_description_close(back), OXB_INVALID_HANDLE, "handle");
    CHECK(oxb_live_handles() == live_before);
}

/* Partitions as a C scheduler uses them: plan, describe each (from another handle, as
 * another process would), check the chain, merge; the merge equals the file's describe. */
static void test_partitions(void) {
    char text[64 * 1024];
    size_t len = 0;
    len += (size_t)snprintf(text + len, sizeof text - len, "id,note\n");
    for (int i = 0; i < 1500; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d,\"a\nb %d\"\n", i, i % 7);
    const char *path = temp_file("parts.csv", text, len);
    size_t live_before = oxb_live_handles(), count = 0, written = 0;
    oxb_dataset planner = 0, worker = 0;
    oxb_partition parts[8], read, bad;
    oxb_file_identity id1, id2;
    oxb_description whole = 0, total = 0, part = 0, merged = 0;
    oxb_column_description a, b;
    const char *name = NULL;
    uint32_t kinds[2];
    uint64_t rows = 0, expected = 0;

    CHECK_OK(oxb_dataset_open(path, NULL, &planner));
    CHECK_OK(oxb_dataset_file_identity(planner, &id1));
    CHECK(id1.size == len);
    CHECK_OK(oxb_dataset_partitions(planner, 0, 5, NULL, 0, &count));
    CHECK(count == 5);
    CHECK_FAILS(oxb_dataset_partitions(planner, 0, 5, parts, 4, &written), OXB_INVALID_ARGUMENT, "room for 4");
    CHECK(written == 5);
    CHECK_OK(oxb_dataset_partitions(planner, 0, 5, parts, 8, &written));
    CHECK(written == 5 && parts[0].start == 8 && parts[4].stop == len);
    for (size_t i = 1; i < written; i++) CHECK(parts[i].start == parts[i - 1].stop);
    CHECK_FAILS(oxb_dataset_partitions(planner, 0, 0, parts, 8, &written), OXB_INVALID_ARGUMENT, "target_bytes");
    CHECK_OK(oxb_dataset_partition_kinds(planner, NULL, 0, kinds));
    CHECK(kinds[0] == OXB_KIND_INT && kinds[1] == OXB_KIND_TEXT);
    CHECK_OK(oxb_dataset_description(planner, NULL, 0, NULL, NULL, NULL, &whole));
    CHECK_OK(oxb_dataset_close(planner));

    CHECK_OK(oxb_dataset_open(path, NULL, &worker));
    CHECK_OK(oxb_dataset_file_identity(worker, &id2));
    CHECK(id1.size == id2.size && id1.mtime_ns == id2.mtime_ns && id1.inode == id2.inode);
    expected = parts[0].start;
    for (size_t i = 0; i < written; i++) {
        oxb_partition todo = parts[i];
        CHECK_OK(oxb_dataset_partition_description(worker, &todo, NULL, 0, NULL, 0, NULL, NULL, &part, &read));
        if (read.start != expected) { /* a wrong guess: read again from where the last ended */
            CHECK_OK(oxb_description_close(part));
            todo.start = expected;
            CHECK_OK(oxb_dataset_partition_description(worker, &todo, NULL, 0, NULL, 0, NULL, NULL, &part, &read));
        }
        expected = read.stop;
        if (total == 0) {
            total = part;
        } else {
            CHECK_OK(oxb_description_merge(total, part, &merged));
            CHECK_OK(oxb_description_close(total));
            CHECK_OK(oxb_description_close(part));
            total = merged;
        }
    }
    CHECK(expected == len);
    CHECK_OK(oxb_description_num_rows(total, &rows));
    CHECK(rows == 1500);
    CHECK_OK(oxb_description_column(total, 0, &name, &a));
    CHECK_OK(oxb_description_column(whole, 0, &name, &b));
    CHECK(a.stats.int_sum_low == b.stats.int_sum_low && a.stats.int_sum_low == 1499 * 1500 / 2);
    CHECK(a.stats.int_min == 0 && a.stats.int_max == 1499 && a.stats.mean == b.stats.mean);
    CHECK_OK(oxb_description_column(total, 1, &name, &a));
    CHECK(a.kind == OXB_KIND_TEXT && a.stats.count == 1500 && a.min_len == 5);

    bad.start = 0; /* the header is not data */
    bad.stop = 10;
    CHECK_FAILS(oxb_dataset_partition_description(worker, &bad, NULL, 0, NULL, 0, NULL, NULL, &part, &read),
                OXB_INVALID_ARGUMENT, "not within");
    CHECK_FAILS(oxb_dataset_partition_description(worker, NULL, NULL, 0, NULL, 0, NULL, NULL, &part, &read),
                OXB_NULL_POINTER, "partition");
    kinds[0] = 99;
    {
        struct ArrowArrayStream stream;
        CHECK_FAILS(oxb_dataset_partition_arrow_stream(worker, &parts[1], NULL, 0, kinds, 0, NULL, NULL, &stream),
                    OXB_INVALID_ARGUMENT, "kind 99");
        kinds[0] = OXB_KIND_INT;
        CHECK_OK(oxb_dataset_partition_arrow_stream(worker, &parts[1], NULL, 0, kinds, 0, NULL, NULL, &stream));
        stream.release(&stream);
    }
    CHECK_OK(oxb_description_close(total));
    CHECK_OK(oxb_description_close(whole));
    CHECK_OK(oxb_dataset_close(worker));
    CHECK(oxb_live_handles() == live_before);
    unlink(path);
}

/* A European export: leading lines, comments, decimal commas (given, then detected). */
static void test_dataset_csv_dialect(void) {
    static const char text[] = "exported 2024\nx;y\n# note\n1,5;2\n2,25;3\n";
    const char *path = temp_file("dialect.csv", text, sizeof text - 1);
    oxb_csv_options csv;
    oxb_dataset ds = 0;
    oxb_column_description out[2];

    memset(&csv, 0, sizeof csv);
    csv.decimal = ',';
    csv.comment = '#';
    csv.skip_rows = 1;
    CHECK_OK(oxb_dataset_open_csv(path, NULL, &csv, &ds));
    CHECK_OK(oxb_dataset_describe(ds, NULL, 0, NULL, NULL, out));
    CHECK(out[0].kind == OXB_KIND_FLOAT && out[0].stats.count == 2 && out[0].stats.sum == 3.75);
    CHECK(out[1].kind == OXB_KIND_INT && out[1].stats.int_sum_low == 5);
    CHECK_OK(oxb_dataset_close(ds));
    csv.decimal = 0; /* detected */
    CHECK_OK(oxb_dataset_open_csv(path, NULL, &csv, &ds));
    CHECK_OK(oxb_dataset_describe(ds, NULL, 0, NULL, NULL, out));
    CHECK(out[0].kind == OXB_KIND_FLOAT && out[0].stats.sum == 3.75);
    CHECK_OK(oxb_dataset_close(ds));
    csv.decimal = 'x';
    CHECK_FAILS(oxb_dataset_open_csv(path, NULL, &csv, &ds), OXB_INVALID_ARGUMENT, "decimal");
    csv.decimal = 300;
    CHECK_FAILS(oxb_dataset_open_csv(path, NULL, &csv, &ds), OXB_INVALID_ARGUMENT, "ASCII");
    unlink(path);
}

/* Booleans, dates and timestamps: exact int64 statistics of 0/1, days and microseconds. */
static void test_dataset_csv_temporal(void) {
    static const char csv[] = "flag,day,at,mixed\n"
                              "true,1969-12-31,1970-01-01T00:00:01Z,1\n"
                              "FALSE,1970-01-02,1970-01-01T01:00+01:00,true\n"
                              "True,NA,1970-01-01 00:00:00.5Z,2\n";
    const char *path = temp_file("temporal.csv", csv, sizeof csv - 1);
    oxb_dataset ds = 0;
    oxb_column_info info;
    oxb_column_description out[4];

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_OK(oxb_dataset_column_info(ds, 0, &info));
    CHECK(strcmp(info.name, "flag") == 0 && strcmp(info.dtype, "bool") == 0);
    CHECK_OK(oxb_dataset_column_info(ds, 2, &info));
    CHECK(strcmp(info.dtype, "datetime") == 0);
    CHECK_OK(oxb_dataset_describe(ds, NULL, 0, NULL, NULL, out));
    CHECK(out[0].kind == OXB_KIND_BOOL && out[0].stats.is_integer && out[0].stats.count == 3 &&
          out[0].stats.int_sum_low == 2 && out[0].stats.int_sum_high == 0);
    CHECK(out[1].kind == OXB_KIND_DATE && out[1].stats.is_integer && out[1].stats.count == 2 &&
          out[1].stats.nan_count == 1 && out[1].stats.int_min == -1 && out[1].stats.int_max == 1 &&
          out[1].stats.int_sum_low == 0);
    CHECK(out[2].kind == OXB_KIND_DATETIME && out[2].stats.is_integer && out[2].stats.count == 3 &&
          out[2].stats.int_min == 0 && out[2].stats.int_max == 1000000 &&
          out[2].stats.int_sum_low == 1500000 && out[2].stats.mean == 500000.0);
    CHECK(out[3].kind == OXB_KIND_TEXT && out[3].stats.count == 3);
    CHECK_OK(oxb_dataset_close(ds));
    unlink(path);
}

static void test_dataset_options_and_errors(void) {
    static const char ragged[] = "a;b\n1;2\n3\n";
    static const char semicolons[] = "1;2\n3;NA\n";
    const char *nulls[1] = {"NA"};
    const char *path = temp_file("ragged.csv", ragged, sizeof ragged - 1);
    oxb_dataset ds = 0;
    oxb_open_options options;
    oxb_error_detail detail;
    oxb_column_description out[2];

    CHECK_FAILS(oxb_dataset_open("/nonexistent/oxbridge.csv", NULL, &ds), OXB_IO, "/nonexistent/oxbridge.csv");
    CHECK_OK(oxb_last_error_detail(&detail));
    CHECK(detail.os_code == ENOENT && strcmp(detail.path, "/nonexistent/oxbridge.csv") == 0);
    CHECK_FAILS(oxb_dataset_open("/tmp", NULL, &ds), OXB_IO, "directory");
    CHECK_FAILS(oxb_dataset_open(NULL, NULL, &ds), OXB_NULL_POINTER, "path");
    CHECK_FAILS(oxb_dataset_open(path, NULL, NULL), OXB_NULL_POINTER, "out");

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_FAILS(oxb_dataset_describe(ds, NULL, 0, NULL, NULL, out), OXB_DATA_FORMAT, "line 3");
    CHECK_OK(oxb_last_error_detail(&detail));
    CHECK(detail.line == 3 && strcmp(detail.column, "b") == 0 && detail.os_code == 0);
    CHECK_OK(oxb_dataset_close(ds));
    unlink(path);

    path = temp_file("semicolons.txt", semicolons, sizeof semicolons - 1);
    memset(&options, 0, sizeof options);
    options.format = "csv";
    options.delimiter = ';';
    options.has_header = 0;
    options.null_values = nulls;
    options.null_values_len = 1;
    CHECK_OK(oxb_dataset_open(path, &options, &ds));
    CHECK_OK(oxb_dataset_describe(ds, NULL, 0, NULL, NULL, out));
    CHECK(out[0].stats.count == 2 && out[1].stats.count == 1 && out[1].stats.nan_count == 1);
    CHECK_OK(oxb_dataset_close(ds));
    options.delimiter = '"';
    CHECK_FAILS(oxb_dataset_open(path, &options, &ds), OXB_INVALID_ARGUMENT, "delimiter");
    options.delimiter = 0;
    options.format = "parquet";
    CHECK_FAILS(oxb_dataset_open(path, &options, &ds), OXB_INVALID_ARGUMENT, "parquet");
    unlink(path);
}

static void test_dataset_npy(void) {
    /* A version 1.0 .npy of a 2 x 2 little-endian float64 array, header padded to 128. */
    unsigned char file[128 + 4 * 8];
    const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
    double values[4] = {1.0, 10.0, 3.0, 30.0};
    size_t dict_len = strlen(dict);
    oxb_dataset ds = 0;
    oxb_column_description out[2];
    const char *path;

    memcpy(file, "\x93NUMPY\x01\x00", 8);
    file[8] = 128 - 10;
    file[9] = 0;
    memset(file + 10, ' ', 118);
    memcpy(file + 10, dict, dict_len);
    file[127] = '\n';
    memcpy(file + 128, values, sizeof values);
    path = temp_file("m.npy", file, sizeof file);
    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_OK(oxb_dataset_describe(ds, NULL, 0, NULL, NULL, out));
    CHECK(out[0].stats.mean == 2.0 && out[1].stats.mean == 20.0 && out[1].stats.max == 30.0);
    CHECK_OK(oxb_dataset_close(ds));
    unlink(path);
    /* Cut short: the header promises more data than the file holds. */
    path = temp_file("cut.npy", file, sizeof file - 8);
    CHECK_FAILS(oxb_dataset_open(path, NULL, &ds), OXB_DATA_FORMAT, "truncated");
    unlink(path);
}

static double plus_half_squared(double x) { return (x + 0.5) * (x + 0.5); }

static void test_expressions(void) {
    size_t n = 100000, i, live_before = oxb_live_handles();
    double *a = (double *)malloc(n * sizeof *a), *out = (double *)malloc(n * sizeof *out);
    float b[4] = {1.0f, 2.0f, 3.0f, 4.0f}, out32[4];
    double k = 10.0, small[4] = {1.0, -4.0, 9.0, -16.0};
    oxb_expression e = 0;
    oxb_expression_info info;
    oxb_view views[2], result;
    const char *name = NULL;
    int ok = 1;

    CHECK(a != NULL && out != NULL);
    if (a == NULL || out == NULL) return;
    for (i = 0; i < n; i++) a[i] = (double)i / 1000.0;
    CHECK_OK(oxb_expression_compile("where(a > 50, sqrt(a), -a) * k", &e));
    CHECK_OK(oxb_expression_inspect(e, &info));
    CHECK(info.num_variables == 2 && info.is_bool == 0);
    CHECK_OK(oxb_expression_variable(e, 1, &name));
    CHECK(name != NULL && strcmp(name, "k") == 0);
    views[0] = view_of(a, n, 1, OXB_DTYPE_F64);
    views[1] = view_of(&k, 1, 0, OXB_DTYPE_F64); /* length 1: broadcast as a scalar */
    result = view_of(out, n, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_expression_evaluate(e, views, 2, &result));
    for (i = 0; i < n; i++) ok &= out[i] == (a[i] > 50 ? sqrt(a[i]) : -a[i]) * 10.0;
    CHECK(ok);
    /* In place: out is the same view as the input. */
    result = view_of(a, n, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_expression_evaluate(e, views, 2, &result));
    CHECK(a[0] == -0.0 && a[n - 1] == sqrt((double)(n - 1) / 1000.0) * 10.0);
    CHECK_FAILS(oxb_expression_evaluate(e, views, 1, &result), OXB_INVALID_ARGUMENT, "2 variables");
    views[1] = view_of(out, 7, 1, OXB_DTYPE_F64);
    CHECK_FAILS(oxb_expression_evaluate(e, views, 2, &result), OXB_INVALID_ARGUMENT, "length 7");
    CHECK_OK(oxb_expression_destroy(e));
    CHECK_FAILS(oxb_expression_destroy(e), OXB_INVALID_HANDLE, "handle");

    /* float32 in and out, a boolean result. */
    CHECK_OK(oxb_expression_compile("(x >= 2) & ~isnan(x)", &e));
    CHECK_OK(oxb_expression_inspect(e, &info));
    CHECK(info.is_bool == 1);
    views[0] = view_of(b, 4, 1, OXB_DTYPE_F32);
    result = view_of(out32, 4, 1, OXB_DTYPE_F32);
    CHECK_OK(oxb_expression_evaluate(e, views, 1, &result));
    CHECK(out32[0] == 0.0f && out32[1] == 1.0f && out32[3] == 1.0f);
    result = view_of(small, 4, 1, OXB_DTYPE_I64);
    CHECK_FAILS(oxb_expression_evaluate(e, views, 1, &result), OXB_INVALID_ARGUMENT, "float64 or float32");
    CHECK_OK(oxb_expression_destroy(e));

    /* Syntax errors name the position with a caret. */
    CHECK_FAILS(oxb_expression_compile("2*a +* b", &e), OXB_INVALID_ARGUMENT, "position 5");
    CHECK(strstr(oxb_last_error_message(), "\n         ^") != NULL);
    CHECK_FAILS(oxb_expression_compile("nope(a)", &e), OXB_INVALID_ARGUMENT, "unknown function");
    CHECK_FAILS(oxb_expression_compile(NULL, &e), OXB_NULL_POINTER, "source");

    /* The parallel map calls a C function from every worker thread. */
    views[0] = view_of(small, 4, 1, OXB_DTYPE_F64);
    result = view_of(out, 4, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_parallel_map(plus_half_squared, &views[0], &result));
    CHECK(out[0] == 2.25 && out[1] == 12.25 && out[3] == 240.25);
    for (i = 0; i < n; i++) a[i] = (double)i;
    views[0] = view_of(a, n, 1, OXB_DTYPE_F64);
    result = view_of(out, n, 1, OXB_DTYPE_F64);
    CHECK_OK(oxb_parallel_map(plus_half_squared, &views[0], &result));
    ok = 1;
    for (i = 0; i < n; i++) ok &= out[i] == plus_half_squared(a[i]);
    CHECK(ok);
    CHECK_FAILS(oxb_parallel_map(NULL, &views[0], &result), OXB_NULL_POINTER, "f");
    result = view_of(out, 3, 1, OXB_DTYPE_F64);
    CHECK_FAILS(oxb_parallel_map(plus_half_squared, &views[0], &result), OXB_INVALID_ARGUMENT, "length");
    CHECK(oxb_live_handles() == live_before);
    free(a);
    free(out);
}

/* Handles of one kind given to another kind's functions are refused, and the refusal
 * neither destroys nor changes the object; 0 and forged handles are refused by every kind. */
static void test_wrong_kind_handles(void) {
    static const char csv[] = "x,y\n1,2\n3,4\n";
    const char *path = temp_file("kinds.csv", csv, sizeof csv - 1);
    size_t live_before = oxb_live_handles(), columns = 0;
    oxb_accumulator acc = 0;
    oxb_expression e = 0;
    oxb_dataset ds = 0;
    oxb_expression_info info;
    oxb_column_description out[2];
    oxb_stats s;
    double one = 1.0, result_value = 0.0;
    oxb_view v = view_of(&one, 1, 1, OXB_DTYPE_F64), result = view_of(&result_value, 1, 1, OXB_DTYPE_F64);
    uint64_t rows = 0, forged[3];
    int i;

    CHECK_OK(oxb_accumulator_create(&acc));
    CHECK_OK(oxb_expression_compile("x + 1", &e));
    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK(oxb_live_handles() == live_before + 3);

    /* An accumulator handle where an expression or a dataset is expected. */
    CHECK_FAILS(oxb_expression_inspect(acc, &info), OXB_INVALID_HANDLE, "accumulator");
    CHECK(strstr(oxb_last_error_message(), "expression") != NULL);
    CHECK_FAILS(oxb_expression_evaluate(acc, &v, 1, &result), OXB_INVALID_HANDLE, "accumulator");
    CHECK_FAILS(oxb_expression_destroy(acc), OXB_INVALID_HANDLE, "accumulator");
    CHECK_FAILS(oxb_dataset_num_columns(acc, &columns), OXB_INVALID_HANDLE, "accumulator");
    CHECK(strstr(oxb_last_error_message(), "dataset") != NULL);
    CHECK_FAILS(oxb_dataset_describe(acc, NULL, 0, NULL, NULL, out), OXB_INVALID_HANDLE, "accumulator");
    CHECK_FAILS(oxb_dataset_close(acc), OXB_INVALID_HANDLE, "accumulator");
    /* An expression handle where an accumulator or a dataset is expected. */
    CHECK_FAILS(oxb_accumulator_push(e, &v), OXB_INVALID_HANDLE, "expression");
    CHECK_FAILS(oxb_accumulator_merge(acc, e), OXB_INVALID_HANDLE, "expression");
    CHECK_FAILS(oxb_accumulator_destroy(e), OXB_INVALID_HANDLE, "expression");
    CHECK_FAILS(oxb_dataset_num_rows(e, NULL, NULL, &rows), OXB_INVALID_HANDLE, "expression");
    CHECK_FAILS(oxb_dataset_close(e), OXB_INVALID_HANDLE, "expression");
    /* A dataset handle where an accumulator or an expression is expected. */
    CHECK_FAILS(oxb_accumulator_stats(ds, &s), OXB_INVALID_HANDLE, "dataset");
    CHECK_FAILS(oxb_accumulator_destroy(ds), OXB_INVALID_HANDLE, "dataset");
    CHECK_FAILS(oxb_expression_evaluate(ds, &v, 1, &result), OXB_INVALID_HANDLE, "dataset");
    CHECK_FAILS(oxb_expression_destroy(ds), OXB_INVALID_HANDLE, "dataset");

    /* None of that destroyed or changed anything: all three still work. */
    CHECK(oxb_live_handles() == live_before + 3);
    CHECK_OK(oxb_accumulator_push(acc, &v));
    CHECK_OK(oxb_accumulator_stats(acc, &s));
    CHECK(s.count == 1 && s.sum == 1.0);
    CHECK_OK(oxb_expression_evaluate(e, &v, 1, &result));
    CHECK(result_value == 2.0);
    CHECK_OK(oxb_dataset_num_columns(ds, &columns));
    CHECK(columns == 2);

    /* 0 and forged handles (a live slot with another generation, a slot never issued,
     * all bits set) for the expression and dataset kinds too. */
    forged[0] = acc ^ (1ull << 32);
    forged[1] = 0x7FFFFFFFull;
    forged[2] = UINT64_MAX;
    CHECK_FAILS(oxb_expression_inspect(0, &info), OXB_INVALID_HANDLE, "0");
    CHECK_FAILS(oxb_expression_destroy(0), OXB_INVALID_HANDLE, "0");
    CHECK_FAILS(oxb_dataset_num_columns(0, &columns), OXB_INVALID_HANDLE, "0");
    CHECK_FAILS(oxb_dataset_close(0), OXB_INVALID_HANDLE, "0");
    for (i = 0; i < 3; i++) {
        CHECK_FAILS(oxb_accumulator_stats(forged[i], &s), OXB_INVALID_HANDLE, "handle");
        CHECK_FAILS(oxb_expression_inspect(forged[i], &info), OXB_INVALID_HANDLE, "handle");
        CHECK_FAILS(oxb_expression_destroy(forged[i]), OXB_INVALID_HANDLE, "handle");
        CHECK_FAILS(oxb_dataset_num_rows(forged[i], NULL, NULL, &rows), OXB_INVALID_HANDLE, "handle");
        CHECK_FAILS(oxb_dataset_close(forged[i]), OXB_INVALID_HANDLE, "handle");
    }

    CHECK_OK(oxb_accumulator_destroy(acc));
    CHECK_OK(oxb_expression_destroy(e));
    CHECK_OK(oxb_dataset_close(ds));
    /* Stale handles of each kind, given to their own kind and to the others. */
    CHECK_FAILS(oxb_expression_inspect(e, &info), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_expression_evaluate(e, &v, 1, &result), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_dataset_describe(ds, NULL, 0, NULL, NULL, out), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_accumulator_destroy(ds), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_dataset_close(acc), OXB_INVALID_HANDLE, "handle");
    CHECK(oxb_live_handles() == live_before);
    unlink(path);
}

/* Destroying a handle while another thread is inside a call on it: the call finishes
 * normally on the object it already holds (the library keeps the object alive until the
 * call returns), the destroy succeeds at once, and every later call on the handle returns
 * OXB_INVALID_HANDLE. Under valgrind and ASan any use of freed memory shows up. */
struct in_flight {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int in_callback, closed, callbacks, finished;
    oxb_dataset ds;
    oxb_column_description out[2];
    oxb_status status;
};

/* The first progress report (mid-work, or the final one for short work) waits for the
 * main thread to close the dataset before letting the call go on. */
static int wait_for_close(uint64_t done, uint64_t total, void *user) {
    struct in_flight *f = (struct in_flight *)user;
    (void)done;
    (void)total;
    pthread_mutex_lock(&f->lock);
    if (f->callbacks++ == 0) {
        f->in_callback = 1;
        pthread_cond_broadcast(&f->changed);
        while (!f->closed) pthread_cond_wait(&f->changed, &f->lock);
    }
    pthread_mutex_unlock(&f->lock);
    return 0;
}

static void *describe_in_thread(void *arg) {
    struct in_flight *f = (struct in_flight *)arg;
    oxb_status status = oxb_dataset_describe(f->ds, NULL, 0, wait_for_close, f, f->out);
    pthread_mutex_lock(&f->lock);
    f->status = status;
    f->finished = 1; /* so a call that never reports cannot hang the test */
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

struct racer {
    uint64_t handle;
    double *data;
    size_t len;
    volatile int started;
    int ok_calls, other_status;
    oxb_status last;
};

/* Pushes (or evaluates) until the handle goes away; any status but OK and then
 * OXB_INVALID_HANDLE is a failure. */
static void *push_until_destroyed(void *arg) {
    struct racer *r = (struct racer *)arg;
    oxb_view v = view_of(r->data, r->len, 1, OXB_DTYPE_F64);
    for (;;) {
        r->last = oxb_accumulator_push(r->handle, &v);
        if (r->last != OXB_OK) break;
        r->ok_calls++;
        r->started = 1;
    }
    if (r->last != OXB_INVALID_HANDLE || strstr(oxb_last_error_message(), "handle") == NULL)
        r->other_status++;
    return NULL;
}

static void *evaluate_until_destroyed(void *arg) {
    struct racer *r = (struct racer *)arg;
    oxb_view in = view_of(r->data, r->len, 1, OXB_DTYPE_F64);
    oxb_view out = view_of(r->data + r->len, r->len, 1, OXB_DTYPE_F64);
    for (;;) {
        r->last = oxb_expression_evaluate(r->handle, &in, 1, &out);
        if (r->last != OXB_OK) break;
        r->ok_calls++;
        r->started = 1;
    }
    if (r->last != OXB_INVALID_HANDLE || strstr(oxb_last_error_message(), "handle") == NULL)
        r->other_status++;
    return NULL;
}

static void *destroy_accumulator(void *arg) {
    struct racer *r = (struct racer *)arg;
    r->last = oxb_accumulator_destroy(r->handle);
    return NULL;
}

static void test_destroy_while_in_use(void) {
    size_t live_before = oxb_live_handles(), n = 1u << 20, rows = 200000, i;
    double *data = (double *)malloc(2 * n * sizeof *data);
    char *csv = (char *)malloc(rows * 24 + 8);
    size_t csv_len = 0;
    const char *path;
    struct in_flight f;
    struct racer r, twins[2];
    pthread_t thread, threads[2];
    oxb_stats s;
    int round, ok_destroys, ok = 1;

    CHECK(data != NULL && csv != NULL);
    if (data == NULL || csv == NULL) return;
    for (i = 0; i < 2 * n; i++) data[i] = (double)(i % 1000);

    /* A dataset closed while its describe waits in the progress callback. */
    csv_len += (size_t)sprintf(csv, "i,half\n");
    for (i = 0; i < rows; i++) csv_len += (size_t)sprintf(csv + csv_len, "%lu,%lu.5\n", (unsigned long)i, (unsigned long)i);
    path = temp_file("in_flight.csv", csv, csv_len);
    memset(&f, 0, sizeof f);
    pthread_mutex_init(&f.lock, NULL);
    pthread_cond_init(&f.changed, NULL);
    CHECK_OK(oxb_dataset_open(path, NULL, &f.ds));
    CHECK(pthread_create(&thread, NULL, describe_in_thread, &f) == 0);
    pthread_mutex_lock(&f.lock);
    while (!f.in_callback && !f.finished) pthread_cond_wait(&f.changed, &f.lock);
    CHECK(f.in_callback && !f.finished);
    pthread_mutex_unlock(&f.lock);
    CHECK_OK(oxb_dataset_close(f.ds)); /* returns at once, the call is still running */
    CHECK(oxb_live_handles() == live_before);
    CHECK_FAILS(oxb_dataset_num_columns(f.ds, &i), OXB_INVALID_HANDLE, "handle");
    pthread_mutex_lock(&f.lock);
    f.closed = 1;
    pthread_cond_broadcast(&f.changed);
    pthread_mutex_unlock(&f.lock);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(f.status == OXB_OK);
    CHECK(f.out[0].stats.count == rows && f.out[0].stats.int_sum_low == (uint64_t)rows * (rows - 1) / 2);
    CHECK(f.out[1].stats.count == rows && f.out[1].stats.sum == (double)rows * (rows - 1) / 2 + 0.5 * (double)rows);
    CHECK_FAILS(oxb_dataset_close(f.ds), OXB_INVALID_HANDLE, "handle");
    pthread_mutex_destroy(&f.lock);
    pthread_cond_destroy(&f.changed);
    unlink(path);

    /* An accumulator destroyed while another thread keeps pushing large arrays into it. */
    memset(&r, 0, sizeof r);
    r.data = data;
    r.len = n;
    CHECK_OK(oxb_accumulator_create(&r.handle));
    CHECK(pthread_create(&thread, NULL, push_until_destroyed, &r) == 0);
    while (!r.started) sched_yield();
    CHECK_OK(oxb_accumulator_destroy(r.handle));
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(r.ok_calls >= 1 && r.other_status == 0 && r.last == OXB_INVALID_HANDLE);
    CHECK_FAILS(oxb_accumulator_stats(r.handle, &s), OXB_INVALID_HANDLE, "handle");

    /* An expression destroyed while another thread keeps evaluating it in parallel. */
    memset(&r, 0, sizeof r);
    r.data = data;
    r.len = n;
    CHECK_OK(oxb_expression_compile("sqrt(x) * 2 + 1", &r.handle));
    CHECK(pthread_create(&thread, NULL, evaluate_until_destroyed, &r) == 0);
    while (!r.started) sched_yield();
    CHECK_OK(oxb_expression_destroy(r.handle));
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(r.ok_calls >= 1 && r.other_status == 0 && r.last == OXB_INVALID_HANDLE);
    for (i = 0; i < n; i++) ok &= data[n + i] == sqrt(data[i]) * 2 + 1;
    CHECK(ok);

    /* Two threads destroying the same handle at once: exactly one succeeds. */
    for (round = 0; round < 50; round++) {
        oxb_accumulator h = 0;
        CHECK_OK(oxb_accumulator_create(&h));
        for (i = 0; i < 2; i++) {
            memset(&twins[i], 0, sizeof twins[i]);
            twins[i].handle = h;
            CHECK(pthread_create(&threads[i], NULL, destroy_accumulator, &twins[i]) == 0);
        }
        ok_destroys = 0;
        for (i = 0; i < 2; i++) {
            CHECK(pthread_join(threads[i], NULL) == 0);
            ok_destroys += twins[i].last == OXB_OK;
            CHECK(twins[i].last == OXB_OK || twins[i].last == OXB_INVALID_HANDLE);
        }
        CHECK(ok_destroys == 1);
    }
    CHECK(oxb_live_handles() == live_before);
    free(data);
    free(csv);
}

int main(void) {
    test_version();
    test_last_error_is_per_thread();
    test_seed_process_array();
    test_process_every_dtype();
    test_process_strides();
    test_process_bad_input();
    test_accumulator_lifecycle();
    test_threads();
    test_stats();
    test_stats_axis();
    test_histogram();
    test_quantile();
    test_sort();
    test_threads_setting();
    test_dataset_csv();
    test_description();
    test_partitions();
    test_dataset_csv_dialect();
    test_dataset_csv_temporal();
    test_dataset_options_and_errors();
    test_dataset_npy();
    test_expressions();
    test_wrong_kind_handles();
    test_destroy_while_in_use();
    return check_report("test_oxbridge (C)");
}
