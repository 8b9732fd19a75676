/* SPDX-License-Identifier: MIT */
/* Daemons: uvexec_cmd_set_detached. The daemon leads its own session, is
 * never this process's child or zombie, outlives its cmd, and reports
 * what failed before its exec as any start does. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* daemon_cmd is a detached cmd on the clone engine (the suites' `.uv` run
 * makes the uv engine the default, which cannot detach). */
static uvexec_cmd_t *daemon_cmd(const char *sub, const char *arg) {
  uvexec_cmd_t *cmd = helper_cmd(sub, arg, NULL);

  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_detached(cmd, 1), 0);
  return cmd;
}

/* read_line reads one line from fd (a pipe whose writer is the daemon),
 * failing the test after TEST_TIMEOUT_MS. */
static void read_line(int fd, char *buf, size_t size) {
  size_t len = 0;

  while (len + 1 < size) {
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t n;

    ck_assert_int_eq(poll(&p, 1, TEST_TIMEOUT_MS), 1);
    n = read(fd, buf + len, 1);
    ck_assert_int_eq(n, 1);
    if (buf[len++] == '\n')
      break;
  }
  buf[len] = '\0';
}

typedef struct {
  long pid, ppid, sid;
} ids_t;

static ids_t parse_ids(const char *line) {
  ids_t ids = {0, 0, 0};

  ck_assert_msg(sscanf(line, "pid %ld ppid %ld sid %ld", &ids.pid, &ids.ppid,
                       &ids.sid) == 3,
                "not ids: %s", line);
  return ids;
}

/* end_daemon kills a process that is not ours, and waits for its end
 * through a pidfd (readable once it has exited, whoever reaps it). */
static void end_daemon(long pid) {
  int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  struct pollfd p;

  ck_assert_msg(fd >= 0, "pidfd_open %ld: %s", pid, strerror(errno));
  ck_assert_int_eq(syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0), 0);
  p.fd = fd;
  p.events = POLLIN;
  p.revents = 0;
  ck_assert_int_eq(poll(&p, 1, TEST_TIMEOUT_MS), 1);
  close(fd);
}

/* ---- the daemon ----------------------------------------------------------- */

/* It runs in a session of its own, its parent is not this process, and
 * done comes on the next turn with 0; neither a kill nor a free of the
 * cmd reaches it. */
START_TEST(test_daemon_is_not_our_child) {
  uvexec_cmd_t *cmd = daemon_cmd("session", NULL);
  char line[128];
  int pipefd[2];
  probe_t p;
  ids_t ids;

  ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
  ck_assert_int_eq(uvexec_cmd_stdout_fd(cmd, pipefd[1]), 0);
  probe_init(&p, cmd);
  probe_start(&p);
  close(pipefd[1]);
  ck_assert_int_eq(p.done_calls, 0); /* never from inside the start */
  ck_assert_int_gt(uvexec_pid(cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(uvexec_exit_code(cmd), 0);

  read_line(pipefd[0], line, sizeof line);
  close(pipefd[0]);
  ids = parse_ids(line);
  ck_assert_int_eq(ids.pid, uvexec_pid(cmd));
  ck_assert_int_ne(ids.ppid, (long)getpid());
  ck_assert_int_eq(ids.sid, ids.pid);
  ck_assert_int_eq(uvexec_kill(cmd, SIGKILL), UV_ESRCH);

  probe_free(&p);
  ck_assert_int_eq(kill((pid_t)ids.pid, 0), 0); /* the free left it be */
  end_daemon(ids.pid);
}
END_TEST

/* Freed before its done came: the daemon still lives, and the cmd leaves
 * nothing behind (the fixture). */
START_TEST(test_free_before_done) {
  uvexec_cmd_t *cmd = daemon_cmd("session", NULL);
  char line[128];
  int pipefd[2];
  ids_t ids;

  ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
  ck_assert_int_eq(uvexec_cmd_stdout_fd(cmd, pipefd[1]), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), 0);
  close(pipefd[1]);
  uvexec_cmd_free(cmd);
  read_line(pipefd[0], line, sizeof line);
  close(pipefd[0]);
  ids = parse_ids(line);
  ck_assert_int_eq(kill((pid_t)ids.pid, 0), 0);
  end_daemon(ids.pid);
}
END_TEST

/* The facade: uvexec_run returns once the daemon runs, not when it
 * ends; a copy of a detached cmd is detached too. */
START_TEST(test_run_and_copy) {
  uvexec_cmd_t *cmd = daemon_cmd("session", NULL), *copy;
  char line[128];
  int pipefd[2];
  ids_t ids;

  ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
  ck_assert_int_eq(uvexec_cmd_stdout_fd(cmd, pipefd[1]), 0);
  copy = uvexec_cmd_copy(cmd);
  ck_assert_ptr_nonnull(copy);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  read_line(pipefd[0], line, sizeof line);
  ids = parse_ids(line);
  ck_assert_int_eq(ids.pid, uvexec_pid(cmd));
  uvexec_cmd_free(cmd);
  end_daemon(ids.pid);

  ck_assert_int_eq(uvexec_run(copy), 0);
  close(pipefd[1]);
  read_line(pipefd[0], line, sizeof line);
  close(pipefd[0]);
  ids = parse_ids(line);
  ck_assert_int_eq(ids.sid, ids.pid);
  ck_assert_int_ne(ids.ppid, (long)getpid());
  uvexec_cmd_free(copy);
  end_daemon(ids.pid);
}
END_TEST

/* A daemon that ends at once leaves no zombie here either. */
START_TEST(test_short_daemon) {
  uvexec_cmd_t *cmd = daemon_cmd("exit", "3");
  probe_t p;

  probe_init(&p, cmd);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0); /* its own status is nobody's here */
  probe_free(&p);
}
END_TEST

/* ---- failure --------------------------------------------------------------- */

/* What fails in the daemon before its exec fails the start, worded as
 * for any cmd, and leaves no process and no fd. */
START_TEST(test_daemon_start_errors) {
  char *tmp = make_temp_dir();
  char file[PATH_MAX], want[PATH_MAX + 64];
  uvexec_cmd_t *cmd;
  int fd;

  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(
      uvexec_cmd_stdout_file(cmd, "/nonexistent-uvexec-dir/out", 0), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOENT);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "open /nonexistent-uvexec-dir/out: no such file or "
                   "directory");
  ck_assert_int_eq(uvexec_pid(cmd), UV_ESRCH);
  uvexec_cmd_free(cmd);

  snprintf(file, sizeof file, "%s/plain", tmp);
  fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "#!/bin/sh\n", 10), 10);
  close(fd);
  cmd = uvexec_command(file, NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_detached(cmd, 1), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EACCES);
  snprintf(want, sizeof want, "fork/exec %s: permission denied", file);
  ck_assert_str_eq(uvexec_cmd_error(cmd), want);
  uvexec_cmd_free(cmd);

  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* A subreaper adopts the daemon that failed (its parent is reaped first):
 * the failed start reaps it too, so no zombie is left behind. */
START_TEST(test_daemon_failure_under_a_subreaper) {
  uvexec_cmd_t *cmd;

  ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(
      uvexec_cmd_stdout_file(cmd, "/nonexistent-uvexec-dir/out", 0), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOENT);
  uvexec_cmd_free(cmd);
  assert_no_zombies();
  ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}
END_TEST

static void expect_refused(uvexec_cmd_t *cmd, const char *mention) {
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  ck_assert_msg(strstr(uvexec_cmd_error(cmd), mention) != NULL,
                "\"%s\" does not say \"%s\"", uvexec_cmd_error(cmd), mention);
  uvexec_cmd_free(cmd);
}

/* Nothing of this process may stay tied to a daemon. */
START_TEST(test_daemon_refusals) {
  uvexec_cmd_t *cmd;

  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  expect_refused(cmd, "not a pipe");

  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(uvexec_cmd_on_stderr(cmd, probe_stderr_cb), 0);
  expect_refused(cmd, "not a pipe");

  cmd = daemon_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_set_stdin(cmd, "x", 1), 0);
  expect_refused(cmd, "stdin may be null, a file or an fd");

  cmd = daemon_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_set_pty(cmd, 24, 80), 0);
  expect_refused(cmd, "terminal");

  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(uvexec_cmd_set_contain(cmd, NULL), 0);
  expect_refused(cmd, "contained");

  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(uvexec_cmd_set_pdeathsig(cmd, SIGTERM), 0);
  expect_refused(cmd, "death signal");

  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(uvexec_cmd_set_pgid(cmd, 0), 0);
  expect_refused(cmd, "process group");

  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(cmd), 0);
  expect_refused(cmd, "readiness");

  /* The uv engine's child is always this process's. */
  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_UV), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOTSUP);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "exec: the uv engine cannot "
                                          "detach a child: use "
                                          "UVEXEC_ENGINE_CLONE");
  uvexec_cmd_free(cmd);

  /* There is no child in an exec. */
  cmd = daemon_cmd("echo", "x");
  ck_assert_int_eq(uvexec_exec(cmd), UV_EINVAL);
  uvexec_cmd_free(cmd);
}
END_TEST

int main(void) {
  Suite *s = suite_create("detach");

  ADD_TEST(s, test_daemon_refusals);
  if (have_pidfd()) {
    ADD_TEST(s, test_daemon_is_not_our_child);
    ADD_TEST(s, test_free_before_done);
    ADD_TEST(s, test_run_and_copy);
    ADD_TEST(s, test_short_daemon);
    ADD_TEST(s, test_daemon_start_errors);
    ADD_TEST(s, test_daemon_failure_under_a_subreaper);
  } else {
    fprintf(stderr, "detach: no pidfds here (valgrind, or an old kernel): "
                    "the clone engine cannot start, and the daemon cases "
                    "are skipped, not passed\n");
  }
  return run_suite(s);
}
