/* SPDX-License-Identifier: MIT */
/* uvexec_exec (lib/exec.c): the process is replaced by the cmd, with the
 * cmd's argv, environment, dir and stdio fds, default signal dispositions
 * and an empty mask; or the call fails and the process is as before.
 *
 * Every case runs in a child of the test (fork), since a success replaces
 * the process: the child reports through its exit status and a pipe, the
 * test reaps it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "common.h"
#include "uvexec.h"

/* ---- running a case in a child ------------------------------------------- */

/* What the child gets: where to write a failure report, the write end of
 * the output pipe (close-on-exec, like every fd the test opens), and the
 * case's own argument. */
typedef struct {
  int report; /* write end: a line explaining a failure */
  int out;    /* write end of the pipe the test reads as output */
  const void *arg;
} child_t;

typedef int (*child_fn)(const child_t *c);

/* fail_child reports why and ends the child; never returns. */
static void fail_child(const child_t *c, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0)
    (void)!write(c->report, line,
                 (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  _exit(99);
}

#define CHILD_CHECK(c, cond, ...)                                              \
  do {                                                                         \
    if (!(cond))                                                               \
      fail_child((c), __VA_ARGS__);                                            \
  } while (0)

typedef struct {
  int status;      /* from waitpid */
  char out[65536]; /* what arrived on the output pipe, NUL-terminated */
  char report[1024];
} outcome_t;

static void read_all(int fd, char *buf, size_t size) {
  size_t len = 0;
  ssize_t n;

  for (;;) {
    n = read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
    if (len == size - 1)
      break;
  }
  buf[len] = '\0';
}

/* in_child runs fn in a fork of the test and collects what it left. The
 * output pipe is read to end of file before the child is reaped, so a
 * child writing more than a pipe holds cannot block on it. */
static void in_child(child_fn fn, const void *arg, outcome_t *o) {
  int rep[2], out[2];
  pid_t pid;

  memset(o, 0, sizeof(*o));
  ck_assert_int_eq(pipe2(rep, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
  /* The child's exec flushes stdio: nothing of ours may be in a buffer
   * then, or it would be written twice. */
  fflush(NULL);

  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    child_t c;

    close(rep[0]);
    close(out[0]);
    c.report = rep[1];
    c.out = out[1];
    c.arg = arg;
    _exit(fn(&c));
  }

  close(rep[1]);
  close(out[1]);
  read_all(out[0], o->out, sizeof o->out);
  read_all(rep[0], o->report, sizeof o->report);
  close(out[0]);
  close(rep[0]);
  ck_assert_int_eq(waitpid(pid, &o->status, 0), pid);
}

/* The child must have exited with want and reported nothing. */
static void assert_exited(const outcome_t *o, int want) {
  ck_assert_msg(o->report[0] == '\0', "child: %s", o->report);
  ck_assert_msg(WIFEXITED(o->status), "child died of signal %d",
                WIFSIGNALED(o->status) ? WTERMSIG(o->status) : -1);
  ck_assert_int_eq(WEXITSTATUS(o->status), want);
}

/* ---- files --------------------------------------------------------------- */

static void put_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  size_t len = strlen(text);

  ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
  ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
  ck_assert_int_eq(close(fd), 0);
  ck_assert_int_eq(chmod(path, mode), 0);
}

/* ---- the caller's state, to prove a failed exec changed nothing ---------- */

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int signum) {
  (void)signum;
  usr1_seen++;
}

/* setup_state gives the child a state that differs from the defaults in
 * every way uvexec_exec has to touch. */
static void setup_state(const child_t *c) {
  struct sigaction sa;
  sigset_t block;

  CHILD_CHECK(c, signal(SIGINT, SIG_IGN) != SIG_ERR, "SIGINT");
  CHILD_CHECK(c, signal(SIGPIPE, SIG_IGN) != SIG_ERR, "SIGPIPE");
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  CHILD_CHECK(c, sigaction(SIGUSR1, &sa, NULL) == 0, "SIGUSR1");
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  CHILD_CHECK(c, sigprocmask(SIG_BLOCK, &block, NULL) == 0, "mask");
  CHILD_CHECK(c, setenv("UVEXEC_TEST_FOO", "original", 1) == 0, "setenv");
}

typedef struct {
  struct sigaction action[NSIG];
  int have[NSIG];
  sigset_t mask;
  char cwd[PATH_MAX];
  char foo[64];
  int fds;
  struct stat std[3];
  int std_flags[3];
} state_t;

static void snapshot(const child_t *c, state_t *s) {
  const char *foo = getenv("UVEXEC_TEST_FOO");
  int sig, i;

  memset(s, 0, sizeof(*s));
  for (sig = 1; sig < NSIG; sig++)
    s->have[sig] = sigaction(sig, NULL, &s->action[sig]) == 0;
  CHILD_CHECK(c, sigprocmask(SIG_BLOCK, NULL, &s->mask) == 0, "mask");
  CHILD_CHECK(c, getcwd(s->cwd, sizeof s->cwd) != NULL, "getcwd");
  snprintf(s->foo, sizeof s->foo, "%s", foo != NULL ? foo : "(unset)");
  s->fds = count_open_fds();
  for (i = 0; i < 3; i++) {
    CHILD_CHECK(c, fstat(i, &s->std[i]) == 0, "fstat %d", i);
    s->std_flags[i] = fcntl(i, F_GETFD);
  }
}

/* The sa_flags a program sets. The libc adds SA_RESTORER of its own to
 * every action it installs (valgrind shows it after a restore), so that
 * one is not compared. */
#define PUBLIC_FLAGS                                                           \
  (SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART |        \
   SA_NODEFER | SA_RESETHAND)

/* assert_unchanged ends the child with a report at the first difference
 * between the state now and the snapshot. */
static void assert_unchanged(const child_t *c, const state_t *before,
                             const char *when) {
  state_t now;
  int sig, i;

  snapshot(c, &now);
  for (sig = 1; sig < NSIG; sig++) {
    CHILD_CHECK(c, now.have[sig] == before->have[sig], "%s: signal %d", when,
                sig);
    if (!now.have[sig])
      continue;
    CHILD_CHECK(c, now.action[sig].sa_handler == before->action[sig].sa_handler,
                "%s: handler of signal %d changed", when, sig);
    CHILD_CHECK(c,
                (now.action[sig].sa_flags & PUBLIC_FLAGS) ==
                    (before->action[sig].sa_flags & PUBLIC_FLAGS),
                "%s: flags of signal %d changed", when, sig);
    CHILD_CHECK(c,
                sigismember(&now.action[sig].sa_mask, SIGUSR2) ==
                    sigismember(&before->action[sig].sa_mask, SIGUSR2),
                "%s: sa_mask of signal %d changed", when, sig);
    CHILD_CHECK(c,
                sigismember(&now.mask, sig) == sigismember(&before->mask, sig),
                "%s: signal %d %s blocked", when, sig,
                sigismember(&now.mask, sig) ? "now" : "no longer");
  }
  CHILD_CHECK(c, strcmp(now.cwd, before->cwd) == 0, "%s: cwd is %s, was %s",
              when, now.cwd, before->cwd);
  CHILD_CHECK(c, strcmp(now.foo, before->foo) == 0,
              "%s: UVEXEC_TEST_FOO is %s, was %s", when, now.foo, before->foo);
  CHILD_CHECK(c, now.fds == before->fds, "%s: %d fds open, were %d", when,
              now.fds, before->fds);
  for (i = 0; i < 3; i++) {
    CHILD_CHECK(c,
                now.std[i].st_dev == before->std[i].st_dev &&
                    now.std[i].st_ino == before->std[i].st_ino,
                "%s: fd %d is another file", when, i);
    CHILD_CHECK(c, now.std_flags[i] == before->std_flags[i],
                "%s: fd %d flags %d, were %d", when, i, now.std_flags[i],
                before->std_flags[i]);
  }
  /* The handler really is live again: a signal reaches it. */
  usr1_seen = 0;
  raise(SIGUSR1);
  CHILD_CHECK(c, usr1_seen == 1, "%s: SIGUSR1 handler not called", when);
}

/* ---- success ------------------------------------------------------------- */

static int child_env_and_dir(const child_t *c) {
  const char *dir = c->arg;
  uvexec_cmd_t *cmd;
  int err;

  cmd = uvexec_command("sh", "-c", "echo \"$UVEXEC_TEST_FOO\"; pwd", NULL);
  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  CHILD_CHECK(c, setenv("UVEXEC_TEST_FOO", "parent", 1) == 0, "setenv");
  CHILD_CHECK(c, uvexec_cmd_setenv(cmd, "UVEXEC_TEST_FOO", "bar") == 0,
              "setenv");
  CHILD_CHECK(c, uvexec_cmd_set_dir(cmd, dir) == 0, "set_dir");
  CHILD_CHECK(c, uvexec_cmd_stdout_fd(cmd, c->out) == 0, "stdout_fd");
  err = uvexec_exec(cmd);
  fail_child(c, "uvexec_exec returned %s: %s", uvexec_err_name(err),
             uvexec_cmd_error(cmd) ? uvexec_cmd_error(cmd) : "(no message)");
  return 1;
}

START_TEST(test_exec_replaces_process) {
  char *dir = make_temp_dir();
  char want[PATH_MAX + 16];
  outcome_t o;

  in_child(child_env_and_dir, dir, &o);
  assert_exited(&o, 0);
  snprintf(want, sizeof want, "bar\n%s\n", dir);
  ck_assert_str_eq(o.out, want);

  remove_tree(dir);
  free(dir);
}
END_TEST

static int child_exit_code(const child_t *c) {
  uvexec_cmd_t *cmd = uvexec_command("sh", "-c", "exit 7", NULL);
  int err;

  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  err = uvexec_exec(cmd);
  fail_child(c, "uvexec_exec returned %s", uvexec_err_name(err));
  return 1;
}

START_TEST(test_exec_status_is_the_new_program) {
  outcome_t o;

  in_child(child_exit_code, NULL, &o);
  assert_exited(&o, 7);
}
END_TEST

/* Bytes the caller left in a stdio buffer come out before the new
 * program's. */
static int child_flush(const child_t *c) {
  const char *helper = c->arg;
  uvexec_cmd_t *cmd;
  int err;

  CHILD_CHECK(c, dup2(c->out, 1) == 1, "dup2");
  CHILD_CHECK(c, setvbuf(stdout, NULL, _IOFBF, 4096) == 0, "setvbuf");
  printf("buffered;");
  cmd = uvexec_command(helper, "echo", "after", NULL);
  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  err = uvexec_exec(cmd);
  fail_child(c, "uvexec_exec returned %s", uvexec_err_name(err));
  return 1;
}

START_TEST(test_exec_flushes_stdio) {
  outcome_t o;

  in_child(child_flush, helper_path(), &o);
  assert_exited(&o, 0);
  ck_assert_str_eq(o.out, "buffered;after\n");
}
END_TEST

/* The new program starts with every disposition at its default and an
 * empty mask, whatever the caller had: cat reads its own status. */
static int child_signals(const child_t *c) {
  uvexec_cmd_t *cmd;
  sigset_t all;
  int err;

  setup_state(c);
  /* A few more, to be sure nothing blocked reaches the new program. */
  sigfillset(&all);
  CHILD_CHECK(c, sigprocmask(SIG_BLOCK, &all, NULL) == 0, "mask");
  cmd = uvexec_command("cat", "/proc/self/status", NULL);
  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  CHILD_CHECK(c, uvexec_cmd_stdout_fd(cmd, c->out) == 0, "stdout_fd");
  err = uvexec_exec(cmd);
  fail_child(c, "uvexec_exec returned %s", uvexec_err_name(err));
  return 1;
}

/* libc_reserved gives the bits of the signals between the kernel's 32
 * and SIGRTMIN, which glibc keeps for its threads: sigaction refuses them,
 * so uvexec_exec cannot reset them, and a parent that ignores them (some
 * process supervisors do) passes that on through exec. The new program's
 * libc installs its own handlers for them when it needs them. (The
 * clone engine does reset them, in its child: test_engine.) */
static unsigned long long libc_reserved(void) {
  unsigned long long bits = 0;
  int sig;

  for (sig = 32; sig < SIGRTMIN; sig++)
    bits |= 1ull << (sig - 1);
  return bits;
}

static void assert_status_field(const char *status, const char *field) {
  char key[32];
  const char *line;
  unsigned long long bits;

  snprintf(key, sizeof key, "\n%s:", field);
  line = strstr(status, key);
  ck_assert_msg(line != NULL, "no %s in /proc/self/status", field);
  ck_assert_int_eq(sscanf(line + strlen(key), " %llx", &bits), 1);
  bits &= ~libc_reserved();
  ck_assert_msg(bits == 0, "%s is %llx, want 0", field, bits);
}

START_TEST(test_exec_resets_signals) {
  outcome_t o;

  in_child(child_signals, NULL, &o);
  assert_exited(&o, 0);
  assert_status_field(o.out, "SigIgn");
  assert_status_field(o.out, "SigBlk");
}
END_TEST

/* The copies uvexec_exec keeps to undo its changes never reach the new
 * program: it sees what the caller had without close-on-exec, nothing
 * more. */
static int child_fds(const child_t *c) {
  const char *helper = c->arg;
  char expect[4096];
  size_t len = 0;
  uvexec_cmd_t *cmd;
  int fd, err, devnull;

  devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHILD_CHECK(c, devnull >= 0, "open /dev/null");
  for (fd = 0; fd < 1024; fd++) {
    int flags = fcntl(fd, F_GETFD);

    if (fd > 2 && (flags < 0 || (flags & FD_CLOEXEC)))
      continue;
    len += (size_t)snprintf(expect + len, sizeof expect - len, "%s%d",
                            len > 0 ? " " : "", fd);
  }
  expect[len++] = '\n';
  expect[len] = '\0';
  CHILD_CHECK(c, write(c->report, "expect:", 7) == 7, "write");
  CHILD_CHECK(c, write(c->report, expect, len) == (ssize_t)len, "write");

  cmd = uvexec_command(helper, "fds", NULL);
  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  CHILD_CHECK(c, uvexec_cmd_stdin_fd(cmd, devnull) == 0, "stdin_fd");
  CHILD_CHECK(c, uvexec_cmd_stdout_fd(cmd, c->out) == 0, "stdout_fd");
  CHILD_CHECK(c, uvexec_cmd_stderr_fd(cmd, c->out) == 0, "stderr_fd");
  err = uvexec_exec(cmd);
  fail_child(c, "uvexec_exec returned %s", uvexec_err_name(err));
  return 1;
}

START_TEST(test_exec_leaks_no_fd) {
  outcome_t o;

  in_child(child_fds, helper_path(), &o);
  ck_assert_msg(strncmp(o.report, "expect:", 7) == 0, "child: %s", o.report);
  ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "child: %s",
                o.report);
  ck_assert_str_eq(o.out, o.report + 7);
}
END_TEST

/* stdout to the caller's fd 2 and stderr to its fd 1: applying them one
 * after the other would send both to one place. */
static int child_swap(const child_t *c) {
  const int *pipes = c->arg; /* write ends: A then B */
  uvexec_cmd_t *cmd;
  int err;

  CHILD_CHECK(c, dup2(pipes[0], 1) == 1, "dup2");
  CHILD_CHECK(c, dup2(pipes[1], 2) == 2, "dup2");
  cmd = uvexec_command("sh", "-c", "echo out; echo err >&2", NULL);
  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  CHILD_CHECK(c, uvexec_cmd_stdout_fd(cmd, 2) == 0, "stdout_fd");
  CHILD_CHECK(c, uvexec_cmd_stderr_fd(cmd, 1) == 0, "stderr_fd");
  err = uvexec_exec(cmd);
  fail_child(c, "uvexec_exec returned %s", uvexec_err_name(err));
  return 1;
}

START_TEST(test_exec_swapped_fds) {
  int a[2], b[2], ends[2];
  char got_a[256], got_b[256];
  outcome_t o;

  ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(b, O_CLOEXEC), 0);
  ends[0] = a[1];
  ends[1] = b[1];
  in_child(child_swap, ends, &o);
  close(a[1]);
  close(b[1]);
  read_all(a[0], got_a, sizeof got_a);
  read_all(b[0], got_b, sizeof got_b);
  close(a[0]);
  close(b[0]);
  assert_exited(&o, 0);
  ck_assert_str_eq(got_a, "err\n"); /* A was fd 1, the new stderr */
  ck_assert_str_eq(got_b, "out\n"); /* B was fd 2, the new stdout */
}
END_TEST

/* stdin from the caller's fd, stdout to another, stderr merged into it. */
static int child_stdin_merge(const child_t *c) {
  int in[2];
  uvexec_cmd_t *cmd;
  int err;

  CHILD_CHECK(c, pipe2(in, O_CLOEXEC) == 0, "pipe");
  CHILD_CHECK(c, write(in[1], "hello\n", 6) == 6, "write");
  close(in[1]);
  cmd = uvexec_command("sh", "-c", "cat; echo err >&2", NULL);
  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  CHILD_CHECK(c, uvexec_cmd_stdin_fd(cmd, in[0]) == 0, "stdin_fd");
  CHILD_CHECK(c, uvexec_cmd_stdout_fd(cmd, c->out) == 0, "stdout_fd");
  CHILD_CHECK(c, uvexec_cmd_stderr(cmd, UVEXEC_MERGE) == 0, "merge");
  err = uvexec_exec(cmd);
  fail_child(c, "uvexec_exec returned %s", uvexec_err_name(err));
  return 1;
}

START_TEST(test_exec_stdin_and_merged_stderr) {
  outcome_t o;

  in_child(child_stdin_merge, NULL, &o);
  assert_exited(&o, 0);
  ck_assert_str_eq(o.out, "hello\nerr\n");
}
END_TEST

/* < in, > out (relative to the cmd's directory) and 2>&1 into it. */
static int child_files(const child_t *c) {
  const char *dir = c->arg;
  uvexec_cmd_t *cmd;
  int err;

  cmd = uvexec_command("sh", "-c", "cat; echo err >&2", NULL);
  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  CHILD_CHECK(c, uvexec_cmd_set_dir(cmd, dir) == 0, "set_dir");
  CHILD_CHECK(c, uvexec_cmd_stdin_file(cmd, "in") == 0, "stdin_file");
  CHILD_CHECK(c, uvexec_cmd_stdout_file(cmd, "out", 0) == 0, "stdout_file");
  CHILD_CHECK(c, uvexec_cmd_stderr(cmd, UVEXEC_MERGE) == 0, "merge");
  err = uvexec_exec(cmd);
  fail_child(c, "uvexec_exec returned %s", uvexec_err_name(err));
  return 1;
}

START_TEST(test_exec_files) {
  char *tmp = make_temp_dir();
  char path[PATH_MAX], got[256];
  outcome_t o;
  int fd;
  ssize_t n;

  snprintf(path, sizeof path, "%s/in", tmp);
  put_file(path, "hello\n", 0644);
  in_child(child_files, tmp, &o);
  assert_exited(&o, 0);
  snprintf(path, sizeof path, "%s/out", tmp);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge(fd, 0);
  n = read(fd, got, sizeof got - 1);
  close(fd);
  ck_assert_int_ge(n, 0);
  got[n] = '\0';
  ck_assert_str_eq(got, "hello\nerr\n");

  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* ---- failure ------------------------------------------------------------- */

typedef struct {
  const char *file;    /* argv[0] */
  const char *dir;     /* set_dir, or NULL */
  int huge_arg;        /* add an argument execve refuses (E2BIG) */
  int want;            /* the error */
  const char *message; /* the exact message, or NULL */
  const char *mention; /* a part of the message, or NULL */
  const char *out_file; /* stdout to this file, or NULL */
} failing_t;

/* The child sets up its state, has one or more exec calls fail, and
 * checks after each that nothing changed. */
static int child_failing(const child_t *c) {
  const failing_t *f = c->arg;
  state_t before;
  char *huge = NULL;
  int devnull, round, err;

  setup_state(c);
  devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHILD_CHECK(c, devnull >= 0, "open /dev/null");
  snapshot(c, &before);

  for (round = 0; round < 2; round++) {
    uvexec_cmd_t *cmd;

    if (f->huge_arg) {
      /* One string longer than the kernel takes (MAX_ARG_STRLEN). */
      huge = malloc(256 * 1024);
      CHILD_CHECK(c, huge != NULL, "malloc");
      memset(huge, 'x', 256 * 1024 - 1);
      huge[256 * 1024 - 1] = '\0';
    }
    cmd = uvexec_command(f->file, huge != NULL ? huge : NULL, NULL);
    CHILD_CHECK(c, cmd != NULL, "uvexec_command");
    CHILD_CHECK(c, uvexec_cmd_setenv(cmd, "UVEXEC_TEST_FOO", "changed") == 0,
                "setenv");
    if (f->dir != NULL)
      CHILD_CHECK(c, uvexec_cmd_set_dir(cmd, f->dir) == 0, "set_dir");
    CHILD_CHECK(c, uvexec_cmd_stdin_fd(cmd, devnull) == 0, "stdin_fd");
    CHILD_CHECK(c, uvexec_cmd_stdout_fd(cmd, c->out) == 0, "stdout_fd");
    CHILD_CHECK(c, uvexec_cmd_stderr_fd(cmd, c->out) == 0, "stderr_fd");
    if (f->out_file != NULL)
      CHILD_CHECK(c, uvexec_cmd_stdout_file(cmd, f->out_file, 1) == 0,
                  "stdout_file");

    err = uvexec_exec(cmd);
    CHILD_CHECK(c, err == f->want, "uvexec_exec = %s, want %s (%s)",
                uvexec_err_name(err), uvexec_err_name(f->want),
                uvexec_cmd_error(cmd) ? uvexec_cmd_error(cmd) : "-");
    CHILD_CHECK(c, uvexec_cmd_error(cmd) != NULL, "no message");
    if (f->message != NULL)
      CHILD_CHECK(c, strcmp(uvexec_cmd_error(cmd), f->message) == 0,
                  "message \"%s\", want \"%s\"", uvexec_cmd_error(cmd),
                  f->message);
    if (f->mention != NULL)
      CHILD_CHECK(c, strstr(uvexec_cmd_error(cmd), f->mention) != NULL,
                  "message \"%s\" does not mention %s", uvexec_cmd_error(cmd),
                  f->mention);
    uvexec_cmd_free(cmd);
    free(huge);
    huge = NULL;
    assert_unchanged(c, &before, round == 0 ? "first" : "second");
  }
  close(devnull);
  return 0;
}

static void expect_failure(const failing_t *f) {
  outcome_t o;

  in_child(child_failing, f, &o);
  assert_exited(&o, 0);
  /* Nothing was written to the fds the cmd would have had. */
  ck_assert_str_eq(o.out, "");
}

START_TEST(test_exec_enoexec_restores) {
  char *tmp = make_temp_dir();
  char *there = make_temp_dir();
  char file[PATH_MAX], message[PATH_MAX + 64];
  failing_t f = {0};

  snprintf(file, sizeof file, "%s/noshebang", tmp);
  put_file(file, "echo hi\n", 0755);
  snprintf(message, sizeof message, "exec %s: exec format error", file);
  f.file = file;
  f.dir = there;
  f.want = UVEXEC_ENOEXEC;
  f.message = message;
  expect_failure(&f);

  remove_tree(tmp);
  remove_tree(there);
  free(tmp);
  free(there);
}
END_TEST

/* valgrind_in_maps tells whether valgrind runs this process: it cannot go
 * on after an execve it let through fails, so that case is left out. */
static int valgrind_in_maps(void) {
  char line[4096];
  FILE *maps = fopen("/proc/self/maps", "re");
  int found = 0;

  if (maps == NULL)
    return 0;
  while (!found && fgets(line, sizeof line, maps) != NULL)
    found = strstr(line, "vgpreload") != NULL;
  fclose(maps);
  return found;
}

START_TEST(test_exec_e2big_restores) {
  char *there;
  failing_t f = {0};

  if (valgrind_in_maps())
    return;
  there = make_temp_dir();

  f.file = "/bin/sh";
  f.dir = there;
  f.huge_arg = 1;
  f.want = UV_E2BIG;
  f.message = "exec /bin/sh: argument list too long";
  expect_failure(&f);

  remove_tree(there);
  free(there);
}
END_TEST

START_TEST(test_exec_missing_file) {
  failing_t f = {0};

  f.file = "/nonexistent-uvexec/prog";
  f.want = UV_ENOENT;
  f.message = "fork/exec /nonexistent-uvexec/prog: no such file or directory";
  expect_failure(&f);
}
END_TEST

START_TEST(test_exec_not_found) {
  failing_t f = {0};

  f.file = "uvexec-surely-not-a-program";
  f.want = UV_ENOENT;
  f.message = "exec: \"uvexec-surely-not-a-program\": executable file not "
              "found in $PATH";
  expect_failure(&f);
}
END_TEST

START_TEST(test_exec_not_executable) {
  char *tmp = make_temp_dir();
  char file[PATH_MAX], message[PATH_MAX + 64];
  failing_t f = {0};

  snprintf(file, sizeof file, "%s/plain", tmp);
  put_file(file, "#!/bin/sh\nexit 0\n", 0644);
  snprintf(message, sizeof message, "fork/exec %s: permission denied", file);
  f.file = file;
  f.want = UV_EACCES;
  f.message = message;
  expect_failure(&f);

  f.file = tmp; /* a directory */
  snprintf(message, sizeof message, "fork/exec %s: permission denied", tmp);
  expect_failure(&f);

  remove_tree(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_exec_bad_dir) {
  failing_t f = {0};

  f.file = "/bin/sh";
  f.dir = "/nonexistent-uvexec-dir";
  f.want = UV_ENOENT;
  f.message = "chdir /nonexistent-uvexec-dir: no such file or directory";
  expect_failure(&f);
}
END_TEST

START_TEST(test_exec_bad_file) {
  failing_t f = {0};

  f.file = "/bin/sh";
  f.out_file = "/nonexistent-uvexec-dir/out";
  f.want = UV_ENOENT;
  f.message = "open /nonexistent-uvexec-dir/out: no such file or directory";
  expect_failure(&f);
}
END_TEST

/* A bare name matched through "." in the cmd's PATH is not run. */
static int child_edot(const child_t *c) {
  const char *dir = c->arg;
  state_t before;
  uvexec_cmd_t *cmd;
  int err;

  setup_state(c);
  CHILD_CHECK(c, chdir(dir) == 0, "chdir");
  snapshot(c, &before);
  cmd = uvexec_command("prog", NULL);
  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  CHILD_CHECK(c, uvexec_cmd_setenv(cmd, "PATH", "/nonexistent-uvexec:.") == 0,
              "setenv");
  /* Were it run, its output would show. */
  CHILD_CHECK(c, uvexec_cmd_stdout_fd(cmd, c->out) == 0, "stdout_fd");
  err = uvexec_exec(cmd);
  CHILD_CHECK(c, err == UVEXEC_EDOT, "uvexec_exec = %s", uvexec_err_name(err));
  CHILD_CHECK(c,
              strcmp(uvexec_cmd_error(cmd),
                     "exec: \"prog\": cannot run executable found relative "
                     "to current directory") == 0,
              "message %s", uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);
  assert_unchanged(c, &before, "edot");
  return 0;
}

START_TEST(test_exec_refuses_dot_match) {
  char *tmp = make_temp_dir();
  char file[PATH_MAX];
  outcome_t o;

  snprintf(file, sizeof file, "%s/prog", tmp);
  put_file(file, "#!/bin/sh\necho ran\nexit 3\n", 0755);
  in_child(child_edot, tmp, &o);
  assert_exited(&o, 0);
  ck_assert_str_eq(o.out, "");

  remove_tree(tmp);
  free(tmp);
}
END_TEST

static int child_bad_fd(const child_t *c) {
  state_t before;
  uvexec_cmd_t *cmd;
  int err;

  setup_state(c);
  snapshot(c, &before);
  cmd = uvexec_command("/bin/sh", "-c", "exit 0", NULL);
  CHILD_CHECK(c, cmd != NULL, "uvexec_command");
  /* A number surely not open in the child. */
  CHILD_CHECK(c, uvexec_cmd_stdout_fd(cmd, 1000) == 0, "stdout_fd");
  err = uvexec_exec(cmd);
  CHILD_CHECK(c, err == UV_EBADF, "uvexec_exec = %s", uvexec_err_name(err));
  CHILD_CHECK(c, uvexec_cmd_error(cmd) != NULL, "no message");
  uvexec_cmd_free(cmd);
  assert_unchanged(c, &before, "bad fd");
  return 0;
}

START_TEST(test_exec_bad_fd) {
  outcome_t o;

  in_child(child_bad_fd, NULL, &o);
  assert_exited(&o, 0);
}
END_TEST

START_TEST(test_exec_guards) {
  uvexec_cmd_t *cmd;

  ck_assert_int_eq(uvexec_exec(NULL), UV_EINVAL);

  /* A cmd that has been run is no longer one to exec. */
  cmd = uvexec_command("/bin/sh", "-c", "exit 0", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_int_eq(uvexec_exec(cmd), UV_EBUSY);
  uvexec_cmd_free(cmd);

  /* Nor one whose start failed. */
  cmd = uvexec_command("uvexec-surely-not-a-program", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOENT);
  ck_assert_int_eq(uvexec_exec(cmd), UV_EBUSY);
  uvexec_cmd_free(cmd);

  /* Limits and containment are a child's: never a silent exec without
   * them (this process is not replaced). */
  cmd = uvexec_command("/bin/true", NULL);
  ck_assert_int_eq(uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_MEMORY, 1 << 20), 0);
  ck_assert_int_eq(uvexec_exec(cmd), UV_EINVAL);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "exec: containment and limits are for a child, not for "
                   "replacing this process");
  uvexec_cmd_free(cmd);
}
END_TEST

static Suite *exec_suite(void) {
  Suite *s = suite_create("exec");

  ADD_TEST(s, test_exec_replaces_process);
  ADD_TEST(s, test_exec_status_is_the_new_program);
  ADD_TEST(s, test_exec_flushes_stdio);
  ADD_TEST(s, test_exec_resets_signals);
  ADD_TEST(s, test_exec_leaks_no_fd);
  ADD_TEST(s, test_exec_swapped_fds);
  ADD_TEST(s, test_exec_stdin_and_merged_stderr);
  ADD_TEST(s, test_exec_files);
  ADD_TEST(s, test_exec_enoexec_restores);
  ADD_TEST(s, test_exec_e2big_restores);
  ADD_TEST(s, test_exec_missing_file);
  ADD_TEST(s, test_exec_not_found);
  ADD_TEST(s, test_exec_not_executable);
  ADD_TEST(s, test_exec_bad_dir);
  ADD_TEST(s, test_exec_bad_file);
  ADD_TEST(s, test_exec_refuses_dot_match);
  ADD_TEST(s, test_exec_bad_fd);
  ADD_TEST(s, test_exec_guards);
  return s;
}

int main(void) {
  return run_suite(exec_suite());
}
