/* SPDX-License-Identifier: MIT */
/* The synchronous facade (Go's Run, Output and CombinedOutput): statuses
 * and messages, what gets captured, configurations it refuses, start
 * failures, many runs on many threads at once, long series of runs that
 * must not leak, and the promise that a private loop is all it uses. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* ---- Run: statuses and messages ------------------------------------------ */

START_TEST(test_run_success) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_int_eq(uvexec_exit_code(cmd), 0);
  ck_assert_int_eq(uvexec_term_signal(cmd), 0);
  ck_assert_ptr_null(uvexec_cmd_error(cmd));
  ck_assert_int_gt(uvexec_pid(cmd), 0);
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_run_exit_code) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "3", NULL);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 3);
  ck_assert_int_eq(uvexec_term_signal(cmd), 0);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "exit status 3");
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("exit", "1", NULL);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 1);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "exit status 1");
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_run_signal) {
  uvexec_cmd_t *cmd = helper_cmd("kill-self", "9", NULL);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_ESIGNALED);
  ck_assert_int_eq(uvexec_term_signal(cmd), SIGKILL);
  ck_assert_int_eq(uvexec_exit_code(cmd), -1);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "signal: killed");
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("kill-self", "15", NULL);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_ESIGNALED);
  ck_assert_int_eq(uvexec_term_signal(cmd), SIGTERM);
  ck_assert_int_eq(uvexec_exit_code(cmd), -1);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "signal: terminated");
  uvexec_cmd_free(cmd);
}
END_TEST

/* A cmd runs once: a second Run (or Output) is refused and the results of
 * the first stay as they were. */
START_TEST(test_run_twice_refused) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "once", NULL);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  assert_stdout(cmd, "once\n");
  ck_assert_int_eq(uvexec_run(cmd), UV_EALREADY);
  ck_assert_int_eq(uvexec_output(cmd), UV_EALREADY);
  ck_assert_int_eq(uvexec_combined_output(cmd), UV_EALREADY);
  assert_stdout(cmd, "once\n");
  ck_assert_int_eq(uvexec_exit_code(cmd), 0);
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- Output -------------------------------------------------------------- */

START_TEST(test_output_captures_stdout) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "hello", "world", NULL);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  assert_stdout(cmd, "hello world\n");
  /* stderr was left unset, so it was captured too: empty here. */
  assert_stderr(cmd, "");
  ck_assert_ptr_null(uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);
}
END_TEST

/* As Go keeps the child's stderr in ExitError.Stderr: after a failing
 * Output the caller can read why. */
START_TEST(test_output_keeps_stderr_of_failure) {
  uvexec_cmd_t *cmd = helper_cmd("die", "1", "something went wrong", NULL);
  ck_assert_int_eq(uvexec_output(cmd), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 1);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "exit status 1");
  assert_stderr(cmd, "something went wrong\n");
  assert_stdout(cmd, "");
  uvexec_cmd_free(cmd);
}
END_TEST

/* A caller who already chose where stderr goes keeps that choice: Output
 * does not take stderr over. */
START_TEST(test_output_leaves_chosen_stderr) {
  int p[2];
  char buf[64];
  ssize_t n;
  uvexec_cmd_t *cmd = helper_cmd("die", "4", "to the caller", NULL);

  ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
  ck_assert_int_eq(uvexec_cmd_stderr_fd(cmd, p[1]), 0);
  ck_assert_int_eq(uvexec_output(cmd), UVEXEC_EEXIT);
  ck_assert_ptr_null(uvexec_stderr_data(cmd, NULL));
  assert_stdout(cmd, "");
  close(p[1]);
  n = read(p[0], buf, sizeof buf - 1);
  ck_assert_int_eq(n, 14);
  buf[n] = '\0';
  ck_assert_str_eq(buf, "to the caller\n");
  close(p[0]);
  uvexec_cmd_free(cmd);
}
END_TEST

/* Output needs stdout: one already sent elsewhere is a caller mistake,
 * refused before anything starts (Go: "exec: Stdout already set"). */
START_TEST(test_output_stdout_already_set) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "nope", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_INHERIT), 0);
  ck_assert_int_eq(uvexec_output(cmd), UV_EINVAL);
  ck_assert_int_eq(uvexec_pid(cmd), UV_ESRCH);
  ck_assert_ptr_null(uvexec_stdout_data(cmd, NULL));
  assert_no_zombies();
  uvexec_cmd_free(cmd);
}
END_TEST

/* Asking for the capture by hand first is not a conflict. */
START_TEST(test_output_stdout_already_captured) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "fine", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  assert_stdout(cmd, "fine\n");
  uvexec_cmd_free(cmd);
}
END_TEST

/* A line callback on stdout is no destination of its own: Output
 * captures the stream and the callback still sees every line. */
static int output_lines;

static void count_line(uvexec_cmd_t *cmd, const char *data, size_t len) {
  (void)cmd;
  (void)data;
  (void)len;
  output_lines++;
}

START_TEST(test_output_with_line_callback) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "one", NULL);

  output_lines = 0;
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(cmd, count_line), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  assert_stdout(cmd, "one\n");
  ck_assert_int_eq(output_lines, 1);
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- CombinedOutput ------------------------------------------------------ */

START_TEST(test_combined_output_keeps_order) {
  tbuf_t want = {0};
  char line[64];
  size_t len = 0;
  const char *data;
  uvexec_cmd_t *cmd = helper_cmd("interleave", "200", NULL);
  int i;

  for (i = 0; i < 200; i++) {
    int n = snprintf(line, sizeof line, "out %d\nerr %d\n", i, i);
    tbuf_append(&want, line, (size_t)n);
  }
  ck_assert_int_eq(uvexec_combined_output(cmd), 0);
  data = uvexec_stdout_data(cmd, &len);
  ck_assert_ptr_nonnull(data);
  ck_assert_msg(len == want.len && memcmp(data, want.data, len) == 0,
                "combined output is out of order or incomplete (%zu bytes, "
                "expected %zu): \"%.200s\"",
                len, want.len, data);
  tbuf_free(&want);
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_combined_output_with_failure) {
  uvexec_cmd_t *cmd = helper_cmd("die", "2", "bad input", NULL);
  ck_assert_int_eq(uvexec_combined_output(cmd), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 2);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "exit status 2");
  assert_stdout(cmd, "bad input\n");
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_combined_output_stream_already_set) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "nope", NULL);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_combined_output(cmd), UV_EINVAL);
  ck_assert_int_eq(uvexec_pid(cmd), UV_ESRCH);
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("echo", "nope", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_INHERIT), 0);
  ck_assert_int_eq(uvexec_combined_output(cmd), UV_EINVAL);
  ck_assert_int_eq(uvexec_pid(cmd), UV_ESRCH);
  uvexec_cmd_free(cmd);
  assert_no_zombies();
}
END_TEST

/* ---- start failures ------------------------------------------------------ */

START_TEST(test_run_not_found) {
  int fds_before = count_open_fds();
  uvexec_cmd_t *cmd = uvexec_command("uvexec-no-such-program", "x", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOENT);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "exec: \"uvexec-no-such-program\": executable file not "
                   "found in $PATH");
  ck_assert_int_eq(uvexec_pid(cmd), UV_ESRCH);
  ck_assert_int_eq(uvexec_exit_code(cmd), UV_EBUSY);
  uvexec_cmd_free(cmd);

  /* Output and CombinedOutput create pipes first: none may be left. */
  cmd = uvexec_command("uvexec-no-such-program", NULL);
  ck_assert_int_eq(uvexec_output(cmd), UV_ENOENT);
  ck_assert_ptr_nonnull(
      strstr(uvexec_cmd_error(cmd), "\"uvexec-no-such-program\""));
  ck_assert_ptr_null(uvexec_stdout_data(cmd, NULL));
  uvexec_cmd_free(cmd);

  cmd = uvexec_command("uvexec-no-such-program", NULL);
  ck_assert_int_eq(uvexec_combined_output(cmd), UV_ENOENT);
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(count_open_fds(), fds_before);
}
END_TEST

START_TEST(test_run_missing_dir) {
  uvexec_cmd_t *cmd = helper_cmd("pwd", NULL);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, "/nonexistent-uvexec-dir"), 0);
  ck_assert_int_eq(uvexec_output(cmd), UV_ENOENT);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "chdir /nonexistent-uvexec-dir: no such file or directory");
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- many runs ----------------------------------------------------------- */

#define THREADS 8
#define RUNS_PER_THREAD 25

typedef struct {
  const char *helper;
  int index;
  int ok;          /* runs that gave exactly their own output */
  char error[256]; /* the first thing that went wrong */
} worker_t;

/* A worker must not call Check's assertions (they are not made for other
 * threads): it records the first failure for the main thread to report. */
static void *worker_main(void *arg) {
  worker_t *w = arg;
  int i;

  for (i = 0; i < RUNS_PER_THREAD; i++) {
    char tag[64], want[80];
    const char *argv[4];
    const char *data;
    size_t len = 0;
    uvexec_cmd_t *cmd;
    int rc;

    snprintf(tag, sizeof tag, "thread-%d-run-%d", w->index, i);
    snprintf(want, sizeof want, "%s\n", tag);
    argv[0] = w->helper;
    argv[1] = "echo";
    argv[2] = tag;
    argv[3] = NULL;
    cmd = uvexec_command_argv(argv);
    if (cmd == NULL) {
      snprintf(w->error, sizeof w->error, "%s: uvexec_command_argv gave NULL",
               tag);
      return NULL;
    }
    rc = uvexec_output(cmd);
    data = uvexec_stdout_data(cmd, &len);
    if (rc != 0) {
      snprintf(w->error, sizeof w->error, "%s: uvexec_output gave %s (%s)", tag,
               uvexec_err_name(rc),
               uvexec_cmd_error(cmd) ? uvexec_cmd_error(cmd) : "-");
    } else if (data == NULL || len != strlen(want) ||
               memcmp(data, want, len) != 0) {
      snprintf(w->error, sizeof w->error, "%s: got \"%.*s\"", tag,
               (int)(data != NULL && len < 100 ? len : 0),
               data != NULL ? data : "");
    } else {
      w->ok++;
    }
    uvexec_cmd_free(cmd);
    if (w->error[0] != '\0')
      return NULL;
  }
  return NULL;
}

START_TEST(test_run_from_many_threads) {
  pthread_t threads[THREADS];
  worker_t workers[THREADS];
  uint64_t start = uv_hrtime();
  int fds_before = count_open_fds();
  int i;

  for (i = 0; i < THREADS; i++) {
    memset(&workers[i], 0, sizeof workers[i]);
    workers[i].helper = helper_path();
    workers[i].index = i;
  }
  for (i = 0; i < THREADS; i++)
    ck_assert_int_eq(
        pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
  for (i = 0; i < THREADS; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);

  for (i = 0; i < THREADS; i++) {
    ck_assert_msg(workers[i].error[0] == '\0', "thread %d: %s", i,
                  workers[i].error);
    ck_assert_int_eq(workers[i].ok, RUNS_PER_THREAD);
  }
  ck_assert_msg((uv_hrtime() - start) / 1000000u < TEST_TIMEOUT_MS,
                "200 runs took more than a minute");
  assert_no_zombies();
  ck_assert_int_eq(count_open_fds(), fds_before);
}
END_TEST

START_TEST(test_sequential_runs_leak_nothing) {
  int before = count_open_fds();
  int i;

  for (i = 0; i < 300; i++) {
    char tag[32], want[40];
    uvexec_cmd_t *cmd;
    int rc;

    snprintf(tag, sizeof tag, "run-%d", i);
    snprintf(want, sizeof want, "%s\n", tag);
    cmd = helper_cmd("echo", tag, NULL);
    /* Alternate the three facades; all must clean up after themselves. */
    if (i % 3 == 0)
      rc = uvexec_output(cmd);
    else if (i % 3 == 1)
      rc = uvexec_combined_output(cmd);
    else
      rc = uvexec_run(cmd);
    ck_assert_msg(rc == 0, "run %d gave %s", i, uvexec_err_name(rc));
    if (i % 3 != 2)
      assert_stdout(cmd, want);
    uvexec_cmd_free(cmd);
    ck_assert_msg(count_open_fds() == before,
                  "after run %d: %d fds open, %d before the first", i,
                  count_open_fds(), before);
  }
  assert_no_zombies();
}
END_TEST

/* ---- the caller's loops are not touched ---------------------------------- */

static void on_closed_flag(uv_handle_t *h) {
  *(int *)h->data = 1;
}

/* close_and_wait closes a handle that lives on the test's stack and runs
 * the loop until libuv is done with it, before the stack frame goes. */
static void close_and_wait(uv_handle_t *h) {
  int closed = 0;
  h->data = &closed;
  uv_close(h, on_closed_flag);
  run_loop_until(h->loop, &closed, TEST_TIMEOUT_MS);
}

static void count_handle(uv_handle_t *h, void *arg) {
  (void)h;
  (*(int *)arg)++;
}

static void on_never(uv_timer_t *t) {
  *(int *)t->data = 1;
}

START_TEST(test_run_leaves_other_loops_alone) {
  uv_loop_t *def = uv_default_loop();
  uv_timer_t timer;
  int fired = 0, handles = 0;
  uint64_t now_before;
  uvexec_cmd_t *cmd;

  ck_assert_ptr_nonnull(def);
  /* The caller's own loop has work pending: a timer far in the future. */
  ck_assert_int_eq(uv_timer_init(test_loop, &timer), 0);
  timer.data = &fired;
  ck_assert_int_eq(uv_timer_start(&timer, on_never, 3600 * 1000, 0), 0);
  now_before = uv_now(test_loop);

  cmd = helper_cmd("echo", "private", NULL);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  assert_stdout(cmd, "private\n");
  uvexec_cmd_free(cmd);
  cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  uvexec_cmd_free(cmd);

  /* Nothing of the runs lives on libuv's default loop ... */
  ck_assert_int_eq(uv_loop_alive(def), 0);
  uv_walk(def, count_handle, &handles);
  ck_assert_int_eq(handles, 0);
  /* ... and the caller's loop was not run: its clock did not move, its
   * timer is still pending, nothing was added to it. */
  ck_assert_int_eq(fired, 0);
  ck_assert(uv_is_active((uv_handle_t *)&timer));
  ck_assert(uv_now(test_loop) == now_before);
  handles = 0;
  uv_walk(test_loop, count_handle, &handles);
  ck_assert_int_eq(handles, 2); /* the fixture's safety timer and ours */

  close_and_wait((uv_handle_t *)&timer);
  ck_assert_int_eq(uv_loop_close(def), 0);
}
END_TEST

/* A program whose loop is running may call Run from one of its
 * callbacks: the run uses its own loop, and the outer one goes on. */
typedef struct {
  int runs;
  int third; /* set on the third run */
  int status;
  int ok_output;
} nested_t;

static void on_nested_run(uv_timer_t *t) {
  nested_t *n = t->data;
  uvexec_cmd_t *cmd = helper_cmd("echo", "nested", NULL);
  size_t len = 0;
  const char *data;

  n->status = uvexec_output(cmd);
  data = uvexec_stdout_data(cmd, &len);
  n->ok_output = data != NULL && len == 7 && memcmp(data, "nested\n", 7) == 0;
  uvexec_cmd_free(cmd);
  if (++n->runs == 3) {
    n->third = 1;
    uv_timer_stop(t);
  }
}

START_TEST(test_run_inside_a_callback) {
  uv_timer_t timer;
  nested_t n = {0, 0, -1, 0};

  ck_assert_int_eq(uv_timer_init(test_loop, &timer), 0);
  timer.data = &n;
  ck_assert_int_eq(uv_timer_start(&timer, on_nested_run, 0, 1), 0);
  run_loop_until(test_loop, &n.runs, TEST_TIMEOUT_MS);
  ck_assert_int_eq(n.status, 0);
  ck_assert_int_eq(n.ok_output, 1);
  /* The timer goes on firing: the outer loop kept working. */
  run_loop_until(test_loop, &n.third, TEST_TIMEOUT_MS);
  ck_assert_int_eq(n.runs, 3);
  ck_assert_int_eq(n.status, 0);
  ck_assert_int_eq(n.ok_output, 1);
  close_and_wait((uv_handle_t *)&timer);
}
END_TEST

/* ---- closed standard fds ---------------------------------------------- */

/* A program may run with fd 0, 1 or 2 closed (a daemon, a test harness):
 * the facade must neither abort (libuv 1.44 asserts when it closes one of
 * its own fds below 3) nor hand the child one of its loop's fds, and the
 * holes are there again afterwards. */
static void run_with_closed(const int *closed, int n) {
  int saved[3] = {-1, -1, -1}, i, fds;
  uvexec_pipeline_t *p;
  const char *out;
  uvexec_cmd_t *cmd;
  size_t len;

  for (i = 0; i < n; i++) {
    saved[i] = fcntl(closed[i], F_DUPFD_CLOEXEC, 100);
    ck_assert_int_ge(saved[i], 0);
    close(closed[i]);
  }
  fds = count_open_fds();

  cmd = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_set_stdin(cmd, "through\n", 8), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  out = uvexec_stdout_data(cmd, &len);
  ck_assert_str_eq(out, "through\n");
  uvexec_cmd_free(cmd);

  /* The child's stdin is what it was given (/dev/null by default),
   * never one of the loop's fds. */
  cmd = helper_cmd("fd-link", "1", "0", NULL);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  out = uvexec_stdout_data(cmd, &len);
  ck_assert_str_eq(out, "/dev/null\n");
  uvexec_cmd_free(cmd);

  /* A pipeline's facade runs on the same kind of private loop. */
  cmd = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_set_stdin(cmd, "piped\n", 6), 0);
  p = uvexec_pipeline(cmd, helper_cmd("cat", NULL), (uvexec_cmd_t *)NULL);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(uvexec_pipeline_output(p), 0);
  out = uvexec_stdout_data(uvexec_pipeline_cmd(p, 1), &len);
  ck_assert_str_eq(out, "piped\n");
  uvexec_pipeline_free(p);

  for (i = 0; i < n; i++) {
    ck_assert_int_eq(fcntl(closed[i], F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);
  }
  ck_assert_int_eq(count_open_fds(), fds);
  for (i = 0; i < n; i++) {
    ck_assert_int_eq(dup2(saved[i], closed[i]), closed[i]);
    close(saved[i]);
  }
}

START_TEST(test_run_with_stdin_closed) {
  static const int closed[] = {0};
  run_with_closed(closed, 1);
}
END_TEST

START_TEST(test_run_with_all_std_fds_closed) {
  static const int closed[] = {0, 1, 2};
  run_with_closed(closed, 3);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sync");
  ADD_TEST(s, test_run_success);
  ADD_TEST(s, test_run_exit_code);
  ADD_TEST(s, test_run_signal);
  ADD_TEST(s, test_run_twice_refused);
  ADD_TEST(s, test_output_captures_stdout);
  ADD_TEST(s, test_output_keeps_stderr_of_failure);
  ADD_TEST(s, test_output_leaves_chosen_stderr);
  ADD_TEST(s, test_output_stdout_already_set);
  ADD_TEST(s, test_output_stdout_already_captured);
  ADD_TEST(s, test_output_with_line_callback);
  ADD_TEST(s, test_combined_output_keeps_order);
  ADD_TEST(s, test_combined_output_with_failure);
  ADD_TEST(s, test_combined_output_stream_already_set);
  ADD_TEST(s, test_run_not_found);
  ADD_TEST(s, test_run_missing_dir);
  ADD_TEST(s, test_run_from_many_threads);
  ADD_TEST(s, test_sequential_runs_leak_nothing);
  ADD_TEST(s, test_run_leaves_other_loops_alone);
  ADD_TEST(s, test_run_inside_a_callback);
  ADD_TEST(s, test_run_with_stdin_closed);
  ADD_TEST(s, test_run_with_all_std_fds_closed);
  return run_suite(s);
}
