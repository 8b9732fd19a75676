/* SPDX-License-Identifier: MIT */
/* terminal — drive an interactive shell on a terminal from the loop, the
 * way a terminal emulator or an expect-style harness does.
 *
 * `sh -i` runs on a pseudo-terminal (uvexec_cmd_set_pty). The program
 * reads what the terminal shows, waits for the prompt, types a command,
 * resizes the terminal (the shell's `stty size` follows), and ends the
 * shell with end of file, as ^D would. A uv_timer ticks all along: each
 * step is taken on a tick once the prompt is back, so the ticks and the
 * terminal's lines interleave.
 *
 * Usage: terminal [tick-ms]      default tick: 100 ms
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "uvexec.h"

#define PROMPT "demo$ "

/* What to do, one step per tick at the prompt. */
static const char *const steps[] = {
    "stty size\n", "#resize 40 120", "stty size\n", "echo $((6 * 7))\n", "#eof",
};

static uv_timer_t ticker;
static uvexec_cmd_t *shell;
static char pending[4096]; /* the terminal's line not yet ended */
static size_t pending_len;
static size_t step;
static unsigned ticks;
static int at_prompt;
static int result = 1;

/* show prints one line of the terminal, without its "\r\n". */
static void show(const char *line, size_t len) {
  if (len > 0 && line[len - 1] == '\r')
    len--;
  printf("  term | %.*s\n", (int)len, line);
}

/* on_screen gets what the terminal shows: lines, the echo of what was
 * typed, and the prompt, which ends no line. */
static void on_screen(uvexec_cmd_t *cmd, const char *data, size_t len) {
  (void)cmd;
  if (len == 0) { /* end of the terminal's output */
    if (pending_len > 0)
      show(pending, pending_len);
    pending_len = 0;
    return;
  }
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t take = nl != NULL ? (size_t)(nl - data) : len;

    if (take > sizeof(pending) - pending_len)
      take = sizeof(pending) - pending_len;
    memcpy(pending + pending_len, data, take);
    pending_len += take;
    if (nl != NULL || pending_len == sizeof(pending)) {
      show(pending, pending_len);
      pending_len = 0;
      take += nl != NULL;
    }
    data += take;
    len -= take;
  }
  at_prompt = pending_len >= strlen(PROMPT) &&
              memcmp(pending + pending_len - strlen(PROMPT), PROMPT,
                     strlen(PROMPT)) == 0;
}

static void on_tick(uv_timer_t *timer) {
  const char *next;

  (void)timer;
  printf("tick %u\n", ++ticks);
  if (!at_prompt || step == sizeof(steps) / sizeof(steps[0]))
    return;
  next = steps[step++];
  if (strncmp(next, "#resize", 7) == 0) {
    int rows, cols;

    sscanf(next, "#resize %d %d", &rows, &cols);
    printf("resize to %d rows, %d columns: %s\n", rows, cols,
           uvexec_strerror(uvexec_resize(shell, rows, cols)));
    return; /* still at the prompt: the next tick types */
  }
  at_prompt = 0;
  if (strcmp(next, "#eof") == 0) {
    printf("end of input (^D)\n");
    uvexec_close_stdin(shell);
    return;
  }
  printf("typing: %.*s\n", (int)strlen(next) - 1, next);
  uvexec_write(shell, next, strlen(next));
}

static void on_done(uvexec_cmd_t *cmd, int status) {
  printf("done: %s\n", status == 0 ? "success" : uvexec_cmd_error(cmd));
  result = status == 0 && step == sizeof(steps) / sizeof(steps[0]) ? 0 : 1;
  uvexec_cmd_free(cmd);
  uv_close((uv_handle_t *)&ticker, NULL);
}

int main(int argc, char **argv) {
  long tick_ms = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
  uv_loop_t loop;
  int err;

  if (tick_ms <= 0) {
    fprintf(stderr, "usage: terminal [tick-ms]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  uv_loop_init(&loop);

  shell = uvexec_command("sh", "-i", NULL);
  if (shell == NULL) {
    fprintf(stderr, "terminal: out of memory\n");
    return 1;
  }
  uvexec_cmd_set_pty(shell, 24, 80);
  uvexec_cmd_setenv(shell, "PS1", PROMPT);
  uvexec_cmd_unsetenv(shell, "ENV"); /* no start-up file: a plain prompt */
  uvexec_cmd_on_stdout(shell, on_screen);
  uvexec_cmd_set_timeout(shell, 20000); /* a demo never hangs */

  printf("running sh -i on a 24x80 terminal\n");
  err = uvexec_start(shell, &loop, on_done);
  if (err != 0) {
    printf("could not start: %s (%s)\n", uvexec_cmd_error(shell),
           uvexec_err_name(err));
    uvexec_cmd_free(shell);
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
