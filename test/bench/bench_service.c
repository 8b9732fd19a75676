/* SPDX-License-Identifier: MIT */
/* uvexec-bench-service — what keeping a command running costs.
 *
 *   restart    a service running `true` with no delay and no limit: the
 *              time per run, exit to the next run's exit, against a plain
 *              spawn + wait of `true` started again from its done
 *              callback, in rounds that take turns going first. Target:
 *              <= 1.1x the plain cycle + 1 ms.
 *   idle       loop iterations per second while 100 healthy services run
 *              `sleep` (a prepare handle counts them over 2 s). Target: 0
 *              (nothing polls).
 *   memory     heap bytes per service beyond its cmd (mallinfo2 of 1,000
 *              services against 1,000 cmds alone). Target: <= 4 KiB.
 *
 * Options: --quick (2 rounds of 100 runs), --rounds N, --runs N.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

#define MAX_ROUNDS 100
#define BENCH_NAME "uvexec-bench-service"
#include "bench_util.h"

static struct {
  int rounds;
  int runs;
} opt = {5, 300};

static const char *path_true = "/bin/true";

/* ---- restart latency --------------------------------------------------------- */

typedef struct {
  int left;
  double started;
  double took;
} cycle_t;

static void on_plain_done(uvexec_cmd_t *cmd, int status);

static void plain_next(uv_loop_t *loop, cycle_t *c) {
  uvexec_cmd_t *cmd = uvexec_command(path_true, NULL);

  uvexec_cmd_set_data(cmd, c);
  if (uvexec_start(cmd, loop, on_plain_done) != 0)
    die("uvexec_start: %s", uvexec_cmd_error(cmd));
}

static void on_plain_done(uvexec_cmd_t *cmd, int status) {
  cycle_t *c = uvexec_cmd_data(cmd);
  uv_loop_t *loop = uv_default_loop();

  if (status != 0)
    die("true failed: %s", uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);
  if (--c->left > 0)
    plain_next(loop, c);
  else
    c->took = now_s() - c->started;
}

/* plain answers the time per cycle of n spawn + wait, each started from
 * the previous one's done callback. */
static double plain(uv_loop_t *loop, int n) {
  cycle_t c = {n, now_s(), 0};

  plain_next(loop, &c);
  uv_run(loop, UV_RUN_DEFAULT);
  return c.took / n;
}

static void on_service_event(uvexec_service_t *s, uvexec_service_event_t ev,
                             uvexec_cmd_t *run) {
  cycle_t *c = uvexec_service_data(s);

  (void)run;
  if (ev == UVEXEC_SERVICE_EXITED && uvexec_service_status(s) != 0)
    die("true failed: %s", uvexec_service_error(s));
  if (ev == UVEXEC_SERVICE_EXITED && --c->left == 0) {
    c->took = now_s() - c->started;
    uvexec_service_stop(s);
  }
}

/* restarted answers the time per run of a service restarting true n
 * times with no delay. */
static double restarted(uv_loop_t *loop, int n) {
  cycle_t c = {n, 0, 0};
  uvexec_service_t *s;

  s = uvexec_service_new(loop, uvexec_command(path_true, NULL));
  if (s == NULL)
    die("uvexec_service_new");
  uvexec_service_set_restart(s, UVEXEC_RESTART_ALWAYS);
  uvexec_service_set_backoff(s, 0, 0);
  uvexec_service_set_limit(s, 0, 0);
  uvexec_service_set_data(s, &c);
  uvexec_service_on_event(s, on_service_event);
  c.started = now_s();
  uvexec_service_start(s);
  uv_run(loop, UV_RUN_DEFAULT);
  uvexec_service_free(s);
  uv_run(loop, UV_RUN_DEFAULT);
  return c.took / n;
}

static void bench_restart(uv_loop_t *loop) {
  double p[MAX_ROUNDS], r[MAX_ROUNDS], pm, rm;
  char got[64];
  int i;

  for (i = 0; i < opt.rounds; i++) {
    if (i % 2 == 0) {
      p[i] = plain(loop, opt.runs);
      r[i] = restarted(loop, opt.runs);
    } else {
      r[i] = restarted(loop, opt.runs);
      p[i] = plain(loop, opt.runs);
    }
  }
  pm = median(p, opt.rounds);
  rm = median(r, opt.rounds);
  printf("run after run of true, %d rounds of %d (medians)\n", opt.rounds,
         opt.runs);
  printf("  plain, started from done     %8.0f us\n", pm * 1e6);
  printf("  service, restart, no delay   %8.0f us   %.2fx\n", rm * 1e6,
         median_ratio(r, p, opt.rounds));
  snprintf(got, sizeof got, "%.0f us (%.0f allowed)", rm * 1e6,
           (pm * 1.1 + 1e-3) * 1e6);
  bench_target(rm <= pm * 1.1 + 1e-3, got, "restart cycle <= 1.1x plain + 1 ms");
}

/* ---- idle services ------------------------------------------------------------ */

static unsigned long iterations;

static void on_prepare(uv_prepare_t *h) {
  (void)h;
  iterations++;
}

static void on_window(uv_timer_t *t) {
  *(int *)t->data = 1;
  uv_stop(t->loop);
}

static void on_ready_count(uvexec_service_t *s, uvexec_service_event_t ev,
                           uvexec_cmd_t *run) {
  (void)run;
  if (ev == UVEXEC_SERVICE_READY) {
    (*(int *)uvexec_service_data(s))++;
    /* Events come from timers: the iteration must not go on to wait for
     * I/O that never comes. */
    uv_stop(uv_default_loop());
  }
}

static void bench_idle(uv_loop_t *loop) {
  enum { N = 100 };
  uvexec_service_t *s[N];
  uv_prepare_t prepare;
  uv_timer_t window;
  int ready = 0, over = 0, i;
  double t0, per_s;
  char got[64];

  for (i = 0; i < N; i++) {
    s[i] = uvexec_service_new(loop, uvexec_command("sleep", "1000", NULL));
    uvexec_service_set_data(s[i], &ready);
    uvexec_service_on_event(s[i], on_ready_count);
    uvexec_service_start(s[i]);
  }
  while (ready < N)
    uv_run(loop, UV_RUN_ONCE);
  uv_prepare_init(loop, &prepare);
  uv_prepare_start(&prepare, on_prepare);
  uv_timer_init(loop, &window);
  window.data = &over;
  iterations = 0;
  t0 = now_s();
  uv_timer_start(&window, on_window, 2000, 0);
  while (!over)
    uv_run(loop, UV_RUN_ONCE);
  /* The window's own timer wakes the loop once. */
  per_s = (double)(iterations > 0 ? iterations - 1 : 0) / (now_s() - t0);
  uv_close((uv_handle_t *)&prepare, NULL);
  uv_close((uv_handle_t *)&window, NULL);
  for (i = 0; i < N; i++)
    uvexec_service_free(s[i]);
  uv_run(loop, UV_RUN_DEFAULT);
  printf("100 healthy services running sleep, 2 s\n");
  printf("  loop iterations per second   %8.1f\n", per_s);
  snprintf(got, sizeof got, "%.1f/s", per_s);
  bench_target(per_s == 0, got, "wake-ups of 100 idle services: 0");
}

/* ---- memory ----------------------------------------------------------------- */

static size_t heap(void) {
  return mallinfo2().uordblks;
}

static void bench_memory(uv_loop_t *loop) {
  enum { N = 1000 };
  static uvexec_cmd_t *cmds[N];
  static uvexec_service_t *svcs[N];
  size_t h0, h1, h2;
  double per;
  char got[64];
  int i;

  h0 = heap();
  for (i = 0; i < N; i++)
    cmds[i] = uvexec_command("sleep", "1000", NULL);
  h1 = heap();
  for (i = 0; i < N; i++)
    svcs[i] = uvexec_service_new(loop, cmds[i]);
  h2 = heap();
  for (i = 0; i < N; i++)
    uvexec_service_free(svcs[i]); /* and its cmd */
  uv_run(loop, UV_RUN_DEFAULT);
  per = (double)(h2 - h1) / N;
  printf("heap per service beyond its cmd (1,000 of each)\n");
  printf("  a cmd                        %8.0f B\n", (double)(h1 - h0) / N);
  printf("  a service, beyond it         %8.0f B\n", per);
  snprintf(got, sizeof got, "%.0f B", per);
  bench_target(per <= 4096, got, "memory per service <= 4 KiB");
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      opt.rounds = 2;
      opt.runs = 100;
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      opt.rounds = (int)parse_num(argv[++i], "--rounds", 1, MAX_ROUNDS);
    } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      opt.runs = (int)parse_num(argv[++i], "--runs", 1, 1000000);
    } else {
      die("usage: %s [--quick] [--rounds N] [--runs N]", BENCH_NAME);
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  bench_restart(loop);
  bench_idle(loop);
  bench_memory(loop);
  if (uv_loop_close(loop) != 0)
    die("uv_loop_close");
  return 0;
}
