/* A minimal test harness shared by the C and C++ consumers: CHECK records a failure with
 * its line and carries on, so one run reports every broken expectation. */
#ifndef OXB_TEST_CHECK_H
#define OXB_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int checks_passed;
static int checks_failed;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (cond) {                                                             \
            checks_passed++;                                                    \
        } else {                                                                \
            checks_failed++;                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                     \
        }                                                                       \
    } while (0)

/* A call that must succeed; prints the library's message when it does not. */
#define CHECK_OK(call)                                                          \
    do {                                                                        \
        oxb_status check_status_ = (call);                                      \
        if (check_status_ == OXB_OK) {                                          \
            checks_passed++;                                                    \
        } else {                                                                \
            checks_failed++;                                                    \
            fprintf(stderr, "%s:%d: %s returned %u: %s\n", __FILE__, __LINE__,  \
                    #call, (unsigned)check_status_, oxb_last_error_message());  \
        }                                                                       \
    } while (0)

/* A call that must fail with `expected` and leave a message naming `needle`. */
#define CHECK_FAILS(call, expected, needle)                                     \
    do {                                                                        \
        oxb_status check_status_ = (call);                                      \
        const char *check_message_ = oxb_last_error_message();                  \
        if (check_status_ == (expected) && check_message_ != NULL &&            \
            strstr(check_message_, (needle)) != NULL) {                         \
            checks_passed++;                                                    \
        } else {                                                                \
            checks_failed++;                                                    \
            fprintf(stderr, "%s:%d: %s returned %u (wanted %u), message \"%s\" " \
                    "(wanted it to mention \"%s\")\n", __FILE__, __LINE__,      \
                    #call, (unsigned)check_status_, (unsigned)(expected),       \
                    check_message_ ? check_message_ : "(null)", (needle));      \
        }                                                                       \
    } while (0)

static int check_report(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

#endif /* OXB_TEST_CHECK_H */
