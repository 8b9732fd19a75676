/* SPDX-License-Identifier: MIT */
/* uvexec-bench-group — a group against the same starts driven by hand.
 *
 * Metrics:
 *
 *   throughput  N x `true`, at most M at a time on one loop, two ways:
 *               by hand (start M, then start the next one from each done
 *               callback: the reference) and through a uvexec_group_t
 *               (add all N, wait). Both create their cmds before the clock
 *               starts and free each one in its done callback, so the
 *               difference is the group's own work: its adds, its queue,
 *               its callbacks. Interleaved rounds, each in 10 slices whose
 *               first contender alternates; medians, and the median of the
 *               per-round ratios; target <= 1.05x. The parent's own CPU
 *               time per job is reported beside it.
 *   memory      what a queued job costs beyond its cmd: N cmds are made,
 *               then added to a group on a private loop (so nothing
 *               starts), and the heap in use (mallinfo2) and VmRSS are
 *               read before and after; target <= 1 KiB per job.
 *   add cost    the time of those N adds, and of 10 x N, per add: a queue
 *               that is O(1) per add costs the same per add at both sizes.
 *
 * Options: --jobs N (default 2000), --rounds R (default 5), --max M
 * (default 16), --full (10,000 jobs, 5 rounds). Every child is reaped; the
 * run ends by checking that none is left.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include <uv.h>

#include "uvexec.h"

#define MAX_ROUNDS 50
#define BENCH_NAME "uvexec-bench-group"
#include "bench_util.h"
#define SLICES 10 /* per round, each contender in turn going first */

static struct {
  int jobs;
  int rounds;
  int max;
} opt = {2000, 5, 16};

static char *path_true;

/* ---- small helpers ------------------------------------------------------- */

static void check_uv(int err, const char *what) {
  if (err != 0)
    die("%s: %s", what, uvexec_strerror(err));
}

static int npass, nmiss;

static void target(int pass, const char *what, const char *got) {
  printf("  target: %-52s %-22s %s\n", what, got, pass ? "PASS" : "MISS");
  if (pass)
    npass++;
  else
    nmiss++;
}

/* make_cmds returns n new cmds running `true`. */
static uvexec_cmd_t **make_cmds(int n, void *data) {
  uvexec_cmd_t **cmds = calloc((size_t)n, sizeof(*cmds));
  int i;

  if (cmds == NULL)
    die("out of memory");
  for (i = 0; i < n; i++) {
    cmds[i] = uvexec_command(path_true, NULL);
    if (cmds[i] == NULL)
      die("uvexec_command: out of memory");
    uvexec_cmd_set_data(cmds[i], data);
  }
  return cmds;
}

/* ---- throughput ------------------------------------------------------- */

typedef struct {
  uv_loop_t *loop;
  uvexec_cmd_t **cmds;
  int n;    /* jobs in this run */
  int next; /* by hand: the next cmd to start */
  int done;
  int bad;
} run_t;

static void count_done(run_t *run, uvexec_cmd_t *cmd, int status) {
  if (status != 0 && run->bad++ == 0)
    fprintf(stderr, "job failed: %s\n", uvexec_cmd_error(cmd));
  run->done++;
  uvexec_cmd_free(cmd);
}

static void hand_start_next(run_t *run);

static void on_hand_done(uvexec_cmd_t *cmd, int status) {
  run_t *run = uvexec_cmd_data(cmd);

  /* The next one first, as the group does: the slot is not left idle
   * while this one is accounted for and freed. */
  hand_start_next(run);
  count_done(run, cmd, status);
}

static void hand_start_next(run_t *run) {
  while (run->next < run->n) {
    uvexec_cmd_t *cmd = run->cmds[run->next++];
    int err = uvexec_start(cmd, run->loop, on_hand_done);

    if (err == 0)
      return;
    /* As the group does: a start that fails frees its slot. */
    count_done(run, cmd, err);
  }
}

/* by_hand answers seconds for n jobs, opt.max at a time, and adds the
 * parent's CPU seconds to *cpu. */
static double by_hand(int n, double *cpu) {
  run_t run = {0};
  uv_loop_t loop;
  double t0, c0, t;
  int i;

  check_uv(uv_loop_init(&loop), "uv_loop_init");
  run.loop = &loop;
  run.n = n;
  run.cmds = make_cmds(n, &run);
  t0 = now_s();
  c0 = cpu_s(RUSAGE_SELF);
  for (i = 0; i < opt.max; i++)
    hand_start_next(&run);
  uv_run(&loop, UV_RUN_DEFAULT);
  t = now_s() - t0;
  *cpu += cpu_s(RUSAGE_SELF) - c0;
  check_uv(uv_loop_close(&loop), "uv_loop_close");
  if (run.done != n || run.bad)
    die("by hand: %d done, %d failed of %d", run.done, run.bad, n);
  free(run.cmds);
  return t;
}

static void on_group_done(uvexec_cmd_t *cmd, int status) {
  count_done(uvexec_cmd_data(cmd), cmd, status);
}

static void on_group_wait(uvexec_group_t *g, int status) {
  run_t *run = uvexec_group_data(g);

  if (status != 0)
    run->bad++;
}

/* through_group answers the same for the same jobs through a group. */
static double through_group(int n, double *cpu) {
  run_t run = {0};
  uvexec_group_t *g;
  uv_loop_t loop;
  double t0, c0, t;
  int i;

  check_uv(uv_loop_init(&loop), "uv_loop_init");
  run.n = n;
  run.cmds = make_cmds(n, &run);
  t0 = now_s();
  c0 = cpu_s(RUSAGE_SELF);
  g = uvexec_group_new(&loop, (size_t)opt.max);
  if (g == NULL)
    die("uvexec_group_new: out of memory");
  uvexec_group_set_data(g, &run);
  for (i = 0; i < n; i++)
    check_uv(uvexec_group_add(g, run.cmds[i], on_group_done),
             "uvexec_group_add");
  check_uv(uvexec_group_wait(g, on_group_wait), "uvexec_group_wait");
  uv_run(&loop, UV_RUN_DEFAULT);
  t = now_s() - t0;
  *cpu += cpu_s(RUSAGE_SELF) - c0;
  uvexec_group_free(g);
  uv_run(&loop, UV_RUN_DEFAULT); /* its idle handle closes */
  check_uv(uv_loop_close(&loop), "uv_loop_close");
  if (run.done != n || run.bad)
    die("group: %d done, %d failed of %d", run.done, run.bad, n);
  free(run.cmds);
  return t;
}

/* ---- memory and add cost --------------------------------------------- */

typedef struct {
  double heap_per_job; /* bytes */
  double rss_per_job;  /* bytes */
  double add_ns;       /* per add */
} queued_t;

/* queue_only adds n cmds to a group on a private loop, where nothing
 * starts, and measures what the adds cost. */
static queued_t queue_only(int n) {
  uvexec_cmd_t **cmds = make_cmds(n, NULL);
  struct mallinfo2 before, after;
  long rss0, rss1;
  uvexec_group_t *g;
  queued_t q;
  double t0;
  int i;

  g = uvexec_group_new(NULL, (size_t)opt.max);
  if (g == NULL)
    die("uvexec_group_new: out of memory");
  before = mallinfo2();
  rss0 = rss_kib();
  t0 = now_s();
  for (i = 0; i < n; i++)
    check_uv(uvexec_group_add(g, cmds[i], NULL), "uvexec_group_add");
  q.add_ns = (now_s() - t0) / n * 1e9;
  after = mallinfo2();
  rss1 = rss_kib();
  q.heap_per_job = (double)(after.uordblks - before.uordblks) / n;
  q.rss_per_job = (double)(rss1 - rss0) * 1024.0 / n;
  if (uvexec_group_count(g, UVEXEC_COUNT_QUEUED) != n)
    die("the private group started something before uvexec_group_run");
  uvexec_group_free(g); /* the cmds were never started: no callbacks */
  for (i = 0; i < n; i++)
    uvexec_cmd_free(cmds[i]);
  free(cmds);
  return q;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr, "usage: uvexec-bench-group [--jobs N] [--rounds R] "
                  "[--max M] [--full] [--quick]\n");
  exit(2);
}

int main(int argc, char **argv) {
  double hand[MAX_ROUNDS], group[MAX_ROUNDS], ratio;
  double hand_cpu[MAX_ROUNDS], group_cpu[MAX_ROUNDS];
  queued_t q1, q10;
  char got[64], what[96];
  int i, r, st;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--full") == 0) {
      opt.jobs = 10000;
      opt.rounds = 5;
    } else if (strcmp(argv[i], "--quick") == 0) {
      opt.jobs = 200;
      opt.rounds = 2;
    } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
      opt.jobs = (int)parse_num(argv[++i], "--jobs", 1, 10000000);
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      opt.rounds = (int)parse_num(argv[++i], "--rounds", 1, MAX_ROUNDS);
    } else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) {
      opt.max = (int)parse_num(argv[++i], "--max", 1, 100000);
    } else {
      usage();
    }
  }
  path_true = find_program("true");

  printf("uvexec-bench-group: %d x %s, %d at a time, %d rounds\n", opt.jobs,
         path_true, opt.max, opt.rounds);
  for (r = 0; r < opt.rounds; r++) {
    fprintf(stderr, "round %d/%d\n", r + 1, opt.rounds);
    /* The round's jobs in slices, the two contenders taking turns to go
     * first: a burst of load from elsewhere on the machine then falls on
     * both sides of the round instead of on one. */
    int k, left = opt.jobs;

    hand[r] = group[r] = hand_cpu[r] = group_cpu[r] = 0;
    for (k = 0; k < SLICES && left > 0; k++) {
      int n = k == SLICES - 1 ? left : (opt.jobs + SLICES - 1) / SLICES;

      if (n > left)
        n = left;
      left -= n;
      if ((k + r) % 2 == 0) {
        hand[r] += by_hand(n, &hand_cpu[r]);
        group[r] += through_group(n, &group_cpu[r]);
      } else {
        group[r] += through_group(n, &group_cpu[r]);
        hand[r] += by_hand(n, &hand_cpu[r]);
      }
    }
  }
  q1 = queue_only(opt.jobs);
  q10 = queue_only(opt.jobs * 10);

  printf("\n== throughput: %d jobs, max_running %d ==\n", opt.jobs, opt.max);
  printf("  %-32s %10s %11s %10s %14s %10s\n", "contender", "s (median)",
         "us per job", "x by hand", "parent CPU us", "x by hand");
  printf("  %-32s %10.3f %11.1f %10.3f %14.1f %10.3f\n",
         "by hand, next from done (ref)", median(hand, opt.rounds),
         median(hand, opt.rounds) / opt.jobs * 1e6, 1.0,
         median(hand_cpu, opt.rounds) / opt.jobs * 1e6, 1.0);
  ratio = median_ratio(group, hand, opt.rounds);
  printf("  %-32s %10.3f %11.1f %10.3f %14.1f %10.3f\n", "uvexec_group_t",
         median(group, opt.rounds), median(group, opt.rounds) / opt.jobs * 1e6,
         ratio, median(group_cpu, opt.rounds) / opt.jobs * 1e6,
         median_ratio(group_cpu, hand_cpu, opt.rounds));
  printf("  per round (group / hand):");
  for (r = 0; r < opt.rounds; r++)
    printf(" %.3f", group[r] / hand[r]);
  printf("\n");

  printf("\n== a queued job, beyond its cmd ==\n");
  printf("  %-36s %10s %10s %12s\n", "queued jobs", "heap B/job", "RSS B/job",
         "ns per add");
  printf("  %-36d %10.1f %10.1f %12.1f\n", opt.jobs, q1.heap_per_job,
         q1.rss_per_job, q1.add_ns);
  printf("  %-36d %10.1f %10.1f %12.1f\n", opt.jobs * 10, q10.heap_per_job,
         q10.rss_per_job, q10.add_ns);

  printf("\n");
  snprintf(got, sizeof(got), "%.3fx", ratio);
  snprintf(what, sizeof(what), "group <= 1.05x by hand (%d jobs, %d at a time)",
           opt.jobs, opt.max);
  target(ratio <= 1.05, what, got);
  snprintf(got, sizeof(got), "%.0f B", q10.heap_per_job);
  target(q10.heap_per_job <= 1024, "memory per queued job <= 1 KiB (heap)",
         got);
  snprintf(got, sizeof(got), "%.0f / %.0f ns", q1.add_ns, q10.add_ns);
  target(q10.add_ns <= 2 * q1.add_ns + 100, "add is O(1): 10x jobs, same cost",
         got);

  if (waitpid(-1, &st, WNOHANG) != -1 || errno != ECHILD)
    die("a child was left behind");
  printf("\n%d targets met, %d missed\n", npass, nmiss);
  fflush(stdout);
  free(path_true);
  return 0;
}
