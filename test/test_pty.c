/* SPDX-License-Identifier: MIT */
/* Terminals: a child on a pseudo-terminal. What a terminal is to the
 * child (tty, isatty, size, termios, controlling terminal), resize and
 * SIGWINCH, the end of its output (every byte before the exit, EIO as end
 * of file), typing and VEOF, signals, stderr apart, the stdout machinery
 * on a terminal, and that no pty fd is ever left behind.
 *
 * Only the clone engine can make a controlling terminal. Where the uv
 * engine is the one in use (the `.uv` run, UVEXEC_ENGINE=uv, or a
 * kernel or valgrind without pidfd) main() runs a different suite, which
 * asserts exactly that: the start fails with UV_ENOTSUP and a message,
 * and leaves nothing behind. No positive case is counted there. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* pty_cmd is helper_cmd on a rows x cols terminal. */
#define pty_cmd(rows, cols, ...) with_pty(helper_cmd(__VA_ARGS__), rows, cols)

static uvexec_cmd_t *with_pty(uvexec_cmd_t *cmd, int rows, int cols) {
  ck_assert_int_eq(uvexec_cmd_set_pty(cmd, rows, cols), 0);
  return cmd;
}

static uvexec_cmd_t *pty_argv(const char *const *argv) {
  uvexec_cmd_t *cmd = uvexec_command_argv(argv);
  ck_assert_ptr_nonnull(cmd);
  return with_pty(cmd, 24, 80);
}

/* output_ok runs uvexec_output and insists on success. */
static void output_ok(uvexec_cmd_t *cmd) {
  int rc = uvexec_output(cmd);
  ck_assert_msg(rc == 0, "uvexec_output gave %s: %s", uvexec_err_name(rc),
                uvexec_cmd_error(cmd) ? uvexec_cmd_error(cmd) : "-");
}

static void assert_matches(const char *text, const char *pattern) {
  regex_t re;
  int rc;
  ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
  rc = regexec(&re, text, 0, NULL, 0);
  regfree(&re);
  ck_assert_msg(rc == 0, "\"%s\" does not match /%s/", text, pattern);
}

/* fd_links counts this process's fds whose /proc link starts with
 * prefix. */
static int fd_links(const char *prefix) {
  DIR *dir = opendir("/proc/self/fd");
  struct dirent *de;
  int n = 0;

  ck_assert_ptr_nonnull(dir);
  while ((de = readdir(dir)) != NULL) {
    char path[PATH_MAX], target[PATH_MAX];
    ssize_t len;
    if (de->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
    len = readlink(path, target, sizeof target - 1);
    if (len < 0)
      continue;
    target[len] = '\0';
    if (strncmp(target, prefix, strlen(prefix)) == 0)
      n++;
  }
  closedir(dir);
  return n;
}

/* ---- what the child finds -------------------------------------------- */

START_TEST(test_tty_names_a_pts) {
  const char *argv[] = {"tty", NULL};
  uvexec_cmd_t *cmd = pty_argv(argv);
  output_ok(cmd);
  assert_matches(uvexec_stdout_data(cmd, NULL), "^/dev/pts/[0-9]+\r\n$");
  uvexec_cmd_free(cmd);
}
END_TEST

/* fds 0, 1 and 2 are one terminal, and nothing else is open. */
START_TEST(test_child_fds_are_the_terminal) {
  uvexec_cmd_t *cmd = pty_cmd(24, 80, "fd-link", "1", "0", "1", "2", NULL);
  const char *out;
  char first[64];
  output_ok(cmd);
  out = uvexec_stdout_data(cmd, NULL);
  assert_matches(out, "^(/dev/pts/[0-9]+)\r\n");
  snprintf(first, sizeof first, "%.*s", (int)strcspn(out, "\r"), out);
  {
    char want[256];
    snprintf(want, sizeof want, "%s\r\n%s\r\n%s\r\n", first, first, first);
    assert_stdout(cmd, want);
  }
  uvexec_cmd_free(cmd);

  /* Only 0, 1 and 2 reach the child: no fd of uvexec's, and (close_fds
   * being the default) none the test process left inheritable either. */
  cmd = pty_cmd(24, 80, "fds", NULL);
  output_ok(cmd);
  assert_stdout(cmd, "0 1 2\r\n");
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_test_t_on_all_three) {
  const char *argv[] = {"sh", "-c", "test -t 0 && test -t 1 && test -t 2",
                        NULL};
  uvexec_cmd_t *cmd = pty_argv(argv);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  uvexec_cmd_free(cmd);

  /* The same without a terminal fails: the check can fail. */
  cmd = uvexec_command_argv(argv);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_EEXIT);
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_stty_size) {
  const char *argv[] = {"stty", "size", NULL};
  uvexec_cmd_t *cmd = uvexec_command_argv(argv);
  ck_assert_int_eq(uvexec_cmd_set_pty(cmd, 31, 97), 0);
  output_ok(cmd);
  assert_stdout(cmd, "31 97\r\n");
  uvexec_cmd_free(cmd);
}
END_TEST

/* The termios a terminal emulator gives. */
START_TEST(test_termios_defaults) {
  static const char *const want[] = {
      " icanon ",   " echo ",     " icrnl ",    " onlcr ",     "iutf8",
      " isig ",     " ixon ",     "intr = ^C;", "eof = ^D;",   "erase = ^?;",
      "kill = ^U;", "susp = ^Z;", " cs8 ",      "werase = ^W;"};
  const char *argv[] = {"stty", "-a", NULL};
  uvexec_cmd_t *cmd = pty_argv(argv);
  char *out;
  size_t i;

  output_ok(cmd);
  /* Line ends become spaces, so every flag has a space on each side. */
  out = malloc(strlen(uvexec_stdout_data(cmd, NULL)) + 3);
  sprintf(out, " %s ", uvexec_stdout_data(cmd, NULL));
  for (i = 0; out[i] != '\0'; i++)
    if (out[i] == '\r' || out[i] == '\n')
      out[i] = ' ';
  for (i = 0; i < sizeof want / sizeof want[0]; i++)
    ck_assert_msg(strstr(out, want[i]) != NULL, "stty -a lacks \"%s\": %s",
                  want[i], out);
  free(out);
  uvexec_cmd_free(cmd);
}
END_TEST

/* The child leads its own session, and the terminal is its controlling
 * terminal with the child's group in the foreground. */
START_TEST(test_session_and_controlling_terminal) {
  uvexec_cmd_t *cmd = pty_cmd(12, 34, "tty-info", NULL);
  long pid, sid, pgid, fg;
  unsigned rows, cols;

  output_ok(cmd);
  ck_assert_int_eq(sscanf(uvexec_stdout_data(cmd, NULL),
                          "pid %ld sid %ld pgid %ld fg %ld rows %u cols %u",
                          &pid, &sid, &pgid, &fg, &rows, &cols),
                   6);
  ck_assert_int_eq(pid, uvexec_pid(cmd));
  ck_assert_int_eq(sid, pid);
  ck_assert_int_eq(pgid, pid);
  ck_assert_int_eq(fg, pid);
  ck_assert_uint_eq(rows, 12);
  ck_assert_uint_eq(cols, 34);
  uvexec_cmd_free(cmd);
}
END_TEST

/* `ls --color=auto` colours only on a terminal. */
START_TEST(test_output_shows_colours) {
  char *dir = make_temp_dir(), sub[PATH_MAX];
  const char *argv[] = {"ls", "--color=auto", dir, NULL};
  uvexec_cmd_t *cmd;

  snprintf(sub, sizeof sub, "%s/subdir", dir);
  ck_assert_int_eq(mkdir(sub, 0755), 0);

  cmd = pty_argv(argv);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "TERM", "xterm"), 0);
  output_ok(cmd);
  ck_assert_msg(strstr(uvexec_stdout_data(cmd, NULL), "\033[") != NULL,
                "no colour code in \"%s\"", uvexec_stdout_data(cmd, NULL));
  ck_assert_ptr_nonnull(strstr(uvexec_stdout_data(cmd, NULL), "subdir"));
  uvexec_cmd_free(cmd);

  cmd = uvexec_command_argv(argv);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "TERM", "xterm"), 0);
  output_ok(cmd);
  assert_stdout(cmd, "subdir\n");
  uvexec_cmd_free(cmd);

  remove_tree(dir);
  free(dir);
}
END_TEST

/* ---- resize ------------------------------------------------------------ */

START_TEST(test_resize_sends_sigwinch) {
  probe_t p;
  uvexec_cmd_t *plain;

  probe_init(&p, pty_cmd(24, 80, "winch", "2", NULL));
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_resize(p.cmd, 30, 100), UV_ESRCH); /* not yet */
  probe_start(&p);
  probe_wait_text(&p, "ready 24 80\r\n");
  ck_assert_int_eq(uvexec_resize(p.cmd, 50, 132), 0);
  probe_wait_text(&p, "winch 50 132\r\n");
  ck_assert_int_eq(uvexec_resize(p.cmd, 10, 20), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_str_eq(p.out.data,
                   "ready 24 80\r\nwinch 50 132\r\nwinch 10 20\r\n");

  /* After done there is no terminal to resize. */
  ck_assert_int_eq(uvexec_resize(p.cmd, 40, 40), UV_ESRCH);
  ck_assert_int_eq(uvexec_resize(p.cmd, 0, 40), UV_EINVAL);
  probe_free(&p);

  ck_assert_int_eq(uvexec_resize(NULL, 1, 1), UV_EINVAL);
  plain = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_resize(plain, 1, 1), UV_EINVAL); /* no pty */
  uvexec_cmd_free(plain);
}
END_TEST

/* ---- the end of the output --------------------------------------------- */

static int burst_ok(const char *data, size_t len, size_t want) {
  size_t i;
  if (data == NULL || len != want)
    return 0;
  for (i = 0; i < len; i++)
    if (data[i] != (char)('0' + i % 10))
      return 0;
  return 1;
}

/* 100,000 bytes written right before the exit arrive whole, every time,
 * captured and through a data callback. */
START_TEST(test_burst_before_exit_delivered_whole) {
  int reps = under_valgrind() ? 10 : 200, i;

  for (i = 0; i < reps; i++) {
    probe_t p;
    size_t len = 0;
    const char *data;

    probe_init(&p, pty_cmd(24, 80, "burst", "100000", NULL));
    if (i % 2 == 0)
      ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
    else
      probe_watch_stdout(&p);
    probe_start(&p);
    probe_wait(&p);
    ck_assert_msg(p.status == 0, "run %d: %s", i, uvexec_cmd_error(p.cmd));
    if (i % 2 == 0)
      data = uvexec_stdout_data(p.cmd, &len);
    else
      data = p.out.data, len = p.out.len;
    ck_assert_msg(burst_ok(data, len, 100000),
                  "run %d: %zu bytes delivered of 100000", i, len);
    probe_free(&p);
  }
}
END_TEST

/* The master's EIO at the end is the end of file: one EOF call before the
 * done callback, status 0, no error. */
START_TEST(test_eio_is_end_of_file) {
  probe_t p;
  probe_init(&p, pty_cmd(24, 80, "echo", "hi", NULL));
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_ptr_null(uvexec_cmd_error(p.cmd));
  ck_assert_str_eq(p.out.data, "hi\r\n");
  ck_assert_int_eq(p.out_eof, 1);
  ck_assert_int_eq(p.out_eof_at_done, 1);
  ck_assert_int_eq(p.out_after_eof, 0);
  probe_free(&p);
}
END_TEST

/* Exit codes and signals come as they are, not folded into 122 or 128+n,
 * and a program that cannot run is a start error. */
START_TEST(test_exit_status_and_signal) {
  uvexec_cmd_t *cmd = pty_cmd(24, 80, "exit", "3", NULL);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 3);
  uvexec_cmd_free(cmd);

  cmd = pty_cmd(24, 80, "kill-self", "15", NULL);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_ESIGNALED);
  ck_assert_int_eq(uvexec_term_signal(cmd), SIGTERM);
  ck_assert_int_eq(uvexec_exit_code(cmd), -1);
  uvexec_cmd_free(cmd);

  cmd = with_pty(uvexec_command("/nonexistent/program", NULL), 24, 80);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOENT);
  uvexec_cmd_free(cmd);
}
END_TEST

/* A grandchild that keeps the terminal holds done back only for the wait
 * delay. */
START_TEST(test_grandchild_bounded_by_wait_delay) {
  probe_t p;
  long gc = 0;
  double t0;

  probe_init(&p, pty_cmd(24, 80, "pty-grandchild", "20000", NULL));
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 300), 0);
  t0 = now_s();
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_EWAITDELAY);
  ck_assert_msg(now_s() - t0 < 10.0, "done took %.1f s", now_s() - t0);
  ck_assert_int_eq(sscanf(p.out.data, "grandchild %ld", &gc), 1);
  ck_assert_int_eq(p.out_eof, 1);
  ck_assert_int_eq(kill((pid_t)gc, SIGKILL), 0);
  probe_free(&p);
}
END_TEST

/* ---- typing ------------------------------------------------------------ */

/* close_stdin types VEOF: `cat` on a terminal ends. */
START_TEST(test_close_stdin_ends_cat) {
  probe_t p;
  probe_init(&p, pty_cmd(24, 80, "cat", NULL));
  probe_watch_stdout(&p);
  probe_start(&p);
  ck_assert_int_eq(uvexec_write(p.cmd, "hello\n", 6), 0);
  ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0);
  ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0); /* twice: a no-op */
  ck_assert_int_eq(uvexec_write(p.cmd, "x", 1), UV_EPIPE);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  /* The terminal's echo, then cat's copy: the same line twice. */
  ck_assert_str_eq(p.out.data, "hello\r\nhello\r\n");
  probe_free(&p);
}
END_TEST

/* Mid-line, the line is handed over as typed (no newline added), then end
 * of file; at the start of a line, end of file at once. */
START_TEST(test_close_stdin_mid_line) {
  static const char *const typed[] = {"abc", "line\n", ""};
  static const char *const want[] = {"ready\r\nread 3\r\neof\r\n",
                                     "ready\r\nread 5\r\neof\r\n",
                                     "ready\r\neof\r\n"};
  int i;

  for (i = 0; i < 3; i++) {
    probe_t p;
    probe_init(&p, pty_cmd(24, 80, "read-chunks", NULL));
    probe_watch_stdout(&p);
    probe_start(&p);
    probe_wait_text(&p, "ready\r\n"); /* echo is off now */
    ck_assert_int_eq(uvexec_write(p.cmd, typed[i], strlen(typed[i])), 0);
    ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0);
    probe_wait(&p);
    ck_assert_int_eq(p.status, 0);
    ck_assert_str_eq(p.out.data, want[i]);
    probe_free(&p);
  }
}
END_TEST

/* uvexec_cmd_set_stdin types its bytes, then end of file. */
START_TEST(test_set_stdin_types_then_eof) {
  uvexec_cmd_t *cmd = pty_cmd(24, 80, "stdin-count", NULL);
  const char *out;
  size_t len;

  ck_assert_int_eq(uvexec_cmd_set_stdin(cmd, "one\ntwo", 7), 0);
  output_ok(cmd);
  out = uvexec_stdout_data(cmd, &len);
  /* The echo comes with the typing, the count after end of file. */
  ck_assert_msg(strstr(out, "one\r\ntwo") != NULL, "no echo in \"%s\"", out);
  ck_assert_msg(len >= 3 && strcmp(out + len - 3, "7\r\n") == 0,
                "stdin-count did not see 7 bytes then EOF: \"%s\"", out);
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- signals ----------------------------------------------------------- */

/* A cancel reaches the child's group: a shell and the `sleep` it started
 * and waits for, both on the terminal, end at once. The long wait delay makes done wait for the
 * terminal's real end of output, which comes only once the `sleep` that
 * holds it is gone too. */
START_TEST(test_cancel_ends_sleep) {
  /* The first ignores SIGHUP, which the kernel sends the terminal's
   * foreground group when the session leader dies: only a signal to the
   * group ends its `sleep`. */
  const char *argv[2][4] = {
      {"sh", "-c", "trap '' HUP; sleep 100 & echo ready; wait; "
                   "echo not reached", NULL},
      {"sh", "-c", "sleep 100 & echo ready; wait; echo not reached", NULL}};
  int i;

  for (i = 0; i < 2; i++) {
    probe_t p;
    double t0;

    probe_init(&p, pty_argv(argv[i]));
    probe_watch_stdout(&p);
    if (i == 1) /* what closing a terminal window sends */
      ck_assert_int_eq(uvexec_cmd_set_cancel_signal(p.cmd, SIGHUP), 0);
    ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 60000), 0);
    t0 = now_s();
    probe_start(&p);
    /* Only once the `sleep` runs is there a group to reach. */
    probe_wait_text(&p, "ready\r\n");
    ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
    probe_wait(&p);
    ck_assert_int_eq(p.status, UV_ECANCELED);
    ck_assert_int_eq(uvexec_term_signal(p.cmd), i == 0 ? SIGKILL : SIGHUP);
    ck_assert_msg(now_s() - t0 < 10.0, "cancel took %.1f s", now_s() - t0);
    ck_assert_ptr_null(strstr(p.out.data ? p.out.data : "", "not reached"));
    probe_free(&p);
  }
}
END_TEST

/* ^C typed is SIGINT to the foreground group, as on any terminal. */
START_TEST(test_typed_interrupt) {
  uvexec_cmd_t *cmd = pty_cmd(24, 80, "sleep", "100000", NULL);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), 0);
  ck_assert_int_eq(uvexec_write(cmd, "\x03", 1), 0);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(uvexec_term_signal(cmd), SIGINT);
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_timeout_ends_sleep) {
  uvexec_cmd_t *cmd = pty_cmd(24, 80, "sleep", "100000", NULL);
  ck_assert_int_eq(uvexec_cmd_set_timeout(cmd, 100), 0);
  ck_assert_int_eq(uvexec_run(cmd), UV_ETIMEDOUT);
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_free_while_running) {
  probe_t p;
  probe_init(&p, pty_cmd(24, 80, "winch", "1", NULL));
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait_text(&p, "ready");
  probe_drop_cmd(&p); /* the fixture proves the child reaped, fds closed */
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.calls_after_free, 0);
  probe_free(&p);
}
END_TEST

/* ---- stderr and the stdout machinery ----------------------------------- */

START_TEST(test_stderr_on_the_terminal) {
  uvexec_cmd_t *cmd = pty_cmd(24, 80, "echo-err", "oops", NULL);
  output_ok(cmd);
  assert_stdout(cmd, "oops\r\n");
  ck_assert_ptr_null(uvexec_stderr_data(cmd, NULL));
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_stderr_apart) {
  probe_t p;
  uvexec_cmd_t *cmd = pty_cmd(24, 80, "interleave", "2", NULL);

  /* Captured: a pipe of its own, no terminal line endings. */
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  output_ok(cmd);
  assert_stdout(cmd, "out 0\r\nout 1\r\n");
  assert_stderr(cmd, "err 0\nerr 1\n");
  uvexec_cmd_free(cmd);

  /* A callback sets it apart too. */
  probe_init(&p, pty_cmd(24, 80, "interleave", "2", NULL));
  probe_watch_stdout(&p);
  probe_watch_stderr(&p);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_str_eq(p.out.data, "out 0\r\nout 1\r\n");
  ck_assert_str_eq(p.err.data, "err 0\nerr 1\n");
  probe_free(&p);

  /* UVEXEC_NULL discards it. */
  cmd = pty_cmd(24, 80, "interleave", "2", NULL);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_NULL), 0);
  output_ok(cmd);
  assert_stdout(cmd, "out 0\r\nout 1\r\n");
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_output_limit) {
  uvexec_cmd_t *cmd = pty_cmd(24, 80, "flood", "1000000", "0", NULL);
  size_t len = 0;
  ck_assert_int_eq(uvexec_cmd_set_output_limit(cmd, 5000), 0);
  ck_assert_int_eq(uvexec_output(cmd), UV_ENOBUFS);
  ck_assert_ptr_nonnull(uvexec_stdout_data(cmd, &len));
  ck_assert_uint_eq(len, 5000);
  uvexec_cmd_free(cmd);
}
END_TEST

static tbuf_t lines_seen;

static void on_line(uvexec_cmd_t *cmd, const char *line, size_t len) {
  (void)cmd;
  tbuf_append(&lines_seen, line, len);
  tbuf_append(&lines_seen, "|", 1);
}

/* A terminal's "\r\n" line ends are dropped whole. */
START_TEST(test_line_callbacks) {
  probe_t p;
  probe_init(&p, pty_cmd(24, 80, "interleave", "2", NULL));
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(p.cmd, on_line), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_str_eq(lines_seen.data, "out 0|err 0|out 1|err 1|");
  tbuf_free(&lines_seen);
  probe_free(&p);
}
END_TEST

/* ---- no fd left behind ------------------------------------------------- */

/* While a child runs the parent holds the master and its copy, never the
 * slave; after it, nothing. */
START_TEST(test_parent_never_holds_the_slave) {
  probe_t p;
  probe_init(&p, pty_cmd(24, 80, "winch", "1", NULL));
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait_text(&p, "ready");
  ck_assert_int_eq(fd_links("/dev/pts/"), 0);
  ck_assert_int_eq(fd_links("/dev/ptmx"), 2);
  ck_assert_int_eq(uvexec_resize(p.cmd, 5, 5), 0);
  probe_wait(&p);
  ck_assert_int_eq(fd_links("/dev/ptmx"), 0);
  probe_free(&p);
}
END_TEST

START_TEST(test_many_runs_leave_fds_unchanged) {
  int reps = under_valgrind() ? 50 : 1000, i;
  int base = count_open_fds();

  for (i = 0; i < reps; i++) {
    probe_t p;
    probe_init(&p, pty_cmd(24, 80, "echo", "x", NULL));
    ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
    probe_start(&p);
    probe_wait(&p);
    ck_assert_int_eq(p.status, 0);
    assert_stdout(p.cmd, "x\r\n");
    probe_free(&p);
    if (i % 100 == 99)
      ck_assert_int_eq(count_open_fds(), base);
  }
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(count_open_fds(), base);
  ck_assert_int_eq(fd_links("/dev/ptmx"), 0);
}
END_TEST

/* A start that fails, before or after the terminal was opened, leaves
 * nothing open. */
START_TEST(test_failed_starts_leave_fds_unchanged) {
  char *dir = make_temp_dir(), junk[PATH_MAX];
  int reps = under_valgrind() ? 10 : 200, i;
  int base = count_open_fds(), fd;

  /* Executable, but no format the kernel runs: fails inside posix_spawn,
   * after the terminal was opened. */
  snprintf(junk, sizeof junk, "%s/junk", dir);
  fd = open(junk, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "\x01\x02junk", 6), 6);
  close(fd);

  for (i = 0; i < reps; i++) {
    uvexec_cmd_t *cmd;
    int rc;

    cmd = with_pty(uvexec_command("nosuch-program-uvexec", NULL), 24, 80);
    rc = uvexec_start(cmd, test_loop, NULL);
    ck_assert_int_eq(rc, UV_ENOENT);
    uvexec_cmd_free(cmd);

    cmd = pty_cmd(24, 80, "echo", "x", NULL);
    ck_assert_int_eq(uvexec_cmd_set_dir(cmd, "/nonexistent-dir"), 0);
    ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOENT);
    uvexec_cmd_free(cmd);

    cmd = with_pty(uvexec_command(junk, NULL), 24, 80);
    rc = uvexec_start(cmd, test_loop, NULL);
    ck_assert_msg(rc == UVEXEC_ENOEXEC, "junk gave %s", uvexec_err_name(rc));
    uvexec_cmd_free(cmd);
  }
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(count_open_fds(), base);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* ---- configuration ------------------------------------------------------ */

START_TEST(test_configuration_errors) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "x", NULL);

  ck_assert_int_eq(uvexec_cmd_set_pty(NULL, 24, 80), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_pty(cmd, 0, 80), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_pty(cmd, 24, -1), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_pty(cmd, 65536, 80), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_pty(cmd, 24, 80), 0);
  ck_assert_int_eq(uvexec_cmd_stdin_fd(cmd, 0), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(cmd), "stdin"));
  uvexec_cmd_free(cmd);

  cmd = pty_cmd(24, 80, "echo", "x", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_INHERIT), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  uvexec_cmd_free(cmd);

  cmd = pty_cmd(24, 80, "echo", "x", NULL);
  ck_assert_int_eq(uvexec_cmd_set_pgid(cmd, 0), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  uvexec_cmd_free(cmd);

  cmd = pty_cmd(24, 80, "echo", "x", NULL);
  ck_assert_int_eq(uvexec_combined_output(cmd), UV_EINVAL);
  uvexec_cmd_free(cmd);

  cmd = pty_cmd(24, 80, "echo", "x", NULL);
  ck_assert_int_eq(uvexec_exec(cmd), UV_EINVAL);
  uvexec_cmd_free(cmd);

  /* Forcing the uv_spawn engine: a clear error at start. */
  cmd = pty_cmd(24, 80, "echo", "x", NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_UV), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOTSUP);
  ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(cmd), "terminal"));
  uvexec_cmd_free(cmd);

  cmd = pty_cmd(24, 80, "echo", "x", NULL);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), 0);
  ck_assert_int_eq(uvexec_cmd_set_pty(cmd, 24, 80), UV_EBUSY);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- where only the uv_spawn engine runs -------------------------------- */

/* The uv engine cannot make a controlling terminal: every start of a
 * pty cmd fails with UV_ENOTSUP, says why, and leaves nothing open. */
START_TEST(test_uv_engine_refuses) {
  int base = count_open_fds(), i;

  for (i = 0; i < 50; i++) {
    probe_t p;
    int rc;

    probe_init(&p, pty_cmd(24, 80, "echo", "x", NULL));
    rc = uvexec_start(p.cmd, test_loop, probe_done_cb);
    ck_assert_int_eq(rc, UV_ENOTSUP);
    ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(p.cmd), "terminal"));
    run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
    ck_assert_int_eq(p.done_calls, 0);
    probe_free(&p);
  }
  ck_assert_int_eq(count_open_fds(), base);
}
END_TEST

START_TEST(test_uv_engine_refuses_sync) {
  uvexec_cmd_t *cmd = pty_cmd(24, 80, "echo", "x", NULL);
  ck_assert_int_eq(uvexec_output(cmd), UV_ENOTSUP);
  uvexec_cmd_free(cmd);
}
END_TEST

static int uv_engine_in_use(void) {
  const char *engine = getenv("UVEXEC_ENGINE");
  return (engine != NULL && strcmp(engine, "uv") == 0) ||
         !uvexec__have_pidfd();
}

int main(void) {
  Suite *s = suite_create("pty");

  if (uv_engine_in_use()) {
    /* Only the refusal can be tested here; see the top of the file. */
    ADD_TEST(s, test_uv_engine_refuses);
    ADD_TEST(s, test_uv_engine_refuses_sync);
    return run_suite(s);
  }
  ADD_TEST(s, test_tty_names_a_pts);
  ADD_TEST(s, test_child_fds_are_the_terminal);
  ADD_TEST(s, test_test_t_on_all_three);
  ADD_TEST(s, test_stty_size);
  ADD_TEST(s, test_termios_defaults);
  ADD_TEST(s, test_session_and_controlling_terminal);
  ADD_TEST(s, test_output_shows_colours);
  ADD_TEST(s, test_resize_sends_sigwinch);
  ADD_TEST(s, test_burst_before_exit_delivered_whole);
  ADD_TEST(s, test_eio_is_end_of_file);
  ADD_TEST(s, test_exit_status_and_signal);
  ADD_TEST(s, test_grandchild_bounded_by_wait_delay);
  ADD_TEST(s, test_close_stdin_ends_cat);
  ADD_TEST(s, test_close_stdin_mid_line);
  ADD_TEST(s, test_set_stdin_types_then_eof);
  ADD_TEST(s, test_cancel_ends_sleep);
  ADD_TEST(s, test_typed_interrupt);
  ADD_TEST(s, test_timeout_ends_sleep);
  ADD_TEST(s, test_free_while_running);
  ADD_TEST(s, test_stderr_on_the_terminal);
  ADD_TEST(s, test_stderr_apart);
  ADD_TEST(s, test_output_limit);
  ADD_TEST(s, test_line_callbacks);
  ADD_TEST(s, test_parent_never_holds_the_slave);
  ADD_TEST(s, test_many_runs_leave_fds_unchanged);
  ADD_TEST(s, test_failed_starts_leave_fds_unchanged);
  ADD_TEST(s, test_configuration_errors);
  return run_suite(s);
}
