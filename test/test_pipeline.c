/* SPDX-License-Identifier: MIT */
/* Pipelines: data through 2 to 5 members and more than a pipe's buffer at
 * every joint, the policies and the SIGPIPE rule, each member's status,
 * the error text, a member that cannot start at each position, timeout,
 * cancel and free reaching every member (and, through the process group
 * on the default engine, what they started), and nothing left behind. */
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

#define KIB 1024
#define MAX_MEMBERS 8

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* no_group tells whether this run's members start through an engine that
 * cannot put them in one process group (the uv_spawn engine, forced by
 * UVEXEC_ENGINE=uv or chosen where there is no pidfd, as under valgrind):
 * the pipeline then signals them one by one, which does not reach what
 * they started, and there is no rusage either. */
static int no_group(void) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  int can = uvexec__engine_can_group(cmd);
  uvexec_cmd_free(cmd);
  return !can;
}

/* ---- what the pipeline's callbacks saw ----------------------------------- */

typedef struct {
  int done_calls;
  int status;
  int free_in_done;
  uvexec_pipeline_t *p; /* NULL once freed by the test */
} pl_probe_t;

static void pl_done(uvexec_pipeline_t *p, int status) {
  pl_probe_t *pr = uvexec_pipeline_data(p);
  ck_assert_ptr_nonnull(pr);
  ck_assert_msg(pr->p == p, "a done callback after the pipeline was freed");
  pr->done_calls++;
  pr->status = status;
  if (pr->free_in_done) {
    uvexec_pipeline_free(p);
    pr->p = NULL;
  }
}

static void pl_start(pl_probe_t *pr, uvexec_pipeline_t *p) {
  int rc;
  memset(pr, 0, sizeof *pr);
  pr->p = p;
  uvexec_pipeline_set_data(p, pr);
  rc = uvexec_pipeline_start(p, test_loop, pl_done);
  ck_assert_msg(rc == 0, "uvexec_pipeline_start gave %s: %s",
                uvexec_err_name(rc),
                uvexec_pipeline_error(p) ? uvexec_pipeline_error(p) : "-");
}

static void pl_wait(pl_probe_t *pr) {
  run_loop_until(test_loop, &pr->done_calls, TEST_TIMEOUT_MS);
  ck_assert_int_eq(pr->done_calls, 1);
}

/* label is how messages name a helper member: its argv joined. */
static char *label(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *label(const char *fmt, ...) {
  static char bufs[4][1024];
  static int next;
  char *buf = bufs[next++ % 4];
  char tail[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tail, sizeof tail, fmt, ap);
  va_end(ap);
  snprintf(buf, sizeof bufs[0], "%s %s", helper_path(), tail);
  return buf;
}

static void check_pattern(const char *data, size_t len, size_t want) {
  size_t k;
  ck_assert_ptr_nonnull(data);
  ck_assert_msg(len == want, "got %zu bytes, expected %zu", len, want);
  for (k = 0; k < len; k++)
    if ((unsigned char)data[k] != (unsigned char)(k % 251))
      ck_abort_msg("byte %zu is %d, expected %d", k, (unsigned char)data[k],
                   (int)(k % 251));
}

/* warm_fd_count runs one child on test_loop to its end, so that what the
 * loop opens once, lazily (libuv's child-signal pipe), is open already,
 * and answers the fd count then: the count to come back to. */
static int warm_fd_count(void) {
  probe_t warm;
  probe_init(&warm, helper_cmd("exit", "0", NULL));
  probe_start(&warm);
  probe_wait(&warm);
  probe_free(&warm);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  return count_open_fds();
}

/* close_on_exec_inherited marks close-on-exec the fds above 2 that this
 * process holds without it (the test runner's own): they are not uvexec's
 * to leak, and hiding them lets a member prove it gets 0, 1, 2 alone.
 * Returns how many were marked, listed in marked[]. */
static int close_on_exec_inherited(int *marked, int max) {
  int fd, n = 0;
  for (fd = 3; fd < 1024 && n < max; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC) &&
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0)
      marked[n++] = fd;
  }
  return n;
}

static void restore_inherited(const int *marked, int n) {
  int i;
  for (i = 0; i < n; i++)
    fcntl(marked[i], F_SETFD, fcntl(marked[i], F_GETFD) & ~FD_CLOEXEC);
}

/* ---- data through the joints --------------------------------------------- */

/* pattern | cat | ... | cat, the last one captured: every byte through
 * every joint, in order, with far more than a pipe's 64 KiB buffer. */
static void run_cats(int members, size_t bytes) {
  uvexec_cmd_t *cmds[MAX_MEMBERS];
  char count[32];
  uvexec_pipeline_t *p;
  pl_probe_t pr;
  const char *data;
  size_t len = 0;
  int i;

  snprintf(count, sizeof count, "%zu", bytes);
  cmds[0] = helper_cmd("pattern", count, NULL);
  for (i = 1; i < members; i++)
    cmds[i] = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(cmds[members - 1], UVEXEC_CAPTURE), 0);
  p = uvexec_pipeline_cmds(cmds, (size_t)members);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(uvexec_pipeline_len(p), (size_t)members);
  for (i = 0; i < members; i++)
    ck_assert_ptr_eq(uvexec_pipeline_cmd(p, (size_t)i), cmds[i]);
  ck_assert_ptr_null(uvexec_pipeline_cmd(p, (size_t)members));

  pl_start(&pr, p);
  pl_wait(&pr);
  ck_assert_msg(pr.status == 0, "status %s: %s", uvexec_err_name(pr.status),
                uvexec_pipeline_error(p));
  ck_assert_ptr_null(uvexec_pipeline_error(p));
  data = uvexec_stdout_data(cmds[members - 1], &len);
  check_pattern(data, len, bytes);
  for (i = 0; i < members; i++) {
    ck_assert_int_eq(uvexec_exit_code(cmds[i]), 0);
    /* Only the last member's stdout was the parent's to read. */
    if (i < members - 1)
      ck_assert_ptr_null(uvexec_stdout_data(cmds[i], NULL));
  }
  uvexec_pipeline_free(p);
}

START_TEST(test_two_members) {
  run_cats(2, 300 * KIB);
}
END_TEST

START_TEST(test_three_members) {
  run_cats(3, 300 * KIB);
}
END_TEST

START_TEST(test_five_members) {
  run_cats(5, 2 * 1024 * KIB + 17);
}
END_TEST

/* The first member's stdin and the last's stdout are the caller's to
 * set: a buffer in, a callback out. */
START_TEST(test_stdin_buffer_and_stdout_callback) {
  uvexec_cmd_t *a = helper_cmd("cat", NULL);
  uvexec_cmd_t *b = helper_cmd("cat", NULL);
  uvexec_pipeline_t *p;
  probe_t seen;
  pl_probe_t pr;

  ck_assert_int_eq(uvexec_cmd_set_stdin(a, "hello pipes\n", 12), 0);
  p = uvexec_pipeline(a, b, NULL);
  ck_assert_ptr_nonnull(p);
  /* The caller's data pointer on a member stays the caller's. */
  probe_init(&seen, b);
  probe_watch_stdout(&seen);
  pl_start(&pr, p);
  pl_wait(&pr);
  ck_assert_int_eq(pr.status, 0);
  ck_assert_str_eq(seen.out.data, "hello pipes\n");
  ck_assert_int_eq(seen.out_eof, 1);
  ck_assert_ptr_eq(uvexec_cmd_data(b), &seen);
  seen.cmd = NULL; /* the pipeline frees it */
  probe_free(&seen);
  uvexec_pipeline_free(p);
}
END_TEST

/* A middle member that checks its input, with 1 MiB through each of the
 * three joints; and UVEXEC_MERGE on a member: `a 2>&1 | b`. */
START_TEST(test_check_in_the_middle_and_merge) {
  uvexec_cmd_t *a = helper_cmd("pattern", "1048576", NULL);
  uvexec_cmd_t *b = helper_cmd("cat", NULL);
  uvexec_cmd_t *c = helper_cmd("check-pattern", NULL);
  uvexec_cmd_t *d = helper_cmd("cat", NULL);
  uvexec_pipeline_t *p = uvexec_pipeline(a, b, c, d, NULL);
  pl_probe_t pr;

  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(uvexec_cmd_stdout(d, UVEXEC_CAPTURE), 0);
  pl_start(&pr, p);
  pl_wait(&pr);
  ck_assert_int_eq(pr.status, 0);
  assert_stdout(d, "ok 1048576\n");
  uvexec_pipeline_free(p);

  a = helper_cmd("interleave", "2", NULL);
  b = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_stderr(a, UVEXEC_MERGE), 0);
  p = uvexec_pipeline(a, b, NULL);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(uvexec_pipeline_output(p), 0);
  assert_stdout(b, "out 0\nerr 0\nout 1\nerr 1\n");
  uvexec_pipeline_free(p);
}
END_TEST

/* ---- the synchronous facade -----------------------------------------------
 */

START_TEST(test_output_and_run) {
  uvexec_cmd_t *a = helper_cmd("echo", "one", "two", NULL);
  uvexec_cmd_t *b = helper_cmd("cat", NULL);
  uvexec_cmd_t *c = helper_cmd("stdin-count", NULL);
  uvexec_pipeline_t *p = uvexec_pipeline(a, b, c, NULL);

  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(uvexec_pipeline_output(p), 0);
  assert_stdout(c, "8\n");
  /* Unset stderrs were captured for the report: here they are empty. */
  assert_stderr(a, "");
  ck_assert_int_eq(uvexec_pipeline_output(p), UV_EALREADY);
  ck_assert_int_eq(uvexec_pipeline_run(p), UV_EALREADY);
  ck_assert_int_eq(uvexec_pipeline_set_policy(p, UVEXEC_PIPE_LAST), UV_EBUSY);
  uvexec_pipeline_free(p);

  /* Run, with stderr captured by hand, and a failure to report. */
  a = helper_cmd("die", "4", "no input today", NULL);
  b = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_stderr(a, UVEXEC_CAPTURE), 0);
  p = uvexec_pipeline(a, b, NULL);
  ck_assert_int_eq(uvexec_pipeline_run(p), UVEXEC_EPIPELINE);
  assert_stderr(a, "no input today\n");
  uvexec_pipeline_free(p);

  /* The last member's stdout may not be sent elsewhere for _output. */
  a = helper_cmd("echo", "x", NULL);
  b = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(b, UVEXEC_INHERIT), 0);
  p = uvexec_pipeline(a, b, NULL);
  ck_assert_int_eq(uvexec_pipeline_output(p), UV_EINVAL);
  ck_assert_str_eq(uvexec_pipeline_error(p), "exec: Stdout already set");
  uvexec_pipeline_free(p);
}
END_TEST

/* ---- policies, the SIGPIPE rule, per-member status ------------------------
 */

static int run_policy(uvexec_cmd_t **cmds, size_t n, uvexec_pipe_policy_t how,
                      uvexec_pipeline_t **out) {
  uvexec_pipeline_t *p = uvexec_pipeline_cmds(cmds, n);
  pl_probe_t pr;

  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(uvexec_pipeline_set_policy(p, how), 0);
  pl_start(&pr, p);
  pl_wait(&pr);
  *out = p;
  return pr.status;
}

/* Members that write nothing, so that no SIGPIPE can come into it. */
START_TEST(test_policies) {
  static const uvexec_pipe_policy_t all[] = {UVEXEC_PIPE_FAIL, UVEXEC_PIPE_LAST,
                                             UVEXEC_PIPE_ALL};
  char want[3072];
  size_t k;

  for (k = 0; k < 3; k++) {
    uvexec_cmd_t *cmds[3];
    uvexec_pipeline_t *p;
    int status;

    /* A failing middle member. */
    cmds[0] = helper_cmd("exit", "0", NULL);
    cmds[1] = helper_cmd("exit", "3", NULL);
    cmds[2] = helper_cmd("cat", NULL);
    status = run_policy(cmds, 3, all[k], &p);
    if (all[k] == UVEXEC_PIPE_LAST) {
      ck_assert_int_eq(status, 0);
      ck_assert_ptr_null(uvexec_pipeline_error(p));
    } else {
      ck_assert_int_eq(status, UVEXEC_EPIPELINE);
      snprintf(want, sizeof want, "pipeline: 2 \"%s\": exit status 3",
               label("exit 3"));
      ck_assert_str_eq(uvexec_pipeline_error(p), want);
    }
    ck_assert_int_eq(uvexec_exit_code(cmds[1]), 3);
    uvexec_pipeline_free(p);

    /* Two failures, first and last: every one is named, in order. */
    cmds[0] = helper_cmd("exit", "1", NULL);
    cmds[1] = helper_cmd("cat", NULL);
    cmds[2] = helper_cmd("kill-self", "15", NULL);
    status = run_policy(cmds, 3, all[k], &p);
    ck_assert_int_eq(status, UVEXEC_EPIPELINE);
    if (all[k] == UVEXEC_PIPE_LAST)
      snprintf(want, sizeof want, "pipeline: 3 \"%s\": signal: terminated",
               label("kill-self 15"));
    else
      snprintf(want, sizeof want,
               "pipeline: 1 \"%s\": exit status 1; "
               "3 \"%s\": signal: terminated",
               label("exit 1"), label("kill-self 15"));
    ck_assert_str_eq(uvexec_pipeline_error(p), want);
    uvexec_pipeline_free(p);

    /* Nothing failed. */
    cmds[0] = helper_cmd("echo", "fine", NULL);
    cmds[1] = helper_cmd("cat", NULL);
    status = run_policy(cmds, 2, all[k], &p);
    ck_assert_int_eq(status, 0);
    ck_assert_ptr_null(uvexec_pipeline_error(p));
    uvexec_pipeline_free(p);
  }
}
END_TEST

/* `yes | head -1` succeeds under every policy, and so does a chain of
 * readers that went away one after the other; but a writer whose reader
 * failed is a failure of its own. */
START_TEST(test_sigpipe_rule) {
  static const uvexec_pipe_policy_t all[] = {UVEXEC_PIPE_FAIL, UVEXEC_PIPE_LAST,
                                             UVEXEC_PIPE_ALL};
  char want[3072];
  size_t k;

  for (k = 0; k < 3; k++) {
    uvexec_cmd_t *cmds[3];
    uvexec_pipeline_t *p;
    int status;

    cmds[0] = uvexec_command("yes", NULL);
    cmds[1] = uvexec_command("head", "-n", "1", NULL);
    ck_assert_int_eq(uvexec_cmd_stdout(cmds[1], UVEXEC_CAPTURE), 0);
    status = run_policy(cmds, 2, all[k], &p);
    ck_assert_msg(status == 0, "yes | head -1: %s", uvexec_pipeline_error(p));
    ck_assert_int_eq(uvexec_term_signal(cmds[0]), SIGPIPE);
    assert_stdout(cmds[1], "y\n");
    uvexec_pipeline_free(p);

    /* pattern | cat | read-n: read-n leaves, cat and then pattern lose
     * their readers; both are excused through read-n's success. */
    cmds[0] = helper_cmd("pattern", "100000000", NULL);
    cmds[1] = helper_cmd("cat", NULL);
    cmds[2] = helper_cmd("read-n", "1000", NULL);
    status = run_policy(cmds, 3, all[k], &p);
    ck_assert_msg(status == 0, "pattern | cat | read-n: %s",
                  uvexec_pipeline_error(p));
    ck_assert_int_eq(uvexec_term_signal(cmds[0]), SIGPIPE);
    ck_assert_int_eq(uvexec_term_signal(cmds[1]), SIGPIPE);
    uvexec_pipeline_free(p);

    /* yes | exit 1: the reader failed, so yes's SIGPIPE counts too. */
    cmds[0] = uvexec_command("yes", NULL);
    cmds[1] = helper_cmd("exit", "1", NULL);
    status = run_policy(cmds, 2, all[k], &p);
    ck_assert_int_eq(status, UVEXEC_EPIPELINE);
    ck_assert_int_eq(uvexec_term_signal(cmds[0]), SIGPIPE);
    if (all[k] == UVEXEC_PIPE_LAST)
      snprintf(want, sizeof want, "pipeline: 2 \"%s\": exit status 1",
               label("exit 1"));
    else
      snprintf(want, sizeof want,
               "pipeline: 1 \"yes\": signal: broken pipe; "
               "2 \"%s\": exit status 1",
               label("exit 1"));
    ck_assert_str_eq(uvexec_pipeline_error(p), want);
    uvexec_pipeline_free(p);
  }
}
END_TEST

/* Every member's result stays readable, as bash's PIPESTATUS. */
START_TEST(test_pipestatus) {
  uvexec_cmd_t *a = helper_cmd("die", "0", "first here", NULL);
  uvexec_cmd_t *b = helper_cmd("die", "3", "second failed", NULL);
  uvexec_cmd_t *c = helper_cmd("kill-self", "9", NULL);
  uvexec_pipeline_t *p = uvexec_pipeline(a, b, c, NULL);
  uvexec_rusage_t ru;
  pl_probe_t pr;
  size_t i;

  ck_assert_ptr_nonnull(p);
  for (i = 0; i < 2; i++)
    ck_assert_int_eq(
        uvexec_cmd_stderr(uvexec_pipeline_cmd(p, i), UVEXEC_CAPTURE), 0);
  pl_start(&pr, p);
  ck_assert_int_gt(uvexec_pid(a), 0);
  ck_assert_int_gt(uvexec_pid(c), 0);
  pl_wait(&pr);
  ck_assert_int_eq(pr.status, UVEXEC_EPIPELINE);
  ck_assert_int_eq(uvexec_exit_code(a), 0);
  ck_assert_int_eq(uvexec_exit_code(b), 3);
  ck_assert_int_eq(uvexec_exit_code(c), -1);
  ck_assert_int_eq(uvexec_term_signal(a), 0);
  ck_assert_int_eq(uvexec_term_signal(c), SIGKILL);
  ck_assert_ptr_null(uvexec_cmd_error(a));
  ck_assert_str_eq(uvexec_cmd_error(b), "exit status 3");
  ck_assert_str_eq(uvexec_cmd_error(c), "signal: killed");
  assert_stderr(a, "first here\n");
  assert_stderr(b, "second failed\n");
  if (no_group())
    ck_assert_int_eq(uvexec_rusage(b, &ru), UV_ENOTSUP);
  else
    ck_assert_int_eq(uvexec_rusage(b, &ru), 0);
  uvexec_pipeline_free(p);
}
END_TEST

/* ---- creation and state ---------------------------------------------------
 */

START_TEST(test_refused_at_creation) {
  uvexec_cmd_t *a = helper_cmd("echo", "x", NULL);
  uvexec_cmd_t *b = helper_cmd("cat", NULL);
  uvexec_cmd_t *c = helper_cmd("cat", NULL);
  uvexec_cmd_t *list[3];
  probe_t started;
  int fd;

  ck_assert_ptr_null(uvexec_pipeline(NULL));
  ck_assert_ptr_null(uvexec_pipeline_cmds(NULL, 2));
  list[0] = a;
  ck_assert_ptr_null(uvexec_pipeline_cmds(list, 0));
  /* The same cmd twice. */
  ck_assert_ptr_null(uvexec_pipeline(a, b, a, NULL));

  /* A middle member's stdout, then its stdin, then the first's stdout. */
  ck_assert_int_eq(uvexec_cmd_stdout(b, UVEXEC_CAPTURE), 0);
  ck_assert_ptr_null(uvexec_pipeline(a, b, c, NULL));
  uvexec_cmd_free(b);
  b = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(b), 0);
  ck_assert_ptr_null(uvexec_pipeline(a, b, c, NULL));
  uvexec_cmd_free(b);
  b = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(a, probe_stdout_cb), 0);
  ck_assert_ptr_null(uvexec_pipeline(a, b, NULL));
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(a, NULL), 0);
  /* The last one's stdin was fed. */
  ck_assert_int_eq(uvexec_cmd_set_stdin(c, "x", 1), 0);
  ck_assert_ptr_null(uvexec_pipeline(a, b, c, NULL));

  /* A cmd already started. */
  probe_init(&started, helper_cmd("exit", "0", NULL));
  probe_start(&started);
  ck_assert_ptr_null(uvexec_pipeline(a, started.cmd, NULL));
  probe_wait(&started);
  probe_free(&started);

  /* The refused cmds are still the caller's: they work on their own. */
  fd = count_open_fds();
  ck_assert_int_eq(uvexec_cmd_stdout(a, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_output(a), 0);
  assert_stdout(a, "x\n");
  ck_assert_int_eq(count_open_fds(), fd);
  uvexec_cmd_free(a);
  uvexec_cmd_free(b);
  uvexec_cmd_free(c);
}
END_TEST

START_TEST(test_state_guards) {
  uvexec_cmd_t *a = helper_cmd("sleep", "10000", NULL);
  uvexec_cmd_t *b = helper_cmd("cat", NULL);
  uvexec_pipeline_t *p = uvexec_pipeline(a, b, NULL), *q;
  pl_probe_t pr;

  ck_assert_ptr_nonnull(p);
  /* A member belongs to one pipeline. */
  q = uvexec_pipeline(a, NULL);
  ck_assert_ptr_null(q);
  ck_assert_int_eq(uvexec_pipeline_set_policy(p, (uvexec_pipe_policy_t)7),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_pipeline_set_cancel_signal(p, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_pipeline_cancel(p), UV_EINVAL);
  ck_assert_int_eq(uvexec_pipeline_start(NULL, test_loop, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_pipeline_start(p, NULL, NULL), UV_EINVAL);

  /* A joined stream configured after the creation is refused at start. */
  ck_assert_int_eq(uvexec_cmd_stdout(a, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_pipeline_start(p, test_loop, pl_done), UV_EINVAL);
  ck_assert_ptr_nonnull(strstr(uvexec_pipeline_error(p), "pipeline: 1 \""));
  ck_assert_int_eq(uvexec_cmd_stdout(a, UVEXEC_NULL), 0);

  pl_start(&pr, p);
  ck_assert_int_eq(uvexec_pipeline_start(p, test_loop, pl_done), UV_EALREADY);
  ck_assert_int_eq(uvexec_pipeline_set_timeout(p, 5), UV_EBUSY);
  ck_assert_int_eq(uvexec_pipeline_cancel(p), 0);
  ck_assert_int_eq(uvexec_pipeline_cancel(p), 0);
  pl_wait(&pr);
  ck_assert_int_eq(pr.status, UV_ECANCELED);
  ck_assert_str_eq(uvexec_pipeline_error(p), "pipeline: context canceled");
  ck_assert_int_eq(uvexec_pipeline_cancel(p), 0);
  ck_assert_uint_eq(uvexec_pipeline_len(NULL), 0);
  ck_assert_ptr_null(uvexec_pipeline_cmd(NULL, 0));
  ck_assert_ptr_null(uvexec_pipeline_error(NULL));
  uvexec_pipeline_free(p);
  uvexec_pipeline_free(NULL);
}
END_TEST

/* ---- a member that cannot start -------------------------------------------
 */

/* make_noexec writes an executable file the kernel cannot run: it passes
 * every check before the spawn, and fails only in the spawn itself. */
static char *make_noexec(char **dir) {
  static char path[4096];
  int fd;

  *dir = make_temp_dir();
  snprintf(path, sizeof path, "%s/noexec", *dir);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "\x01\x02 not a program\n", 18), 18);
  close(fd);
  return path;
}

/* build_with_bad puts a bad member at position bad of three long-running
 * ones (so that members started before it would run on if not undone). */
static uvexec_pipeline_t *build_with_bad(int bad, uvexec_cmd_t *bad_cmd,
                                         uvexec_cmd_t **cmds) {
  int i;
  for (i = 0; i < 3; i++) {
    if (i == bad)
      cmds[i] = bad_cmd;
    else if (i == 0)
      cmds[i] = helper_cmd("sleep", "10000", NULL);
    else
      cmds[i] = helper_cmd("cat", NULL);
    if (i != bad)
      ck_assert_int_eq(uvexec_cmd_stderr(cmds[i], UVEXEC_CAPTURE), 0);
  }
  return uvexec_pipeline_cmds(cmds, 3);
}

START_TEST(test_missing_member_each_position) {
  int base = warm_fd_count();
  int bad;

  for (bad = 0; bad < 3; bad++) {
    uvexec_cmd_t *cmds[3];
    uvexec_pipeline_t *p = build_with_bad(
        bad, uvexec_command("uvexec-no-such-program", "-x", NULL), cmds);
    pl_probe_t pr;
    char want[512];
    int rc, i;

    ck_assert_ptr_nonnull(p);
    memset(&pr, 0, sizeof pr);
    pr.p = p;
    uvexec_pipeline_set_data(p, &pr);
    rc = uvexec_pipeline_start(p, test_loop, pl_done);
    ck_assert_int_eq(rc, UV_ENOENT);
    snprintf(want, sizeof want,
             "pipeline: %d \"uvexec-no-such-program -x\": exec: "
             "\"uvexec-no-such-program\": executable file not found in $PATH",
             bad + 1);
    ck_assert_str_eq(uvexec_pipeline_error(p), want);
    /* Nothing was started at all: it was found out before any spawn. */
    for (i = 0; i < 3; i++)
      ck_assert_int_eq(uvexec_pid(cmds[i]), UV_ESRCH);
    ck_assert_int_eq(uvexec_pipeline_start(p, test_loop, pl_done), UV_EALREADY);
    ck_assert_int_eq(uvexec_pipeline_cancel(p), UV_EINVAL);
    ck_assert_int_eq(count_open_fds(), base);
    assert_no_zombies();
    run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
    ck_assert_int_eq(pr.done_calls, 0);
    uvexec_pipeline_free(p);
  }
}
END_TEST

/* A member that fails in the spawn itself, after the ones before it
 * started: they are killed and reaped, no callback fires, nothing is
 * left (the fixture checks fds and children once the loop is idle). */
START_TEST(test_spawn_failure_each_position) {
  char *dir, *path = make_noexec(&dir);
  int base = warm_fd_count();
  int bad;

  for (bad = 0; bad < 3; bad++) {
    uvexec_cmd_t *cmds[3];
    uvexec_pipeline_t *p =
        build_with_bad(bad, uvexec_command(path, NULL), cmds);
    pl_probe_t pr;
    char want[8192];
    int rc, i;

    ck_assert_ptr_nonnull(p);
    memset(&pr, 0, sizeof pr);
    pr.p = p;
    uvexec_pipeline_set_data(p, &pr);
    rc = uvexec_pipeline_start(p, test_loop, pl_done);
    ck_assert_int_eq(rc, UVEXEC_ENOEXEC);
    snprintf(want, sizeof want,
             "pipeline: %d \"%s\": fork/exec %s: exec format error", bad + 1,
             path, path);
    ck_assert_str_eq(uvexec_pipeline_error(p), want);
    for (i = 0; i < bad; i++)
      ck_assert_int_gt(uvexec_pid(cmds[i]), 0);
    run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
    ck_assert_int_eq(pr.done_calls, 0);
    /* The started ones were killed, not left to finish. */
    for (i = 0; i < bad; i++)
      ck_assert_msg(uvexec_term_signal(cmds[i]) == SIGKILL,
                    "member %d of 3 (bad: %d) ended with signal %d, exit "
                    "code %d: %s",
                    i + 1, bad + 1, uvexec_term_signal(cmds[i]),
                    uvexec_exit_code(cmds[i]), uvexec_cmd_error(cmds[i]));
    ck_assert_int_eq(count_open_fds(), base);
    assert_no_zombies();
    uvexec_pipeline_free(p);
  }
  remove_tree(dir);
  free(dir);
}
END_TEST

/* The synchronous form of the same: the error comes back, nothing stays. */
START_TEST(test_run_spawn_failure) {
  char *dir, *path = make_noexec(&dir);
  int base = count_open_fds(); /* the private loop closes all it opened */
  uvexec_cmd_t *a = helper_cmd("sleep", "10000", NULL);
  uvexec_cmd_t *b = uvexec_command(path, NULL);
  uvexec_pipeline_t *p = uvexec_pipeline(a, b, NULL);

  ck_assert_int_eq(uvexec_pipeline_run(p), UVEXEC_ENOEXEC);
  ck_assert_int_eq(uvexec_term_signal(a), SIGKILL);
  ck_assert_int_eq(count_open_fds(), base);
  assert_no_zombies();
  uvexec_pipeline_free(p);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* ---- one process group ----------------------------------------------------
 */

START_TEST(test_one_process_group) {
  uvexec_cmd_t *cmds[3];
  uvexec_pipeline_t *p;
  pl_probe_t pr;
  pid_t leader;
  int i;

  for (i = 0; i < 3; i++) {
    cmds[i] = helper_cmd("pgid-cat", NULL);
    ck_assert_int_eq(uvexec_cmd_stderr(cmds[i], UVEXEC_CAPTURE), 0);
  }
  p = uvexec_pipeline_cmds(cmds, 3);
  pl_start(&pr, p);
  leader = uvexec_pid(cmds[0]);
  pl_wait(&pr);
  ck_assert_int_eq(pr.status, 0);
  for (i = 0; i < 3; i++) {
    long pgid = strtol(uvexec_stderr_data(cmds[i], NULL), NULL, 10);
    if (no_group())
      ck_assert_int_eq(pgid, getpgrp()); /* no group can be set there */
    else
      ck_assert_int_eq(pgid, leader);
  }
  uvexec_pipeline_free(p);

  /* In new sessions: each member leads its own. */
  for (i = 0; i < 3; i++) {
    cmds[i] = helper_cmd("pgid-cat", NULL);
    ck_assert_int_eq(uvexec_cmd_stderr(cmds[i], UVEXEC_CAPTURE), 0);
  }
  p = uvexec_pipeline_cmds(cmds, 3);
  ck_assert_int_eq(uvexec_pipeline_set_new_session(p, 1), 0);
  pl_start(&pr, p);
  pl_wait(&pr);
  ck_assert_int_eq(pr.status, 0);
  for (i = 0; i < 3; i++)
    ck_assert_int_eq(strtol(uvexec_stderr_data(cmds[i], NULL), NULL, 10),
                     uvexec_pid(cmds[i]));
  uvexec_pipeline_free(p);
}
END_TEST

/* ---- timeout, cancel, free ------------------------------------------------
 */

static pid_t grandchild;
static int grandchild_seen;

static void on_grandchild_line(uvexec_cmd_t *cmd, const char *data,
                               size_t len) {
  char buf[32];
  (void)cmd;
  if (len == 0 || len >= sizeof buf)
    return;
  memcpy(buf, data, len);
  buf[len] = '\0';
  grandchild = (pid_t)strtol(buf, NULL, 10);
  grandchild_seen = 1;
}

/* gone_within waits until pid no longer exists: it is not our child (its
 * shell was), so this polls an observable fact with a generous bound. */
static int gone_within(pid_t pid, uint64_t ms) {
  const struct timespec step = {0, 10 * 1000 * 1000};
  uint64_t end = now_ms() + ms;
  while (now_ms() < end) {
    if (kill(pid, 0) != 0 && errno == ESRCH)
      return 1;
    nanosleep(&step, NULL);
  }
  return 0;
}

/* three members: the first one done at once, the middle one a shell whose
 * background sleep holds the shell's stderr. Once the first member (the
 * group's leader) is gone, only the pipeline's own signal to the group
 * can reach that sleep. */
static uvexec_pipeline_t *tree_pipeline(uvexec_cmd_t **cmds) {
  cmds[0] = helper_cmd("echo", "first", NULL);
  cmds[1] = uvexec_command("sh", "-c",
                           "sleep 600 & echo $! >&2; exec sleep 600", NULL);
  cmds[2] = helper_cmd("cat", NULL);
  ck_assert_ptr_nonnull(cmds[1]);
  ck_assert_int_eq(uvexec_cmd_on_stderr_line(cmds[1], on_grandchild_line), 0);
  grandchild = 0;
  grandchild_seen = 0;
  return uvexec_pipeline_cmds(cmds, 3);
}

/* wait_ready runs the loop until the grandchild is known and the first
 * member's exit was seen. */
static void wait_ready(uvexec_cmd_t **cmds) {
  uint64_t end = now_ms() + TEST_TIMEOUT_MS;
  run_loop_until(test_loop, &grandchild_seen, TEST_TIMEOUT_MS);
  while (uvexec_exit_code(cmds[0]) == UV_EBUSY) {
    ck_assert_msg(now_ms() < end, "the first member never exited");
    uv_run(test_loop, UV_RUN_ONCE);
  }
}

static void check_tree_gone(void) {
  int gone;
  if (no_group()) {
    /* Without a group the grandchild is not reached: tidy it away. */
    if (grandchild > 1)
      kill(grandchild, SIGKILL);
    return;
  }
  /* Killed, it is gone as soon as init reaps it; its own sleep is far
   * longer than this bound. */
  gone = gone_within(grandchild, 20000);
  if (!gone)
    kill(grandchild, SIGKILL);
  ck_assert_msg(gone, "the grandchild %ld outlived the pipeline's stop",
                (long)grandchild);
}

START_TEST(test_timeout_reaches_all) {
  uvexec_cmd_t *cmds[3];
  uvexec_pipeline_t *p = tree_pipeline(cmds);
  pl_probe_t pr;
  uint64_t t0 = now_ms();
  int i;

  ck_assert_int_eq(uvexec_pipeline_set_timeout(p, 2000), 0);
  pl_start(&pr, p);
  wait_ready(cmds);
  ck_assert_int_eq(pr.done_calls, 0);
  pl_wait(&pr);
  ck_assert_int_eq(pr.status, UV_ETIMEDOUT);
  ck_assert_str_eq(uvexec_pipeline_error(p),
                   "pipeline: context deadline exceeded");
  ck_assert_msg(now_ms() - t0 < 20000, "the 2 s timeout took %llu ms",
                (unsigned long long)(now_ms() - t0));
  ck_assert_int_eq(uvexec_exit_code(cmds[0]), 0);
  for (i = 1; i < 3; i++) {
    ck_assert_int_eq(uvexec_term_signal(cmds[i]), SIGKILL);
    ck_assert_str_eq(uvexec_cmd_error(cmds[i]), "context deadline exceeded");
  }
  check_tree_gone();
  uvexec_pipeline_free(p);
}
END_TEST

START_TEST(test_cancel_reaches_all) {
  uvexec_cmd_t *cmds[3];
  uvexec_pipeline_t *p = tree_pipeline(cmds);
  pl_probe_t pr;
  int i;

  ck_assert_int_eq(uvexec_pipeline_set_cancel_signal(p, SIGTERM), 0);
  ck_assert_int_eq(uvexec_pipeline_set_wait_delay(p, 20000), 0);
  pl_start(&pr, p);
  wait_ready(cmds);
  ck_assert_int_eq(uvexec_pipeline_cancel(p), 0);
  /* Without a group the grandchild keeps the shell's stderr open for the
   * whole wait delay: tidy it away at once there. */
  if (no_group())
    kill(grandchild, SIGKILL);
  pl_wait(&pr);
  ck_assert_int_eq(pr.status, UV_ECANCELED);
  /* SIGTERM, once: the wait delay's SIGKILL was never needed. */
  for (i = 1; i < 3; i++)
    ck_assert_int_eq(uvexec_term_signal(cmds[i]), SIGTERM);
  check_tree_gone();
  uvexec_pipeline_free(p);
}
END_TEST

/* A member that ignores the cancel signal gets SIGKILL once the
 * pipeline's wait delay runs out; the others went with the signal. */
START_TEST(test_wait_delay_after_cancel) {
  uvexec_cmd_t *a = helper_cmd("ignore-term", NULL);
  uvexec_cmd_t *b = helper_cmd("cat", NULL);
  uvexec_pipeline_t *p = uvexec_pipeline(a, b, NULL);
  probe_t seen;
  pl_probe_t pr;
  uint64_t t0;

  ck_assert_int_eq(uvexec_pipeline_set_cancel_signal(p, SIGTERM), 0);
  ck_assert_int_eq(uvexec_pipeline_set_wait_delay(p, 300), 0);
  probe_init(&seen, b);
  probe_watch_stdout(&seen);
  pl_start(&pr, p);
  /* "ready" came through the joint: SIGTERM is ignored by now. */
  probe_wait_text(&seen, "ready\n");
  t0 = now_ms();
  ck_assert_int_eq(uvexec_pipeline_cancel(p), 0);
  pl_wait(&pr);
  ck_assert_int_eq(pr.status, UV_ECANCELED);
  ck_assert_int_eq(uvexec_term_signal(a), SIGKILL);
  ck_assert_int_eq(uvexec_term_signal(b), SIGTERM);
  ck_assert_msg(now_ms() - t0 >= 250,
                "SIGKILL came %llu ms after the "
                "cancel, before the 300 ms wait delay",
                (unsigned long long)(now_ms() - t0));
  seen.cmd = NULL; /* the pipeline frees it */
  probe_free(&seen);
  uvexec_pipeline_free(p);
}
END_TEST

/* Free while running: every member killed and reaped, no callback. */
START_TEST(test_free_while_running) {
  uvexec_cmd_t *cmds[3];
  uvexec_pipeline_t *p = tree_pipeline(cmds);
  pl_probe_t pr;

  pl_start(&pr, p);
  wait_ready(cmds);
  uvexec_pipeline_free(p);
  pr.p = NULL;
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(pr.done_calls, 0);
  check_tree_gone();

  /* Right after the start, before any member ran. */
  cmds[0] = helper_cmd("pattern", "100000000", NULL);
  cmds[1] = helper_cmd("cat", NULL);
  p = uvexec_pipeline_cmds(cmds, 2);
  pl_start(&pr, p);
  uvexec_pipeline_free(p);
  pr.p = NULL;
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(pr.done_calls, 0);
}
END_TEST

/* Free inside the done callback, and from a member's data callback. */
static void free_pipeline_on_data(uvexec_cmd_t *cmd, const char *data,
                                  size_t len) {
  pl_probe_t *pr = uvexec_cmd_data(cmd);
  (void)data;
  if (len > 0 && pr->p != NULL) {
    uvexec_pipeline_free(pr->p);
    pr->p = NULL;
  }
}

START_TEST(test_free_in_callbacks) {
  uvexec_cmd_t *a = helper_cmd("echo", "bye", NULL);
  uvexec_cmd_t *b = helper_cmd("cat", NULL);
  uvexec_pipeline_t *p = uvexec_pipeline(a, b, NULL);
  pl_probe_t pr;

  memset(&pr, 0, sizeof pr);
  pr.p = p;
  pr.free_in_done = 1;
  uvexec_pipeline_set_data(p, &pr);
  ck_assert_int_eq(uvexec_pipeline_start(p, test_loop, pl_done), 0);
  pl_wait(&pr);
  ck_assert_ptr_null(pr.p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);

  a = helper_cmd("pattern", "100000000", NULL);
  b = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_on_stdout(b, free_pipeline_on_data), 0);
  p = uvexec_pipeline(a, b, NULL);
  memset(&pr, 0, sizeof pr);
  pr.p = p;
  uvexec_pipeline_set_data(p, &pr);
  uvexec_cmd_set_data(b, &pr);
  ck_assert_int_eq(uvexec_pipeline_start(p, test_loop, pl_done), 0);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_ptr_null(pr.p);
  ck_assert_int_eq(pr.done_calls, 0);
}
END_TEST

/* ---- nothing leaks ----------------------------------------------------------
 */

/* No member sees a joint it was not given: a middle member has 0, 1, 2. */
START_TEST(test_members_see_only_stdio) {
  uvexec_cmd_t *a = helper_cmd("echo", "x", NULL);
  uvexec_cmd_t *b = helper_cmd("cat", NULL);
  uvexec_cmd_t *c = helper_cmd("fds", NULL);
  uvexec_cmd_t *d = helper_cmd("cat", NULL);
  uvexec_pipeline_t *p = uvexec_pipeline(a, b, c, d, NULL);
  int marked[64], n = close_on_exec_inherited(marked, 64);

  ck_assert_int_eq(uvexec_pipeline_output(p), 0);
  restore_inherited(marked, n);
  assert_stdout(d, "0 1 2\n");
  uvexec_pipeline_free(p);
}
END_TEST

START_TEST(test_fd_set_unchanged_after_many_runs) {
  int base = warm_fd_count();
  int round;

  for (round = 0; round < 40; round++) {
    uvexec_cmd_t *a = helper_cmd("pattern", "70000", NULL);
    uvexec_cmd_t *b = helper_cmd("cat", NULL);
    uvexec_cmd_t *c = helper_cmd("stdin-count", NULL);
    uvexec_pipeline_t *p = uvexec_pipeline(a, b, c, NULL);
    pl_probe_t pr;

    if (round % 2 == 0) {
      ck_assert_int_eq(uvexec_pipeline_output(p), 0);
    } else {
      ck_assert_int_eq(uvexec_cmd_stdout(c, UVEXEC_CAPTURE), 0);
      pl_start(&pr, p);
      pl_wait(&pr);
      ck_assert_int_eq(pr.status, 0);
      run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
    }
    assert_stdout(c, "70000\n");
    uvexec_pipeline_free(p);
    run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
    ck_assert_int_eq(count_open_fds(), base);
    assert_no_zombies();
  }
}
END_TEST

static Suite *pipeline_suite(void) {
  Suite *s = suite_create("pipeline");
  ADD_TEST(s, test_two_members);
  ADD_TEST(s, test_three_members);
  ADD_TEST(s, test_five_members);
  ADD_TEST(s, test_stdin_buffer_and_stdout_callback);
  ADD_TEST(s, test_check_in_the_middle_and_merge);
  ADD_TEST(s, test_output_and_run);
  ADD_TEST(s, test_policies);
  ADD_TEST(s, test_sigpipe_rule);
  ADD_TEST(s, test_pipestatus);
  ADD_TEST(s, test_refused_at_creation);
  ADD_TEST(s, test_state_guards);
  ADD_TEST(s, test_missing_member_each_position);
  ADD_TEST(s, test_spawn_failure_each_position);
  ADD_TEST(s, test_run_spawn_failure);
  ADD_TEST(s, test_one_process_group);
  ADD_TEST(s, test_timeout_reaches_all);
  ADD_TEST(s, test_cancel_reaches_all);
  ADD_TEST(s, test_wait_delay_after_cancel);
  ADD_TEST(s, test_free_while_running);
  ADD_TEST(s, test_free_in_callbacks);
  ADD_TEST(s, test_members_see_only_stdio);
  ADD_TEST(s, test_fd_set_unchanged_after_many_runs);
  return s;
}

int main(void) {
  return run_suite(pipeline_suite());
}
