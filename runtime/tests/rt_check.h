/* rt_check.h — the runtime tests' CHECK macro: counts failures, names the
 * line, keeps going. */
#ifndef DTLSRUN_RT_CHECK_H
#define DTLSRUN_RT_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            failures++;                                                               \
        }                                                                             \
    } while (0)

#endif
