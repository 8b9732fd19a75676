/* SPDX-License-Identifier: MIT */
/* stream_lines — a command's output, line by line, as it is written (Go's
 * bufio.Scanner over Cmd.StdoutPipe), while the loop does other work.
 *
 * The command's stdout and stderr each get a line callback; a uv_timer on
 * the same loop ticks meanwhile. The timestamps show the two interleave:
 * every line is handled the moment it arrives, not when the command ends.
 *
 * Usage: stream_lines [shell-command [tick-ms]]
 *   default command: for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done
 *   default tick:    250 ms
 */
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "uvexec.h"

static const char default_script[] =
    "for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done";

static uv_timer_t ticker;
static uint64_t start_ns;
static unsigned ticks;
static int result = 1;

static double now_s(void) {
  return (double)(uv_hrtime() - start_ns) / 1e9;
}

/* why words err: the cmd's own message, or the code's when it has none. */
static const char *why(const uvexec_cmd_t *cmd, int err) {
  const char *msg = uvexec_cmd_error(cmd);

  return msg != NULL ? msg : uvexec_strerror(err);
}

static void on_tick(uv_timer_t *timer) {
  (void)timer;
  printf("[%6.3f s] tick %u\n", now_s(), ++ticks);
}

/* Line callbacks get the line without its newline, and not NUL-terminated:
 * print exactly len bytes. */
static void on_stdout_line(uvexec_cmd_t *cmd, const char *line, size_t len) {
  (void)cmd;
  printf("[%6.3f s] stdout | %.*s\n", now_s(), (int)len, line);
}

static void on_stderr_line(uvexec_cmd_t *cmd, const char *line, size_t len) {
  (void)cmd;
  printf("[%6.3f s] stderr | %.*s\n", now_s(), (int)len, line);
}

static void on_done(uvexec_cmd_t *cmd, int status) {
  printf("[%6.3f s] done: %s\n", now_s(),
         status == 0 ? "success" : why(cmd, status));
  result = status == 0 ? 0 : 1;
  uvexec_cmd_free(cmd);
  uv_close((uv_handle_t *)&ticker, NULL);
}

int main(int argc, char **argv) {
  const char *script = argc > 1 ? argv[1] : default_script;
  long tick_ms = argc > 2 ? strtol(argv[2], NULL, 10) : 250;
  uvexec_cmd_t *cmd;
  uv_loop_t loop;
  int err;

  if (tick_ms <= 0) {
    fprintf(stderr, "usage: stream_lines [shell-command [tick-ms]]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  uv_loop_init(&loop);

  cmd = uvexec_command("sh", "-c", script, NULL);
  if (cmd == NULL) {
    fprintf(stderr, "stream_lines: out of memory\n");
    return 1;
  }
  uvexec_cmd_on_stdout_line(cmd, on_stdout_line);
  uvexec_cmd_on_stderr_line(cmd, on_stderr_line);

  printf("running: sh -c '%s'\n", script);
  start_ns = uv_hrtime();
  err = uvexec_start(cmd, &loop, on_done);
  if (err != 0) {
    printf("could not start: %s (%s)\n", why(cmd, err), uvexec_err_name(err));
    uvexec_cmd_free(cmd);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 1;
  }
  uv_timer_init(&loop, &ticker);
  uv_timer_start(&ticker, on_tick, (uint64_t)tick_ms, (uint64_t)tick_ms);

  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return result;
}
