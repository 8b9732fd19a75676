/* SPDX-License-Identifier: MIT */
/* uvexec-bench-clone — the clone engine against raw posix_spawn.
 *
 * Spawn + wait of /bin/true, one child at a time, at each parent ballast
 * (--ballast, MiB of touched 4 KiB pages, grown between levels). In every
 * round each contender runs --spawns starts, the first contender rotating
 * from round to round; the table gives medians over rounds and the median
 * of the per-round ratios to raw posix_spawn, which runs in the same round.
 * A round's figure for a contender is the median of its spawns' times
 * (start to reaped), so that the few spawns that wait for a CPU on a
 * shared machine do not decide it.
 * Also the CPU time of parent and children per spawn (getrusage, self and
 * children; it does not grow while the process waits for a CPU, so it is
 * the steadier figure on a busy machine), and the time inside
 * uvexec_start (the loop is blocked that long), as median / p99 / max
 * over every start.
 *
 * Contenders:
 *   raw posix_spawn + waitpid        the reference (no attributes)
 *   clone engine                     uvexec, UVEXEC_ENGINE_CLONE
 *   clone + rlimit/umask/uid         the same with RLIMIT_NOFILE, a umask
 *                                    and uid = the current uid set (the
 *                                    calls are made in the child)
 *   clone, close_fds off             uvexec_cmd_set_close_fds(cmd, 0)
 *
 * Before the first round --fds inheritable fds (default 64) are opened, so
 * that closing them has work to do.
 *
 * Options: --quick (2 rounds of 50), --rounds N, --spawns N,
 *          --ballast 0,1024 (MiB), --fds N.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

extern char **environ;

#define MAX_ROUNDS 100
#define BENCH_NAME "uvexec-bench-clone"
#include "bench_util.h"
#define MAX_LEVELS 8

static struct {
  int rounds;
  int spawns;
  size_t ballast[MAX_LEVELS];
  int nballast;
  int fds;
} opt = {5, 200, {0, 1024}, 2, 64};

static const char *path_true = "/bin/true";

/* ---- targets ------------------------------------------------------------- */


/* ---- contenders --------------------------------------------------------- */

enum { C_POSIX, C_CLONE, C_CLONE_SETUP, C_CLONE_KEEP, C_N };

static const char *const names[C_N] = {
    "raw posix_spawn + waitpid (ref)",
    "clone engine",
    "clone + rlimit/umask/uid",
    "clone, close_fds off",
};

typedef struct {
  double us[MAX_ROUNDS];
  double cpu[MAX_ROUNDS]; /* parent + child CPU time per spawn, us */
  samples_t blocked;
} result_t;

static result_t res[MAX_LEVELS][C_N];

/* round_median answers the median of one contender's n spawn times in a
 * round: on a shared machine a few spawns wait for a CPU far longer than
 * the work takes, and the mean would follow them. */
static double round_median(samples_t *each) {
  double m = pct(each->v, each->n, 50);

  each->n = 0;
  return m;
}

static samples_t each;

static double run_posix(int n, samples_t *blocked) {
  char *argv[] = {(char *)path_true, NULL};
  double a, b;
  pid_t pid;
  int i, err;

  for (i = 0; i < n; i++) {
    a = now_s();
    err = posix_spawn(&pid, path_true, NULL, NULL, argv, environ);
    b = now_s();
    samples_add(blocked, b - a);
    if (err != 0)
      die("posix_spawn: %s", strerror(err));
    reap(pid);
    samples_add(&each, now_s() - a);
  }
  return round_median(&each);
}

static int bad;

static void on_done(uvexec_cmd_t *cmd, int status) {
  if (status != 0 && bad++ == 0)
    fprintf(stderr, "uvexec: %s\n", uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);
}

static double run_uvexec(int which, int n, samples_t *blocked) {
  uv_loop_t loop;
  double t0, a;
  int i, err;

  if (uv_loop_init(&loop) != 0)
    die("uv_loop_init");
  for (i = 0; i < n; i++) {
    uvexec_cmd_t *cmd = uvexec_command(path_true, NULL);

    if (cmd == NULL)
      die("uvexec_command");
    uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE);
    if (which == C_CLONE_SETUP) {
      uvexec_cmd_set_rlimit(cmd, RLIMIT_NOFILE, 256, 512);
      uvexec_cmd_set_umask(cmd, 027);
      uvexec_cmd_set_uid(cmd, getuid());
    }
    if (which == C_CLONE_KEEP)
      uvexec_cmd_set_close_fds(cmd, 0);
    a = now_s();
    err = uvexec_start(cmd, &loop, on_done);
    samples_add(blocked, now_s() - a);
    if (err != 0)
      die("%s: uvexec_start: %s", names[which], uvexec_cmd_error(cmd));
    uv_run(&loop, UV_RUN_DEFAULT);
    samples_add(&each, now_s() - a);
  }
  t0 = round_median(&each);
  if (uv_loop_close(&loop) != 0)
    die("uv_loop_close");
  if (bad)
    die("%d children failed", bad);
  return t0;
}

/* run answers the median wall time of a spawn, and in *cpu the CPU time
 * the parent and its children spent per spawn: unlike wall time, that
 * does not grow while the process waits for a CPU on a busy machine. */
static double run(int which, int n, samples_t *blocked, double *cpu) {
  double c0 = cpu_s(RUSAGE_SELF) + cpu_s(RUSAGE_CHILDREN), t;

  t = which == C_POSIX ? run_posix(n, blocked) : run_uvexec(which, n, blocked);
  *cpu = (cpu_s(RUSAGE_SELF) + cpu_s(RUSAGE_CHILDREN) - c0) / n;
  return t;
}

static void report(int level) {
  result_t *r = res[level];
  const double *ref = r[C_POSIX].us;
  int R = opt.rounds, c;
  double ratio, p99, ref99;
  char got[64];

  printf("\n== spawn + wait %s, parent ballast %zu MiB, %d spawns x %d "
         "rounds, %d extra inheritable fds ==\n",
         path_true, opt.ballast[level], opt.spawns, R, opt.fds);
  printf("  %-36s %9s %7s %9s %7s   %s\n", "contender", "us/spawn", "x ref",
         "cpu us", "x ref", "in the start call, us: median / p99 / max");
  for (c = 0; c < C_N; c++) {
    samples_t *b = &r[c].blocked;

    printf("  %-36s %9.1f %7.3f %9.1f %7.3f   %.1f / %.1f / %.1f\n", names[c],
           median(r[c].us, R), median_ratio(r[c].us, ref, R),
           median(r[c].cpu, R), median_ratio(r[c].cpu, r[C_POSIX].cpu, R),
           pct(b->v, b->n, 50) * 1e6, pct(b->v, b->n, 99) * 1e6,
           pct(b->v, b->n, 100) * 1e6);
  }
  ratio = median_ratio(r[C_CLONE_SETUP].us, ref, R);
  snprintf(got, sizeof(got), "%.3fx", ratio);
  bench_target(ratio <= 1.05, got,
         "clone + rlimit/umask/uid <= 1.05x posix_spawn @ %zu MiB",
         opt.ballast[level]);
  ratio = median_ratio(r[C_CLONE].us, ref, R);
  snprintf(got, sizeof(got), "%.3fx", ratio);
  bench_target(ratio <= 1.05, got, "clone engine <= 1.05x posix_spawn @ %zu MiB",
         opt.ballast[level]);
  ratio = median_ratio(r[C_CLONE].us, r[C_CLONE_KEEP].us, R);
  snprintf(got, sizeof(got), "%.3fx", ratio);
  bench_target(ratio <= 1.02, got, "clone: close_fds on <= 1.02x off @ %zu MiB",
         opt.ballast[level]);
  p99 = pct(r[C_CLONE_SETUP].blocked.v, r[C_CLONE_SETUP].blocked.n, 99) * 1e3;
  ref99 = pct(r[C_POSIX].blocked.v, r[C_POSIX].blocked.n, 99) * 1e3;
  snprintf(got, sizeof(got), "%.2f ms (ref %.2f)", p99, ref99);
  bench_target(p99 <= 1.0, got, "clone + setup: start call <= 1 ms, p99 @ %zu MiB",
         opt.ballast[level]);
}

static void parse_list(const char *s, size_t *out, int *n) {
  char *end;

  *n = 0;
  while (*s != '\0' && *n < MAX_LEVELS) {
    out[(*n)++] = (size_t)strtoul(s, &end, 10);
    if (end == s)
      die("bad list: %s", s);
    s = *end == ',' ? end + 1 : end;
  }
}

int main(int argc, char **argv) {
  int i, level, round, k;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      opt.rounds = 2;
      opt.spawns = 50;
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      opt.rounds = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--spawns") == 0 && i + 1 < argc) {
      opt.spawns = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--ballast") == 0 && i + 1 < argc) {
      parse_list(argv[++i], opt.ballast, &opt.nballast);
    } else if (strcmp(argv[i], "--fds") == 0 && i + 1 < argc) {
      opt.fds = atoi(argv[++i]);
    } else {
      die("usage: %s [--quick] [--rounds N] [--spawns N] [--ballast 0,1024] "
          "[--fds N]",
          argv[0]);
    }
  }
  if (opt.rounds < 1 || opt.rounds > MAX_ROUNDS || opt.spawns < 1)
    die("bad --rounds or --spawns");

  {
    /* The probe start: the clone engine must be usable here at all. */
    uvexec_cmd_t *cmd = uvexec_command(path_true, NULL);
    int err;

    uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE);
    err = uvexec_run(cmd);
    if (err != 0)
      die("the clone engine cannot start here: %s", uvexec_strerror(err));
    uvexec_cmd_free(cmd);
  }
  for (i = 0; i < opt.fds; i++)
    if (open("/dev/null", O_RDONLY) < 0) /* kept open, inheritable */
      die("open /dev/null: %s", strerror(errno));

  for (level = 0; level < opt.nballast; level++) {
    ballast_grow(opt.ballast[level]);
    for (round = 0; round < opt.rounds; round++)
      for (k = 0; k < C_N; k++) {
        int c = (round + k) % C_N;

        res[level][c].us[round] = run(c, opt.spawns, &res[level][c].blocked,
                                      &res[level][c].cpu[round]) *
                                  1e6;
        res[level][c].cpu[round] *= 1e6;
      }
    report(level);
  }
  printf("\n%s\n", *bench_misses() ? "some targets MISSED" : "every target PASSED");
  return 0;
}
