/* SPDX-License-Identifier: MIT */
/* Process control: timeouts, uvexec_cancel, the cancel signal and the
 * wait delay (Go's CommandContext, Cancel, WaitDelay and ErrWaitDelay),
 * new sessions whose whole group is stopped, the output limit, extra fds
 * (ExtraFiles), and running as another user.
 *
 * Times are measured with uv_hrtime() and only ever bounded generously:
 * "done well under the child's natural duration", never "done in exactly
 * N ms". Where a test needs a child to be at a given point it waits for the
 * child to say so ("ready", or a pid it printed). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* ---- small tools --------------------------------------------------------- */

static uint64_t now_ms(void) {
  return uv_hrtime() / 1000000u;
}

static uvexec_cmd_t *shell(const char *script) {
  uvexec_cmd_t *cmd = uvexec_command("sh", "-c", script, NULL);
  ck_assert_ptr_nonnull(cmd);
  return cmd;
}

static void on_closed_flag(uv_handle_t *h) {
  *(int *)h->data = 1;
}

/* close_and_wait closes a handle on the test's stack and runs the loop
 * until libuv let go of it. */
static void close_and_wait(uv_handle_t *h) {
  int closed = 0;
  h->data = &closed;
  uv_close(h, on_closed_flag);
  run_loop_until(h->loop, &closed, TEST_TIMEOUT_MS);
}

/* Waiting for the exit itself (not the done callback): a check handle
 * looks after every loop iteration whether uvexec has seen it. */
typedef struct {
  uv_check_t check;
  uvexec_cmd_t *cmd;
  int exited;
} exit_watch_t;

static void on_exit_check(uv_check_t *h) {
  exit_watch_t *w = (exit_watch_t *)h;
  if (uvexec_exit_code(w->cmd) != UV_EBUSY)
    w->exited = 1;
}

static void wait_for_exit(uvexec_cmd_t *cmd) {
  exit_watch_t w;
  memset(&w, 0, sizeof w);
  w.cmd = cmd;
  if (uvexec_exit_code(cmd) != UV_EBUSY)
    return; /* seen already, perhaps in the turn that brought the output */
  ck_assert_int_eq(uv_check_init(test_loop, &w.check), 0);
  ck_assert_int_eq(uv_check_start(&w.check, on_exit_check), 0);
  run_loop_until(test_loop, &w.exited, TEST_TIMEOUT_MS);
  close_and_wait((uv_handle_t *)&w.check);
}

/* first_number reads the decimal number a child printed first. */
static pid_t first_number(const char *text) {
  long v;
  ck_assert_ptr_nonnull(text);
  v = strtol(text, NULL, 10);
  ck_assert_msg(v > 1, "expected a pid in the output, got \"%s\"", text);
  return (pid_t)v;
}

/* A grandchild the test started through a shell is not our child: it is
 * reparented when the shell exits. Tidy it away when the test no longer
 * needs it; it may be gone already. */
static void kill_leftover(pid_t pid) {
  if (pid > 1)
    (void)kill(pid, SIGKILL);
}

/* wait_group_gone waits until no process of group pgid is left, dead or
 * alive: kill(-pgid, 0) answers ESRCH. The members were reparented, so
 * they are not ours to wait for; this polls an observable fact with a
 * generous deadline (init may take a moment to reap them). */
static int wait_group_gone(pid_t pgid, uint64_t timeout_ms) {
  uint64_t deadline = now_ms() + timeout_ms;
  const struct timespec pause_ = {0, 10 * 1000 * 1000};

  for (;;) {
    if (kill(-pgid, 0) != 0 && errno == ESRCH)
      return 1;
    if (now_ms() > deadline)
      return 0;
    nanosleep(&pause_, NULL);
  }
}

/* ---- timeout ------------------------------------------------------------- */

START_TEST(test_timeout) {
  probe_t p;
  uint64_t t0, took;

  probe_init(&p, helper_cmd("sleep", "10000", NULL));
  ck_assert_int_eq(uvexec_cmd_set_timeout(p.cmd, 200), 0);
  t0 = now_ms();
  probe_start(&p);
  probe_wait(&p);
  took = now_ms() - t0;

  ck_assert_int_eq(p.done_calls, 1);
  ck_assert_int_eq(p.status, UV_ETIMEDOUT);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGKILL);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), -1);
  ck_assert_ptr_nonnull(uvexec_cmd_error(p.cmd));
  ck_assert_msg(took < 5000,
                "a 200 ms timeout took %llu ms to end a 10 s "
                "child",
                (unsigned long long)took);
  ck_assert_msg(took >= 150, "the timeout fired after %llu ms, before 200",
                (unsigned long long)took);
  probe_free(&p);
}
END_TEST

/* A timeout that was not needed neither changes the status nor keeps the
 * loop alive after the child is done. */
START_TEST(test_timeout_not_reached) {
  probe_t p;
  uint64_t t0;

  probe_init(&p, helper_cmd("echo", "quick", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_timeout(p.cmd, 30000), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "quick\n");
  ck_assert_ptr_null(uvexec_cmd_error(p.cmd));

  t0 = now_ms();
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_msg(now_ms() - t0 < 3000,
                "the loop stayed alive for the unneeded 30 s timeout");
  probe_free(&p);
}
END_TEST

/* ---- cancel -------------------------------------------------------------- */

START_TEST(test_cancel) {
  probe_t p;
  uint64_t t0;

  probe_init(&p, helper_cmd("sleep", "10000", NULL));
  probe_start(&p);
  t0 = now_ms();
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.done_calls, 1);
  ck_assert_int_eq(p.status, UV_ECANCELED);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGKILL);
  ck_assert_ptr_nonnull(uvexec_cmd_error(p.cmd));
  ck_assert_msg(now_ms() - t0 < 3000, "cancel took %llu ms",
                (unsigned long long)(now_ms() - t0));
  probe_free(&p);
}
END_TEST

START_TEST(test_cancel_twice) {
  probe_t p;

  probe_init(&p, helper_cmd("sleep", "10000", NULL));
  probe_start(&p);
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  ck_assert_int_eq(p.status, UV_ECANCELED);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 1);
  probe_free(&p);
}
END_TEST

/* Cancelling from inside the stdout callback, on every chunk of a child
 * that writes as fast as it can. */
typedef struct {
  probe_t probe;
  int cancels;
  int cancel_errors;
} cancelling_t;

static void cancel_on_data(uvexec_cmd_t *cmd, const char *data, size_t len) {
  cancelling_t *c = uvexec_cmd_data(cmd);
  probe_stdout_cb(cmd, data, len);
  if (len > 0) {
    c->cancels++;
    if (uvexec_cancel(cmd) != 0)
      c->cancel_errors++;
    if (uvexec_cancel(cmd) != 0)
      c->cancel_errors++;
  }
}

START_TEST(test_cancel_in_output_callback) {
  cancelling_t c;
  uint64_t t0;

  probe_init(&c.probe, helper_cmd("flood", "1000000000", "0", NULL));
  c.cancels = c.cancel_errors = 0;
  ck_assert_int_eq(uvexec_cmd_on_stdout(c.probe.cmd, cancel_on_data), 0);
  t0 = now_ms();
  probe_start(&c.probe);
  probe_wait(&c.probe);
  ck_assert_int_eq(c.probe.done_calls, 1);
  ck_assert_int_eq(c.probe.status, UV_ECANCELED);
  ck_assert_int_ge(c.cancels, 1);
  ck_assert_int_eq(c.cancel_errors, 0);
  ck_assert_int_eq(uvexec_term_signal(c.probe.cmd), SIGKILL);
  ck_assert_int_eq(c.probe.out_after_eof, 0);
  ck_assert_msg(now_ms() - t0 < 5000, "a cancelled 1 GB flood took %llu ms",
                (unsigned long long)(now_ms() - t0));
  probe_free(&c.probe);
}
END_TEST

START_TEST(test_cancel_before_start) {
  probe_t p;

  probe_init(&p, helper_cmd("echo", "still runs", NULL));
  ck_assert_int_eq(uvexec_cancel(p.cmd), UV_EINVAL);
  ck_assert_int_eq(uvexec_cancel(NULL), UV_EINVAL);
  /* The refused cancel left the cmd as it was: it runs normally. */
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "still runs\n");
  probe_free(&p);
}
END_TEST

/* After the done callback a cancel answers 0 and changes nothing. */
static void cancel_in_done(uvexec_cmd_t *cmd, int status) {
  probe_done_cb(cmd, status);
  ck_assert_int_eq(uvexec_cancel(cmd), 0);
}

START_TEST(test_cancel_after_done) {
  probe_t p;

  probe_init(&p, helper_cmd("die", "5", "oops", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_start(p.cmd, test_loop, cancel_in_done), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_EEXIT);

  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  ck_assert_int_eq(uvexec_kill(p.cmd, SIGKILL), UV_ESRCH);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 1);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 5);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), 0);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "exit status 5");
  assert_stderr(p.cmd, "oops\n");
  assert_stdout(p.cmd, "");
  probe_free(&p);
}
END_TEST

/* ---- cancel signal and wait delay ---------------------------------------- */

/* A child that ignores the cancel signal gets SIGKILL once the wait delay
 * has run out — not before, and not much later. */
START_TEST(test_cancel_signal_ignored_then_killed) {
  probe_t p;
  uint64_t t0, took;

  probe_init(&p, helper_cmd("ignore-term", NULL));
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(p.cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 300), 0);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");

  t0 = now_ms();
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  took = now_ms() - t0;
  ck_assert_int_eq(p.status, UV_ECANCELED);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGKILL);
  ck_assert_msg(took < 1300,
                "killed %llu ms after the cancel; the wait "
                "delay is 300 ms",
                (unsigned long long)took);
  ck_assert_msg(took >= 250,
                "SIGKILL came %llu ms after the cancel, before "
                "the 300 ms wait delay ran out",
                (unsigned long long)took);
  probe_free(&p);
}
END_TEST

/* A child that handles the cancel signal shuts down its own way; the run
 * still reports that it was cancelled. */
START_TEST(test_cancel_signal_handled) {
  probe_t p;

  probe_init(&p, helper_cmd("handle-term", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(p.cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 30000), 0);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UV_ECANCELED);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 0);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), 0);
  assert_stdout(p.cmd, "ready\ngot TERM\n");
  probe_free(&p);
}
END_TEST

START_TEST(test_cancel_signal_invalid) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(cmd, -1), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(cmd, 100000), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(NULL, SIGTERM), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(cmd, SIGINT), 0);
  uvexec_cmd_free(cmd);
}
END_TEST

/* Go's ErrWaitDelay: the child succeeded, but a grandchild kept stdout
 * open. The wait is bounded by the wait delay and what was read is kept. */
START_TEST(test_wait_delay_grandchild_holds_pipe) {
  probe_t p;
  uint64_t t0, took;
  pid_t grandchild;

  probe_init(&p, shell("sleep 5 & echo $! >&2; echo hi"));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 300), 0);
  t0 = now_ms();
  probe_start(&p);
  probe_wait(&p);
  took = now_ms() - t0;
  grandchild = first_number(uvexec_stderr_data(p.cmd, NULL));

  ck_assert_int_eq(p.status, UVEXEC_EWAITDELAY);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 0);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd),
                   "exec: WaitDelay expired before I/O complete");
  assert_stdout(p.cmd, "hi\n");
  ck_assert_msg(took < 3000, "done after %llu ms with a 300 ms wait delay",
                (unsigned long long)took);
  ck_assert_msg(took >= 250,
                "done after %llu ms: the pipes were not given "
                "the 300 ms wait delay",
                (unsigned long long)took);
  kill_leftover(grandchild);
  probe_free(&p);
}
END_TEST

/* A stream cut short by the wait delay still ends as the header
 * promises: its last partial line, then exactly one end-of-file call,
 * both before done. */
static int cut_lines;
static char cut_last[64];

static void cut_line_cb(uvexec_cmd_t *cmd, const char *data, size_t len) {
  (void)cmd;
  cut_lines++;
  snprintf(cut_last, sizeof cut_last, "%.*s", (int)len, data);
}

START_TEST(test_wait_delay_cut_stream_ends_cleanly) {
  probe_t p;
  pid_t grandchild;

  cut_lines = 0;
  cut_last[0] = '\0';
  probe_init(&p, shell("sleep 5 & echo $! >&2; printf partial"));
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(p.cmd, cut_line_cb), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 200), 0);
  probe_start(&p);
  probe_wait(&p);
  grandchild = first_number(uvexec_stderr_data(p.cmd, NULL));

  ck_assert_int_eq(p.status, UVEXEC_EWAITDELAY);
  ck_assert_int_eq(p.out_eof, 1);
  ck_assert_int_eq(p.out_eof_at_done, 1);
  ck_assert_int_eq(cut_lines, 1);
  ck_assert_str_eq(cut_last, "partial");
  kill_leftover(grandchild);
  probe_free(&p);
}
END_TEST

/* After a timeout, with no wait delay, the pipes a grandchild holds are
 * not waited on at all once the child is gone. */
START_TEST(test_timeout_no_wait_delay_grandchild) {
  probe_t p;
  uint64_t t0, took;
  pid_t grandchild;

  probe_init(&p, shell("sleep 30 & echo $!; wait"));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_timeout(p.cmd, 1000), 0);
  t0 = now_ms();
  probe_start(&p);
  probe_wait_text(&p, "\n");
  grandchild = first_number(p.out.data);
  probe_wait(&p);
  took = now_ms() - t0;

  ck_assert_int_eq(p.status, UV_ETIMEDOUT);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGKILL);
  ck_assert_msg(took < 4000,
                "done %llu ms after the start with a 1 s "
                "timeout: the held pipe was waited on",
                (unsigned long long)took);
  ck_assert_str_eq(uvexec_stdout_data(p.cmd, NULL), p.out.data);
  /* The grandchild is still there, holding the pipe: done did not wait
   * for it. */
  ck_assert_int_eq(kill(grandchild, 0), 0);
  kill_leftover(grandchild);
  probe_free(&p);
}
END_TEST

START_TEST(test_cancel_no_wait_delay_grandchild) {
  probe_t p;
  uint64_t t0;
  pid_t grandchild;
  char want[32];

  probe_init(&p, shell("sleep 30 & echo $!; wait"));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait_text(&p, "\n");
  grandchild = first_number(p.out.data);

  t0 = now_ms();
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UV_ECANCELED);
  ck_assert_msg(now_ms() - t0 < 3000, "done %llu ms after the cancel",
                (unsigned long long)(now_ms() - t0));
  snprintf(want, sizeof want, "%ld\n", (long)grandchild);
  assert_stdout(p.cmd, want);
  kill_leftover(grandchild);
  probe_free(&p);
}
END_TEST

/* A cancel after the exit, while a grandchild still holds the pipe and no
 * wait delay bounds it, stops the wait: the pipes close, output is kept. */
START_TEST(test_cancel_after_exit_pipe_held) {
  probe_t p;
  uint64_t t0;
  pid_t grandchild;
  char want[32];

  probe_init(&p, shell("sleep 30 & echo $!"));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait_text(&p, "\n");
  grandchild = first_number(p.out.data);
  wait_for_exit(p.cmd);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 0);
  ck_assert_int_eq(p.done_calls, 0); /* the pipe is still open */

  t0 = now_ms();
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_msg(now_ms() - t0 < 3000, "done %llu ms after the cancel",
                (unsigned long long)(now_ms() - t0));
  ck_assert_int_eq(p.status, UV_ECANCELED);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 0);
  snprintf(want, sizeof want, "%ld\n", (long)grandchild);
  assert_stdout(p.cmd, want);
  kill_leftover(grandchild);
  probe_free(&p);
}
END_TEST

/* The same with a long wait delay already counting down after the exit:
 * the cancel cuts it short instead of waiting it out. */
START_TEST(test_cancel_after_exit_cuts_wait_delay) {
  probe_t p;
  uint64_t t0;
  pid_t grandchild;

  probe_init(&p, shell("sleep 30 & echo $!"));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 60000), 0);
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait_text(&p, "\n");
  grandchild = first_number(p.out.data);
  wait_for_exit(p.cmd);
  ck_assert_int_eq(p.done_calls, 0);

  t0 = now_ms();
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_msg(now_ms() - t0 < 10000,
                "done %llu ms after the cancel: the 60 s wait delay was "
                "waited out",
                (unsigned long long)(now_ms() - t0));
  ck_assert_int_eq(p.status, UV_ECANCELED);
  ck_assert_int_eq(p.out_eof, 1);
  kill_leftover(grandchild);
  probe_free(&p);
}
END_TEST

/* Freeing a cmd while its wait delay runs: the child is killed and reaped
 * at once, no callback comes, and the loop does not wait out the delay. */
START_TEST(test_free_during_wait_delay_after_cancel) {
  probe_t p;
  uint64_t t0;
  int pid;

  probe_init(&p, helper_cmd("ignore-term", NULL));
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(p.cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 60000), 0);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  pid = uvexec_pid(p.cmd);
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);

  t0 = now_ms();
  probe_drop_cmd(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_msg(now_ms() - t0 < 3000,
                "the loop ran %llu ms after the free: the 60 s wait delay "
                "was waited out",
                (unsigned long long)(now_ms() - t0));
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.calls_after_free, 0);
  assert_no_zombies();
  ck_assert_int_eq(kill(pid, 0), -1);
  probe_free(&p);
}
END_TEST

START_TEST(test_free_during_wait_delay_after_exit) {
  probe_t p;
  uint64_t t0;
  pid_t grandchild;

  probe_init(&p, shell("sleep 30 & echo $!"));
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 60000), 0);
  probe_start(&p);
  probe_wait_text(&p, "\n");
  grandchild = first_number(p.out.data);
  wait_for_exit(p.cmd);

  t0 = now_ms();
  probe_drop_cmd(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_msg(now_ms() - t0 < 3000,
                "the loop ran %llu ms after the free: the 60 s wait delay "
                "was waited out",
                (unsigned long long)(now_ms() - t0));
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.calls_after_free, 0);
  kill_leftover(grandchild);
  probe_free(&p);
}
END_TEST

/* ---- new session --------------------------------------------------------- */

/* The timeout stops the whole group: the shell and both sleeps. */
START_TEST(test_new_session_timeout_kills_group) {
  probe_t p;
  pid_t pgid;
  char want[32];

  probe_init(&p, shell("sleep 30 & sleep 30 & echo $$; wait"));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_new_session(p.cmd, 1), 0);
  ck_assert_int_eq(uvexec_cmd_set_timeout(p.cmd, 1000), 0);
  probe_start(&p);
  probe_wait_text(&p, "\n");

  /* setsid made the child the leader of its own session and group. */
  pgid = uvexec_pid(p.cmd);
  ck_assert_int_gt(pgid, 0);
  ck_assert_int_eq(first_number(p.out.data), pgid);
  ck_assert_int_eq(getpgid(pgid), pgid);
  ck_assert_int_eq(getsid(pgid), pgid);
  ck_assert_int_ne(getpgid(pgid), getpgrp());

  probe_wait(&p);
  ck_assert_int_eq(p.status, UV_ETIMEDOUT);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGKILL);
  snprintf(want, sizeof want, "%ld\n", (long)pgid);
  assert_stdout(p.cmd, want);
  ck_assert_msg(wait_group_gone(pgid, 30000),
                "processes of group %ld are still there after the timeout",
                (long)pgid);
  probe_free(&p);
}
END_TEST

/* uvexec_kill reaches the grandchild through the group: only then can
 * the pipe it holds reach end of file and done fire (there is no wait
 * delay and no cancel here to cut the wait short). */
START_TEST(test_new_session_kill_signals_group) {
  probe_t p;
  pid_t pgid;

  probe_init(&p, shell("sleep 30 & echo $!; wait"));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_new_session(p.cmd, 1), 0);
  probe_start(&p);
  probe_wait_text(&p, "\n");
  pgid = uvexec_pid(p.cmd);
  ck_assert_int_eq(getpgid(first_number(p.out.data)), pgid);

  ck_assert_int_eq(uvexec_kill(p.cmd, SIGTERM), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_ESIGNALED);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGTERM);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "signal: terminated");
  ck_assert_int_eq(p.out_eof, 1);
  ck_assert_msg(wait_group_gone(pgid, 30000),
                "processes of group %ld are still there after the kill",
                (long)pgid);
  probe_free(&p);
}
END_TEST

/* set_pgid(0) makes the child lead a group of its own, in the parent's
 * session, and uvexec_kill then reaches its grandchild too. The uv engine
 * cannot set a group: there the start says so. Under valgrind, which has
 * no pidfd_open, the clone engine the group needs answers UV_ENOSYS. */
START_TEST(test_pgid_new_group_kill_signals_group) {
  probe_t p;
  pid_t pgid;
  int err;

  probe_init(&p, shell("sleep 30 & echo $!; wait"));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_pgid(p.cmd, -1), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_pgid(p.cmd, 0), 0);
  err = uvexec_start(p.cmd, test_loop, probe_done_cb);
  if (on_uv_engine()) {
    ck_assert_int_eq(err, UV_ENOTSUP);
    probe_free(&p);
    return;
  }
  if (under_valgrind()) {
    ck_assert_int_eq(err, UV_ENOSYS);
    probe_free(&p);
    return;
  }
  ck_assert_int_eq(err, 0);
  probe_wait_text(&p, "\n");
  pgid = uvexec_pid(p.cmd);
  ck_assert_int_eq(getpgid(pgid), pgid);
  ck_assert_int_eq(getsid(pgid), getsid(0));
  ck_assert_int_eq(getpgid(first_number(p.out.data)), pgid);

  ck_assert_int_eq(uvexec_kill(p.cmd, SIGTERM), 0);
  probe_wait(&p);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGTERM);
  ck_assert_msg(wait_group_gone(pgid, 30000),
                "processes of group %ld are still there after the kill",
                (long)pgid);
  probe_free(&p);
}
END_TEST

/* ---- output limit -------------------------------------------------------- */

#define MIB (1024u * 1024u)

START_TEST(test_output_limit) {
  probe_t p;
  const char *data;
  size_t len = 0, i;
  uint64_t t0;

  probe_init(&p, uvexec_command("yes", NULL));
  ck_assert_ptr_nonnull(p.cmd);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_output_limit(p.cmd, MIB), 0);
  t0 = now_ms();
  probe_start(&p);
  probe_wait(&p);
  ck_assert_msg(now_ms() - t0 < 5000,
                "an endless producer was stopped "
                "only after %llu ms",
                (unsigned long long)(now_ms() - t0));
  ck_assert_int_eq(p.status, UV_ENOBUFS);
  ck_assert_ptr_nonnull(uvexec_cmd_error(p.cmd));
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGKILL);
  data = uvexec_stdout_data(p.cmd, &len);
  ck_assert_ptr_nonnull(data);
  ck_assert_msg(len <= MIB, "kept %zu bytes past a limit of %u", len, MIB);
  ck_assert_msg(len == MIB, "kept %zu bytes of a 1 MiB limit", len);
  for (i = 0; i < len; i++)
    ck_assert_msg(data[i] == (i % 2 == 0 ? 'y' : '\n'),
                  "byte %zu of the output is wrong", i);
  ck_assert_int_eq(data[len], '\0');
  probe_free(&p);
}
END_TEST

/* Output of exactly the limit is not past it. */
START_TEST(test_output_limit_exactly_reached) {
  uvexec_cmd_t *cmd = helper_cmd("flood", "10000", "0", NULL);
  size_t len = 0;

  ck_assert_int_eq(uvexec_cmd_set_output_limit(cmd, 10000), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_ptr_nonnull(uvexec_stdout_data(cmd, &len));
  ck_assert_uint_eq(len, 10000);
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_output_limit_on_stderr) {
  uvexec_cmd_t *cmd = helper_cmd("flood", "0", "5000000", NULL);
  size_t len = 0;
  const char *data;

  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_output_limit(cmd, MIB), 0);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOBUFS);
  data = uvexec_stderr_data(cmd, &len);
  ck_assert_ptr_nonnull(data);
  ck_assert_uint_eq(len, MIB);
  ck_assert_int_eq(data[0], 'e');
  ck_assert_int_eq(data[len - 1], 'e');
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- extra fds ----------------------------------------------------------- */

static void read_all(int fd, tbuf_t *b) {
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    ck_assert_int_gt(n, 0);
    tbuf_append(b, buf, (size_t)n);
  }
}

START_TEST(test_extra_fds) {
  int three[2], four[2];
  tbuf_t a = {0}, b = {0};
  uvexec_cmd_t *cmd;

  ck_assert_int_eq(pipe2(three, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(four, O_CLOEXEC), 0);
  cmd = shell("echo three >&3; echo four >&4");
  ck_assert_int_eq(uvexec_cmd_add_fd(cmd, three[1]), 0);
  ck_assert_int_eq(uvexec_cmd_add_fd(cmd, four[1]), 0);
  ck_assert_int_eq(uvexec_cmd_add_fd(cmd, -1), UV_EBADF);
  ck_assert_int_eq(uvexec_run(cmd), 0);

  /* The caller still owns all four ends. */
  ck_assert_int_ne(fcntl(three[0], F_GETFD), -1);
  ck_assert_int_ne(fcntl(three[1], F_GETFD), -1);
  ck_assert_int_ne(fcntl(four[0], F_GETFD), -1);
  ck_assert_int_ne(fcntl(four[1], F_GETFD), -1);
  /* ... with their flags as they were. */
  ck_assert_int_eq(fcntl(three[1], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

  close(three[1]);
  close(four[1]);
  read_all(three[0], &a);
  read_all(four[0], &b);
  ck_assert_str_eq(a.data, "three\n");
  ck_assert_str_eq(b.data, "four\n");
  close(three[0]);
  close(four[0]);
  tbuf_free(&a);
  tbuf_free(&b);
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- identity ------------------------------------------------------------ */

START_TEST(test_set_uid_gid) {
  uvexec_cmd_t *cmd;

  if (geteuid() == 0) {
    cmd = uvexec_command("id", "-u", NULL);
    ck_assert_int_eq(uvexec_cmd_set_uid(cmd, 65534), 0);
    ck_assert_int_eq(uvexec_output(cmd), 0);
    assert_stdout(cmd, "65534\n");
    uvexec_cmd_free(cmd);

    cmd = uvexec_command("id", "-g", NULL);
    ck_assert_int_eq(uvexec_cmd_set_gid(cmd, 65534), 0);
    ck_assert_int_eq(uvexec_output(cmd), 0);
    assert_stdout(cmd, "65534\n");
    uvexec_cmd_free(cmd);
  } else {
    /* Not allowed to be root: the start fails, nothing is left. */
    cmd = uvexec_command("id", "-u", NULL);
    ck_assert_int_eq(uvexec_cmd_set_uid(cmd, 0), 0);
    ck_assert_int_eq(uvexec_output(cmd), UV_EPERM);
    ck_assert_ptr_nonnull(uvexec_cmd_error(cmd));
    uvexec_cmd_free(cmd);
  }
}
END_TEST

/* An unprivileged process asking for root gets UV_EPERM from the start.
 * The test drops its privileges in a forked child (never in the test
 * process itself) and reports through the child's exit status. */
START_TEST(test_set_uid_not_permitted) {
  pid_t pid;
  int st;

  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    uvexec_cmd_t *cmd;
    int rc, code = 0;

    if (geteuid() == 0) {
      if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
        _exit(10);
    }
    if (geteuid() == 0)
      _exit(11);
    cmd = uvexec_command("id", "-u", NULL);
    if (cmd == NULL)
      _exit(12);
    if (uvexec_cmd_set_uid(cmd, 0) != 0)
      _exit(13);
    rc = uvexec_run(cmd);
    if (rc != UV_EPERM) {
      fprintf(stderr, "uvexec_run as uid %ld with set_uid(0) gave %s\n",
              (long)geteuid(), uvexec_err_name(rc));
      code = 20;
    } else if (uvexec_pid(cmd) != UV_ESRCH) {
      code = 21;
    }
    uvexec_cmd_free(cmd);
    _exit(code);
  }
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st), "the unprivileged child died of signal %d",
                WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  ck_assert_msg(WEXITSTATUS(st) == 0,
                "the unprivileged child reported failure %d (10-13: setup; "
                "20: uvexec_run did not give UV_EPERM; 21: a pid was set)",
                WEXITSTATUS(st));
}
END_TEST

int main(void) {
  Suite *s = suite_create("control");
  ADD_TEST(s, test_timeout);
  ADD_TEST(s, test_timeout_not_reached);
  ADD_TEST(s, test_cancel);
  ADD_TEST(s, test_cancel_twice);
  ADD_TEST(s, test_cancel_in_output_callback);
  ADD_TEST(s, test_cancel_before_start);
  ADD_TEST(s, test_cancel_after_done);
  ADD_TEST(s, test_cancel_signal_ignored_then_killed);
  ADD_TEST(s, test_cancel_signal_handled);
  ADD_TEST(s, test_cancel_signal_invalid);
  ADD_TEST(s, test_wait_delay_grandchild_holds_pipe);
  ADD_TEST(s, test_wait_delay_cut_stream_ends_cleanly);
  ADD_TEST(s, test_timeout_no_wait_delay_grandchild);
  ADD_TEST(s, test_cancel_no_wait_delay_grandchild);
  ADD_TEST(s, test_cancel_after_exit_pipe_held);
  ADD_TEST(s, test_cancel_after_exit_cuts_wait_delay);
  ADD_TEST(s, test_free_during_wait_delay_after_cancel);
  ADD_TEST(s, test_free_during_wait_delay_after_exit);
  ADD_TEST(s, test_new_session_timeout_kills_group);
  ADD_TEST(s, test_new_session_kill_signals_group);
  ADD_TEST(s, test_pgid_new_group_kill_signals_group);
  ADD_TEST(s, test_output_limit);
  ADD_TEST(s, test_output_limit_exactly_reached);
  ADD_TEST(s, test_output_limit_on_stderr);
  ADD_TEST(s, test_extra_fds);
  ADD_TEST(s, test_set_uid_gid);
  ADD_TEST(s, test_set_uid_not_permitted);
  return run_suite(s);
}
