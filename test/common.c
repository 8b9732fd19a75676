/* SPDX-License-Identifier: MIT */
/* Support shared by the Check suites; see common.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, realpath, dirfd with -std=c11 */
#endif

#include "common.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the helper program -------------------------------------------------- */

const char *helper_path(void) {
  const char *path = getenv("UVEXEC_TEST_HELPER");
  ck_assert_msg(path != NULL && path[0] != '\0',
                "UVEXEC_TEST_HELPER is not set: run the suites with ctest, "
                "or set it to the path of the uvexec-test-helper binary");
  ck_assert_msg(access(path, X_OK) == 0,
                "UVEXEC_TEST_HELPER=%s is not an executable file: %s", path,
                strerror(errno));
  return path;
}

#define HELPER_MAX_ARGS 64

/* helper_cmd_va is helper_cmd with program as argv[0]. */
static uvexec_cmd_t *helper_cmd_va(const char *program, const char *sub,
                                   va_list ap) {
  const char *argv[HELPER_MAX_ARGS + 3];
  const char *arg;
  size_t n = 0;
  uvexec_cmd_t *cmd;

  argv[n++] = program;
  argv[n++] = sub;
  while ((arg = va_arg(ap, const char *)) != NULL) {
    ck_assert_msg(n < HELPER_MAX_ARGS + 2, "helper_cmd: too many arguments");
    argv[n++] = arg;
  }
  argv[n] = NULL;

  cmd = uvexec_command_argv(argv);
  ck_assert_msg(cmd != NULL, "uvexec_command_argv(helper %s) gave NULL", sub);
  return cmd;
}

uvexec_cmd_t *helper_cmd(const char *sub, ...) {
  const char *program = helper_path();
  uvexec_cmd_t *cmd;
  va_list ap;

  va_start(ap, sub);
  cmd = helper_cmd_va(program, sub, ap);
  va_end(ap);
  return cmd;
}

/* ---- the helper for another user ----------------------------------------- */

static char shared_dir[PATH_MAX];  /* "" when there is no copy */
static char shared_path[PATH_MAX]; /* shared_dir/uvexec-test-helper */
static pid_t shared_owner;         /* the process that made the copy */

/* unshare_helper removes the copy, when this process made it: the
 * children Check forks for the tests inherit the atexit handler and the
 * path, and must leave both alone. */
static void unshare_helper(void) {
  if (shared_dir[0] == '\0' || getpid() != shared_owner)
    return;
  unlink(shared_path);
  rmdir(shared_dir);
  shared_dir[0] = '\0';
  shared_path[0] = '\0';
}

/* copy_file copies src to dst, a new file of mode 0755. Returns 0 or the
 * errno of the step that failed. */
static int copy_file(const char *src, const char *dst) {
  char buf[65536];
  int in, out, err = 0;
  ssize_t n;

  in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return errno;
  out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  if (out < 0) {
    err = errno;
    close(in);
    return err;
  }
  while (err == 0 && (n = read(in, buf, sizeof buf)) != 0) {
    ssize_t off = 0;
    if (n < 0) {
      if (errno != EINTR)
        err = errno;
      continue;
    }
    while (off < n) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno != EINTR) {
        err = errno;
        break;
      }
      if (w > 0)
        off += w;
    }
  }
  if (err == 0 && fchmod(out, 0755) != 0) /* the umask had its say */
    err = errno;
  close(in);
  if (close(out) != 0 && err == 0)
    err = errno;
  return err;
}

/* other_can_run asks a child that has become OTHER_UID whether it may
 * execute path (access(X_OK) also answers EACCES on a noexec mount).
 * Returns 0, an errno, or -1 when the child could not become OTHER_UID. */
static int other_can_run(const char *path) {
  pid_t pid;
  int st;

  pid = fork();
  if (pid < 0)
    return errno;
  if (pid == 0) {
    if (setgroups(0, NULL) != 0 || setgid(OTHER_UID) != 0 ||
        setuid(OTHER_UID) != 0)
      _exit(255);
    _exit(access(path, X_OK) == 0 ? 0 : errno);
  }
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return errno;
  if (!WIFEXITED(st) || WEXITSTATUS(st) == 255)
    return -1;
  return WEXITSTATUS(st);
}

int share_helper(const char *suite) {
  static int at_exit;
  const char *src = getenv("UVEXEC_TEST_HELPER");
  char dir[] = "/tmp/uvexec-helper-XXXXXX";
  int err;

  if (shared_dir[0] != '\0')
    return 1;
  if (src == NULL || src[0] == '\0') {
    fprintf(stderr, "%s: UVEXEC_TEST_HELPER is not set: no helper to copy "
                    "for another user\n", suite);
    return 0;
  }
  if (mkdtemp(dir) == NULL) {
    fprintf(stderr, "%s: mkdtemp(%s): %s\n", suite, dir, strerror(errno));
    return 0;
  }
  snprintf(shared_dir, sizeof shared_dir, "%s", dir);
  snprintf(shared_path, sizeof shared_path, "%s/uvexec-test-helper", dir);
  shared_owner = getpid();
  if (!at_exit && atexit(unshare_helper) == 0)
    at_exit = 1;

  if (chmod(shared_dir, 0755) != 0) {
    fprintf(stderr, "%s: chmod 0755 %s: %s\n", suite, shared_dir,
            strerror(errno));
  } else if ((err = copy_file(src, shared_path)) != 0) {
    fprintf(stderr, "%s: copying %s to %s: %s\n", suite, src, shared_path,
            strerror(err));
  } else if ((err = other_can_run(shared_path)) < 0) {
    fprintf(stderr, "%s: a child could not become uid %d\n", suite, OTHER_UID);
  } else if (err > 0) {
    fprintf(stderr, "%s: uid %d cannot run %s: %s\n", suite, OTHER_UID,
            shared_path, strerror(err));
  } else {
    return 1;
  }
  unshare_helper();
  return 0;
}

uvexec_cmd_t *shared_helper_cmd(const char *sub, ...) {
  uvexec_cmd_t *cmd;
  va_list ap;

  ck_assert_msg(shared_path[0] != '\0',
                "shared_helper_cmd: no copy of the helper for another user "
                "(main calls share_helper, and registers the case only "
                "when it gives 1)");
  va_start(ap, sub);
  cmd = helper_cmd_va(shared_path, sub, ap);
  va_end(ap);
  return cmd;
}

/* ---- where the suite runs ------------------------------------------------ */

int have_pidfd(void) {
  static int usable = -1;

  if (usable < 0) {
    int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

    usable = fd >= 0;
    if (fd >= 0)
      close(fd);
  }
  return usable;
}

int under_valgrind(void) {
  const char *v = getenv("UVEXEC_TEST_VALGRIND");

  return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

int on_uv_engine(void) {
  const char *e = getenv("UVEXEC_ENGINE");

  return e != NULL && strcmp(e, "uv") == 0;
}

/* ---- proofs of absence --------------------------------------------------- */

int count_open_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  struct dirent *de;
  int count = 0;
  int self;

  ck_assert_msg(dir != NULL, "opendir(/proc/self/fd): %s", strerror(errno));
  self = dirfd(dir);
  while ((de = readdir(dir)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    if (atoi(de->d_name) == self)
      continue;
    count++;
  }
  closedir(dir);
  return count;
}

int no_child_left(void) {
  int st;
  pid_t pid = waitpid(-1, &st, WNOHANG);
  return pid == -1 && errno == ECHILD;
}

void assert_no_zombies(void) {
  int st;
  pid_t pid = waitpid(-1, &st, WNOHANG);
  if (pid > 0)
    ck_abort_msg("a child (pid %ld) had exited but was never reaped",
                 (long)pid);
  if (pid == 0)
    ck_abort_msg("a child of this process is still running");
  ck_assert_msg(errno == ECHILD, "waitpid(-1) failed with %s, not ECHILD",
                strerror(errno));
}

/* ---- running the loop ---------------------------------------------------- */

static uv_loop_t fixture_loop;
uv_loop_t *test_loop;
static uv_timer_t safety_timer; /* on fixture_loop, unreferenced */
static int safety_open;
static int safety_fired;
static int fd_baseline = -1;

static void on_safety(uv_timer_t *t) {
  safety_fired = 1;
  uv_stop(t->loop);
}

static void on_local_timer_close(uv_handle_t *h) { *(int *)h->data = 1; }

/* run_until is the engine of both runners: one loop iteration at a time
 * until done(arg) is true, the safety timer fires, or the loop is out of
 * work. Returns 0, or 1 on timeout, or 2 when the loop stalled. */
static int run_until(uv_loop_t *loop, int (*done)(const void *),
                     const void *arg, uint64_t timeout_ms) {
  uv_timer_t local;
  uv_timer_t *t;
  int result = 0;

  if (loop == test_loop && safety_open) {
    t = &safety_timer;
  } else {
    t = &local;
    ck_assert_int_eq(uv_timer_init(loop, t), 0);
    uv_unref((uv_handle_t *)t);
  }
  safety_fired = 0;
  ck_assert_int_eq(uv_timer_start(t, on_safety, timeout_ms, 0), 0);

  while (!done(arg)) {
    int alive;
    if (safety_fired) {
      result = 1;
      break;
    }
    alive = uv_run(loop, UV_RUN_ONCE);
    if (!done(arg) && !alive && !safety_fired) {
      result = 2;
      break;
    }
  }
  uv_timer_stop(t);

  if (t == &local) {
    int closed = 0;
    local.data = &closed;
    uv_close((uv_handle_t *)&local, on_local_timer_close);
    while (!closed)
      uv_run(loop, UV_RUN_NOWAIT);
  }
  return result;
}

static int flag_set(const void *arg) { return *(const int *)arg != 0; }

static int loop_idle(const void *arg) {
  return !uv_loop_alive((uv_loop_t *)arg);
}

void run_loop_until(uv_loop_t *loop, const int *flag, uint64_t timeout_ms) {
  int r = run_until(loop, flag_set, flag, timeout_ms);
  ck_assert_msg(r != 1, "timed out after %llu ms waiting for an event",
                (unsigned long long)timeout_ms);
  ck_assert_msg(r != 2, "the loop ran out of work before the awaited event "
                        "(a callback that should have fired never will)");
}

void run_loop_to_end(uv_loop_t *loop, uint64_t timeout_ms) {
  int r = run_until(loop, loop_idle, loop, timeout_ms);
  ck_assert_msg(r == 0,
                "the loop still had work after %llu ms (a child or handle "
                "that never finishes)",
                (unsigned long long)timeout_ms);
}

/* ---- the fixture --------------------------------------------------------- */

static void describe_handle(uv_handle_t *h, void *arg) {
  (void)arg;
  fprintf(stderr, "  left open: %s handle %p (active %d, closing %d)\n",
          uv_handle_type_name(uv_handle_get_type(h)), (void *)h,
          uv_is_active(h), uv_is_closing(h));
}

void fixture_setup(void) {
  uv_loop_t warm;

  /* libuv opens some process-wide fds once, on the first loop (its signal
   * lock pipe). Make that happen before counting, so only what the test
   * itself leaves behind shows up. */
  ck_assert_int_eq(uv_loop_init(&warm), 0);
  ck_assert_int_eq(uv_loop_close(&warm), 0);

  fd_baseline = count_open_fds();
  ck_assert_int_eq(uv_loop_init(&fixture_loop), 0);
  test_loop = &fixture_loop;
  ck_assert_int_eq(uv_timer_init(test_loop, &safety_timer), 0);
  uv_unref((uv_handle_t *)&safety_timer);
  safety_open = 1;
}

void fixture_teardown(void) {
  int rc, fds;

  /* Everything the test started must finish on its own: children exit,
   * pipes reach EOF, freed cmds close their handles. */
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);

  uv_close((uv_handle_t *)&safety_timer, NULL);
  safety_open = 0;
  uv_run(test_loop, UV_RUN_DEFAULT);

  rc = uv_loop_close(test_loop);
  if (rc != 0)
    uv_walk(test_loop, describe_handle, NULL);
  ck_assert_msg(rc == 0, "uv_loop_close() gave %s: a handle was left open",
                uv_err_name(rc));
  test_loop = NULL;

  fds = count_open_fds();
  ck_assert_msg(fds == fd_baseline,
                "%d fds open at the end of the test, %d at its start", fds,
                fd_baseline);
  assert_no_zombies();
}

int fixture_fd_baseline(void) { return fd_baseline; }

void add_tcase(Suite *s, const char *name, const TTest *test) {
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
  tcase_set_timeout(tc, TEST_CASE_TIMEOUT_S);
  tcase_add_test(tc, test);
  suite_add_tcase(s, tc);
}

int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  struct rlimit rl;
  int failed;

  /* Some tests keep a few hundred children with pipes open at once; give
   * them room when the hard limit allows. */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 &&
      rl.rlim_max > rl.rlim_cur) {
    rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  unshare_helper();
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- a growable byte buffer ---------------------------------------------- */

void tbuf_append(tbuf_t *b, const void *data, size_t len) {
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *p;
    while (cap < b->len + len + 1)
      cap *= 2;
    p = realloc(b->data, cap);
    ck_assert_msg(p != NULL, "out of memory");
    b->data = p;
    b->cap = cap;
  }
  if (len > 0)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void tbuf_free(tbuf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- the probe ----------------------------------------------------------- */

void probe_init(probe_t *p, uvexec_cmd_t *cmd) {
  memset(p, 0, sizeof *p);
  p->cmd = cmd;
  uvexec_cmd_set_data(cmd, p);
}

void probe_watch_stdout(probe_t *p) {
  ck_assert_int_eq(uvexec_cmd_on_stdout(p->cmd, probe_stdout_cb), 0);
}

void probe_watch_stderr(probe_t *p) {
  ck_assert_int_eq(uvexec_cmd_on_stderr(p->cmd, probe_stderr_cb), 0);
}

/* A probe whose cmd is gone must hear nothing more. The cmd's memory is
 * still there if uvexec calls back after a free (it is released only once
 * the handles are closed), so reading the data pointer is safe enough to
 * catch the bug. */
static probe_t *probe_of(uvexec_cmd_t *cmd) {
  probe_t *p = uvexec_cmd_data(cmd);
  ck_assert_msg(p != NULL, "a callback came with a cmd without its probe");
  if (p->cmd == NULL) {
    p->calls_after_free++;
    return NULL;
  }
  ck_assert_msg(p->cmd == cmd, "a callback came with the wrong cmd");
  return p;
}

void probe_done_cb(uvexec_cmd_t *cmd, int status) {
  probe_t *p = probe_of(cmd);
  if (p == NULL)
    return;
  p->done_calls++;
  p->status = status;
  p->out_eof_at_done = p->out_eof;
  p->err_eof_at_done = p->err_eof;
  if (p->free_in_done) {
    uvexec_cmd_free(cmd);
    p->cmd = NULL;
  }
}

void probe_stdout_cb(uvexec_cmd_t *cmd, const char *data, size_t len) {
  probe_t *p = probe_of(cmd);
  if (p == NULL)
    return;
  if (p->done_calls > 0)
    p->out_after_eof++; /* output after done is as wrong as after EOF */
  if (len == 0) {
    p->out_eof++;
    if (p->free_on_out_eof) {
      uvexec_cmd_free(cmd);
      p->cmd = NULL;
    }
    return;
  }
  ck_assert_ptr_nonnull(data);
  if (p->out_eof > 0)
    p->out_after_eof++;
  p->out_calls++;
  tbuf_append(&p->out, data, len);
  if (p->wait_text != NULL && strstr(p->out.data, p->wait_text) != NULL) {
    p->text_seen = 1;
    p->wait_text = NULL;
  }
  if (p->free_on_out) {
    uvexec_cmd_free(cmd);
    p->cmd = NULL;
  }
}

void probe_stderr_cb(uvexec_cmd_t *cmd, const char *data, size_t len) {
  probe_t *p = probe_of(cmd);
  if (p == NULL)
    return;
  if (p->done_calls > 0)
    p->err_after_eof++;
  if (len == 0) {
    p->err_eof++;
    return;
  }
  ck_assert_ptr_nonnull(data);
  if (p->err_eof > 0)
    p->err_after_eof++;
  p->err_calls++;
  tbuf_append(&p->err, data, len);
  if (p->free_on_err) {
    uvexec_cmd_free(cmd);
    p->cmd = NULL;
  }
}

void probe_start(probe_t *p) {
  int rc = uvexec_start(p->cmd, test_loop, probe_done_cb);
  ck_assert_msg(rc == 0, "uvexec_start gave %s (%s): %s",
                uvexec_err_name(rc), uvexec_strerror(rc),
                uvexec_cmd_error(p->cmd) ? uvexec_cmd_error(p->cmd) : "-");
}

void probe_wait(probe_t *p) {
  run_loop_until(test_loop, &p->done_calls, TEST_TIMEOUT_MS);
}

void probe_wait_text(probe_t *p, const char *text) {
  p->text_seen = 0;
  p->wait_text = text;
  if (p->out.data != NULL && strstr(p->out.data, text) != NULL) {
    p->text_seen = 1;
    p->wait_text = NULL;
  }
  run_loop_until(test_loop, &p->text_seen, TEST_TIMEOUT_MS);
}

void probe_drop_cmd(probe_t *p) {
  uvexec_cmd_free(p->cmd);
  p->cmd = NULL;
}

void probe_free(probe_t *p) {
  uvexec_cmd_free(p->cmd);
  p->cmd = NULL;
  tbuf_free(&p->out);
  tbuf_free(&p->err);
}

/* ---- results ------------------------------------------------------------- */

static void assert_stream(const char *which, const char *data, size_t len,
                          const char *text) {
  size_t want = strlen(text);
  ck_assert_msg(data != NULL, "%s was not captured (NULL); expected \"%s\"",
                which, text);
  ck_assert_msg(len == want && memcmp(data, text, want) == 0,
                "%s is \"%.*s\" (%zu bytes); expected \"%s\" (%zu bytes)",
                which, (int)(len > 400 ? 400 : len), data, len, text, want);
  ck_assert_msg(data[len] == '\0', "%s is not NUL-terminated", which);
}

void assert_stdout(const uvexec_cmd_t *cmd, const char *text) {
  size_t len = 12345;
  const char *data = uvexec_stdout_data(cmd, &len);
  assert_stream("stdout", data, len, text);
}

void assert_stderr(const uvexec_cmd_t *cmd, const char *text) {
  size_t len = 12345;
  const char *data = uvexec_stderr_data(cmd, &len);
  assert_stream("stderr", data, len, text);
}

char *make_temp_dir(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[PATH_MAX];
  char *real;

  if (base == NULL || base[0] == '\0')
    base = "/tmp";
  snprintf(tmpl, sizeof tmpl, "%s/uvexec-test-XXXXXX", base);
  ck_assert_msg(mkdtemp(tmpl) != NULL, "mkdtemp(%s): %s", tmpl,
                strerror(errno));
  real = realpath(tmpl, NULL);
  ck_assert_msg(real != NULL, "realpath(%s): %s", tmpl, strerror(errno));
  return real;
}

void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char path[PATH_MAX];

  if (d != NULL) {
    while ((de = readdir(d)) != NULL) {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      if (unlink(path) != 0)
        rmdir(path);
    }
    closedir(d);
  }
  rmdir(dir);
}
