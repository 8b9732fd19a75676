/* SPDX-License-Identifier: MIT */
/* Starting children: failures that leave nothing behind, exit statuses and
 * signals in Go's words, pids, uvexec_kill, the working directory, many
 * children on one loop, and the synchronous facade in its simple forms. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* ---- start failures ------------------------------------------------------ */

/* expect_start_failure starts cmd, which must fail with err and a message
 * containing needle; then the loop must run dry without a done callback,
 * and the fixture's teardown proves no handle, fd or zombie is left. */
static void expect_start_failure(uvexec_cmd_t *cmd, int err,
                                 const char *needle) {
  probe_t p;
  const char *msg;
  int rc;

  ck_assert_ptr_nonnull(cmd);
  probe_init(&p, cmd);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  rc = uvexec_start(cmd, test_loop, probe_done_cb);
  ck_assert_msg(rc == err, "uvexec_start gave %s, expected %s",
                uvexec_err_name(rc), uvexec_err_name(err));
  msg = uvexec_cmd_error(cmd);
  ck_assert_msg(msg != NULL, "no error message after a failed start");
  ck_assert_msg(strstr(msg, needle) != NULL,
                "the message \"%s\" does not name \"%s\"", msg, needle);

  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 0);
  ck_assert_int_eq(p.out_calls + p.out_eof, 0);
  assert_no_zombies();
  probe_free(&p);
}

START_TEST(test_not_found_in_path) {
  probe_t p;
  probe_init(&p, uvexec_command("uvexec-no-such-program", "arg", NULL));
  ck_assert_ptr_nonnull(p.cmd);
  ck_assert_int_eq(uvexec_start(p.cmd, test_loop, probe_done_cb), UV_ENOENT);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd),
                   "exec: \"uvexec-no-such-program\": executable file not "
                   "found in $PATH");
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 0);
  probe_free(&p);

  /* The same, with pipes configured that must not be left open. */
  expect_start_failure(uvexec_command("uvexec-no-such-program", NULL),
                       UV_ENOENT, "uvexec-no-such-program");
}
END_TEST

START_TEST(test_not_found_explicit_path) {
  expect_start_failure(
      uvexec_command("/nonexistent-uvexec-dir/uvexec-prog", NULL), UV_ENOENT,
      "/nonexistent-uvexec-dir/uvexec-prog");
}
END_TEST

START_TEST(test_not_executable) {
  char *dir = make_temp_dir();
  char path[4096];
  int fd;

  snprintf(path, sizeof path, "%s/plain-file", dir);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "#!/bin/sh\necho no\n", 18), 18);
  close(fd);
  ck_assert_int_eq(chmod(path, 0644), 0);

  expect_start_failure(uvexec_command(path, NULL), UV_EACCES, path);
  remove_tree(dir);
  free(dir);
}
END_TEST

START_TEST(test_directory_is_not_executable) {
  char *dir = make_temp_dir();
  expect_start_failure(uvexec_command(dir, NULL), UV_EACCES, dir);
  remove_tree(dir);
  free(dir);
}
END_TEST

START_TEST(test_missing_dir) {
  uvexec_cmd_t *cmd = helper_cmd("pwd", NULL);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, "/nonexistent-uvexec-dir/sub"), 0);
  expect_start_failure(cmd, UV_ENOENT, "/nonexistent-uvexec-dir/sub");
}
END_TEST

/* ---- exit statuses and signals ------------------------------------------- */

START_TEST(test_exit_success) {
  probe_t p;
  probe_init(&p, helper_cmd("exit", "0", NULL));
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 0);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), 0);
  ck_assert_ptr_null(uvexec_cmd_error(p.cmd));
  probe_free(&p);
}
END_TEST

START_TEST(test_exit_status) {
  probe_t p;
  probe_init(&p, helper_cmd("exit", "3", NULL));
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 3);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), 0);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "exit status 3");
  probe_free(&p);

  probe_init(&p, helper_cmd("exit", "255", NULL));
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 255);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "exit status 255");
  probe_free(&p);
}
END_TEST

START_TEST(test_killed_by_signal) {
  probe_t p;
  probe_init(&p, helper_cmd("kill-self", "9", NULL));
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_ESIGNALED);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGKILL);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), -1);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "signal: killed");
  probe_free(&p);

  probe_init(&p, helper_cmd("kill-self", "15", NULL));
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_ESIGNALED);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGTERM);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), -1);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "signal: terminated");
  probe_free(&p);
}
END_TEST

/* uvexec_pid is the child's own pid, as the child sees it. */
START_TEST(test_pid_is_the_child) {
  probe_t p;
  char want[32];
  int pid;

  probe_init(&p, helper_cmd("pid", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  pid = uvexec_pid(p.cmd);
  ck_assert_int_gt(pid, 0);
  ck_assert_int_ne(pid, (int)getpid());
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  snprintf(want, sizeof want, "%d\n", pid);
  assert_stdout(p.cmd, want);
  ck_assert_int_eq(uvexec_pid(p.cmd), pid);
  probe_free(&p);
}
END_TEST

/* ---- uvexec_kill --------------------------------------------------------- */

START_TEST(test_kill_sigterm) {
  probe_t p;
  probe_init(&p, helper_cmd("sleep", "10000000", NULL));
  probe_start(&p);
  ck_assert_int_eq(uvexec_kill(p.cmd, SIGTERM), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_ESIGNALED);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGTERM);
  ck_assert_int_eq(uvexec_exit_code(p.cmd), -1);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "signal: terminated");
  probe_free(&p);
}
END_TEST

/* A child that handles SIGTERM gets it and finishes in its own way. */
START_TEST(test_kill_handled_by_child) {
  probe_t p;
  probe_init(&p, helper_cmd("handle-term", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  ck_assert_int_eq(uvexec_kill(p.cmd, SIGTERM), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "ready\ngot TERM\n");
  probe_free(&p);
}
END_TEST

/* A child that ignores SIGTERM is still there for the SIGKILL after it. */
START_TEST(test_kill_ignored_then_sigkill) {
  probe_t p;
  probe_init(&p, helper_cmd("ignore-term", NULL));
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  ck_assert_int_eq(uvexec_kill(p.cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_kill(p.cmd, SIGKILL), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_ESIGNALED);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGKILL);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "signal: killed");
  probe_free(&p);
}
END_TEST

/* ---- the loop keeps working ---------------------------------------------- */

typedef struct {
  uvexec_cmd_t *cmd;
  int ticks;
} ticker_t;

static void on_tick(uv_timer_t *t) {
  ticker_t *tk = t->data;
  if (++tk->ticks == 3) {
    uv_timer_stop(t);
    ck_assert_int_eq(uvexec_kill(tk->cmd, SIGKILL), 0);
  }
}

/* While a child runs, the rest of the loop runs too: a timer ticks, and
 * it is the timer that ends the child. */
START_TEST(test_loop_not_blocked_by_child) {
  probe_t p;
  uv_timer_t timer;
  ticker_t tk;

  probe_init(&p, helper_cmd("sleep", "10000000", NULL));
  probe_start(&p);
  tk.cmd = p.cmd;
  tk.ticks = 0;
  ck_assert_int_eq(uv_timer_init(test_loop, &timer), 0);
  timer.data = &tk;
  ck_assert_int_eq(uv_timer_start(&timer, on_tick, 1, 1), 0);
  probe_wait(&p);
  ck_assert_int_eq(tk.ticks, 3);
  ck_assert_int_eq(p.status, UVEXEC_ESIGNALED);
  uv_close((uv_handle_t *)&timer, NULL);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  probe_free(&p);
}
END_TEST

/* ---- working directory --------------------------------------------------- */

START_TEST(test_set_dir) {
  char *dir = make_temp_dir();
  char want[4200];
  probe_t p;

  probe_init(&p, helper_cmd("pwd", NULL));
  ck_assert_int_eq(uvexec_cmd_set_dir(p.cmd, dir), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  snprintf(want, sizeof want, "%s\n", dir);
  assert_stdout(p.cmd, want);
  probe_free(&p);

  /* NULL and "" mean the parent's directory. */
  {
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "%s\n", cwd);
  }
  probe_init(&p, helper_cmd("pwd", NULL));
  ck_assert_int_eq(uvexec_cmd_set_dir(p.cmd, dir), 0);
  ck_assert_int_eq(uvexec_cmd_set_dir(p.cmd, ""), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  assert_stdout(p.cmd, want);
  probe_free(&p);

  probe_init(&p, helper_cmd("pwd", NULL));
  ck_assert_int_eq(uvexec_cmd_set_dir(p.cmd, dir), 0);
  ck_assert_int_eq(uvexec_cmd_set_dir(p.cmd, NULL), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  assert_stdout(p.cmd, want);
  probe_free(&p);

  remove_tree(dir);
  free(dir);
}
END_TEST

/* ---- many children on one loop ------------------------------------------- */

#define CROWD 200

/* 200 children started at once: each output lands in its own cmd. */
START_TEST(test_200_children_at_once) {
  static probe_t crowd[CROWD];
  char arg[32], want[40];
  int i;

  for (i = 0; i < CROWD; i++) {
    snprintf(arg, sizeof arg, "child-%d", i);
    probe_init(&crowd[i], helper_cmd("echo", arg, NULL));
    ck_assert_int_eq(uvexec_cmd_stdout(crowd[i].cmd, UVEXEC_CAPTURE), 0);
    probe_start(&crowd[i]);
  }
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  for (i = 0; i < CROWD; i++) {
    ck_assert_int_eq(crowd[i].done_calls, 1);
    ck_assert_int_eq(crowd[i].status, 0);
    snprintf(want, sizeof want, "child-%d\n", i);
    assert_stdout(crowd[i].cmd, want);
  }
  for (i = 0; i < CROWD; i++)
    probe_free(&crowd[i]);
}
END_TEST

/* ---- the synchronous facade ---------------------------------------------- */

START_TEST(test_run) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_int_eq(uvexec_exit_code(cmd), 0);
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("exit", "3", NULL);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 3);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "exit status 3");
  uvexec_cmd_free(cmd);

  cmd = uvexec_command("uvexec-no-such-program", NULL);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOENT);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "exec: \"uvexec-no-such-program\": executable file not "
                   "found in $PATH");
  uvexec_cmd_free(cmd);

  /* The caller's loop was not touched. */
  ck_assert(!uv_loop_alive(test_loop));
}
END_TEST

START_TEST(test_output) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "sync", "hello", NULL);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  assert_stdout(cmd, "sync hello\n");
  uvexec_cmd_free(cmd);

  /* On failure stderr is kept for the caller (Go's ExitError.Stderr). */
  cmd = helper_cmd("die", "2", "something broke", NULL);
  ck_assert_int_eq(uvexec_output(cmd), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 2);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "exit status 2");
  assert_stderr(cmd, "something broke\n");
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_combined_output) {
  uvexec_cmd_t *cmd = helper_cmd("interleave", "50", NULL);
  tbuf_t want = {0};
  char line[64];
  int i;

  for (i = 0; i < 50; i++) {
    int n = snprintf(line, sizeof line, "out %d\nerr %d\n", i, i);
    tbuf_append(&want, line, (size_t)n);
  }
  ck_assert_int_eq(uvexec_combined_output(cmd), 0);
  assert_stdout(cmd, want.data);
  uvexec_cmd_free(cmd);
  tbuf_free(&want);
}
END_TEST

static void *output_in_thread(void *arg) {
  uvexec_cmd_t *cmd = arg;
  return (void *)(intptr_t)uvexec_output(cmd);
}

/* uvexec_output from another thread, on its private loop. */
START_TEST(test_output_from_thread) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "from a thread", NULL);
  pthread_t th;
  void *ret;

  ck_assert_int_eq(pthread_create(&th, NULL, output_in_thread, cmd), 0);
  ck_assert_int_eq(pthread_join(th, &ret), 0);
  ck_assert_int_eq((int)(intptr_t)ret, 0);
  assert_stdout(cmd, "from a thread\n");
  uvexec_cmd_free(cmd);
}
END_TEST

int main(void) {
  Suite *s = suite_create("spawn");
  ADD_TEST(s, test_not_found_in_path);
  ADD_TEST(s, test_not_found_explicit_path);
  ADD_TEST(s, test_not_executable);
  ADD_TEST(s, test_directory_is_not_executable);
  ADD_TEST(s, test_missing_dir);
  ADD_TEST(s, test_exit_success);
  ADD_TEST(s, test_exit_status);
  ADD_TEST(s, test_killed_by_signal);
  ADD_TEST(s, test_pid_is_the_child);
  ADD_TEST(s, test_kill_sigterm);
  ADD_TEST(s, test_kill_handled_by_child);
  ADD_TEST(s, test_kill_ignored_then_sigkill);
  ADD_TEST(s, test_loop_not_blocked_by_child);
  ADD_TEST(s, test_set_dir);
  ADD_TEST(s, test_200_children_at_once);
  ADD_TEST(s, test_run);
  ADD_TEST(s, test_output);
  ADD_TEST(s, test_combined_output);
  ADD_TEST(s, test_output_from_thread);
  return run_suite(s);
}
