/* SPDX-License-Identifier: MIT */
/* The engines, chosen explicitly per cmd: libuv's uv_spawn
 * (UVEXEC_ENGINE_UV) against the clone engine with its pidfd
 * (UVEXEC_ENGINE_CLONE, which UVEXEC_ENGINE_POSIX_SPAWN now also names).
 * Whatever the engine, a user sees the same results and the same
 * messages: output, exit statuses, every kind of start failure, extra
 * fds, new sessions, and a child that starts with default signal
 * dispositions and an empty mask. What only the clone engine can do is
 * refused clearly by the uv engine: resource usage and child setup.
 *
 * Where the kernel (or valgrind, which lacks pidfd_open) offers no pidfd,
 * the clone engine must say UV_ENOSYS instead of starting; the tests
 * then check that and what the uv engine does on its own. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static const char *engine_name(uvexec_engine_t e) {
  return e == UVEXEC_ENGINE_UV      ? "uv"
         : e == UVEXEC_ENGINE_CLONE ? "clone"
                                    : "posix_spawn";
}

/* pidfd_engine is the engine compared with the uv engine. */
static uvexec_engine_t pidfd_engine(void) {
  return UVEXEC_ENGINE_CLONE;
}

/* ---- what a run looked like ---------------------------------------------- */

typedef struct {
  uvexec_engine_t engine;
  int rc;     /* uvexec_start */
  int status; /* the done callback's, when started */
  int done_calls;
  int exit_code;
  int term_signal;
  int pid;
  char error[1024]; /* uvexec_cmd_error, "" for none */
  tbuf_t out;       /* captured stdout */
} outcome_t;

static void outcome_free(outcome_t *o) {
  tbuf_free(&o->out);
}

/* run_on runs cmd with engine on the test loop, stdout captured, records
 * what happened, frees cmd, and proves the run left nothing behind. */
static void run_on(uvexec_cmd_t *cmd, uvexec_engine_t engine, outcome_t *o) {
  int fds_before = count_open_fds();
  const char *msg, *data;
  size_t len = 0;
  probe_t p;

  memset(o, 0, sizeof *o);
  o->engine = engine;
  ck_assert_ptr_nonnull(cmd);
  probe_init(&p, cmd);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, engine), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  o->rc = uvexec_start(cmd, test_loop, probe_done_cb);
  if (o->rc == 0) {
    o->pid = uvexec_pid(cmd);
    probe_wait(&p);
  }
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  o->status = p.status;
  o->done_calls = p.done_calls;
  o->exit_code = uvexec_exit_code(cmd);
  o->term_signal = uvexec_term_signal(cmd);
  msg = uvexec_cmd_error(cmd);
  snprintf(o->error, sizeof o->error, "%s", msg != NULL ? msg : "");
  data = uvexec_stdout_data(cmd, &len);
  if (data != NULL)
    tbuf_append(&o->out, data, len);
  probe_free(&p);

  ck_assert_msg(count_open_fds() == fds_before,
                "engine %s: %d fds open after the run, %d before",
                engine_name(engine), count_open_fds(), fds_before);
  assert_no_zombies();
  if (o->rc != 0)
    ck_assert_msg(o->done_calls == 0,
                  "engine %s: done fired after a failed start",
                  engine_name(engine));
}

/* both runs the cmds made by the caller on each engine: a with uv, b with
 * posix_spawn. It answers 1 when both ran and can be compared, 0 when this
 * process has no pidfd: b must then have been refused with UV_ENOSYS,
 * unless it failed before any engine was involved as a did. */
static int both(uvexec_cmd_t *for_uv, uvexec_cmd_t *for_posix, outcome_t *a,
                outcome_t *b) {
  run_on(for_uv, UVEXEC_ENGINE_UV, a);
  run_on(for_posix, pidfd_engine(), b);
  if (have_pidfd())
    return 1;
  ck_assert_msg(b->rc == UV_ENOSYS || (a->rc != 0 && b->rc == a->rc),
                "without pidfd the clone engine gave %s, not ENOSYS",
                uvexec_err_name(b->rc));
  return 0;
}

/* assert_same fails unless both engines gave what the user can see alike:
 * codes, statuses, messages and output. */
static void assert_same(const outcome_t *a, const outcome_t *b) {
  ck_assert_msg(a->rc == b->rc,
                "start: uv gave %d %s \"%s\", posix_spawn %d %s \"%s\"", a->rc,
                uvexec_err_name(a->rc), a->error, b->rc, uvexec_err_name(b->rc),
                b->error);
  ck_assert_msg(a->done_calls == b->done_calls,
                "done calls: uv %d, posix_spawn %d", a->done_calls,
                b->done_calls);
  ck_assert_msg(a->status == b->status, "status: uv %s, posix_spawn %s",
                uvexec_err_name(a->status), uvexec_err_name(b->status));
  ck_assert_msg(a->exit_code == b->exit_code,
                "exit code: uv %d, posix_spawn %d", a->exit_code, b->exit_code);
  ck_assert_msg(a->term_signal == b->term_signal,
                "signal: uv %d, posix_spawn %d", a->term_signal,
                b->term_signal);
  ck_assert_msg(strcmp(a->error, b->error) == 0,
                "messages differ: uv \"%s\", posix_spawn \"%s\"", a->error,
                b->error);
  ck_assert_msg(a->out.len == b->out.len &&
                    (a->out.len == 0 ||
                     memcmp(a->out.data, b->out.data, a->out.len) == 0),
                "stdout differs: uv \"%s\", posix_spawn \"%s\"",
                a->out.data ? a->out.data : "", b->out.data ? b->out.data : "");
}

/* expect checks one engine's outcome against what the user relies on. */
static void expect(const outcome_t *o, int rc, int status,
                   const char *error_needle, const char *out) {
  ck_assert_msg(o->rc == rc, "engine %s: start gave %s (%s), expected %s",
                engine_name(o->engine), uvexec_err_name(o->rc), o->error,
                uvexec_err_name(rc));
  if (rc == 0) {
    ck_assert_int_eq(o->done_calls, 1);
    ck_assert_msg(o->status == status, "engine %s: status %s, expected %s",
                  engine_name(o->engine), uvexec_err_name(o->status),
                  uvexec_err_name(status));
  }
  if (error_needle == NULL)
    ck_assert_msg(o->error[0] == '\0', "engine %s: unexpected message \"%s\"",
                  engine_name(o->engine), o->error);
  else
    ck_assert_msg(strstr(o->error, error_needle) != NULL,
                  "engine %s: message \"%s\" lacks \"%s\"",
                  engine_name(o->engine), o->error, error_needle);
  if (out != NULL)
    ck_assert_msg(
        o->out.len == strlen(out) &&
            (o->out.len == 0 || memcmp(o->out.data, out, o->out.len) == 0),
        "engine %s: stdout \"%s\", expected \"%s\"", engine_name(o->engine),
        o->out.data ? o->out.data : "", out);
}

/* check_both runs the pair, checks each usable engine against the
 * expectation, and both against each other. */
static void check_both(uvexec_cmd_t *for_uv, uvexec_cmd_t *for_posix, int rc,
                       int status, const char *error_needle, const char *out) {
  outcome_t a, b;

  if (both(for_uv, for_posix, &a, &b)) {
    expect(&b, rc, status, error_needle, out);
    assert_same(&a, &b);
  }
  expect(&a, rc, status, error_needle, out);
  outcome_free(&a);
  outcome_free(&b);
}

/* ---- results ------------------------------------------------------------- */

START_TEST(test_engines_echo) {
  check_both(helper_cmd("echo", "same", "words", NULL),
             helper_cmd("echo", "same", "words", NULL), 0, 0, NULL,
             "same words\n");
}
END_TEST

START_TEST(test_engines_exit_3) {
  check_both(helper_cmd("exit", "3", NULL), helper_cmd("exit", "3", NULL), 0,
             UVEXEC_EEXIT, "exit status 3", "");
}
END_TEST

START_TEST(test_engines_signal) {
  check_both(helper_cmd("kill-self", "15", NULL),
             helper_cmd("kill-self", "15", NULL), 0, UVEXEC_ESIGNALED,
             "signal: terminated", "");
}
END_TEST

/* ---- start failures ------------------------------------------------------ */

START_TEST(test_engines_not_found) {
  check_both(uvexec_command("uvexec-no-such-program", NULL),
             uvexec_command("uvexec-no-such-program", NULL), UV_ENOENT, 0,
             "exec: \"uvexec-no-such-program\": executable file not found "
             "in $PATH",
             "");
}
END_TEST

/* write_file creates dir/name with the given bytes and mode. */
static char *write_file(const char *dir, const char *name, const void *data,
                        size_t len, mode_t mode) {
  char *path = malloc(strlen(dir) + strlen(name) + 2);
  int fd;

  ck_assert_ptr_nonnull(path);
  sprintf(path, "%s/%s", dir, name);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
  ck_assert_int_eq(close(fd), 0);
  ck_assert_int_eq(chmod(path, mode), 0);
  return path;
}

START_TEST(test_engines_no_exec_bit) {
  char *dir = make_temp_dir();
  static const char script[] = "#!/bin/sh\necho should not run\n";
  char *path = write_file(dir, "plain", script, sizeof script - 1, 0644);

  check_both(uvexec_command(path, NULL), uvexec_command(path, NULL), UV_EACCES,
             0, path, "");
  free(path);
  remove_tree(dir);
  free(dir);
}
END_TEST

START_TEST(test_engines_directory) {
  char *dir = make_temp_dir();

  check_both(uvexec_command(dir, NULL), uvexec_command(dir, NULL), UV_EACCES, 0,
             dir, "");
  remove_tree(dir);
  free(dir);
}
END_TEST

START_TEST(test_engines_missing_dir) {
  uvexec_cmd_t *a = helper_cmd("pwd", NULL);
  uvexec_cmd_t *b = helper_cmd("pwd", NULL);
  const char *dir = "/nonexistent-uvexec-dir/sub";

  ck_assert_int_eq(uvexec_cmd_set_dir(a, dir), 0);
  ck_assert_int_eq(uvexec_cmd_set_dir(b, dir), 0);
  check_both(a, b, UV_ENOENT, 0,
             "chdir /nonexistent-uvexec-dir/sub: no such file or directory",
             "");
}
END_TEST

/* An executable file without "#!" is not a shell script to either engine
 * (libuv's execvp would hand it to /bin/sh): Go's "exec format error". */
START_TEST(test_engines_enoexec_text) {
  char *dir = make_temp_dir();
  static const char text[] = "echo this must not run\n";
  char *path = write_file(dir, "noshebang", text, sizeof text - 1, 0755);

  check_both(uvexec_command(path, NULL), uvexec_command(path, NULL),
             UVEXEC_ENOEXEC, 0, path, "");
  free(path);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* The same for a file that starts like ELF but is not a program this
 * kernel can load (a truncated binary, or one built for another machine):
 * the kernel says ENOEXEC, and execvp would then run the file with
 * /bin/sh. */
START_TEST(test_engines_enoexec_broken_elf) {
  char *dir = make_temp_dir();
  static const char junk[] = "\177ELF\nnot really a program\n";
  char *path = write_file(dir, "broken-elf", junk, sizeof junk - 1, 0755);

  if (under_valgrind()) {
    /* valgrind cannot survive a failed execve in a forked child, which
     * the uv engine needs to learn of the failure. */
    free(path);
    remove_tree(dir);
    free(dir);
    return;
  }
  check_both(uvexec_command(path, NULL), uvexec_command(path, NULL),
             UVEXEC_ENOEXEC, 0, path, "");
  free(path);
  remove_tree(dir);
  free(dir);
}
END_TEST

/* ---- extra fds and sessions ---------------------------------------------- */

static int cmp_int(const void *x, const void *y) {
  int a = *(const int *)x, b = *(const int *)y;
  return (a > b) - (a < b);
}

/* append_inheritable_fds appends " N" for each fd >= from that this
 * process has open without FD_CLOEXEC, in ascending order. */
static void append_inheritable_fds(char *buf, size_t size, int from) {
  DIR *dir = opendir("/proc/self/fd");
  struct dirent *de;
  int fds[1024];
  size_t n = 0, i, len;

  ck_assert_ptr_nonnull(dir);
  while ((de = readdir(dir)) != NULL) {
    int fd;
    if (de->d_name[0] == '.')
      continue;
    fd = atoi(de->d_name);
    if (fd == dirfd(dir) || fd < from)
      continue;
    if ((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0 && n < 1024)
      fds[n++] = fd;
  }
  closedir(dir);
  qsort(fds, n, sizeof fds[0], cmp_int);
  for (i = 0; i < n; i++) {
    len = strlen(buf);
    snprintf(buf + len, size - len, " %d", fds[i]);
  }
}

START_TEST(test_engines_extra_fds) {
  int p1[2], p2[2];
  struct stat st1, st2;
  char want[128], fd_list[2048];
  uvexec_cmd_t *a, *b;

  ck_assert_int_eq(pipe2(p1, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(p2, O_CLOEXEC), 0);
  ck_assert_int_eq(fstat(p1[1], &st1), 0);
  ck_assert_int_eq(fstat(p2[1], &st2), 0);
  snprintf(want, sizeof want, "pipe:[%lu]\npipe:[%lu]\n",
           (unsigned long)st1.st_ino, (unsigned long)st2.st_ino);

  /* The child's fd 3 and 4 are the caller's two pipes. */
  a = helper_cmd("fd-link", "1", "3", "4", NULL);
  b = helper_cmd("fd-link", "1", "3", "4", NULL);
  ck_assert_int_eq(uvexec_cmd_add_fd(a, p1[1]), 0);
  ck_assert_int_eq(uvexec_cmd_add_fd(a, p2[1]), 0);
  ck_assert_int_eq(uvexec_cmd_add_fd(b, p1[1]), 0);
  ck_assert_int_eq(uvexec_cmd_add_fd(b, p2[1]), 0);
  check_both(a, b, 0, 0, NULL, want);

  /* Nothing of uvexec's reaches the child: it has 0, 1, 2 and the two fds
   * given. The pidfd engines close everything else in the child (the
   * default of uvexec_cmd_set_close_fds); the uv engine cannot, so there
   * the child also gets what this process itself holds without
   * close-on-exec (fds it inherited from whoever started it). */
  {
    outcome_t oa, ob;

    a = helper_cmd("fds", NULL);
    b = helper_cmd("fds", NULL);
    ck_assert_int_eq(uvexec_cmd_add_fd(a, p1[1]), 0);
    ck_assert_int_eq(uvexec_cmd_add_fd(a, p2[1]), 0);
    ck_assert_int_eq(uvexec_cmd_add_fd(b, p1[1]), 0);
    ck_assert_int_eq(uvexec_cmd_add_fd(b, p2[1]), 0);
    snprintf(fd_list, sizeof fd_list, "0 1 2 3 4");
    append_inheritable_fds(fd_list, sizeof fd_list, 5);
    strcat(fd_list, "\n");
    if (both(a, b, &oa, &ob))
      expect(&ob, 0, 0, NULL, "0 1 2 3 4\n");
    expect(&oa, 0, 0, NULL, fd_list);
    outcome_free(&oa);
    outcome_free(&ob);
  }

  /* The caller's fds are still the caller's, flags untouched. */
  ck_assert_int_eq(fcntl(p1[1], F_GETFD), FD_CLOEXEC);
  ck_assert_int_eq(fcntl(p2[1], F_GETFD), FD_CLOEXEC);
  close(p1[0]);
  close(p1[1]);
  close(p2[0]);
  close(p2[1]);
}
END_TEST

/* stat_ids reads pid, process group and session of the process whose
 * /proc/<pid>/stat line is text. */
static void stat_ids(const char *text, long *pid, long *pgrp, long *sid) {
  const char *rp = strrchr(text, ')');
  char state;
  long ppid;

  ck_assert_ptr_nonnull(rp);
  *pid = strtol(text, NULL, 10);
  ck_assert_int_eq(sscanf(rp + 1, " %c %ld %ld %ld", &state, &ppid, pgrp, sid),
                   4);
}

static void check_session(const outcome_t *o, int new_session) {
  long pid, pgrp, sid;

  ck_assert_msg(o->rc == 0 && o->status == 0, "engine %s: %s %s",
                engine_name(o->engine), uvexec_err_name(o->rc), o->error);
  stat_ids(o->out.data, &pid, &pgrp, &sid);
  ck_assert_int_eq(pid, o->pid); /* cat is the child itself */
  if (new_session) {
    ck_assert_msg(pgrp == pid && sid == pid,
                  "engine %s: pid %ld in group %ld, session %ld",
                  engine_name(o->engine), pid, pgrp, sid);
  } else {
    ck_assert_int_eq(pgrp, (long)getpgrp());
    ck_assert_int_eq(sid, (long)getsid(0));
  }
}

START_TEST(test_engines_new_session) {
  int on;

  for (on = 0; on <= 1; on++) {
    outcome_t a, b;
    uvexec_cmd_t *ca = uvexec_command("cat", "/proc/self/stat", NULL);
    uvexec_cmd_t *cb = uvexec_command("cat", "/proc/self/stat", NULL);

    ck_assert_int_eq(uvexec_cmd_set_new_session(ca, on), 0);
    ck_assert_int_eq(uvexec_cmd_set_new_session(cb, on), 0);
    if (both(ca, cb, &a, &b))
      check_session(&b, on);
    check_session(&a, on);
    outcome_free(&a);
    outcome_free(&b);
  }
}
END_TEST

/* ---- resource usage ------------------------------------------------------ */

START_TEST(test_rusage_clone) {
  uvexec_rusage_t ru;
  probe_t p;
  int rc;

  /* A child that spends some CPU time of its own. */
  probe_init(&p, uvexec_command("sh", "-c",
                                "i=0; while [ $i -lt 300000 ]; do "
                                "i=$((i+1)); done",
                                NULL));
  ck_assert_int_eq(uvexec_cmd_set_engine(p.cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_rusage(p.cmd, &ru), UV_EBUSY);
  rc = uvexec_start(p.cmd, test_loop, probe_done_cb);
  if (!have_pidfd()) {
    ck_assert_int_eq(rc, UV_ENOSYS);
    ck_assert_int_eq(uvexec_rusage(p.cmd, &ru), UV_EBUSY);
    probe_free(&p);
    return;
  }
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(uvexec_rusage(p.cmd, &ru), UV_EBUSY);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);

  memset(&ru, 0xff, sizeof ru);
  ck_assert_int_eq(uvexec_rusage(p.cmd, &ru), 0);
  ck_assert_msg(ru.user_usec > 0, "user time %llu us after a busy loop",
                (unsigned long long)ru.user_usec);
  ck_assert_msg(ru.user_usec < 600u * 1000000u, "user time %llu us",
                (unsigned long long)ru.user_usec);
  ck_assert_msg(ru.system_usec < 600u * 1000000u, "system time %llu us",
                (unsigned long long)ru.system_usec);
  ck_assert_msg(ru.maxrss_kib > 0 && ru.maxrss_kib < 16u * 1024u * 1024u,
                "peak RSS %llu KiB", (unsigned long long)ru.maxrss_kib);
  ck_assert_int_eq(uvexec_rusage(p.cmd, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_rusage(NULL, &ru), UV_EINVAL);
  probe_free(&p);
}
END_TEST

START_TEST(test_rusage_uv_not_supported) {
  uvexec_rusage_t ru;
  probe_t p;

  probe_init(&p, helper_cmd("exit", "0", NULL));
  ck_assert_int_eq(uvexec_cmd_set_engine(p.cmd, UVEXEC_ENGINE_UV), 0);
  probe_start(&p);
  ck_assert_int_eq(uvexec_rusage(p.cmd, &ru), UV_EBUSY);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(uvexec_rusage(p.cmd, &ru), UV_ENOTSUP);
  probe_free(&p);
}
END_TEST

/* Before the exit there is nothing to report, whatever the engine, even
 * while the child is being stopped. */
START_TEST(test_rusage_before_exit) {
  uvexec_engine_t engines[2] = {UVEXEC_ENGINE_UV, UVEXEC_ENGINE_CLONE};
  int i;

  for (i = 0; i < 2; i++) {
    uvexec_rusage_t ru;
    probe_t p;
    int rc;

    probe_init(&p, helper_cmd("sleep", "10000", NULL));
    ck_assert_int_eq(uvexec_cmd_set_engine(p.cmd, engines[i]), 0);
    rc = uvexec_start(p.cmd, test_loop, probe_done_cb);
    if (rc == UV_ENOSYS && engines[i] == UVEXEC_ENGINE_CLONE &&
        !have_pidfd()) {
      probe_free(&p);
      continue;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(uvexec_rusage(p.cmd, &ru), UV_EBUSY);
    ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
    ck_assert_int_eq(uvexec_rusage(p.cmd, &ru), UV_EBUSY);
    probe_wait(&p);
    ck_assert_int_eq(p.status, UV_ECANCELED);
    ck_assert_int_eq(uvexec_rusage(p.cmd, &ru),
                     engines[i] == UVEXEC_ENGINE_UV ? UV_ENOTSUP : 0);
    probe_free(&p);
  }
}
END_TEST

/* ---- identity ------------------------------------------------------------ */

/* UVEXEC_ENGINE_POSIX_SPAWN names the engine the clone engine replaced:
 * code that chose it still runs, and now gets what the clone engine can
 * do, another uid included (the current one here, which is always
 * allowed). */
START_TEST(test_posix_spawn_is_clone) {
  probe_t p;
  int rc;

  probe_init(&p, helper_cmd("echo", "x", NULL));
  ck_assert_int_eq(uvexec_cmd_set_engine(p.cmd, UVEXEC_ENGINE_POSIX_SPAWN), 0);
  ck_assert_int_eq(uvexec_cmd_set_uid(p.cmd, getuid()), 0);
  ck_assert_int_eq(uvexec_cmd_set_umask(p.cmd, 022), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  rc = uvexec_start(p.cmd, test_loop, probe_done_cb);
  if (!have_pidfd()) {
    ck_assert_int_eq(rc, UV_ENOSYS);
    probe_free(&p);
    return;
  }
  ck_assert_int_eq(rc, 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "x\n");
  probe_free(&p);
}
END_TEST

START_TEST(test_set_engine_invalid) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, (uvexec_engine_t)7), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_engine(NULL, UVEXEC_ENGINE_UV), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_AUTO), 0);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_UV), UV_EBUSY);
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- the child's signal state -------------------------------------------- */

/* status_field returns the hex mask after "name:" in a /proc status text. */
static unsigned long long status_field(const char *text, const char *name) {
  char key[32];
  const char *at;

  snprintf(key, sizeof key, "\n%s:", name);
  at = strstr(text, key);
  ck_assert_msg(at != NULL, "no %s line in /proc/self/status", name);
  return strtoull(at + strlen(key), NULL, 16);
}

/* own_status_field reads the same mask for this process. */
static unsigned long long own_status_field(const char *name) {
  char text[8192];
  size_t n;
  FILE *f = fopen("/proc/self/status", "r");

  ck_assert_ptr_nonnull(f);
  text[0] = '\n';
  n = fread(text + 1, 1, sizeof text - 2, f);
  fclose(f);
  text[n + 1] = '\0';
  return status_field(text, name);
}

/* libc_reserved gives the bits of the signals between the kernel's 32 and
 * libc's SIGRTMIN, which libc keeps for its threads. No program can set
 * them through sigaction(), so a state this test process inherited for
 * them from whoever started it is out of everyone's reach, and allowed.
 * Anything else in the child's masks is an engine's doing. */
static unsigned long long libc_reserved(void) {
  unsigned long long bits = 0;
  int sig;
  for (sig = 32; sig < SIGRTMIN && sig <= 64; sig++)
    bits |= 1ull << (sig - 1);
  return bits;
}

static void check_clean_signals(const outcome_t *o,
                                unsigned long long inherited_ign,
                                unsigned long long inherited_blk) {
  unsigned long long ign, blk;

  ck_assert_msg(o->rc == 0 && o->status == 0, "engine %s: %s %s",
                engine_name(o->engine), uvexec_err_name(o->rc), o->error);
  ign = status_field(o->out.data, "SigIgn");
  blk = status_field(o->out.data, "SigBlk");
  ck_assert_msg((ign & ~inherited_ign) == 0,
                "engine %s: the child ignores signals (SigIgn %llx; this "
                "process inherited %llx)",
                engine_name(o->engine), ign, inherited_ign);
  ck_assert_msg((blk & ~inherited_blk) == 0,
                "engine %s: the child blocks signals (SigBlk %llx; this "
                "process inherited %llx)",
                engine_name(o->engine), blk, inherited_blk);
}

START_TEST(test_engines_child_signals_default) {
  struct sigaction ign, old_int, old_pipe;
  sigset_t usr1, old_mask;
  outcome_t a, b;
  unsigned long long in_ign = own_status_field("SigIgn") & libc_reserved();
  unsigned long long in_blk = own_status_field("SigBlk") & libc_reserved();

  /* The parent ignores SIGINT and SIGPIPE and blocks SIGUSR1, as many
   * programs do; none of that may reach the child. */
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  ck_assert_int_eq(sigaction(SIGINT, &ign, &old_int), 0);
  ck_assert_int_eq(sigaction(SIGPIPE, &ign, &old_pipe), 0);
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &usr1, &old_mask), 0);

  if (both(uvexec_command("cat", "/proc/self/status", NULL),
           uvexec_command("cat", "/proc/self/status", NULL), &a, &b)) {
    check_clean_signals(&a, in_ign, in_blk);
    check_clean_signals(&b, in_ign, in_blk);
  }
  check_clean_signals(&a, in_ign, in_blk);
  outcome_free(&a);
  outcome_free(&b);

  /* ... and the parent's own state is as it made it. */
  {
    struct sigaction now;
    sigset_t mask;
    ck_assert_int_eq(sigaction(SIGINT, NULL, &now), 0);
    ck_assert(now.sa_handler == SIG_IGN);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
    ck_assert_int_eq(sigismember(&mask, SIGUSR1), 1);
  }
  ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old_mask, NULL), 0);
  ck_assert_int_eq(sigaction(SIGINT, &old_int, NULL), 0);
  ck_assert_int_eq(sigaction(SIGPIPE, &old_pipe, NULL), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("engine");
  ADD_TEST(s, test_engines_echo);
  ADD_TEST(s, test_engines_exit_3);
  ADD_TEST(s, test_engines_signal);
  ADD_TEST(s, test_engines_not_found);
  ADD_TEST(s, test_engines_no_exec_bit);
  ADD_TEST(s, test_engines_directory);
  ADD_TEST(s, test_engines_missing_dir);
  ADD_TEST(s, test_engines_enoexec_text);
  ADD_TEST(s, test_engines_enoexec_broken_elf);
  ADD_TEST(s, test_engines_extra_fds);
  ADD_TEST(s, test_engines_new_session);
  ADD_TEST(s, test_rusage_clone);
  ADD_TEST(s, test_rusage_uv_not_supported);
  ADD_TEST(s, test_rusage_before_exit);
  ADD_TEST(s, test_posix_spawn_is_clone);
  ADD_TEST(s, test_set_engine_invalid);
  ADD_TEST(s, test_engines_child_signals_default);
  return run_suite(s);
}
