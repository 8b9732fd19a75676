/* SPDX-License-Identifier: MIT */
/* What every benchmark program in test/bench/ shares: the clock, a fatal
 * error, and medians over rounds. Each program defines BENCH_NAME (its
 * name, for messages) and MAX_ROUNDS before including this. The functions
 * are static inline so that a program that uses only some of them builds
 * without warnings. */
#ifndef UVEXEC_BENCH_UTIL_H
#define UVEXEC_BENCH_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if !defined(BENCH_NAME) || !defined(MAX_ROUNDS)
#error "define BENCH_NAME and MAX_ROUNDS before including bench_util.h"
#endif

/* now_s is CLOCK_MONOTONIC in seconds. */
static inline double now_s(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* die prints BENCH_NAME: message and exits 2. */
static inline void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static inline void die(const char *fmt, ...) {
  va_list ap;

  fflush(stdout);
  fprintf(stderr, BENCH_NAME ": ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(2);
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

/* median answers the median of v[0..n) without disturbing v. */
static inline double median(const double *v, int n) {
  double tmp[MAX_ROUNDS];
  int i;

  if (n <= 0)
    return 0;
  for (i = 0; i < n; i++)
    tmp[i] = v[i];
  qsort(tmp, (size_t)n, sizeof(*tmp), cmp_double);
  if (n % 2)
    return tmp[n / 2];
  return (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* median_ratio answers the median over the rounds of a[r] / b[r]: a slow
 * patch of the machine that hits one round hits both sides of its ratio. */
static inline double median_ratio(const double *a, const double *b, int n) {
  double r[MAX_ROUNDS];
  int i;

  for (i = 0; i < n; i++)
    r[i] = b[i] > 0 ? a[i] / b[i] : 0;
  return median(r, n);
}

#endif /* UVEXEC_BENCH_UTIL_H */
