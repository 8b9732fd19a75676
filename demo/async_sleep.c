/* SPDX-License-Identifier: MIT */
/* async_sleep — start a command and keep working while it runs (Go's
 * Cmd.Start, then Cmd.Wait), on a libuv event loop.
 *
 * `sleep 5` is started with uvexec_start(); a uv_timer on the same loop
 * prints a line every second meanwhile. Nothing blocks: the loop runs the
 * timer and watches the child at once, and the done callback — uvexec's
 * Wait — reports the result and stops the timer, after which the loop has
 * no more work and uv_run() returns.
 *
 * Usage: async_sleep [seconds [tick-seconds]]     (default: 5 1)
 */
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "uvexec.h"

static uv_timer_t ticker;
static uint64_t start_ns;
static unsigned ticks;
static int result = 1;

static double seconds_since_start(void) {
  return (double)(uv_hrtime() - start_ns) / 1e9;
}

/* why words err: the cmd's own message, or the code's when it has none. */
static const char *why(const uvexec_cmd_t *cmd, int err) {
  const char *msg = uvexec_cmd_error(cmd);

  return msg != NULL ? msg : uvexec_strerror(err);
}

static void on_tick(uv_timer_t *timer) {
  (void)timer;
  printf("program keeps working... %u (%.2f s)\n", ++ticks,
         seconds_since_start());
}

/* on_done runs once the child has exited (and its pipes, had it any, are
 * drained). It may free the cmd; the loop releases the memory as it
 * closes the cmd's handles. */
static void on_done(uvexec_cmd_t *cmd, int status) {
  if (status == 0) {
    printf("process finished successfully after %.2f s\n",
           seconds_since_start());
    result = 0;
  } else {
    printf("process failed after %.2f s: %s (%s)\n", seconds_since_start(),
           why(cmd, status), uvexec_err_name(status));
  }
  uvexec_cmd_free(cmd);
  uv_close((uv_handle_t *)&ticker, NULL); /* the loop's last work */
}

int main(int argc, char **argv) {
  const char *secs = argc > 1 ? argv[1] : "5";
  double tick = argc > 2 ? strtod(argv[2], NULL) : 1.0;
  uvexec_cmd_t *cmd;
  uv_loop_t loop;
  uint64_t tick_ms;
  int err;

  if (tick <= 0) {
    fprintf(stderr, "usage: async_sleep [seconds [tick-seconds]]\n");
    return 2;
  }
  tick_ms = (uint64_t)(tick * 1000 + 0.5);
  if (tick_ms == 0)
    tick_ms = 1;
  setvbuf(stdout, NULL, _IOLBF, 0); /* show each line as it happens */

  uv_loop_init(&loop);
  cmd = uvexec_command("sleep", secs, NULL);
  if (cmd == NULL) {
    fprintf(stderr, "async_sleep: out of memory\n");
    return 1;
  }

  start_ns = uv_hrtime();
  err = uvexec_start(cmd, &loop, on_done);
  if (err != 0) {
    /* A failed start never calls on_done. */
    printf("could not start: %s (%s)\n", why(cmd, err), uvexec_err_name(err));
    uvexec_cmd_free(cmd);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 1;
  }
  printf("started `sleep %s` in the background, pid %d\n", secs,
         uvexec_pid(cmd));

  uv_timer_init(&loop, &ticker);
  uv_timer_start(&ticker, on_tick, tick_ms, tick_ms);

  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0)
    fprintf(stderr, "async_sleep: the loop still had open handles\n");
  return result;
}
