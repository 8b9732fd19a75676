/* SPDX-License-Identifier: MIT */
/* editor — open $EDITOR from a program on an event loop, as `git commit`
 * does, while the loop keeps working (Go's SysProcAttr.Foreground).
 *
 * The editor gets the terminal's foreground before it runs
 * (uvexec_cmd_set_foreground), so that it can read the keyboard and set
 * the terminal raw without being stopped as a background job; a timer
 * keeps ticking on the loop meanwhile (silently: the screen is the
 * editor's). When the editor is done, however it ended, the terminal is
 * this program's again, with the modes it had before. Then the file is
 * shown.
 *
 * Usage: editor [FILE]     (default: a new temporary file, removed after)
 *
 * $EDITOR is run by sh, so it may carry arguments ("emacs -nw"); without
 * it, vi. The demo needs a terminal: its stdin, else /dev/tty. The tour
 * runs it on a terminal of its own (script(1)) with a scripted editor,
 * demo/scripted_editor.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

static uv_timer_t ticker;
static unsigned ticks;
static int edit_status = -1;

static void on_tick(uv_timer_t *timer) {
  (void)timer;
  ticks++;
}

static void on_done(uvexec_cmd_t *cmd, int status) {
  (void)cmd;
  edit_status = status;
  uv_close((uv_handle_t *)&ticker, NULL);
}

/* open_terminal answers the terminal to lend: stdin when it is one, else
 * the process's controlling terminal; -1 without either. */
static int open_terminal(int *opened) {
  *opened = 0;
  if (isatty(0))
    return 0;
  *opened = 1;
  return open("/dev/tty", O_RDWR | O_CLOEXEC);
}

static int same_modes(const struct termios *a, const struct termios *b) {
  return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
         a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag &&
         memcmp(a->c_cc, b->c_cc, sizeof a->c_cc) == 0;
}

static void show_file(const char *path) {
  char line[1024];
  FILE *f = fopen(path, "re");

  if (f == NULL) {
    printf("the file %s is gone\n", path);
    return;
  }
  printf("the file now reads:\n");
  while (fgets(line, sizeof line, f) != NULL)
    printf("  %s%s", line, strchr(line, '\n') != NULL ? "" : "\n");
  fclose(f);
}

/* edit runs the editor on path in the terminal's foreground and reports
 * what came back. */
static int edit(int tty, const char *path, const char *name) {
  const char *editor = getenv("EDITOR");
  struct termios before, after;
  uint64_t start;
  uvexec_cmd_t *cmd;
  uv_loop_t loop;
  int err;

  if (editor == NULL || editor[0] == '\0')
    editor = "vi";
  if (tcgetattr(tty, &before) != 0) {
    perror("editor: tcgetattr");
    return 1;
  }
  cmd = uvexec_command("sh", "-c", "exec $EDITOR \"$1\"", "sh", path, NULL);
  if (cmd == NULL || uvexec_cmd_setenv(cmd, "EDITOR", editor) != 0 ||
      uvexec_cmd_stdin_fd(cmd, tty) != 0 ||
      uvexec_cmd_stdout_fd(cmd, tty) != 0 ||
      uvexec_cmd_stderr_fd(cmd, tty) != 0 ||
      uvexec_cmd_set_foreground(cmd, tty) != 0) {
    fprintf(stderr, "editor: out of memory\n");
    uvexec_cmd_free(cmd);
    return 1;
  }

  printf("editing %s with %s, in the terminal's foreground\n", name, editor);
  fflush(stdout);
  uv_loop_init(&loop);
  uv_timer_init(&loop, &ticker);
  uv_timer_start(&ticker, on_tick, 100, 100);
  start = uv_hrtime();
  err = uvexec_start(cmd, &loop, on_done);
  if (err != 0) {
    printf("the editor did not start: %s (%s)\n", uvexec_cmd_error(cmd),
           uvexec_err_name(err));
    uv_close((uv_handle_t *)&ticker, NULL);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (err != 0) {
    uvexec_cmd_free(cmd);
    return 1;
  }

  printf("the editor ran %.2f s: %s; the loop ticked %u times meanwhile\n",
         (double)(uv_hrtime() - start) / 1e9,
         edit_status == 0 ? "success" : uvexec_cmd_error(cmd), ticks);
  uvexec_cmd_free(cmd);
  tcgetattr(tty, &after);
  printf("the terminal's foreground is %s; its modes are %s\n",
         tcgetpgrp(tty) == getpgrp() ? "ours again" : "NOT ours",
         same_modes(&before, &after) ? "as they were" : "NOT as they were");
  return edit_status == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  char temp[] = "/tmp/uvexec-editor-XXXXXX";
  const char *path = argc > 1 ? argv[1] : NULL;
  int opened, tty, rc;

  if (argc > 2) {
    fprintf(stderr, "usage: editor [FILE]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  tty = open_terminal(&opened);
  if (tty < 0) {
    fprintf(stderr, "editor: no terminal to lend the editor (run it on "
                    "one; the tour uses script(1))\n");
    return 2;
  }
  if (path == NULL) {
    int fd = mkstemp(temp);

    if (fd < 0) {
      perror("editor: mkstemp");
      return 1;
    }
    close(fd);
    path = temp;
  }

  rc = edit(tty, path, path == temp ? "a new temporary file" : path);
  show_file(path);
  if (path == temp)
    unlink(temp);
  if (opened)
    close(tty);
  return rc;
}
