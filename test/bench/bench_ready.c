/* SPDX-License-Identifier: MIT */
/* uvexec-bench-ready — readiness: how soon a READY=1 is heard, and what a
 * readiness setter adds to a start.
 *
 *   notify     100 cmds on one loop, each told to send READY=1 (with the
 *              time it was sent, CLOCK_MONOTONIC, as its STATUS=) after a
 *              delay spread over a second: the time from the send to the
 *              ready callback, median and p99 over all of them and every
 *              round.
 *   start      spawn + wait of `true` with uvexec_cmd_set_ready_notify
 *              (a socket, its name in the environment, its watch) against
 *              a plain one, rounds taking turns going first; medians and
 *              the median of the rounds' ratios.
 *
 * The notifying child is uvexec-test-helper (UVEXEC_TEST_HELPER, which
 * `make bench` sets).
 *
 * Options: --quick (2 rounds, 50 cmds), --rounds N, --cmds N, --spawns N.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

#define MAX_ROUNDS 100
#define BENCH_NAME "uvexec-bench-ready"
#include "bench_util.h"

static struct {
  int rounds;
  int cmds;
  int spawns;
} opt = {5, 100, 200};

static const char *helper;
static samples_t latency; /* seconds */

static uint64_t mono_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- notify to ready ---------------------------------------------------------- */

static int readies;

static void on_ready(uvexec_cmd_t *cmd) {
  const char *sent = uvexec_notify_status(cmd);
  uint64_t now = mono_ns();

  if (sent == NULL)
    die("a ready callback without the stamp");
  samples_add(&latency, (double)(now - strtoull(sent, NULL, 10)) / 1e9);
  readies++;
  uvexec_cancel(cmd);
}

static void on_done(uvexec_cmd_t *cmd, int status) {
  (void)status;
  uvexec_cmd_free(cmd);
}

static void notify_round(uv_loop_t *loop) {
  char delay[32];
  int i;

  readies = 0;
  for (i = 0; i < opt.cmds; i++) {
    uvexec_cmd_t *cmd;

    snprintf(delay, sizeof delay, "%d", 100 + i * 1000 / opt.cmds);
    cmd = uvexec_command(helper, "notify-stamp", delay, NULL);
    uvexec_cmd_set_ready_notify(cmd);
    uvexec_cmd_on_ready(cmd, on_ready);
    if (uvexec_start(cmd, loop, on_done) != 0)
      die("uvexec_start: %s", uvexec_cmd_error(cmd));
  }
  uv_run(loop, UV_RUN_DEFAULT);
  if (readies != opt.cmds)
    die("%d of %d became ready", readies, opt.cmds);
}

/* ---- the start's cost --------------------------------------------------------- */

static samples_t each;

static void on_true(uvexec_cmd_t *cmd, int status) {
  if (status != 0)
    die("true: %s", uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);
}

static double spawns(uv_loop_t *loop, int notify) {
  double a, m;
  int i;

  for (i = 0; i < opt.spawns; i++) {
    uvexec_cmd_t *cmd = uvexec_command("/bin/true", NULL);

    if (notify)
      uvexec_cmd_set_ready_notify(cmd);
    a = now_s();
    if (uvexec_start(cmd, loop, on_true) != 0)
      die("uvexec_start: %s", uvexec_cmd_error(cmd));
    uv_run(loop, UV_RUN_DEFAULT);
    samples_add(&each, now_s() - a);
  }
  m = pct(each.v, each.n, 50);
  each.n = 0;
  return m;
}

int main(int argc, char **argv) {
  double plain[MAX_ROUNDS], notify[MAX_ROUNDS];
  uv_loop_t loop;
  int i, r;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      opt.rounds = 2;
      opt.cmds = 50;
      opt.spawns = 50;
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      opt.rounds = (int)parse_num(argv[++i], "--rounds", 1, MAX_ROUNDS);
    } else if (strcmp(argv[i], "--cmds") == 0 && i + 1 < argc) {
      opt.cmds = (int)parse_num(argv[++i], "--cmds", 1, 10000);
    } else if (strcmp(argv[i], "--spawns") == 0 && i + 1 < argc) {
      opt.spawns = (int)parse_num(argv[++i], "--spawns", 1, 100000);
    } else {
      die("usage: %s [--quick] [--rounds N] [--cmds N] [--spawns N]",
          BENCH_NAME);
    }
  }
  helper = getenv("UVEXEC_TEST_HELPER");
  if (helper == NULL || access(helper, X_OK) != 0)
    die("UVEXEC_TEST_HELPER must name uvexec-test-helper (make bench sets "
        "it)");
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (uv_loop_init(&loop) != 0)
    die("uv_loop_init");

  for (r = 0; r < opt.rounds; r++)
    notify_round(&loop);
  printf("READY=1 to the ready callback, %d cmds notifying over 1 s, %d "
         "rounds\n",
         opt.cmds, opt.rounds);
  printf("  median %.3f ms   p99 %.3f ms   max %.3f ms\n",
         pct(latency.v, latency.n, 50) * 1e3,
         pct(latency.v, latency.n, 99) * 1e3,
         pct(latency.v, latency.n, 100) * 1e3);

  for (r = 0; r < opt.rounds; r++) {
    if (r % 2 == 0) {
      plain[r] = spawns(&loop, 0);
      notify[r] = spawns(&loop, 1);
    } else {
      notify[r] = spawns(&loop, 1);
      plain[r] = spawns(&loop, 0);
    }
  }
  printf("spawn + wait of true, %d rounds of %d (medians)\n", opt.rounds,
         opt.spawns);
  printf("  plain                    %8.0f us\n",
         median(plain, opt.rounds) * 1e6);
  printf("  with the notify socket   %8.0f us   %.3fx\n",
         median(notify, opt.rounds) * 1e6,
         median_ratio(notify, plain, opt.rounds));

  if (uv_loop_close(&loop) != 0)
    die("uv_loop_close");
  samples_free(&latency);
  samples_free(&each);
  return 0;
}
