/* SPDX-License-Identifier: MIT */
/* Reaping (lib/reap.c): a child reaped by someone else — the application
 * calling waitpid(), or SIGCHLD set to SIG_IGN — is a successful start
 * that ends with its real exit status where the kernel keeps it for the
 * pidfd (PIDFD_INFO_EXIT, Linux 6.15+), else with UVEXEC_ECHILD; never a
 * hang, never a start error; no signal reaches a pid uvexec no longer
 * owns; running out of fds fails a start cleanly and does not turn an
 * engine off for good.
 *
 * These need pidfds. Where the process has none (valgrind 3.19 does not
 * know pidfd_open), the cases that depend on them are not registered and
 * the suite says so on stderr: they are not counted as passed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

/* keeps_exit tells whether this kernel keeps a reaped process's status
 * for a pidfd opened before the reap (PIDFD_INFO_EXIT): a child of the
 * test's own, reaped by the test, is asked. Asked once. */
static int keeps_exit(void) {
  static int keeps = -1;
  int pidfd, wstatus = 0;
  pid_t pid;

  if (keeps >= 0)
    return keeps;
  pid = fork();
  if (pid < 0)
    return 0;
  if (pid == 0)
    _exit(5);
  pidfd = uvexec__pidfd_open(pid);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
  keeps = pidfd >= 0 && uvexec__pidfd_exit_status(pidfd, &wstatus) == 0 &&
          WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 5;
  if (pidfd >= 0)
    close(pidfd);
  return keeps;
}

/* ---- the test reaps the child itself ------------------------------------ */

/* The test takes the child's exit before uvexec can: uvexec_kill must
 * then signal nothing (the pid is not uvexec's any more) and the done
 * status is the child's own (exit status 3) where the kernel kept it,
 * else UVEXEC_ECHILD with Go's words. On the uv engine libuv would wait
 * for that child forever; the pidfd notices. */
START_TEST(test_reaped_by_application) {
  probe_t p;
  int st;
  pid_t pid;

  probe_init(&p, helper_cmd("exit", "3", NULL));
  probe_start(&p);
  pid = uvexec_pid(p.cmd);
  ck_assert_int_gt(pid, 0);
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);

  ck_assert_int_eq(uvexec_kill(p.cmd, SIGTERM), UV_ESRCH);
  probe_wait(&p);
  ck_assert_int_eq(p.done_calls, 1);
  if (keeps_exit()) {
    ck_assert_int_eq(p.status, UVEXEC_EEXIT);
    ck_assert_int_eq(uvexec_exit_code(p.cmd), 3);
    ck_assert_str_eq(uvexec_cmd_error(p.cmd), "exit status 3");
  } else {
    ck_assert_int_eq(p.status, UVEXEC_ECHILD);
    ck_assert_str_eq(uvexec_err_name(p.status), "UVEXEC_ECHILD");
    ck_assert_str_eq(uvexec_cmd_error(p.cmd), "wait: no child processes");
  }
  ck_assert_int_eq(uvexec_kill(p.cmd, SIGTERM), UV_ESRCH);
  probe_free(&p);
}
END_TEST

/* A child killed by a signal and reaped by the application: the signal
 * is what the done status tells, where the kernel kept it. */
START_TEST(test_reaped_by_application_signal_kept) {
  probe_t p;
  pid_t pid;

  probe_init(&p, helper_cmd("kill-self", "15", NULL));
  probe_start(&p);
  pid = uvexec_pid(p.cmd);
  ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_ESIGNALED);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGTERM);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "signal: terminated");
  probe_free(&p);
}
END_TEST

/* Output written before the foreign reap is still delivered whole: the
 * done callback still waits for end of file. */
START_TEST(test_reaped_by_application_output_kept) {
  probe_t p;
  const char *out;
  size_t len;
  pid_t pid;

  probe_init(&p, helper_cmd("echo", "kept", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  pid = uvexec_pid(p.cmd);
  ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
  probe_wait(&p);
  ck_assert_int_eq(p.status, keeps_exit() ? 0 : UVEXEC_ECHILD);
  out = uvexec_stdout_data(p.cmd, &len);
  ck_assert_str_eq(out, "kept\n");
  probe_free(&p);
}
END_TEST

/* ---- SIGCHLD ignored ------------------------------------------------------ */

/* With SIGCHLD at SIG_IGN the kernel reaps every child at its exit. The
 * pidfd engines report the status the kernel kept, or UVEXEC_ECHILD.
 * libuv installs its own SIGCHLD handler for uv_spawn, which takes the
 * disposition back: on the uv engine the exit status is seen as usual. */
START_TEST(test_sigchld_ignored) {
  struct sigaction ign, saved;
  probe_t p;

  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  ck_assert_int_eq(sigaction(SIGCHLD, &ign, &saved), 0);

  probe_init(&p, helper_cmd("exit", "0", NULL));
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.done_calls, 1);
  if (on_uv_engine() || keeps_exit()) {
    ck_assert_int_eq(p.status, 0);
  } else {
    ck_assert_int_eq(p.status, UVEXEC_ECHILD);
    ck_assert_str_eq(uvexec_cmd_error(p.cmd), "wait: no child processes");
  }
  probe_free(&p);
  ck_assert_int_eq(sigaction(SIGCHLD, &saved, NULL), 0);
}
END_TEST

/* ---- an application thread that reaps everything ------------------------- */

typedef struct {
  pid_t sacrifice; /* the test's own long-lived child */
  int sacrifice_status;
  int reaped; /* children other than the sacrifice this thread reaped */
} reaper_t;

/* reaper waits for any child until it gets the sacrifice, as a careless
 * application's SIGCHLD handling would. */
static void *reaper_main(void *arg) {
  reaper_t *r = arg;

  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, 0);

    if (pid < 0 && errno == EINTR)
      continue;
    if (pid < 0)
      break;
    if (pid == r->sacrifice) {
      r->sacrifice_status = st;
      break;
    }
    __atomic_add_fetch(&r->reaped, 1, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

/* 100 starts while another thread reaps whatever exits: every start
 * succeeds (none answers UV_ESRCH for a program that ran), every done
 * status is the real one (or UVEXEC_ECHILD, where the kernel keeps no
 * status for a pidfd, for exactly those the thread reaped), and nothing
 * uvexec sends reaches the test's own child, which must still be alive
 * and end only when its stdin closes. */
START_TEST(test_foreign_reaper_thread) {
  int sync[2], i, lost = 0, seen = 0;
  pthread_t thread;
  reaper_t r;

  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(pipe2(sync, O_CLOEXEC), 0);
  r.sacrifice = fork();
  ck_assert_int_ge(r.sacrifice, 0);
  if (r.sacrifice == 0) {
    char c;

    close(sync[1]);
    /* Ends at end of file on its stdin, and only then. */
    while (read(sync[0], &c, 1) < 0 && errno == EINTR)
      ;
    _exit(0);
  }
  close(sync[0]);
  ck_assert_int_eq(pthread_create(&thread, NULL, reaper_main, &r), 0);

  for (i = 0; i < 100; i++) {
    probe_t p;

    probe_init(&p, helper_cmd("exit", "7", NULL));
    probe_start(&p);
    probe_wait(&p);
    ck_assert_int_eq(p.done_calls, 1);
    if (p.status == UVEXEC_ECHILD) {
      lost++;
    } else {
      ck_assert_int_eq(p.status, UVEXEC_EEXIT);
      ck_assert_int_eq(uvexec_exit_code(p.cmd), 7);
      seen++;
    }
    probe_free(&p);
  }
  ck_assert_int_eq(lost + seen, 100);
  /* The clone engine holds the pidfd from the child's birth; uv_spawn's
   * child may be reaped before uvexec can open one. */
  if (keeps_exit() && !on_uv_engine())
    ck_assert_int_eq(lost, 0);

  /* Alive and unsignalled: it ends with status 0 at end of file. */
  ck_assert_int_eq(kill(r.sacrifice, 0), 0);
  close(sync[1]);
  ck_assert_int_eq(pthread_join(thread, NULL), 0);
  ck_assert_msg(WIFEXITED(r.sacrifice_status) &&
                    WEXITSTATUS(r.sacrifice_status) == 0,
                "the test's own child was disturbed (status 0x%x)",
                r.sacrifice_status);
  if (!keeps_exit())
    ck_assert_int_eq(r.reaped, lost);
  else
    ck_assert_int_le(lost, r.reaped);
}
END_TEST

/* ---- running out of fds --------------------------------------------------- */

/* A start that cannot have the fds it needs fails with UV_EMFILE and
 * leaves nothing; once fds are back, the same engine starts again (it
 * is not switched off for the life of the process). */
START_TEST(test_emfile_then_recover) {
  struct rlimit saved, tight;
  uvexec_rusage_t usage;
  uvexec_cmd_t *cmd;
  probe_t p;
  int err, fds_before = count_open_fds();

  ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
  tight = saved;
  tight.rlim_cur = (rlim_t)fds_before + 3;
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);

  cmd = helper_cmd("echo", "x", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  err = uvexec_start(cmd, test_loop, NULL);
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ck_assert_msg(err == UV_EMFILE, "start with no fds to spare: %s",
                uvexec_err_name(err));
  ck_assert_ptr_nonnull(uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(count_open_fds(), fds_before);

  probe_init(&p, helper_cmd("exit", "0", NULL));
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  /* Resource usage comes from the pidfd engines only. */
  ck_assert_int_eq(uvexec_rusage(p.cmd, &usage),
                   on_uv_engine() ? UV_ENOTSUP : 0);
  probe_free(&p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("reap");

  if (have_pidfd()) {
    if (!keeps_exit())
      fprintf(stderr, "reap: this kernel keeps no exit status for a pidfd "
                      "(before Linux 6.15): a foreign reap is UVEXEC_ECHILD, "
                      "and the signal case is not run\n");
    ADD_TEST(s, test_reaped_by_application);
    if (keeps_exit())
      ADD_TEST(s, test_reaped_by_application_signal_kept);
    ADD_TEST(s, test_reaped_by_application_output_kept);
    ADD_TEST(s, test_sigchld_ignored);
    ADD_TEST(s, test_foreign_reaper_thread);
  } else {
    fprintf(stderr, "reap: no pidfd in this process (valgrind?): the "
                    "foreign-reaper cases are not run\n");
  }
  /* valgrind keeps fds of its own and answers setrlimit(RLIMIT_NOFILE)
   * for the program itself: a tight limit is not what it seems there. */
  if (!under_valgrind())
    ADD_TEST(s, test_emfile_then_recover);
  else
    fprintf(stderr, "reap: under valgrind, the fd-limit case is not run\n");
  return run_suite(s);
}
