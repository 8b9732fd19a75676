/* SPDX-License-Identifier: MIT */
/* What every benchmark program in test/bench/ shares: the clock, a fatal
 * error, numbers from the command line, programs found on PATH, a child
 * reaped, CPU time and resident memory, samples and their percentiles,
 * medians over rounds, and the parent's ballast. Each program defines
 * BENCH_NAME (its name, for messages) and MAX_ROUNDS before including
 * this. The functions are static inline so that a program that uses only
 * some of them builds without warnings. */
#ifndef UVEXEC_BENCH_UTIL_H
#define UVEXEC_BENCH_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include "uvexec.h"

#if !defined(BENCH_NAME) || !defined(MAX_ROUNDS)
#error "define BENCH_NAME and MAX_ROUNDS before including bench_util.h"
#endif

#define MIB ((size_t)1024 * 1024)

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

/* parse_num answers s as a number in lo..hi, or dies naming what. */
static inline long parse_num(const char *s, const char *what, long lo,
                             long hi) {
  char *end;
  long v;

  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
    die("%s: bad number '%s' (%ld..%ld)", what, s, lo, hi);
  return v;
}

/* find_program answers the path of name on PATH (uvexec_lookpath), or
 * dies. */
static inline char *find_program(const char *name) {
  char *path = NULL;
  int err = uvexec_lookpath(name, &path);

  if (err != 0)
    die("%s: %s", name, uvexec_strerror(err));
  return path;
}

/* reap waits for pid and insists that it exited 0. */
static inline void reap(pid_t pid) {
  int status;

  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      die("waitpid %d: %s", (int)pid, strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("child %d did not exit 0 (status 0x%x)", (int)pid, status);
}

/* cpu_s answers the CPU time, user and system, of who (RUSAGE_SELF, or
 * RUSAGE_CHILDREN for the children reaped so far). */
static inline double cpu_s(int who) {
  struct rusage ru;

  getrusage(who, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* rss_kib answers this process's VmRSS, -1 if it cannot be read. */
static inline long rss_kib(void) {
  char line[256];
  long kib = -1;
  FILE *f = fopen("/proc/self/status", "r");

  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kib = strtol(line + 6, NULL, 10);
      break;
    }
  fclose(f);
  return kib;
}

/* A growing set of samples. */
typedef struct {
  double *v;
  size_t n, cap;
} samples_t;

static inline void samples_add(samples_t *s, double x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 1024;
    s->v = realloc(s->v, s->cap * sizeof(*s->v));
    if (s->v == NULL)
      die("out of memory (samples)");
  }
  s->v[s->n++] = x;
}

static inline void samples_free(samples_t *s) {
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
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

/* pct answers the p-th percentile (0..100, nearest rank) of v[0..n); v is
 * sorted in place. */
static inline double pct(double *v, size_t n, double p) {
  size_t rank;

  if (n == 0)
    return 0;
  qsort(v, n, sizeof(*v), cmp_double);
  rank = (size_t)(p / 100.0 * (double)n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return v[rank - 1];
}

/* ballast_grow brings the parent's ballast to mib MiB of private, touched,
 * 4 KiB-paged memory (huge pages would make fork's page-table copy cheap
 * and the comparison meaningless). It only ever grows. */
static inline void ballast_grow(size_t mib) {
  static size_t have; /* MiB */
  size_t bytes;
  char *p;

  if (mib <= have)
    return;
  bytes = (mib - have) * MIB;
  p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
           -1, 0);
  if (p == MAP_FAILED)
    die("ballast of %zu MiB: %s", mib, strerror(errno));
  (void)madvise(p, bytes, MADV_NOHUGEPAGE);
  memset(p, 0xa5, bytes);
  have = mib;
}

/* ---- targets -------------------------------------------------------------- */

/* bench_misses counts the targets missed so far in this program. */
static inline int *bench_misses(void) {
  static int n;

  return &n;
}

/* bench_target prints one target line, "target: WHAT GOT PASS|MISS", and
 * counts a miss. */
static inline void bench_target(int pass, const char *got, const char *fmt,
                                ...) __attribute__((format(printf, 3, 4)));

static inline void bench_target(int pass, const char *got, const char *fmt,
                                ...) {
  char what[160];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  printf("  target: %-58s %-22s %s\n", what, got, pass ? "PASS" : "MISS");
  *bench_misses() += !pass;
}

/* ---- cgroups ---------------------------------------------------------------- */

/* own_cgroup answers this process's cgroup v2 directory, from the mount
 * table and /proc/self/cgroup; -1 without one. */
static inline int own_cgroup(char *buf, size_t len) {
  char line[4096], mount[2048] = "", rel[2048] = "";
  FILE *f = fopen("/proc/self/mountinfo", "re");

  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    char point[2048];

    if (strstr(line, " - cgroup2 ") != NULL &&
        sscanf(line, "%*s %*s %*s %*s %2047s", point) == 1) {
      snprintf(mount, sizeof mount, "%s", point);
      break;
    }
  }
  fclose(f);
  f = fopen("/proc/self/cgroup", "re");
  if (f == NULL || mount[0] == '\0') {
    if (f != NULL)
      fclose(f);
    return -1;
  }
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "0::", 3) == 0 && sscanf(line + 3, "%2047s", rel) == 1)
      break;
  fclose(f);
  snprintf(buf, len, "%s%s", mount, strcmp(rel, "/") == 0 ? "" : rel);
  return 0;
}

#endif /* UVEXEC_BENCH_UTIL_H */
