/* SPDX-License-Identifier: MIT */
/* The cmd object: constructors, state guards on every entry point, the
 * caller's data pointer, and uvexec_cmd_free() in every state of a run. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

/* ---- constructors -------------------------------------------------------- */

START_TEST(test_command_rejects_bad_input) {
  const char *const no_args[] = {NULL};
  const char *const empty_name[] = {"", "x", NULL};

  ck_assert_ptr_null(uvexec_command(NULL, NULL));
  ck_assert_ptr_null(uvexec_command(NULL, "x", NULL));
  ck_assert_ptr_null(uvexec_command("", NULL));
  ck_assert_ptr_null(uvexec_command("", "x", NULL));
  ck_assert_ptr_null(uvexec_command_argv(NULL));
  ck_assert_ptr_null(uvexec_command_argv(no_args));
  ck_assert_ptr_null(uvexec_command_argv(empty_name));
}
END_TEST

START_TEST(test_command_varargs) {
  uvexec_cmd_t *cmd =
      uvexec_command(helper_path(), "echo", "one", "two words", "", NULL);
  probe_t p;
  ck_assert_ptr_nonnull(cmd);
  probe_init(&p, cmd);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(cmd, "one two words \n");
  probe_free(&p);
}
END_TEST

/* The argv strings (and the array) are copied: changing them after the
 * constructor returns changes nothing the child sees. */
START_TEST(test_command_argv_is_copied) {
  char path[4096], sub[16], a1[16], a2[16];
  const char *argv[5];
  uvexec_cmd_t *cmd;
  probe_t p;

  snprintf(path, sizeof path, "%s", helper_path());
  strcpy(sub, "echo");
  strcpy(a1, "alpha");
  strcpy(a2, "beta");
  argv[0] = path;
  argv[1] = sub;
  argv[2] = a1;
  argv[3] = a2;
  argv[4] = NULL;
  cmd = uvexec_command_argv(argv);
  ck_assert_ptr_nonnull(cmd);

  memset(path, 'X', sizeof path - 1);
  path[sizeof path - 1] = '\0';
  strcpy(sub, "exit");
  strcpy(a1, "7");
  strcpy(a2, "?");
  argv[2] = "gamma";
  argv[3] = NULL;

  probe_init(&p, cmd);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(cmd, "alpha beta\n");
  probe_free(&p);
}
END_TEST

/* ---- misuse answers an error, never a crash ------------------------------ */

static void dummy_data_cb(uvexec_cmd_t *cmd, const char *data, size_t len) {
  (void)cmd;
  (void)data;
  (void)len;
}

static void dummy_drain_cb(uvexec_cmd_t *cmd, int status) {
  (void)cmd;
  (void)status;
}

START_TEST(test_null_cmd_is_einval) {
  ck_assert_int_eq(uvexec_cmd_set_dir(NULL, "/"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_setenv(NULL, "A", "B"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_unsetenv(NULL, "A"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_clearenv(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stdout(NULL, UVEXEC_CAPTURE), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stderr(NULL, UVEXEC_CAPTURE), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stdin_fd(NULL, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stdout_fd(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stderr_fd(NULL, 2), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_on_stdout(NULL, dummy_data_cb), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_on_stderr(NULL, dummy_data_cb), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(NULL, dummy_data_cb),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_on_stderr_line(NULL, dummy_data_cb),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_stdin(NULL, "x", 1), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_write(NULL, "x", 1), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_on_stdin_drain(NULL, dummy_drain_cb),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_close_stdin(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_add_fd(NULL, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_new_session(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_uid(NULL, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_gid(NULL, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_timeout(NULL, 10), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(NULL, SIGTERM), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(NULL, 10), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_output_limit(NULL, 10), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_engine(NULL, UVEXEC_ENGINE_AUTO),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_start(NULL, test_loop, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_run(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_output(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_combined_output(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_cancel(NULL), UV_EINVAL);

  /* Getters and the destructor take NULL without crashing. */
  ck_assert_int_lt(uvexec_kill(NULL, SIGTERM), 0);
  ck_assert_int_lt(uvexec_pid(NULL), 0);
  ck_assert_int_lt(uvexec_exit_code(NULL), 0);
  ck_assert_int_lt(uvexec_term_signal(NULL), 0);
  ck_assert_ptr_null(uvexec_cmd_error(NULL));
  ck_assert_ptr_null(uvexec_cmd_data(NULL));
  ck_assert_uint_eq(uvexec_stdin_pending(NULL), 0);
  {
    size_t len = 99;
    ck_assert_ptr_null(uvexec_stdout_data(NULL, &len));
    ck_assert_uint_eq(len, 0);
    len = 99;
    ck_assert_ptr_null(uvexec_stderr_data(NULL, &len));
    ck_assert_uint_eq(len, 0);
  }
  {
    int ignored = 0;
    uvexec_cmd_set_data(NULL, &ignored);
  }
  uvexec_cmd_free(NULL);
}
END_TEST

START_TEST(test_bad_arguments) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "x", NULL);

  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_MERGE), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, (uvexec_stdio_t)99), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, (uvexec_stdio_t)99), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, (uvexec_stdio_t)-1), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_MERGE), 0);
  ck_assert_int_eq(uvexec_cmd_stdin_fd(cmd, -1), UV_EBADF);
  ck_assert_int_eq(uvexec_cmd_stdout_fd(cmd, -1), UV_EBADF);
  ck_assert_int_eq(uvexec_cmd_stderr_fd(cmd, -1), UV_EBADF);
  ck_assert_int_lt(uvexec_cmd_add_fd(cmd, -1), 0);
  /* Writing needs a stdin pipe. */
  ck_assert_int_eq(uvexec_write(cmd, "x", 1), UV_EINVAL);
  /* Nothing to cancel or signal before the start. */
  ck_assert_int_eq(uvexec_cancel(cmd), UV_EINVAL);
  ck_assert_int_eq(uvexec_kill(cmd, SIGTERM), UV_ESRCH);
  /* No loop to start on. */
  ck_assert_int_eq(uvexec_start(cmd, NULL, NULL), UV_EINVAL);
  uvexec_cmd_free(cmd);
}
END_TEST

/* Every setter refuses once the cmd has started, whether it is still
 * running or done, and a second start is UV_EALREADY. */
static void assert_setters_busy(uvexec_cmd_t *cmd) {
  int fd = 0;
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, "/"), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "A", "B"), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "A"), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_clearenv(cmd), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_NULL), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_NULL), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_stdin_fd(cmd, fd), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_stdout_fd(cmd, fd), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_stderr_fd(cmd, fd), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_on_stdout(cmd, dummy_data_cb), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_on_stderr(cmd, dummy_data_cb), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(cmd, dummy_data_cb), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_on_stderr_line(cmd, dummy_data_cb), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_set_stdin(cmd, "x", 1), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(cmd), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_add_fd(cmd, fd), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_set_new_session(cmd, 1), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_set_uid(cmd, getuid()), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_set_gid(cmd, getgid()), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_set_timeout(cmd, 1000), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(cmd, SIGTERM), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(cmd, 1000), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_set_output_limit(cmd, 1000), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_UV), UV_EBUSY);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, probe_done_cb), UV_EALREADY);
  ck_assert_int_eq(uvexec_run(cmd), UV_EALREADY);
}

START_TEST(test_configure_after_start) {
  probe_t p;
  probe_init(&p, helper_cmd("cat", NULL));
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);

  /* Running: the child waits for stdin. */
  assert_setters_busy(p.cmd);
  ck_assert_int_eq(uvexec_write(p.cmd, "still fine", 10), 0);
  ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.done_calls, 1);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "still fine");

  /* Done. */
  assert_setters_busy(p.cmd);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 1);
  probe_free(&p);
}
END_TEST

/* Results are not offered before they exist: not before the start, and
 * not while the child runs, even when some output already arrived. */
START_TEST(test_results_before_done) {
  probe_t p;
  size_t len = 99;
  int pid;

  probe_init(&p, helper_cmd("cat", NULL));
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);

  ck_assert_int_eq(uvexec_exit_code(p.cmd), UV_EBUSY);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), UV_EBUSY);
  ck_assert_int_eq(uvexec_pid(p.cmd), UV_ESRCH);
  ck_assert_int_eq(uvexec_kill(p.cmd, SIGTERM), UV_ESRCH);
  ck_assert_ptr_null(uvexec_stdout_data(p.cmd, &len));
  ck_assert_uint_eq(len, 0);
  ck_assert_ptr_null(uvexec_stderr_data(p.cmd, NULL));
  ck_assert_ptr_null(uvexec_cmd_error(p.cmd));

  probe_start(&p);
  pid = uvexec_pid(p.cmd);
  ck_assert_int_gt(pid, 0);
  ck_assert_int_eq(uvexec_write(p.cmd, "ping\n", 5), 0);
  probe_wait_text(&p, "ping\n");

  /* The child is alive and has echoed: still no results. */
  len = 99;
  ck_assert_int_eq(uvexec_exit_code(p.cmd), UV_EBUSY);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), UV_EBUSY);
  ck_assert_ptr_null(uvexec_stdout_data(p.cmd, &len));
  ck_assert_uint_eq(len, 0);
  ck_assert_int_eq(uvexec_pid(p.cmd), pid);
  ck_assert_int_eq(p.done_calls, 0);

  ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 0);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), 0);
  ck_assert_ptr_null(uvexec_cmd_error(p.cmd));
  ck_assert_int_eq(uvexec_pid(p.cmd), pid);
  assert_stdout(p.cmd, "ping\n");
  probe_free(&p);
}
END_TEST

/* Once the exit was seen the pid may name another process: uvexec_kill
 * must not signal it. That holds inside the done callback already. */
static int kill_in_done_result = 1;

static void kill_in_done_cb(uvexec_cmd_t *cmd, int status) {
  kill_in_done_result = uvexec_kill(cmd, SIGKILL);
  probe_done_cb(cmd, status);
}

START_TEST(test_kill_after_exit_is_esrch) {
  probe_t p;
  probe_init(&p, helper_cmd("exit", "0", NULL));
  ck_assert_int_eq(uvexec_start(p.cmd, test_loop, kill_in_done_cb), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(kill_in_done_result, UV_ESRCH);
  ck_assert_int_eq(uvexec_kill(p.cmd, SIGTERM), UV_ESRCH);
  ck_assert_int_eq(uvexec_kill(p.cmd, 0), UV_ESRCH);
  probe_free(&p);
}
END_TEST

/* ---- the caller's data pointer ------------------------------------------- */

static void *data_seen_in_done;

static void data_done_cb(uvexec_cmd_t *cmd, int status) {
  int *done = (int *)uvexec_cmd_data(cmd);
  (void)status;
  data_seen_in_done = done;
  (*done)++;
}

START_TEST(test_data_pointer) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  int first = 0, done = 0;

  ck_assert_ptr_null(uvexec_cmd_data(cmd));
  uvexec_cmd_set_data(cmd, &first);
  ck_assert_ptr_eq(uvexec_cmd_data(cmd), &first);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, data_done_cb), 0);
  /* The pointer is the caller's at any time, also while running. */
  uvexec_cmd_set_data(cmd, &done);
  ck_assert_ptr_eq(uvexec_cmd_data(cmd), &done);
  run_loop_until(test_loop, &done, TEST_TIMEOUT_MS);
  ck_assert_ptr_eq(data_seen_in_done, &done);
  ck_assert_int_eq(first, 0);
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- uvexec_cmd_free in every state -------------------------------------- */

START_TEST(test_free_null) { uvexec_cmd_free(NULL); }
END_TEST

START_TEST(test_free_before_start) {
  uvexec_cmd_t *cmd = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, "/"), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T", "1"), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T", "2"), 0);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "HOME"), 0);
  ck_assert_int_eq(uvexec_cmd_set_stdin(cmd, "some input", 10), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_MERGE), 0);
  ck_assert_int_eq(uvexec_cmd_on_stdout(cmd, dummy_data_cb), 0);
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(cmd, dummy_data_cb), 0);
  ck_assert_int_eq(uvexec_cmd_add_fd(cmd, 0), 0);
  ck_assert_int_eq(uvexec_cmd_set_timeout(cmd, 1000), 0);
  uvexec_cmd_free(cmd);

  /* A stdin pipe with bytes queued before any start. */
  cmd = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(cmd), 0);
  ck_assert_int_eq(uvexec_write(cmd, "queued", 6), 0);
  ck_assert_uint_eq(uvexec_stdin_pending(cmd), 6);
  uvexec_cmd_free(cmd);
  assert_no_zombies();
}
END_TEST

/* Freed while the child runs: the child is killed (SIGKILL: this one
 * ignores SIGTERM) and reaped, no callback fires, the loop closes. */
START_TEST(test_free_while_running) {
  probe_t p;
  int pid;

  probe_init(&p, helper_cmd("ignore-term", NULL));
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  pid = uvexec_pid(p.cmd);
  ck_assert_int_gt(pid, 0);

  probe_drop_cmd(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.calls_after_free, 0);
  assert_no_zombies();
  ck_assert_int_eq(kill(pid, 0), -1);
  ck_assert_int_eq(errno, ESRCH);
  probe_free(&p);
}
END_TEST

/* Freed before the loop ever ran: the child may not even have reached
 * its program yet. */
START_TEST(test_free_right_after_start) {
  probe_t p;
  probe_init(&p, helper_cmd("sleep", "100000", NULL));
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_drop_cmd(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.calls_after_free, 0);
  assert_no_zombies();
  probe_free(&p);
}
END_TEST

/* Freed with every pipe busy: megabytes queued on stdin, output flowing
 * on stdout and stderr. */
START_TEST(test_free_while_running_all_pipes) {
  probe_t p;
  static char chunk[1 << 20];
  int i;

  memset(chunk, 'x', sizeof chunk);
  probe_init(&p, helper_cmd("cat", NULL));
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  probe_watch_stderr(&p);
  for (i = 0; i < 8; i++)
    ck_assert_int_eq(uvexec_write(p.cmd, chunk, sizeof chunk), 0);
  probe_start(&p);
  probe_wait_text(&p, "xxxx");

  probe_drop_cmd(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.calls_after_free, 0);
  assert_no_zombies();
  probe_free(&p);
}
END_TEST

START_TEST(test_free_in_done_cb) {
  probe_t p;
  probe_init(&p, helper_cmd("echo", "bye", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  p.free_in_done = 1;
  probe_start(&p);
  probe_wait(&p);
  ck_assert_ptr_null(p.cmd);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 1);
  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(p.out_eof, 1);
  ck_assert_str_eq(p.out.data, "bye\n");
  ck_assert_int_eq(p.calls_after_free, 0);
  probe_free(&p);
}
END_TEST

/* Freed inside an output callback while much more output is on its way:
 * no further data, no EOF call, no done. */
START_TEST(test_free_in_stdout_cb) {
  probe_t p;
  probe_init(&p, helper_cmd("flood", "4000000", "4000000", NULL));
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  p.free_on_out = 1;
  probe_start(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_ptr_null(p.cmd);
  ck_assert_int_eq(p.out_calls, 1);
  ck_assert_int_eq(p.out_eof, 0);
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.calls_after_free, 0);
  assert_no_zombies();
  probe_free(&p);
}
END_TEST

START_TEST(test_free_in_stderr_cb) {
  probe_t p;
  probe_init(&p, helper_cmd("flood", "4000000", "4000000", NULL));
  probe_watch_stdout(&p);
  probe_watch_stderr(&p);
  p.free_on_err = 1;
  probe_start(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_ptr_null(p.cmd);
  ck_assert_int_eq(p.err_calls, 1);
  ck_assert_int_eq(p.err_eof, 0);
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.calls_after_free, 0);
  assert_no_zombies();
  probe_free(&p);
}
END_TEST

/* Freed in the end-of-file call: the done callback, still ahead, must not
 * come. */
START_TEST(test_free_in_eof_cb) {
  probe_t p;
  probe_init(&p, helper_cmd("echo", "last words", NULL));
  probe_watch_stdout(&p);
  p.free_on_out_eof = 1;
  probe_start(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_ptr_null(p.cmd);
  ck_assert_int_eq(p.out_eof, 1);
  ck_assert_str_eq(p.out.data, "last words\n");
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.calls_after_free, 0);
  assert_no_zombies();
  probe_free(&p);
}
END_TEST

/* ---- odds and ends ------------------------------------------------------- */

/* done_cb may be NULL: the run still completes and its results are kept. */
START_TEST(test_start_without_done_cb) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "quiet", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), 0);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(uvexec_exit_code(cmd), 0);
  assert_stdout(cmd, "quiet\n");
  uvexec_cmd_free(cmd);
}
END_TEST

/* A data callback needs a pipe uvexec reads: with the stream inherited or
 * sent to a caller's fd, the start fails cleanly. */
START_TEST(test_callback_without_pipe_is_einval) {
  probe_t p;

  probe_init(&p, helper_cmd("echo", "x", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_INHERIT), 0);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_start(p.cmd, test_loop, probe_done_cb), UV_EINVAL);
  probe_free(&p);

  probe_init(&p, helper_cmd("echo", "x", NULL));
  ck_assert_int_eq(uvexec_cmd_stderr_fd(p.cmd, 2), 0);
  probe_watch_stderr(&p);
  ck_assert_int_eq(uvexec_start(p.cmd, test_loop, probe_done_cb), UV_EINVAL);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 0);
  probe_free(&p);
}
END_TEST

/* ---- the uv_walk() shutdown -------------------------------------------------- */

/* An application ending its loop the usual libuv way closes every handle
 * it finds, a running cmd's among them, with its own close callback. The
 * cmd never aborts, leaks nothing (ASan, valgrind), and its child is
 * killed and reaped: no orphan, no zombie. Its done callback never comes
 * (the loop can no longer tell it anything). */

static void close_any(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle))
    uv_close(handle, NULL);
}

/* walked_cmd starts a child that prints "hi" and lives on, with every
 * handle a cmd can have (stdin pipe, stdout and stderr read, a timeout),
 * on loop, and waits for the "hi". */
static uvexec_cmd_t *walked_cmd(uv_loop_t *loop, probe_t *p) {
  uvexec_cmd_t *cmd = helper_cmd("echo-sleep", "hi", "60000", NULL);

  probe_init(p, cmd);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(p);
  probe_watch_stderr(p);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(cmd), 0);
  ck_assert_int_eq(uvexec_cmd_set_timeout(cmd, 60000), 0);
  ck_assert_int_eq(uvexec_start(cmd, loop, probe_done_cb), 0);
  p->wait_text = "hi\n";
  run_loop_until(loop, &p->text_seen, TEST_TIMEOUT_MS);
  return cmd;
}

static int gone(pid_t pid) {
  return kill(pid, 0) != 0 && errno == ESRCH;
}

/* Walk, let the closes finish, close the loop, and only then free. */
START_TEST(test_walk_then_free_after_loop_closed) {
  uv_loop_t loop;
  probe_t p;
  uvexec_cmd_t *cmd;
  pid_t pid;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  cmd = walked_cmd(&loop, &p);
  pid = uvexec_pid(cmd);
  uv_walk(&loop, close_any, NULL);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  ck_assert_int_eq(p.done_calls, 0);

  uvexec_cmd_free(cmd);
  p.cmd = NULL;
  ck_assert_msg(gone(pid), "the child outlived its freed cmd");
  ck_assert_int_eq(p.calls_after_free, 0);
  probe_free(&p);
}
END_TEST

/* The walks below run on a loop of the test's own: the fixture's loop has
 * a timer of the fixture's, which a walk would close too. */

/* Walk, then free while the closes are still pending, then run. */
START_TEST(test_walk_then_free_before_run) {
  uv_loop_t loop;
  probe_t p;
  uvexec_cmd_t *cmd;
  pid_t pid;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  cmd = walked_cmd(&loop, &p);
  pid = uvexec_pid(cmd);
  uv_walk(&loop, close_any, NULL);
  uvexec_cmd_free(cmd);
  p.cmd = NULL;
  ck_assert_msg(gone(pid), "the child outlived its freed cmd");
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.calls_after_free, 0);
  probe_free(&p);
}
END_TEST

/* Free first, then walk: the child is already reaped when free returns,
 * and whatever the walk finds is closed without harm. */
START_TEST(test_free_then_walk) {
  uv_loop_t loop;
  probe_t p;
  uvexec_cmd_t *cmd;
  pid_t pid;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  cmd = walked_cmd(&loop, &p);
  pid = uvexec_pid(cmd);
  uvexec_cmd_free(cmd);
  p.cmd = NULL;
  ck_assert_msg(gone(pid), "the child outlived its freed cmd");
  uv_walk(&loop, close_any, NULL);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  ck_assert_int_eq(p.done_calls, 0);
  probe_free(&p);
}
END_TEST

/* The cmd's calls after a walk answer without touching closed handles. */
START_TEST(test_calls_after_walk) {
  uv_loop_t loop;
  probe_t p;
  uvexec_cmd_t *cmd;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  cmd = walked_cmd(&loop, &p);
  uv_walk(&loop, close_any, NULL);
  ck_assert_int_eq(uvexec_write(cmd, "x\n", 2), 0);
  ck_assert_int_eq(uvexec_close_stdin(cmd), 0);
  ck_assert_int_eq(uvexec_cancel(cmd), 0);
  ck_assert_int_eq(uvexec_kill(cmd, 0), 0);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(p.done_calls, 0);
  probe_free(&p);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- copies --------------------------------------------------------------- */

static int copy_lines;

static void count_line(uvexec_cmd_t *cmd, const char *line, size_t len) {
  (void)cmd;
  (void)line;
  (void)len;
  copy_lines++;
}

/* A copy runs as the original does: the same arguments, environment,
 * directory, stdin bytes, captures, callbacks and data pointer; it is a
 * new, unstarted cmd, also when the original has run. */
START_TEST(test_copy_runs_the_same) {
  uvexec_cmd_t *cmd = helper_cmd("cat", NULL), *copy, *again;
  int tag;

  ck_assert_int_eq(uvexec_cmd_set_stdin(cmd, "one\ntwo\n", 8), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(cmd, count_line), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_COPY", "yes"), 0);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, "/"), 0);
  uvexec_cmd_set_data(cmd, &tag);

  copy = uvexec_cmd_copy(cmd);
  ck_assert_ptr_nonnull(copy);
  ck_assert_ptr_eq(uvexec_cmd_data(copy), &tag);
  copy_lines = 0;
  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_int_eq(uvexec_run(copy), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "one\ntwo\n");
  ck_assert_str_eq(uvexec_stdout_data(copy, NULL), "one\ntwo\n");
  ck_assert_int_eq(copy_lines, 4);

  /* A copy of a cmd that has run: its stdin bytes are still given. */
  again = uvexec_cmd_copy(cmd);
  ck_assert_ptr_nonnull(again);
  ck_assert_int_eq(uvexec_exit_code(again), UV_EBUSY); /* unstarted */
  ck_assert_int_eq(uvexec_cmd_set_timeout(again, 60000), 0);
  ck_assert_int_eq(uvexec_run(again), 0);
  ck_assert_str_eq(uvexec_stdout_data(again, NULL), "one\ntwo\n");
  uvexec_cmd_free(again);
  uvexec_cmd_free(copy);
  uvexec_cmd_free(cmd);
  ck_assert_ptr_null(uvexec_cmd_copy(NULL));
}
END_TEST

/* The environment and directory reach the copy's child. */
START_TEST(test_copy_environment_and_dir) {
  uvexec_cmd_t *cmd = helper_cmd("env-get", "UVEXEC_COPY", NULL), *copy;

  ck_assert_int_eq(uvexec_cmd_clearenv(cmd), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_COPY", "kept"), 0);
  copy = uvexec_cmd_copy(cmd);
  ck_assert_int_eq(uvexec_output(copy), 0);
  ck_assert_str_eq(uvexec_stdout_data(copy, NULL), "kept\n");
  uvexec_cmd_free(copy);
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("pwd", NULL);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, "/tmp"), 0);
  copy = uvexec_cmd_copy(cmd);
  ck_assert_int_eq(uvexec_output(copy), 0);
  ck_assert_str_eq(uvexec_stdout_data(copy, NULL), "/tmp\n");
  uvexec_cmd_free(copy);
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- argv[0], pipe size, the environment, the command as text ------------- */

/* The child sees argv0 as its argv[0]; the program run is still the one
 * the cmd names. */
START_TEST(test_argv0) {
  uvexec_cmd_t *cmd = uvexec_command("cat", "/proc/self/cmdline", NULL);
  const char *out;
  size_t len;

  ck_assert_int_eq(uvexec_cmd_set_argv0(cmd, "-not-cat"), 0);
  ck_assert_int_eq(uvexec_cmd_set_argv0(NULL, "x"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_argv0(cmd, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  out = uvexec_stdout_data(cmd, &len);
  ck_assert_uint_eq(len, sizeof("-not-cat\0/proc/self/cmdline"));
  ck_assert_int_eq(memcmp(out, "-not-cat\0/proc/self/cmdline\0", len), 0);
  uvexec_cmd_free(cmd);
}
END_TEST

/* The pipes uvexec makes have the size asked for, and keep it when the
 * stream floods; a size the kernel refuses is a start error. */
START_TEST(test_pipe_size) {
  probe_t p;
  int size;

  probe_init(&p, helper_cmd("echo-sleep", "x", "60000", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_pipe_size(p.cmd, 1 << 20), 0);
  ck_assert_int_eq(uvexec_cmd_set_pipe_size(p.cmd, (size_t)INT_MAX + 1),
                   UV_EINVAL);
  probe_start(&p);
  size = fcntl(p.cmd->out[0].fd, F_GETPIPE_SZ);
  ck_assert_int_eq(size, 1 << 20);
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  probe_free(&p);

  /* As nobody, beyond /proc/sys/fs/pipe-max-size (1 MiB by default). */
  if (getuid() == 0) {
    pid_t pid = fork();
    int st;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      uvexec_cmd_t *cmd;
      uv_loop_t loop;
      int err;

      if (setgroups(0, NULL) != 0 || setgid(OTHER_UID) != 0 ||
          setuid(OTHER_UID) != 0 || uv_loop_init(&loop) != 0)
        _exit(10);
      cmd = uvexec_command("true", NULL);
      uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE);
      uvexec_cmd_set_pipe_size(cmd, 64u << 20);
      err = uvexec_start(cmd, &loop, NULL);
      if (err != UV_EPERM ||
          strcmp(uvexec_cmd_error(cmd),
                 "exec: pipe size 67108864: operation not permitted") != 0)
        _exit(11);
      uvexec_cmd_free(cmd);
      uv_run(&loop, UV_RUN_DEFAULT);
      _exit(uv_loop_close(&loop) == 0 ? 0 : 12);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
  }
}
END_TEST

/* The environment the child would get: the cmd's settings over this
 * process's, PWD following the dir; one free. */
START_TEST(test_environ) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  char **env;
  int i, found = 0, pwd = 0, home = 0;

  ck_assert_int_eq(setenv("UVEXEC_ENVIRON_PARENT", "1", 1), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_ENVIRON", "set"), 0);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "UVEXEC_ENVIRON_PARENT"), 0);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, "/tmp/../tmp"), 0);
  env = uvexec_cmd_environ(cmd);
  ck_assert_ptr_nonnull(env);
  for (i = 0; env[i] != NULL; i++) {
    found += strcmp(env[i], "UVEXEC_ENVIRON=set") == 0;
    pwd += strcmp(env[i], "PWD=/tmp") == 0;
    home += strncmp(env[i], "UVEXEC_ENVIRON_PARENT=", 22) == 0;
  }
  ck_assert_int_eq(found, 1);
  ck_assert_int_eq(pwd, 1);
  ck_assert_int_eq(home, 0);
  free(env);
  unsetenv("UVEXEC_ENVIRON_PARENT");
  ck_assert_ptr_null(uvexec_cmd_environ(NULL));
  uvexec_cmd_free(cmd);
}
END_TEST

/* The text is what a shell reads back as the same words. */
START_TEST(test_string) {
  static const char *const words[] = {
      "printf", "[%s]\\n", "plain", "two words", "it's", "",
      "$HOME", "a\"b", "-e", "tab\there", "new\nline", NULL};
  uvexec_cmd_t *cmd = uvexec_command_argv(words), *sh;
  char *text, *script;
  tbuf_t want = {NULL, 0, 0};
  size_t i;

  text = uvexec_cmd_string(cmd);
  ck_assert_ptr_nonnull(text);
  ck_assert_ptr_nonnull(strstr(text, "printf '[%s]\\n' plain 'two words' "
                                     "'it'\\''s' '' '$HOME'"));
  /* sh runs the text: printf prints each word back in brackets. */
  ck_assert_int_ne(asprintf(&script, "%s", text), -1);
  sh = uvexec_command("sh", "-c", script, NULL);
  ck_assert_int_eq(uvexec_output(sh), 0);
  for (i = 2; words[i] != NULL; i++) {
    tbuf_append(&want, "[", 1);
    tbuf_append(&want, words[i], strlen(words[i]));
    tbuf_append(&want, "]\n", 2);
  }
  ck_assert_str_eq(uvexec_stdout_data(sh, NULL), want.data);
  tbuf_free(&want);
  free(script);
  free(text);
  uvexec_cmd_free(sh);
  uvexec_cmd_free(cmd);
  ck_assert_ptr_null(uvexec_cmd_string(NULL));
}
END_TEST

int main(void) {
  Suite *s = suite_create("cmd");
  ADD_TEST(s, test_command_rejects_bad_input);
  ADD_TEST(s, test_copy_runs_the_same);
  ADD_TEST(s, test_copy_environment_and_dir);
  ADD_TEST(s, test_argv0);
  ADD_TEST(s, test_pipe_size);
  ADD_TEST(s, test_environ);
  ADD_TEST(s, test_string);
  ADD_TEST(s, test_command_varargs);
  ADD_TEST(s, test_command_argv_is_copied);
  ADD_TEST(s, test_null_cmd_is_einval);
  ADD_TEST(s, test_bad_arguments);
  ADD_TEST(s, test_configure_after_start);
  ADD_TEST(s, test_results_before_done);
  ADD_TEST(s, test_kill_after_exit_is_esrch);
  ADD_TEST(s, test_data_pointer);
  ADD_TEST(s, test_free_null);
  ADD_TEST(s, test_free_before_start);
  ADD_TEST(s, test_free_while_running);
  ADD_TEST(s, test_free_right_after_start);
  ADD_TEST(s, test_free_while_running_all_pipes);
  ADD_TEST(s, test_free_in_done_cb);
  ADD_TEST(s, test_free_in_stdout_cb);
  ADD_TEST(s, test_free_in_stderr_cb);
  ADD_TEST(s, test_free_in_eof_cb);
  ADD_TEST(s, test_start_without_done_cb);
  ADD_TEST(s, test_callback_without_pipe_is_einval);
  ADD_TEST(s, test_walk_then_free_after_loop_closed);
  ADD_TEST(s, test_walk_then_free_before_run);
  ADD_TEST(s, test_free_then_walk);
  ADD_TEST(s, test_calls_after_walk);
  return run_suite(s);
}
