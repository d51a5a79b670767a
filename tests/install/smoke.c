/* A C program built the way a user builds against an installed oxbridge:
 * `cc smoke.c $(pkg-config --cflags --libs oxbridge)`. It checks that the header and the
 * library it finds agree, then runs a statistic and an expression through them. */
#include <oxbridge.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

int main(void) {
    double data[] = {1.0, 2.0, 3.0, 4.0};
    double out[4];
    oxb_view in = {data, 4, 1, OXB_DTYPE_F64};
    oxb_view result = {out, 4, 1, OXB_DTYPE_F64};
    oxb_stats stats;
    oxb_expression expr = 0;

    CHECK(oxb_abi_version() == OXB_ABI_VERSION);
    CHECK(strcmp(oxb_version(), OXB_VERSION) == 0);

    CHECK(oxb_stats_compute(&in, &stats) == OXB_OK);
    CHECK(stats.count == 4 && stats.mean == 2.5 && stats.min == 1.0 && stats.max == 4.0);

    CHECK(oxb_expression_compile("sqrt(x) * 2", &expr) == OXB_OK);
    CHECK(oxb_expression_evaluate(expr, &in, 1, &result) == OXB_OK);
    for (int i = 0; i < 4; i++) CHECK(out[i] == sqrt(data[i]) * 2);
    CHECK(oxb_expression_destroy(expr) == OXB_OK);
    CHECK(oxb_live_handles() == 0);

    if (failures) return 1;
    printf("installed oxbridge %s (ABI %u): ok\n", oxb_version(), (unsigned)oxb_abi_version());
    return 0;
}
