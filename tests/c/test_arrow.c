/* The Arrow C Data and C Stream Interfaces from C99, as an Arrow consumer written in C
 * would use them: schemas and record batches of CSV and .npy files checked value by
 * value, zero-copy buffers, structures outliving the dataset handle and released on
 * other threads or after a child was moved out, a file truncated mid-stream, misuse. */
#include "oxbridge.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Writes `size` bytes to a new temporary file and returns its path (static storage). */
static const char *temp_file(const char *name, const void *data, size_t size) {
    static char paths[4][256];
    static int next;
    char *path = paths[next++ % 4];
    FILE *f;
    snprintf(path, 256, "/tmp/oxbridge_c_arrow_%ld_%s", (long)getpid(), name);
    f = fopen(path, "wb");
    if (f == NULL) return path;
    fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

/* A version 1.0 .npy file of `data`, its header padded so the data starts at a multiple
 * of 64 bytes as numpy writes it. */
static const char *npy_file(const char *name, const char *descr, int fortran, const char *shape,
                            const void *data, size_t size) {
    char dict[200];
    unsigned char *file;
    size_t dict_len, header_len, total;
    const char *path;

    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
             fortran ? "True" : "False", shape);
    dict_len = strlen(dict);
    header_len = (10 + dict_len + 1 + 63) / 64 * 64 - 10; /* dict, spaces, '\n' */
    total = 10 + header_len + size;
    file = (unsigned char *)malloc(total);
    if (file == NULL) return "";
    memcpy(file, "\x93NUMPY\x01\x00", 8);
    file[8] = (unsigned char)(header_len & 0xff);
    file[9] = (unsigned char)(header_len >> 8);
    memset(file + 10, ' ', header_len);
    memcpy(file + 10, dict, dict_len);
    file[10 + header_len - 1] = '\n';
    memcpy(file + 10 + header_len, data, size);
    path = temp_file(name, file, total);
    free(file);
    return path;
}

/* Bit `i` of a bitmap, least significant bit first (Arrow's order). */
static int bit(const void *bitmap, int64_t i) {
    return (((const uint8_t *)bitmap)[i >> 3] >> (i & 7)) & 1;
}

/* Whether value `i` of a column is valid (no validity buffer: all are). */
static int is_valid(const struct ArrowArray *a, int64_t i) {
    return a->buffers[0] == NULL || bit(a->buffers[0], a->offset + i);
}

static int64_t count_nulls(const int *valid, int64_t start, int64_t n) {
    int64_t i, nulls = 0;
    for (i = 0; i < n; i++) nulls += !valid[start + i];
    return nulls;
}

/* Checks the struct array of a record batch: `rows` rows, `columns` children. */
static void check_struct(const struct ArrowArray *batch, int64_t rows, int64_t columns) {
    CHECK(batch->release != NULL);
    CHECK(batch->length == rows);
    CHECK(batch->null_count == 0);
    CHECK(batch->offset == 0);
    CHECK(batch->n_buffers == 1);
    CHECK(batch->buffers != NULL && batch->buffers[0] == NULL);
    CHECK(batch->n_children == columns);
    CHECK(batch->children != NULL);
    CHECK(batch->dictionary == NULL);
}

/* Checks a child of a batch: its length, buffers, and validity and null count against
 * `valid[start..start + n]`. */
static void check_child(const struct ArrowArray *c, int64_t n_buffers, const int *valid,
                        int64_t start, int64_t n) {
    int64_t i, nulls = count_nulls(valid, start, n);
    int ok = 1;
    CHECK(c->release != NULL);
    CHECK(c->length == n);
    CHECK(c->n_buffers == n_buffers);
    CHECK(c->n_children == 0);
    CHECK(c->dictionary == NULL);
    CHECK(c->null_count == nulls);
    /* A bitmap when some value is null; none needed (and none given) otherwise. */
    CHECK(nulls == 0 || c->buffers[0] != NULL);
    for (i = 0; i < n; i++) ok &= is_valid(c, i) == valid[start + i];
    CHECK(ok);
}

static void release_schema(struct ArrowSchema *s) {
    CHECK(s->release != NULL);
    if (s->release != NULL) s->release(s);
    CHECK(s->release == NULL);
}

static void release_array(struct ArrowArray *a) {
    CHECK(a->release != NULL);
    if (a->release != NULL) a->release(a);
    CHECK(a->release == NULL);
}

static void release_stream(struct ArrowArrayStream *s) {
    CHECK(s->release != NULL);
    if (s->release != NULL) s->release(s);
    CHECK(s->release == NULL);
}

/* Checks a struct schema's children: names, formats and flags. */
static void check_schema(const struct ArrowSchema *s, size_t n, const char *const *names,
                         const char *const *formats, int64_t flags) {
    size_t i;
    CHECK(s->release != NULL);
    CHECK(s->format != NULL && strcmp(s->format, "+s") == 0);
    CHECK(s->n_children == (int64_t)n);
    CHECK(s->dictionary == NULL);
    if (s->n_children != (int64_t)n || s->children == NULL) return;
    for (i = 0; i < n; i++) {
        const struct ArrowSchema *c = s->children[i];
        CHECK(c != NULL && c->release != NULL);
        if (c == NULL) continue;
        if (c->name == NULL || strcmp(c->name, names[i]) != 0 || c->format == NULL ||
            strcmp(c->format, formats[i]) != 0) {
            fprintf(stderr, "  child %u: name \"%s\" format \"%s\", wanted \"%s\" \"%s\"\n",
                    (unsigned)i, c->name ? c->name : "(null)", c->format ? c->format : "(null)",
                    names[i], formats[i]);
        }
        CHECK(c->name != NULL && strcmp(c->name, names[i]) == 0);
        CHECK(c->format != NULL && strcmp(c->format, formats[i]) == 0);
        CHECK(c->flags == flags);
        CHECK(c->n_children == 0 && c->dictionary == NULL);
    }
}

static int progress_calls;

static int count_progress(uint64_t done, uint64_t total, void *user) {
    progress_calls++;
    CHECK(user == (void *)&progress_calls);
    CHECK(done <= total);
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* 1. A CSV file: every type, nulls, quoting; schema and every value of every batch.  */

static const char small_csv[] = "a,b,c,d,e\n"
                                "1,1.5,plain,2024-01-02,true\n"
                                ",-2.25,\"say \"\"hi\"\", ok\",1970-01-01,false\n"
                                "3,0.5,,1969-12-31,TRUE\n"
                                "-4,1e3,x,2000-02-29,False\n"
                                "5,NA,last,2024-03-01,\n";

/* What small_csv holds, row by row. */
static const int a_valid[5] = {1, 0, 1, 1, 1};
static const int64_t a_values[5] = {1, 0, 3, -4, 5};
static const int b_valid[5] = {1, 1, 1, 1, 0};
static const double b_values[5] = {1.5, -2.25, 0.5, 1000.0, 0.0};
static const int c_valid[5] = {1, 1, 0, 1, 1};
static const char *const c_values[5] = {"plain", "say \"hi\", ok", NULL, "x", "last"};
static const int d_valid[5] = {1, 1, 1, 1, 1};
static const int32_t d_values[5] = {19724, 0, -1, 11016, 19783};
static const int e_valid[5] = {1, 1, 1, 1, 0};
static const int e_values[5] = {1, 0, 1, 0, 0};

static const char *const csv_names[5] = {"a", "b", "c", "d", "e"};
static const char *const csv_formats[5] = {"l", "g", "u", "tdD", "b"};

static void check_csv_int(const struct ArrowArray *c, int64_t start, int64_t n) {
    int64_t i;
    int ok = 1;
    check_child(c, 2, a_valid, start, n);
    for (i = 0; i < n; i++)
        if (a_valid[start + i]) ok &= ((const int64_t *)c->buffers[1])[c->offset + i] == a_values[start + i];
    CHECK(ok);
}

static void check_csv_float(const struct ArrowArray *c, int64_t start, int64_t n) {
    int64_t i;
    int ok = 1;
    check_child(c, 2, b_valid, start, n);
    for (i = 0; i < n; i++)
        if (b_valid[start + i]) ok &= ((const double *)c->buffers[1])[c->offset + i] == b_values[start + i];
    CHECK(ok);
}

static void check_csv_text(const struct ArrowArray *c, int64_t start, int64_t n) {
    int64_t i;
    int ok = 1;
    const int32_t *offsets = (const int32_t *)c->buffers[1];
    const char *data = (const char *)c->buffers[2];
    check_child(c, 3, c_valid, start, n);
    CHECK(offsets != NULL && data != NULL);
    if (offsets == NULL || data == NULL) return;
    for (i = 0; i < n; i++) {
        int32_t from = offsets[c->offset + i], to = offsets[c->offset + i + 1];
        ok &= from >= 0 && to >= from;
        if (!ok) break;
        if (c_valid[start + i]) {
            size_t len = strlen(c_values[start + i]);
            ok &= (size_t)(to - from) == len && memcmp(data + from, c_values[start + i], len) == 0;
        } else {
            ok &= to == from; /* what the builder writes for a null */
        }
    }
    CHECK(ok);
}

static void check_csv_date(const struct ArrowArray *c, int64_t start, int64_t n) {
    int64_t i;
    int ok = 1;
    check_child(c, 2, d_valid, start, n);
    CHECK(c->buffers[0] == NULL); /* no null in the column */
    for (i = 0; i < n; i++) ok &= ((const int32_t *)c->buffers[1])[c->offset + i] == d_values[start + i];
    CHECK(ok);
}

static void check_csv_bool(const struct ArrowArray *c, int64_t start, int64_t n) {
    int64_t i;
    int ok = 1;
    check_child(c, 2, e_valid, start, n);
    for (i = 0; i < n; i++)
        if (e_valid[start + i]) ok &= bit(c->buffers[1], c->offset + i) == e_values[start + i];
    CHECK(ok);
}

/* Streams every column of small_csv (opened as `ds`) at 2 rows a batch, checking the
 * schema and every value; returns the rows seen and writes the batch count. */
static int64_t stream_small_csv(oxb_dataset ds, int *batches) {
    struct ArrowSchema schema;
    struct ArrowArrayStream stream;
    struct ArrowArray batch;
    int64_t start = 0;
    int rc;

    *batches = 0;
    memset(&stream, 0, sizeof stream);
    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 2, 0, NULL, NULL, &stream));
    CHECK(stream.release != NULL && stream.get_schema != NULL && stream.get_next != NULL &&
          stream.get_last_error != NULL);
    if (stream.release == NULL) return -1;
    CHECK(stream.get_schema(&stream, &schema) == 0);
    check_schema(&schema, 5, csv_names, csv_formats, ARROW_FLAG_NULLABLE);
    release_schema(&schema);
    for (;;) {
        int64_t n;
        memset(&batch, 0xA5, sizeof batch);
        rc = stream.get_next(&stream, &batch);
        CHECK(rc == 0);
        if (rc != 0 || batch.release == NULL) break;
        n = batch.length;
        CHECK(n >= 1 && n <= 2 && start + n <= 5);
        if (n < 1 || n > 2 || start + n > 5) {
            release_array(&batch);
            break;
        }
        check_struct(&batch, n, 5);
        if (batch.n_children == 5) {
            check_csv_int(batch.children[0], start, n);
            check_csv_float(batch.children[1], start, n);
            check_csv_text(batch.children[2], start, n);
            check_csv_date(batch.children[3], start, n);
            check_csv_bool(batch.children[4], start, n);
        }
        release_array(&batch);
        start += n;
        if (++*batches > 10) break;
    }
    CHECK(rc == 0 && batch.release == NULL); /* the end */
    release_stream(&stream);
    return start;
}

static void test_csv(void) {
    const char *path = temp_file("small.csv", small_csv, sizeof small_csv - 1);
    size_t live_before = oxb_live_handles();
    const size_t d_and_a[2] = {3, 0};
    const char *const d_and_a_names[2] = {"d", "a"};
    const char *const d_and_a_formats[2] = {"tdD", "l"};
    oxb_dataset ds = 0;
    struct ArrowSchema schema;
    struct ArrowArrayStream stream;
    struct ArrowArray batch;
    int batches = 0;

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));

    /* The schema alone; the first call scans the file for its types. */
    memset(&schema, 0, sizeof schema);
    progress_calls = 0;
    CHECK_OK(oxb_dataset_arrow_schema(ds, NULL, 0, count_progress, &progress_calls, &schema));
    CHECK(progress_calls >= 1);
    check_schema(&schema, 5, csv_names, csv_formats, ARROW_FLAG_NULLABLE);
    release_schema(&schema);

    /* Two columns, in the order asked. */
    CHECK_OK(oxb_dataset_arrow_schema(ds, d_and_a, 2, NULL, NULL, &schema));
    check_schema(&schema, 2, d_and_a_names, d_and_a_formats, ARROW_FLAG_NULLABLE);
    release_schema(&schema);

    /* Every column, 2 rows a batch: 2 + 2 + 1. */
    CHECK(stream_small_csv(ds, &batches) == 5 && batches == 3);

    /* Two columns in one default-sized batch. */
    CHECK_OK(oxb_dataset_arrow_stream(ds, d_and_a, 2, 0, 0, NULL, NULL, &stream));
    CHECK(stream.get_schema(&stream, &schema) == 0);
    check_schema(&schema, 2, d_and_a_names, d_and_a_formats, ARROW_FLAG_NULLABLE);
    release_schema(&schema);
    CHECK(stream.get_next(&stream, &batch) == 0);
    check_struct(&batch, 5, 2);
    if (batch.release != NULL && batch.length == 5 && batch.n_children == 2) {
        check_csv_date(batch.children[0], 0, 5);
        check_csv_int(batch.children[1], 0, 5);
        release_array(&batch);
    }
    CHECK(stream.get_next(&stream, &batch) == 0 && batch.release == NULL);
    release_stream(&stream);

    CHECK_OK(oxb_dataset_close(ds));
    CHECK(oxb_live_handles() == live_before);
    unlink(path);
}

/* ---------------------------------------------------------------------------------- */
/* 2. A Fortran-order .npy file: zero-copy columns, valid after the dataset is closed.  */

#define NPY_ROWS 5
#define NPY_COLS 3

static double npy_value(int row, int col) { return 100.0 * col + row + 0.25; }

static void test_npy_fortran(void) {
    double data[NPY_ROWS * NPY_COLS];
    const char *const names[NPY_COLS] = {"0", "1", "2"};
    const char *const formats[NPY_COLS] = {"g", "g", "g"};
    const int all_valid[NPY_ROWS] = {1, 1, 1, 1, 1};
    size_t live_before = oxb_live_handles(), columns = 0;
    oxb_dataset ds = 0;
    oxb_array_info info;
    oxb_column_info column;
    struct ArrowSchema schema;
    struct ArrowArrayStream stream;
    struct ArrowArray batches[4];
    const char *path;
    int row, col, k, n_batches = 0, ok = 1;

    for (col = 0; col < NPY_COLS; col++)
        for (row = 0; row < NPY_ROWS; row++) data[col * NPY_ROWS + row] = npy_value(row, col);
    path = npy_file("fortran.npy", "<f8", 1, "(5, 3)", data, sizeof data);

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_OK(oxb_dataset_num_columns(ds, &columns));
    CHECK(columns == NPY_COLS);
    CHECK_OK(oxb_dataset_column_info(ds, 0, &column));
    CHECK(strcmp(column.name, names[0]) == 0);
    CHECK_OK(oxb_dataset_array(ds, &info));
    CHECK(info.fortran_order == 1 && info.rows == NPY_ROWS && info.cols == NPY_COLS);
    CHECK((uintptr_t)info.data % 64 == 0);

    CHECK_OK(oxb_dataset_arrow_schema(ds, NULL, 0, NULL, NULL, &schema));
    check_schema(&schema, NPY_COLS, names, formats, 0); /* binary data has no nulls */
    release_schema(&schema);

    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 2, 0, NULL, NULL, &stream));
    /* The stream keeps the file mapped; the handle goes. */
    CHECK_OK(oxb_dataset_close(ds));
    CHECK(oxb_live_handles() == live_before);
    CHECK_FAILS(oxb_dataset_arrow_stream(ds, NULL, 0, 2, 0, NULL, NULL, &stream), OXB_INVALID_HANDLE,
                "handle");
    CHECK(stream.release != NULL); /* a failed call leaves *out alone */
    if (stream.release == NULL) return;

    CHECK(stream.get_schema(&stream, &schema) == 0);
    check_schema(&schema, NPY_COLS, names, formats, 0);
    release_schema(&schema);

    /* Every batch kept until the stream is released. */
    for (k = 0; k < 4; k++) {
        CHECK(stream.get_next(&stream, &batches[k]) == 0);
        if (batches[k].release == NULL) break;
        n_batches++;
    }
    CHECK(n_batches == 3);
    release_stream(&stream);

    for (k = 0; k < n_batches; k++) {
        int64_t start = 2 * k, n = k < 2 ? 2 : 1;
        check_struct(&batches[k], n, NPY_COLS);
        if (batches[k].length != n || batches[k].n_children != NPY_COLS) continue;
        for (col = 0; col < NPY_COLS; col++) {
            const struct ArrowArray *c = batches[k].children[col];
            const double *values = (const double *)c->buffers[1];
            check_child(c, 2, all_valid, start, n);
            CHECK(c->buffers[0] == NULL && c->offset == 0);
            for (row = 0; row < n; row++) ok &= values[row] == npy_value((int)start + row, col);
            /* Zero-copy: each column's batches are consecutive ranges of the mapping,
             * the first at the column's place in the file. */
            CHECK((const char *)values ==
                  (const char *)batches[0].children[col]->buffers[1] + k * 2 * sizeof(double));
            CHECK((const char *)values ==
                  (const char *)info.data + ((size_t)col * NPY_ROWS + (size_t)start) * sizeof(double));
        }
    }
    CHECK(ok);
    /* Released in another order than given. */
    for (k = n_batches - 1; k >= 0; k--) release_array(&batches[k]);
    unlink(path);
}

/* 1-D arrays are zero-copy too; C-order tables are copied column by column. */
static void test_npy_other_layouts(void) {
    int32_t ints[7] = {-3, -2, -1, 0, 1, 2, 2147483647};
    int64_t table[4 * 3];
    const size_t third_and_first[2] = {2, 0};
    const int all_valid[7] = {1, 1, 1, 1, 1, 1, 1};
    oxb_dataset ds = 0;
    oxb_array_info info;
    struct ArrowSchema schema;
    struct ArrowArrayStream stream;
    struct ArrowArray batch;
    const char *path;
    int64_t start = 0, i;
    int ok = 1;

    path = npy_file("ints.npy", "<i4", 0, "(7,)", ints, sizeof ints);
    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_OK(oxb_dataset_array(ds, &info));
    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 3, 0, NULL, NULL, &stream));
    CHECK_OK(oxb_dataset_close(ds));
    CHECK(stream.get_schema(&stream, &schema) == 0);
    CHECK(schema.n_children == 1 && strcmp(schema.children[0]->format, "i") == 0);
    release_schema(&schema);
    while (stream.get_next(&stream, &batch) == 0 && batch.release != NULL) {
        int64_t n = start + 3 <= 7 ? 3 : 7 - start;
        const int32_t *values;
        check_struct(&batch, n, 1);
        check_child(batch.children[0], 2, all_valid, start, n);
        values = (const int32_t *)batch.children[0]->buffers[1];
        CHECK((const char *)values == (const char *)info.data + start * 4);
        for (i = 0; i < n; i++) ok &= values[i] == ints[start + i];
        release_array(&batch);
        start += n;
        if (start > 7) break;
    }
    CHECK(start == 7 && ok);
    release_stream(&stream);
    unlink(path);

    for (i = 0; i < 12; i++) table[i] = i * 11 - 40; /* row r, column c: table[r * 3 + c] */
    path = npy_file("corder.npy", "<i8", 0, "(4, 3)", table, sizeof table);
    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_OK(oxb_dataset_arrow_stream(ds, third_and_first, 2, 3, 0, NULL, NULL, &stream));
    CHECK_OK(oxb_dataset_close(ds));
    start = 0;
    while (stream.get_next(&stream, &batch) == 0 && batch.release != NULL) {
        int64_t n = start + 3 <= 4 ? 3 : 4 - start;
        const int64_t *third, *first;
        check_struct(&batch, n, 2);
        check_child(batch.children[0], 2, all_valid, start, n);
        check_child(batch.children[1], 2, all_valid, start, n);
        third = (const int64_t *)batch.children[0]->buffers[1];
        first = (const int64_t *)batch.children[1]->buffers[1];
        for (i = 0; i < n; i++) ok &= third[i] == table[(start + i) * 3 + 2] && first[i] == table[(start + i) * 3];
        release_array(&batch);
        start += n;
        if (start > 4) break;
    }
    CHECK(start == 4 && ok);
    release_stream(&stream);
    unlink(path);
}

/* ---------------------------------------------------------------------------------- */
/* 3. An array released on another thread, after its dataset and stream are gone.      */

struct release_job {
    struct ArrowArray *array;
    double first_value; /* of child 1 */
    int ok;
};

static void *read_and_release(void *arg) {
    struct release_job *job = (struct release_job *)arg;
    const struct ArrowArray *a = job->array;
    job->ok = a->release != NULL && a->n_children == NPY_COLS && a->length == 2 &&
              ((const double *)a->children[1]->buffers[1])[0] == job->first_value;
    job->array->release(job->array);
    job->ok &= job->array->release == NULL;
    return NULL;
}

static void *release_stream_in_thread(void *arg) {
    struct ArrowArrayStream *stream = (struct ArrowArrayStream *)arg;
    stream->release(stream);
    return NULL;
}

static void test_release_on_other_thread(void) {
    double data[NPY_ROWS * NPY_COLS];
    size_t live_before = oxb_live_handles();
    oxb_dataset ds = 0;
    struct ArrowArrayStream stream;
    struct ArrowArray batch;
    struct release_job job;
    pthread_t thread;
    const char *path;
    int row, col, round;

    for (col = 0; col < NPY_COLS; col++)
        for (row = 0; row < NPY_ROWS; row++) data[col * NPY_ROWS + row] = npy_value(row, col);
    path = npy_file("threads.npy", "<f8", 1, "(5, 3)", data, sizeof data);

    /* Round 0: the stream released on this thread first, then the array on another.
     * Round 1: the other way round: the stream on another thread, the array here. */
    for (round = 0; round < 2; round++) {
        CHECK_OK(oxb_dataset_open(path, NULL, &ds));
        CHECK(oxb_live_handles() == live_before + 1);
        CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 2, 0, NULL, NULL, &stream));
        CHECK(stream.get_next(&stream, &batch) == 0 && batch.release != NULL);
        if (batch.release == NULL) return;
        CHECK_OK(oxb_dataset_close(ds));
        CHECK(oxb_live_handles() == live_before);
        memset(&job, 0, sizeof job);
        job.array = &batch;
        job.first_value = npy_value(0, 1);
        if (round == 0) {
            release_stream(&stream);
            CHECK(pthread_create(&thread, NULL, read_and_release, &job) == 0);
            CHECK(pthread_join(thread, NULL) == 0);
            CHECK(job.ok);
        } else {
            CHECK(pthread_create(&thread, NULL, release_stream_in_thread, &stream) == 0);
            CHECK(pthread_join(thread, NULL) == 0);
            CHECK(stream.release == NULL);
            read_and_release(&job);
            CHECK(job.ok);
        }
    }
    CHECK(oxb_live_handles() == live_before);
    unlink(path);
}

/* ---------------------------------------------------------------------------------- */
/* 4. A child moved out of a struct array (or schema) outlives its released parent.    */

static void test_move_child(void) {
    double data[NPY_ROWS * NPY_COLS];
    const int all_valid[NPY_ROWS] = {1, 1, 1, 1, 1};
    oxb_dataset ds = 0;
    struct ArrowSchema schema, moved_schema;
    struct ArrowArrayStream stream;
    struct ArrowArray batch, moved;
    const char *path;
    int row, col, ok = 1;

    /* A zero-copy column: the moved child keeps the file mapped by itself. */
    for (col = 0; col < NPY_COLS; col++)
        for (row = 0; row < NPY_ROWS; row++) data[col * NPY_ROWS + row] = npy_value(row, col);
    path = npy_file("move.npy", "<f8", 1, "(5, 3)", data, sizeof data);
    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 0, 0, NULL, NULL, &stream));
    CHECK_OK(oxb_dataset_close(ds));
    CHECK(stream.get_next(&stream, &batch) == 0);
    release_stream(&stream);
    check_struct(&batch, NPY_ROWS, NPY_COLS);
    if (batch.release == NULL || batch.n_children != NPY_COLS) return;
    moved = *batch.children[2];
    batch.children[2]->release = NULL;
    release_array(&batch);
    check_child(&moved, 2, all_valid, 0, NPY_ROWS);
    for (row = 0; row < NPY_ROWS; row++) ok &= ((const double *)moved.buffers[1])[row] == npy_value(row, 2);
    CHECK(ok);
    release_array(&moved);
    unlink(path);

    /* Our own buffers (CSV text and int columns), and a schema's child. */
    path = temp_file("move.csv", small_csv, sizeof small_csv - 1);
    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_OK(oxb_dataset_arrow_schema(ds, NULL, 0, NULL, NULL, &schema));
    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 0, 0, NULL, NULL, &stream));
    CHECK_OK(oxb_dataset_close(ds));
    CHECK(schema.n_children == 5);
    if (schema.n_children != 5) return;
    moved_schema = *schema.children[2];
    schema.children[2]->release = NULL;
    release_schema(&schema);
    CHECK(strcmp(moved_schema.name, "c") == 0 && strcmp(moved_schema.format, "u") == 0 &&
          moved_schema.flags == ARROW_FLAG_NULLABLE);
    release_schema(&moved_schema);

    CHECK(stream.get_next(&stream, &batch) == 0);
    check_struct(&batch, 5, 5);
    if (batch.release == NULL || batch.n_children != 5) return;
    /* Two children moved: the text column and the last one. */
    moved = *batch.children[2];
    batch.children[2]->release = NULL;
    {
        struct ArrowArray moved_bool = *batch.children[4];
        batch.children[4]->release = NULL;
        release_array(&batch);
        release_stream(&stream);
        check_csv_text(&moved, 0, 5);
        check_csv_bool(&moved_bool, 0, 5);
        release_array(&moved_bool);
    }
    release_array(&moved);
    unlink(path);
}

/* ---------------------------------------------------------------------------------- */
/* 5. The file truncated under a running stream: EIO and a message, never SIGBUS.      */

static void test_truncated_mid_stream(void) {
    char path[256];
    FILE *f;
    long i, lines = 2000000;
    oxb_dataset ds = 0;
    struct ArrowArrayStream stream;
    struct ArrowArray first, batch;
    const char *message;
    int rc = 0, batches_after = 0, ok = 1;

    snprintf(path, sizeof path, "/tmp/oxbridge_c_arrow_%ld_big.csv", (long)getpid());
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) return;
    for (i = 0; i < lines; i++) fprintf(f, "%ld,%ld\n", i, i * 2);
    fclose(f);

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 1000, 0, NULL, NULL, &stream));
    CHECK_OK(oxb_dataset_close(ds));
    if (stream.release == NULL) return;
    CHECK(stream.get_next(&stream, &first) == 0);
    check_struct(&first, 1000, 2);
    if (first.release == NULL || first.length != 1000 || first.n_children != 2) return;

    CHECK(truncate(path, 4096) == 0);
    for (;;) {
        rc = stream.get_next(&stream, &batch);
        if (rc != 0 || batch.release == NULL) break; /* an error, or the end: must not come */
        release_array(&batch);
        batches_after++;
        if (batches_after > (int)(lines / 1000)) break;
    }
    CHECK(rc == EIO && rc == 5);
    CHECK(batch.release == NULL);
    message = stream.get_last_error(&stream);
    CHECK(message != NULL &&
          (strstr(message, "truncated") != NULL || strstr(message, "shrank") != NULL));
    if (message == NULL || rc != EIO)
        fprintf(stderr, "  get_next returned %d after %d more batches: %s\n", rc, batches_after,
                message != NULL ? message : "(null)");
    release_stream(&stream);

    /* The batch read before the cut is ours (parsed into memory): still whole. */
    {
        const int64_t *x = (const int64_t *)first.children[0]->buffers[1];
        const int64_t *y = (const int64_t *)first.children[1]->buffers[1];
        CHECK(first.children[0]->null_count == 0 && first.children[1]->null_count == 0);
        for (i = 0; i < 1000; i++) ok &= x[i] == i && y[i] == 2 * i;
        CHECK(ok);
    }
    release_array(&first);
    unlink(path);
}

/* ---------------------------------------------------------------------------------- */
/* 6. Misuse: NULL out-pointers, columns out of range, closed handles.                 */

static void test_errors(void) {
    const char *path = temp_file("errors.csv", small_csv, sizeof small_csv - 1);
    const size_t bad_column[2] = {0, 5};
    oxb_dataset ds = 0;
    struct ArrowSchema schema, schema_before;
    struct ArrowArrayStream stream, stream_before;

    /* Whatever a failed call got as *out stays as it was. */
    memset(&schema, 0x5A, sizeof schema);
    memset(&stream, 0x5A, sizeof stream);
    schema_before = schema;
    stream_before = stream;

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_FAILS(oxb_dataset_arrow_schema(ds, NULL, 0, NULL, NULL, NULL), OXB_NULL_POINTER, "out");
    CHECK_FAILS(oxb_dataset_arrow_stream(ds, NULL, 0, 0, 0, NULL, NULL, NULL), OXB_NULL_POINTER, "out");
    CHECK_FAILS(oxb_dataset_arrow_schema(ds, NULL, 2, NULL, NULL, &schema), OXB_NULL_POINTER, "columns");
    CHECK_FAILS(oxb_dataset_arrow_stream(ds, NULL, 2, 0, 0, NULL, NULL, &stream), OXB_NULL_POINTER, "columns");
    CHECK_FAILS(oxb_dataset_arrow_schema(ds, bad_column, 2, NULL, NULL, &schema), OXB_INVALID_ARGUMENT,
                "out of range");
    CHECK_FAILS(oxb_dataset_arrow_stream(ds, bad_column, 2, 7, 0, NULL, NULL, &stream), OXB_INVALID_ARGUMENT,
                "out of range");
    CHECK(memcmp(&schema, &schema_before, sizeof schema) == 0);
    CHECK(memcmp(&stream, &stream_before, sizeof stream) == 0);
    CHECK_OK(oxb_dataset_close(ds));

    CHECK_FAILS(oxb_dataset_arrow_schema(ds, NULL, 0, NULL, NULL, &schema), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_dataset_arrow_stream(ds, NULL, 0, 0, 0, NULL, NULL, &stream), OXB_INVALID_HANDLE, "handle");
    CHECK_FAILS(oxb_dataset_arrow_stream(0, NULL, 0, 0, 0, NULL, NULL, &stream), OXB_INVALID_HANDLE, "handle");
    CHECK(memcmp(&schema, &schema_before, sizeof schema) == 0);
    CHECK(memcmp(&stream, &stream_before, sizeof stream) == 0);
    unlink(path);
}

/* ---------------------------------------------------------------------------------- */
/* 7. Heap structs for callers that cannot allocate what the library frees.            */

static void test_heap_structs(void) {
    const char *path = temp_file("heap.csv", small_csv, sizeof small_csv - 1);
    size_t live_before = oxb_live_handles();
    oxb_dataset ds = 0;
    struct ArrowArrayStream *stream = (struct ArrowArrayStream *)oxb_arrow_new(OXB_ARROW_STREAM);
    struct ArrowSchema *schema = (struct ArrowSchema *)oxb_arrow_new(OXB_ARROW_SCHEMA);
    struct ArrowArray *array = (struct ArrowArray *)oxb_arrow_new(OXB_ARROW_ARRAY);
    struct ArrowArray *unused = (struct ArrowArray *)oxb_arrow_new(OXB_ARROW_ARRAY);

    CHECK(stream != NULL && schema != NULL && array != NULL && unused != NULL);
    if (stream == NULL || schema == NULL || array == NULL || unused == NULL) return;
    CHECK(stream->release == NULL && stream->private_data == NULL);
    CHECK(schema->release == NULL && array->release == NULL && array->length == 0);

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 3, 0, NULL, NULL, stream));
    CHECK_OK(oxb_dataset_close(ds));
    CHECK(stream->release != NULL);
    CHECK(stream->get_schema(stream, schema) == 0);
    check_schema(schema, 5, csv_names, csv_formats, ARROW_FLAG_NULLABLE);
    CHECK(stream->get_next(stream, array) == 0);
    check_struct(array, 3, 5);
    if (array->release != NULL && array->n_children == 5) check_csv_text(array->children[2], 0, 3);

    /* Each freed unreleased: oxb_arrow_free releases first (valgrind and ASan see leaks). */
    oxb_arrow_free(OXB_ARROW_STREAM, stream);
    oxb_arrow_free(OXB_ARROW_SCHEMA, schema);
    oxb_arrow_free(OXB_ARROW_ARRAY, array);
    oxb_arrow_free(OXB_ARROW_ARRAY, unused); /* never filled */
    oxb_arrow_free(OXB_ARROW_STREAM, NULL);
    CHECK(oxb_arrow_new(99) == NULL);
    CHECK(oxb_arrow_new(3) == NULL);
    CHECK(oxb_live_handles() == live_before);
    unlink(path);
}

/* OXB_ARROW_SAMPLED_TYPES: types from the first records, one pass; a value that does not
 * fit later ends the stream with EAGAIN, and a stream without the flag reads the file. */
static void test_sampled_types(void) {
    char path[256];
    FILE *f;
    long i, lines = 200000, rows = 0;
    oxb_dataset ds = 0;
    struct ArrowArrayStream stream;
    struct ArrowSchema schema;
    struct ArrowArray batch;
    int rc = 0;
    const char *message;

    snprintf(path, sizeof path, "/tmp/oxbridge_c_arrow_%ld_sampled.csv", (long)getpid());
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) return;
    fprintf(f, "n,code\n");
    for (i = 0; i < lines; i++) fprintf(f, "%ld,%ld\n", i, i % 1000);
    fprintf(f, "%ld,X12\n", lines);
    fclose(f);

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK_FAILS(oxb_dataset_arrow_stream(ds, NULL, 0, 0, 6, NULL, NULL, &stream), OXB_INVALID_ARGUMENT, "flags");
    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 50000, OXB_ARROW_SAMPLED_TYPES, NULL, NULL, &stream));
    CHECK(stream.get_schema(&stream, &schema) == 0);
    CHECK(strcmp(schema.children[1]->format, "l") == 0); /* guessed: int64 */
    schema.release(&schema);
    for (;;) {
        rc = stream.get_next(&stream, &batch);
        if (rc != 0 || batch.release == NULL) break;
        rows += batch.length;
        batch.release(&batch);
    }
    CHECK(rc == EAGAIN);
    message = stream.get_last_error(&stream);
    CHECK(message != NULL && strstr(message, "X12") != NULL && strstr(message, "first records") != NULL);
    CHECK(rows < lines + 1);
    stream.release(&stream);

    /* Without the flag: the whole file's types, every row. */
    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 50000, 0, NULL, NULL, &stream));
    CHECK(stream.get_schema(&stream, &schema) == 0);
    CHECK(strcmp(schema.children[1]->format, "u") == 0);
    schema.release(&schema);
    rows = 0;
    for (;;) {
        rc = stream.get_next(&stream, &batch);
        if (rc != 0 || batch.release == NULL) break;
        rows += batch.length;
        batch.release(&batch);
    }
    CHECK(rc == 0 && rows == lines + 1);
    stream.release(&stream);
    /* Now the types are known: the flag changes nothing. */
    CHECK_OK(oxb_dataset_arrow_stream(ds, NULL, 0, 0, OXB_ARROW_SAMPLED_TYPES, NULL, NULL, &stream));
    CHECK(stream.get_schema(&stream, &schema) == 0);
    CHECK(strcmp(schema.children[1]->format, "u") == 0);
    schema.release(&schema);
    stream.release(&stream);
    CHECK_OK(oxb_dataset_close(ds));
    unlink(path);
}

/* Arrow in: oxb_stats_arrow and oxb_accumulator_push_arrow read a producer's array in
 * place (a hand-made one here), nulls as missing; the producer keeps it. */
static void noop_release_array(struct ArrowArray *a) { a->release = NULL; }
static void noop_release_schema(struct ArrowSchema *s) { s->release = NULL; }

static void test_arrow_input(void) {
    int64_t values[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    uint8_t validity[2] = {0xFF ^ (1 << 3), 0x03}; /* value 3 null (bits from offset 0) */
    const void *buffers[2] = {validity, values};
    struct ArrowSchema schema;
    struct ArrowArray array;
    oxb_stats out;
    oxb_accumulator acc = 0;

    memset(&schema, 0, sizeof schema);
    schema.format = "l";
    schema.name = "x";
    schema.release = noop_release_schema;
    memset(&array, 0, sizeof array);
    array.length = 8; /* values 1..8 */
    array.offset = 1;
    array.null_count = 1;
    array.n_buffers = 2;
    array.buffers = buffers;
    array.release = noop_release_array;

    CHECK_OK(oxb_stats_arrow(&array, &schema, &out));
    CHECK(out.count == 7 && out.nan_count == 1 && out.is_integer == 1 && out.int_sum_low == 33 &&
          out.int_min == 1 && out.int_max == 8);
    CHECK(array.release != NULL); /* not released: the producer's */
    CHECK_OK(oxb_accumulator_create(&acc));
    CHECK_OK(oxb_accumulator_push_arrow(acc, &array, &schema));
    CHECK_OK(oxb_accumulator_push_arrow(acc, &array, &schema));
    CHECK_OK(oxb_accumulator_stats(acc, &out));
    CHECK(out.count == 14 && out.nan_count == 2 && out.int_sum_low == 66);
    CHECK_OK(oxb_accumulator_destroy(acc));

    array.null_count = -1; /* unknown: the bitmap says */
    CHECK_OK(oxb_stats_arrow(&array, &schema, &out));
    CHECK(out.count == 7 && out.nan_count == 1);
    buffers[0] = NULL;
    array.null_count = 1;
    CHECK_FAILS(oxb_stats_arrow(&array, &schema, &out), OXB_INVALID_ARGUMENT, "validity");
    array.null_count = 0;
    CHECK_OK(oxb_stats_arrow(&array, &schema, &out));
    CHECK(out.count == 8 && out.int_sum_low == 36);

    schema.format = "u";
    CHECK_FAILS(oxb_stats_arrow(&array, &schema, &out), OXB_UNSUPPORTED, "\"u\"");
    schema.format = "l";
    array.n_buffers = 3;
    CHECK_FAILS(oxb_stats_arrow(&array, &schema, &out), OXB_INVALID_ARGUMENT, "buffers");
    array.n_buffers = 2;
    array.offset = -1;
    CHECK_FAILS(oxb_stats_arrow(&array, &schema, &out), OXB_INVALID_ARGUMENT, "offset");
    array.offset = 1;
    CHECK_FAILS(oxb_stats_arrow(NULL, &schema, &out), OXB_NULL_POINTER, "array");
    CHECK_FAILS(oxb_stats_arrow(&array, NULL, &out), OXB_NULL_POINTER, "schema");
    CHECK_FAILS(oxb_stats_arrow(&array, &schema, NULL), OXB_NULL_POINTER, "out");
    /* Quantiles and histograms read it in place too; a null reads as NaN. */
    {
        double probs[3] = {0.0, 0.5, 1.0}, q[3], edges[3], range[2] = {0.0, 10.0};
        uint64_t counts[2];
        CHECK_OK(oxb_quantile_arrow(&array, &schema, probs, 3, q));
        CHECK(q[0] == 1.0 && q[1] == 4.5 && q[2] == 8.0); /* values 1..8, no null now */
        CHECK_OK(oxb_histogram_arrow(&array, &schema, 2, range, counts, edges));
        CHECK(counts[0] == 4 && counts[1] == 4 && edges[1] == 5.0);
        buffers[0] = validity;
        array.null_count = 1;
        CHECK_OK(oxb_quantile_arrow(&array, &schema, probs, 3, q));
        CHECK(q[0] != q[0] && q[1] != q[1]); /* NaN, as numpy's quantile of data with NaN */
        CHECK_OK(oxb_histogram_arrow(&array, &schema, 2, range, counts, edges));
        CHECK(counts[0] + counts[1] == 7);
        schema.format = "u";
        CHECK_FAILS(oxb_quantile_arrow(&array, &schema, probs, 3, q), OXB_UNSUPPORTED, "not supported");
        schema.format = "l";
    }
    /* Expressions take Arrow operands: x (int64 with a null, read as NaN) and a scalar. */
    {
        oxb_expression e = 0;
        double result[8], two = 2.0;
        const void *scalar_buffers[2] = {NULL, &two};
        struct ArrowArray scalar;
        struct ArrowSchema scalar_schema;
        const struct ArrowArray *arrays[2];
        const struct ArrowSchema *schemas[2];
        oxb_view out_view;
        memset(&scalar, 0, sizeof scalar);
        scalar.length = 1;
        scalar.n_buffers = 2;
        scalar.buffers = scalar_buffers;
        scalar.release = noop_release_array;
        scalar_schema = schema;
        scalar_schema.format = "g";
        arrays[0] = &array;
        arrays[1] = &scalar;
        schemas[0] = &schema;
        schemas[1] = &scalar_schema;
        memset(&out_view, 0, sizeof out_view);
        out_view.data = result;
        out_view.len = 8;
        out_view.stride = 1;
        out_view.dtype = OXB_DTYPE_F64;
        CHECK_OK(oxb_expression_compile("x * k + 1", &e));
        CHECK_OK(oxb_expression_evaluate_arrow(e, arrays, schemas, 2, &out_view));
        CHECK(result[0] == 3.0 && result[1] == 5.0 && result[2] != result[2] && result[7] == 17.0);
        scalar_schema.format = "u";
        CHECK_FAILS(oxb_expression_evaluate_arrow(e, arrays, schemas, 2, &out_view), OXB_UNSUPPORTED, "\"u\"");
        CHECK_FAILS(oxb_expression_evaluate_arrow(e, NULL, schemas, 2, &out_view), OXB_NULL_POINTER, "arrays");
        CHECK_OK(oxb_expression_destroy(e));
    }
    array.release = NULL;
    CHECK_FAILS(oxb_stats_arrow(&array, &schema, &out), OXB_INVALID_ARGUMENT, "released");
}

/* ---------------------------------------------------------------------------------- */
/* small_csv gzip-compressed in two members (made by Python's gzip.compress, mtime 0):  */
/* the stream decodes as it goes, and its decoder lives in the stream's private data.   */

static const unsigned char small_csv_gz[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x1d, 0xca,
    0x31, 0x0a, 0x80, 0x30, 0x0c, 0x05, 0xd0, 0xbd, 0xa7, 0x28, 0x99, 0x7f,
    0x4b, 0x12, 0x2c, 0xe2, 0x71, 0xa2, 0x56, 0x2c, 0x16, 0x15, 0xab, 0x83,
    0xb7, 0x17, 0x7c, 0xf3, 0x33, 0x8c, 0x98, 0x30, 0x23, 0x3b, 0x81, 0xc4,
    0x84, 0xb3, 0x5a, 0xd9, 0xa1, 0xac, 0x5d, 0x60, 0x09, 0xac, 0xb8, 0xaf,
    0x27, 0x3b, 0x04, 0x8d, 0x9a, 0x40, 0xcd, 0x5e, 0x4f, 0xb4, 0x16, 0x22,
    0xf8, 0x63, 0x23, 0xc8, 0xd0, 0xf3, 0xff, 0x04, 0x8b, 0xd5, 0x96, 0xdd,
    0x07, 0x7d, 0xbc, 0x93, 0xfe, 0x4f, 0x00, 0x00, 0x00, 0x1f, 0x8b, 0x08,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x0d, 0xc9, 0x21, 0x0e, 0x80,
    0x30, 0x10, 0x04, 0x40, 0xdf, 0xb7, 0xec, 0x92, 0xbd, 0xbb, 0x96, 0xa4,
    0x12, 0x01, 0x12, 0x41, 0xe0, 0x01, 0x15, 0xb8, 0xba, 0x22, 0x78, 0x3e,
    0x8c, 0x9d, 0x80, 0xa6, 0x02, 0x58, 0x9d, 0x2b, 0xcd, 0x19, 0x86, 0xf3,
    0xb8, 0xd6, 0xc4, 0x0c, 0xbb, 0x03, 0x2f, 0x5c, 0x12, 0xe5, 0xf4, 0x8a,
    0xad, 0xf5, 0x71, 0xa7, 0x82, 0x7d, 0x41, 0x6f, 0xe3, 0xf9, 0xcb, 0x33,
    0x15, 0x94, 0x21, 0x7d, 0xe0, 0x9e, 0x5c, 0x4e, 0x47, 0x00, 0x00, 0x00,
};

static void test_compressed_csv(void) {
    const char *path = temp_file("small.csv.gz", small_csv_gz, sizeof small_csv_gz);
    size_t live_before = oxb_live_handles();
    const size_t a_only[1] = {0};
    oxb_dataset ds = 0;
    struct ArrowArrayStream stream;
    struct ArrowArray batch;
    pthread_t thread;
    double rows[8];
    uint64_t cursor = 0, read = 0;
    int batches = 0, i, ok = 1;

    CHECK_OK(oxb_dataset_open(path, NULL, &ds));
    CHECK(stream_small_csv(ds, &batches) == 5);

    /* Rows in order from a cursor, one call at a time: the dataset keeps the decoder. */
    for (i = 0; i < 5; i++) {
        CHECK_OK(oxb_dataset_read_rows(ds, &cursor, 1, a_only, 1, rows, &read));
        ok &= read == 1 && (a_valid[i] ? rows[0] == (double)a_values[i] : rows[0] != rows[0]);
    }
    CHECK(ok);
    CHECK_OK(oxb_dataset_read_rows(ds, &cursor, 8, a_only, 1, rows, &read));
    CHECK(read == 0);

    /* A stream released on another thread after its dataset is closed. */
    CHECK_OK(oxb_dataset_arrow_stream(ds, a_only, 1, 1, 0, NULL, NULL, &stream));
    CHECK(stream.get_next(&stream, &batch) == 0 && batch.release != NULL);
    CHECK_OK(oxb_dataset_close(ds));
    if (batch.release != NULL) {
        check_struct(&batch, 1, 1);
        release_array(&batch);
    }
    CHECK(pthread_create(&thread, NULL, release_stream_in_thread, &stream) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(stream.release == NULL);
    CHECK(oxb_live_handles() == live_before);
    unlink(path);
}

int main(void) {
    test_csv();
    test_npy_fortran();
    test_npy_other_layouts();
    test_release_on_other_thread();
    test_move_child();
    test_truncated_mid_stream();
    test_errors();
    test_heap_structs();
    test_sampled_types();
    test_arrow_input();
    test_compressed_csv();
    return check_report("test_arrow (C)");
}
