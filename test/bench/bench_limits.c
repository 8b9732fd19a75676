/* SPDX-License-Identifier: MIT */
/* uvexec-bench-limits — what limits and usage cost.
 *
 *   spawn   spawn + wait of /bin/true, one at a time on one loop: with a
 *           memory limit (256 MiB) and a pids limit (256), which make the
 *           cgroup directories (v2, or v1 on a hybrid host), have the child
 *           join them before it runs, read the usage at done and remove
 *           them all; against a plain start, and for reference a contained
 *           one without limits. --spawns of each per round, in rounds that
 *           take turns going first; a round's figure is the median of its
 *           spawns, the ratio the median of the rounds' ratios.
 *           Target: limited <= 1.5x plain.
 *   usage   uvexec_usage() on a done cmd, per call (what the caller pays;
 *           the reads of the cgroup files happen once, at done, and are in
 *           the spawn figure).
 *
 * The v2 directories are made in one of the benchmark's own under this
 * process's cgroup v2 directory, removed at the end. Without one, or
 * without memory and pids controllers, the benchmark says so and measures
 * nothing.
 *
 * Options: --quick (2 rounds of 50), --rounds N, --spawns N.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

#define MAX_ROUNDS 100
#define BENCH_NAME "uvexec-bench-limits"
#include "bench_util.h"

static struct {
  int rounds;
  int spawns;
} opt = {5, 200};

static char parent[4096];


static int bad;
static uvexec_usage_t last;

static void on_done(uvexec_cmd_t *cmd, int status) {
  if (status != 0 && bad++ == 0)
    fprintf(stderr, "uvexec: %s\n", uvexec_cmd_error(cmd));
  if (uvexec_cmd_data(cmd) == &last)
    (void)uvexec_usage(cmd, &last);
  uvexec_cmd_free(cmd);
}

static samples_t each;

/* kind 0: plain, 1: contained, 2: contained with limits */
static double spawns(uv_loop_t *loop, int kind, int n) {
  double a, m;
  int i;

  for (i = 0; i < n; i++) {
    uvexec_cmd_t *cmd = uvexec_command("/bin/true", NULL);

    if (cmd == NULL)
      die("uvexec_command");
    if (kind >= 1)
      uvexec_cmd_set_contain(cmd, parent);
    if (kind == 2) {
      uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_MEMORY, 256u << 20);
      uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_PIDS, 256);
      uvexec_cmd_set_data(cmd, &last);
    }
    a = now_s();
    if (uvexec_start(cmd, loop, on_done) != 0)
      die("uvexec_start: %s", uvexec_cmd_error(cmd));
    uv_run(loop, UV_RUN_DEFAULT);
    samples_add(&each, now_s() - a);
  }
  if (bad)
    die("%d children failed", bad);
  m = pct(each.v, each.n, 50);
  each.n = 0;
  return m;
}

static void bench_spawn(uv_loop_t *loop) {
  double plain[MAX_ROUNDS], cont[MAX_ROUNDS], lim[MAX_ROUNDS], ratio;
  int r, k, order[3];

  for (r = 0; r < opt.rounds; r++) {
    for (k = 0; k < 3; k++)
      order[k] = (k + r) % 3;
    for (k = 0; k < 3; k++) {
      double *to = order[k] == 0 ? plain : order[k] == 1 ? cont : lim;

      to[r] = spawns(loop, order[k], opt.spawns);
    }
  }
  ratio = median_ratio(lim, plain, opt.rounds);
  printf("spawn + wait of true, %d rounds of %d (medians)\n", opt.rounds,
         opt.spawns);
  printf("  plain                    %8.0f us\n",
         median(plain, opt.rounds) * 1e6);
  printf("  contained                %8.0f us   %.2fx\n",
         median(cont, opt.rounds) * 1e6,
         median_ratio(cont, plain, opt.rounds));
  printf("  memory + pids limits     %8.0f us   %.2fx\n",
         median(lim, opt.rounds) * 1e6, ratio);
  {
    char got[32];

    snprintf(got, sizeof got, "%.2fx", ratio);
    bench_target(ratio <= 1.5, got, "limited spawn + wait <= 1.5x plain");
  }
  printf("  a limited run's usage: known 0x%x, tree memory peak %.1f KiB, tree CPU %llu "
         "us\n",
         last.known, (double)last.tree_memory_peak / 1024.0,
         (unsigned long long)(last.tree_user_usec + last.tree_system_usec));
}

static void bench_usage(uv_loop_t *loop) {
  uvexec_cmd_t *cmd = uvexec_command("/bin/true", NULL);
  uvexec_usage_t u;
  double a, took;
  int i, n = 1000000;

  uvexec_cmd_set_contain(cmd, parent);
  uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_MEMORY, 256u << 20);
  if (uvexec_start(cmd, loop, NULL) != 0)
    die("uvexec_start: %s", uvexec_cmd_error(cmd));
  uv_run(loop, UV_RUN_DEFAULT);
  a = now_s();
  for (i = 0; i < n; i++)
    (void)uvexec_usage(cmd, &u);
  took = now_s() - a;
  printf("uvexec_usage on a done cmd: %.1f ns per call (%d calls)\n",
         took / n * 1e9, n);
  uvexec_cmd_free(cmd);
}

int main(int argc, char **argv) {
  char own[2048];
  uv_loop_t loop;
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      opt.rounds = 2;
      opt.spawns = 50;
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      opt.rounds = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--spawns") == 0 && i + 1 < argc) {
      opt.spawns = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s [--quick] [--rounds N] [--spawns N]\n",
              BENCH_NAME);
      return 2;
    }
  }
  if (opt.rounds < 1 || opt.rounds > MAX_ROUNDS || opt.spawns < 1)
    die("bad --rounds or --spawns");
  if (own_cgroup(own, sizeof own) != 0) {
    printf("  no cgroup v2 hierarchy: nothing measured\n");
    return 0;
  }
  snprintf(parent, sizeof parent, "%s/uvexec.bench.%d", own, (int)getpid());
  if (mkdir(parent, 0755) != 0) {
    printf("  mkdir %s: %s: nothing measured\n", parent, strerror(errno));
    return 0;
  }
  uv_loop_init(&loop);
  {
    uvexec_cmd_t *probe = uvexec_command("/bin/true", NULL);
    int err;

    uvexec_cmd_set_contain(probe, parent);
    uvexec_cmd_set_limit(probe, UVEXEC_LIMIT_MEMORY, 256u << 20);
    uvexec_cmd_set_limit(probe, UVEXEC_LIMIT_PIDS, 256);
    err = uvexec_run(probe);
    if (err != 0) {
      printf("  limits cannot be had here: %s: nothing measured\n",
             uvexec_cmd_error(probe));
      uvexec_cmd_free(probe);
      rmdir(parent);
      return 0;
    }
    uvexec_cmd_free(probe);
  }
  bench_spawn(&loop);
  bench_usage(&loop);
  uv_loop_close(&loop);
  rmdir(parent);
  return 0; /* a miss is reported, not an error: make bench runs on */
}
