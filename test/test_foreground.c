/* SPDX-License-Identifier: MIT */
/* The terminal's foreground, lent to a child: uvexec_cmd_set_foreground.
 *
 * Each case runs in a fork of the test that makes a session of its own
 * with a fresh pseudo-terminal as its controlling terminal, as a program
 * on a terminal has one; it reports what went wrong through a pipe. A
 * case that gets stopped (SIGTTOU or SIGTTIN, the very thing under test)
 * is seen stopped, killed and failed, never waited for forever. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* ---- a session with a terminal -------------------------------------------- */

typedef struct {
  int report; /* the pipe to the test */
  int master;
  int tty; /* the controlling terminal, open */
  uv_loop_t loop;
} session_t;

/* fail_case writes the failure to the test and ends the fork. */
static void fail_case(const session_t *s, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  int len;

  va_start(ap, fmt);
  len = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (len > (int)sizeof msg - 1)
    len = (int)sizeof msg - 1;
  (void)!write(s->report, msg, (size_t)len);
  _exit(1);
}

#define CASE_CHECK(s, cond, ...)                                               \
  do {                                                                         \
    if (!(cond))                                                               \
      fail_case((s), __VA_ARGS__);                                             \
  } while (0)

/* open_session makes this fork a session leader whose controlling
 * terminal is a new pseudo-terminal, in its foreground. */
static void open_session(session_t *s) {
  const char *name;

  CASE_CHECK(s, setsid() > 0, "setsid: %s", strerror(errno));
  s->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  CASE_CHECK(s, s->master >= 0, "posix_openpt: %s", strerror(errno));
  CASE_CHECK(s, grantpt(s->master) == 0 && unlockpt(s->master) == 0,
             "grantpt: %s", strerror(errno));
  name = ptsname(s->master);
  CASE_CHECK(s, name != NULL, "ptsname");
  s->tty = open(name, O_RDWR | O_CLOEXEC); /* no O_NOCTTY: it is ours */
  CASE_CHECK(s, s->tty >= 0, "open %s: %s", name, strerror(errno));
  CASE_CHECK(s, tcgetpgrp(s->tty) == getpgrp(), "not in the foreground");
  CASE_CHECK(s, uv_loop_init(&s->loop) == 0, "uv_loop_init");
}

typedef void (*case_fn)(session_t *s);

/* in_session runs fn in a fork with a terminal of its own and fails the
 * test with what it reported, or when it was stopped or did not end. */
static void in_session(case_fn fn) {
  char msg[512] = "";
  int rep[2], status = 0, waited = 0;
  ssize_t n;
  pid_t pid;

  ck_assert_int_eq(pipe2(rep, O_CLOEXEC), 0);
  fflush(NULL);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    session_t s;

    memset(&s, 0, sizeof s);
    close(rep[0]);
    s.report = rep[1];
    open_session(&s);
    fn(&s);
    _exit(0);
  }
  close(rep[1]);
  /* WUNTRACED: a fork stopped by its terminal is a failure to see, not
   * a wait that never ends. */
  while (waited < TEST_TIMEOUT_MS) {
    pid_t got = waitpid(pid, &status, WNOHANG | WUNTRACED);
    struct timespec ms = {0, 1000000};

    ck_assert_int_ge(got, 0);
    if (got == pid)
      break;
    nanosleep(&ms, NULL);
    waited++;
  }
  if (waited >= TEST_TIMEOUT_MS || WIFSTOPPED(status)) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(rep[0]);
    ck_abort_msg("the case %s", waited >= TEST_TIMEOUT_MS
                                    ? "did not end"
                                    : "was stopped (by its terminal?)");
  }
  n = read(rep[0], msg, sizeof msg - 1);
  close(rep[0]);
  msg[n > 0 ? n : 0] = '\0';
  ck_assert_msg(msg[0] == '\0', "%s", msg);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the case ended with status 0x%x", status);
}

/* ---- what a run saw -------------------------------------------------------- */

typedef struct {
  session_t *s;
  int done;
  int status;
  int raw_seen;
  int cancel_on_raw;
} run_t;

static void on_done(uvexec_cmd_t *cmd, int status) {
  run_t *r = uvexec_cmd_data(cmd);

  r->done = 1;
  r->status = status;
}

static void on_line(uvexec_cmd_t *cmd, const char *line, size_t len) {
  run_t *r = uvexec_cmd_data(cmd);

  if (len == 3 && memcmp(line, "raw", 3) == 0) {
    r->raw_seen = 1;
    if (r->cancel_on_raw)
      uvexec_cancel(cmd);
  }
}

/* tty_cmd is the helper on the session's terminal (stdin), its stdout
 * captured, on the clone engine. */
static uvexec_cmd_t *tty_cmd(session_t *s, run_t *r, const char *sub,
                             const char *arg) {
  uvexec_cmd_t *cmd = uvexec_command(helper_path(), sub, arg, NULL);

  CASE_CHECK(s, cmd != NULL, "uvexec_command");
  memset(r, 0, sizeof(*r));
  r->s = s;
  uvexec_cmd_set_data(cmd, r);
  CASE_CHECK(s, uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE) == 0, "engine");
  CASE_CHECK(s, uvexec_cmd_stdin_fd(cmd, s->tty) == 0, "stdin_fd");
  CASE_CHECK(s, uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE) == 0, "capture");
  CASE_CHECK(s, uvexec_cmd_on_stdout_line(cmd, on_line) == 0, "on line");
  return cmd;
}

static void run(session_t *s, uvexec_cmd_t *cmd, run_t *r) {
  int err = uvexec_start(cmd, &s->loop, on_done);

  CASE_CHECK(s, err == 0, "start: %s (%s)", uvexec_err_name(err),
             uvexec_cmd_error(cmd) ? uvexec_cmd_error(cmd) : "-");
  while (!r->done)
    uv_run(&s->loop, UV_RUN_ONCE);
}

/* The helper's "pid P sid S pgid G fg F ..." line. */
static void child_ids(session_t *s, uvexec_cmd_t *cmd, long *pid, long *pgid,
                      long *fg) {
  size_t len = 0;
  const char *data = uvexec_stdout_data(cmd, &len);
  char out[256];
  long sid;

  snprintf(out, sizeof out, "%.*s", (int)len, data != NULL ? data : "");
  CASE_CHECK(s,
             sscanf(out, "pid %ld sid %ld pgid %ld fg %ld", pid, &sid, pgid,
                    fg) == 4,
             "no ids in \"%s\"", out);
}

static int echo_and_canon(int tty) {
  struct termios t;

  if (tcgetattr(tty, &t) != 0)
    return -1;
  return (t.c_lflag & (ECHO | ICANON)) == (ECHO | ICANON);
}

/* ---- the cases --------------------------------------------------------------- */

/* The child leads a group that is the foreground while it runs; it sets
 * the terminal raw and exits; the terminal is ours again, its modes as
 * they were. */
static void case_foreground_and_back(session_t *s) {
  long pid, pgid, fg;
  run_t r;
  uvexec_cmd_t *cmd = tty_cmd(s, &r, "tty-raw", NULL);

  CASE_CHECK(s, uvexec_cmd_set_foreground(cmd, s->tty) == 0, "set");
  run(s, cmd, &r);
  CASE_CHECK(s, r.status == 0, "status %s: %s", uvexec_err_name(r.status),
             uvexec_cmd_error(cmd));
  CASE_CHECK(s, r.raw_seen, "the child did not set the modes");
  child_ids(s, cmd, &pid, &pgid, &fg);
  CASE_CHECK(s, pgid == pid, "the child leads no group: pgid %ld", pgid);
  CASE_CHECK(s, fg == pgid, "the child ran in the background (fg %ld)", fg);
  CASE_CHECK(s, tcgetpgrp(s->tty) == getpgrp(), "the terminal is not back");
  CASE_CHECK(s, echo_and_canon(s->tty) == 1, "the modes are not restored");
  uvexec_cmd_free(cmd);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  CASE_CHECK(s, uv_loop_close(&s->loop) == 0, "loop not closed");
}

START_TEST(test_foreground_and_back) {
  in_session(case_foreground_and_back);
}
END_TEST

/* Killed in raw mode (cancelled once it said so): the terminal is ours
 * again all the same, with its modes. */
static void case_killed_in_raw_mode(session_t *s) {
  run_t r;
  uvexec_cmd_t *cmd = tty_cmd(s, &r, "tty-raw", "stay");

  r.cancel_on_raw = 1;
  CASE_CHECK(s, uvexec_cmd_set_foreground(cmd, s->tty) == 0, "set");
  run(s, cmd, &r);
  CASE_CHECK(s, r.status == UV_ECANCELED, "status %s",
             uvexec_err_name(r.status));
  CASE_CHECK(s, tcgetpgrp(s->tty) == getpgrp(), "the terminal is not back");
  CASE_CHECK(s, echo_and_canon(s->tty) == 1, "the modes are not restored");
  uvexec_cmd_free(cmd);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  CASE_CHECK(s, uv_loop_close(&s->loop) == 0, "loop not closed");
}

START_TEST(test_killed_in_raw_mode) {
  in_session(case_killed_in_raw_mode);
}
END_TEST

/* Freed while it runs: the terminal comes back with the free. */
static void case_freed_while_running(session_t *s) {
  run_t r;
  uvexec_cmd_t *cmd = tty_cmd(s, &r, "tty-raw", "stay");

  CASE_CHECK(s, uvexec_cmd_set_foreground(cmd, s->tty) == 0, "set");
  CASE_CHECK(s, uvexec_start(cmd, &s->loop, on_done) == 0, "start");
  while (!r.raw_seen)
    uv_run(&s->loop, UV_RUN_ONCE);
  CASE_CHECK(s, tcgetpgrp(s->tty) != getpgrp(), "the child has no terminal");
  uvexec_cmd_free(cmd);
  CASE_CHECK(s, tcgetpgrp(s->tty) == getpgrp(), "the terminal is not back");
  CASE_CHECK(s, echo_and_canon(s->tty) == 1, "the modes are not restored");
  uv_run(&s->loop, UV_RUN_DEFAULT);
  CASE_CHECK(s, uv_loop_close(&s->loop) == 0, "loop not closed");
}

START_TEST(test_freed_while_running) {
  in_session(case_freed_while_running);
}
END_TEST

/* Without it, a child in a group of its own is a background job: what
 * the foreground prevents. */
static void case_background_without_it(session_t *s) {
  long pid, pgid, fg;
  run_t r;
  uvexec_cmd_t *cmd = tty_cmd(s, &r, "tty-info", NULL);

  CASE_CHECK(s, uvexec_cmd_set_pgid(cmd, 0) == 0, "pgid");
  run(s, cmd, &r);
  CASE_CHECK(s, r.status == 0, "status %s", uvexec_err_name(r.status));
  child_ids(s, cmd, &pid, &pgid, &fg);
  CASE_CHECK(s, pgid == pid && fg != pgid, "pgid %ld fg %ld", pgid, fg);
  uvexec_cmd_free(cmd);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  CASE_CHECK(s, uv_loop_close(&s->loop) == 0, "loop not closed");
}

START_TEST(test_background_without_it) {
  in_session(case_background_without_it);
}
END_TEST

/* ---- failure ------------------------------------------------------------------ */

/* Not a terminal: the start fails, naming the fd, and leaves nothing. */
/* proc_state answers the state letter of /proc/PID/stat, or 0 when the
 * process is gone. */
static char proc_state(long pid) {
  char path[64], text[512], *close_paren;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return 0;
  if (fgets(text, sizeof text, f) == NULL) {
    fclose(f);
    return 0;
  }
  fclose(f);
  close_paren = strrchr(text, ')');
  return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : 0;
}

/* Stopped from its terminal (^Z) and then cancelled with SIGTERM and no
 * wait delay: the stopped group is continued, so it gets the signal and
 * done comes; the terminal and its modes are ours again. */
static void case_stopped_then_cancelled(session_t *s) {
  run_t r;
  uvexec_cmd_t *cmd = tty_cmd(s, &r, "tty-raw", "stay");
  long pid;
  int i;

  CASE_CHECK(s, uvexec_cmd_set_foreground(cmd, s->tty) == 0, "set");
  CASE_CHECK(s, uvexec_cmd_set_cancel_signal(cmd, SIGTERM) == 0, "signal");
  CASE_CHECK(s, uvexec_start(cmd, &s->loop, on_done) == 0, "start: %s",
             uvexec_cmd_error(cmd));
  pid = uvexec_pid(cmd);
  while (!r.raw_seen && !r.done)
    uv_run(&s->loop, UV_RUN_ONCE);
  CASE_CHECK(s, r.raw_seen, "the child did not set the modes");
  CASE_CHECK(s, write(s->master, "\x1a", 1) == 1, "typing ^Z");
  for (i = 0; i < 5000 && proc_state(pid) != 'T'; i++) {
    struct timespec ms = {0, 1000000};

    uv_run(&s->loop, UV_RUN_NOWAIT);
    nanosleep(&ms, NULL);
  }
  CASE_CHECK(s, proc_state(pid) == 'T', "^Z did not stop the child (%c)",
             proc_state(pid));
  CASE_CHECK(s, uvexec_cancel(cmd) == 0, "cancel");
  while (!r.done)
    uv_run(&s->loop, UV_RUN_ONCE);
  CASE_CHECK(s, r.status == UV_ECANCELED, "status %s",
             uvexec_err_name(r.status));
  CASE_CHECK(s, uvexec_term_signal(cmd) == SIGTERM, "ended by signal %d",
             uvexec_term_signal(cmd));
  CASE_CHECK(s, tcgetpgrp(s->tty) == getpgrp(), "the terminal is not back");
  CASE_CHECK(s, echo_and_canon(s->tty) == 1, "the modes are not restored");
  uvexec_cmd_free(cmd);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  CASE_CHECK(s, uv_loop_close(&s->loop) == 0, "loop not closed");
}

START_TEST(test_stopped_then_cancelled) {
  in_session(case_stopped_then_cancelled);
}
END_TEST

/* The terminal comes back when the child's exit is seen, not only at
 * done: here done waits a second more for a process of another session
 * that holds the captured stdout. */
static void case_back_at_the_exit(session_t *s) {
  char script[600];
  run_t r;
  uvexec_cmd_t *cmd;
  long pid;

  snprintf(script, sizeof script, "setsid sleep 1 & exit 0");
  cmd = uvexec_command("sh", "-c", script, NULL);
  CASE_CHECK(s, cmd != NULL, "uvexec_command");
  memset(&r, 0, sizeof r);
  uvexec_cmd_set_data(cmd, &r);
  CASE_CHECK(s, uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE) == 0, "engine");
  CASE_CHECK(s, uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE) == 0, "capture");
  CASE_CHECK(s, uvexec_cmd_set_foreground(cmd, s->tty) == 0, "set");
  CASE_CHECK(s, uvexec_start(cmd, &s->loop, on_done) == 0, "start: %s",
             uvexec_cmd_error(cmd));
  pid = uvexec_pid(cmd);
  /* Until the exit is seen (the child is reaped: its pid is gone). */
  while (proc_state(pid) != 0 && !r.done)
    uv_run(&s->loop, UV_RUN_ONCE);
  CASE_CHECK(s, !r.done, "done came before the grandchild closed stdout");
  CASE_CHECK(s, tcgetpgrp(s->tty) == getpgrp(),
             "the terminal is still the exited child's");
  while (!r.done)
    uv_run(&s->loop, UV_RUN_ONCE);
  CASE_CHECK(s, r.status == 0, "status %s", uvexec_err_name(r.status));
  uvexec_cmd_free(cmd);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  CASE_CHECK(s, uv_loop_close(&s->loop) == 0, "loop not closed");
}

START_TEST(test_back_at_the_exit) {
  in_session(case_back_at_the_exit);
}
END_TEST

START_TEST(test_not_a_terminal) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "x", NULL);
  int p[2], err;
  char want[64];

  ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_foreground(cmd, p[0]), 0);
  err = uvexec_start(cmd, test_loop, NULL);
  ck_assert_int_eq(err, UV_ENOTTY);
  snprintf(want, sizeof want, "exec: foreground: fd %d: %s", p[0],
           uvexec_strerror(UV_ENOTTY));
  ck_assert_str_eq(uvexec_cmd_error(cmd), want);
  uvexec_cmd_free(cmd);
  close(p[0]);
  close(p[1]);
}
END_TEST

START_TEST(test_refusals) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "x", NULL);

  ck_assert_int_eq(uvexec_cmd_set_foreground(NULL, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_foreground(cmd, -1), UV_EBADF);
  ck_assert_int_eq(uvexec_cmd_set_foreground(cmd, 0), 0);
  ck_assert_int_eq(uvexec_cmd_set_new_session(cmd, 1), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(cmd), "new session"));
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("echo", "x", NULL);
  ck_assert_int_eq(uvexec_cmd_set_foreground(cmd, 0), 0);
  ck_assert_int_eq(uvexec_cmd_set_pgid(cmd, 1), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(cmd), "process group"));
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("echo", "x", NULL);
  ck_assert_int_eq(uvexec_cmd_set_foreground(cmd, 0), 0);
  ck_assert_int_eq(uvexec_cmd_set_pty(cmd, 24, 80), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(cmd), "terminal of its own"));
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("echo", "x", NULL);
  ck_assert_int_eq(uvexec_cmd_set_foreground(cmd, 0), 0);
  ck_assert_int_eq(uvexec_cmd_set_detached(cmd, 1), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("echo", "x", NULL);
  ck_assert_int_eq(uvexec_cmd_set_foreground(cmd, 0), 0);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_UV), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOTSUP);
  uvexec_cmd_free(cmd);
}
END_TEST

int main(void) {
  Suite *s = suite_create("foreground");

  ADD_TEST(s, test_refusals);
  if (have_pidfd()) {
    ADD_TEST(s, test_foreground_and_back);
    ADD_TEST(s, test_killed_in_raw_mode);
    ADD_TEST(s, test_freed_while_running);
    ADD_TEST(s, test_background_without_it);
    ADD_TEST(s, test_not_a_terminal);
    ADD_TEST(s, test_stopped_then_cancelled);
    ADD_TEST(s, test_back_at_the_exit);
  } else {
    fprintf(stderr, "foreground: no pidfds here (valgrind, or an old "
                    "kernel): the clone engine cannot start, and the "
                    "terminal cases are skipped, not passed\n");
  }
  return run_suite(s);
}
