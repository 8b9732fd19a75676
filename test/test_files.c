/* SPDX-License-Identifier: MIT */
/* Redirections to files: a shell's `< in`, `> out`, `>> out` and
 * `> out 2>&1`, with paths taken from the cmd's directory and opened as
 * the child (clone engine) or as this process (uv engine). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* ---- files --------------------------------------------------------------- */

static void put_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  size_t len = strlen(text);

  ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
  ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
  ck_assert_int_eq(close(fd), 0);
}

/* get_text reads path whole into buf, NUL-terminated. */
static void get_text(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  size_t len = 0;
  ssize_t n;

  ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
  while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
    len += (size_t)n;
  buf[len] = '\0';
  close(fd);
}

static void in_dir(char *buf, size_t size, const char *dir, const char *name) {
  ck_assert_int_lt(snprintf(buf, size, "%s/%s", dir, name), (int)size);
}

/* run_to_end starts cmd and waits for it, answering its status. */
static int run_to_end(uvexec_cmd_t *cmd) {
  probe_t p;
  int status;

  probe_init(&p, cmd);
  probe_start(&p);
  probe_wait(&p);
  status = p.status;
  probe_free(&p);
  return status;
}

/* ---- the redirections ---------------------------------------------------- */

/* > truncates what was there; >> adds to it. */
START_TEST(test_stdout_truncates_and_appends) {
  char *tmp = make_temp_dir();
  char out[PATH_MAX], got[256];
  uvexec_cmd_t *cmd;

  in_dir(out, sizeof out, tmp, "out");
  put_text(out, "what was there before, and longer than the new text\n");

  cmd = helper_cmd("echo", "one", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 0), 0);
  ck_assert_int_eq(run_to_end(cmd), 0);
  get_text(out, got, sizeof got);
  ck_assert_str_eq(got, "one\n");

  cmd = helper_cmd("echo", "two", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 1), 0);
  ck_assert_int_eq(run_to_end(cmd), 0);
  get_text(out, got, sizeof got);
  ck_assert_str_eq(got, "one\ntwo\n");

  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* < file is the child's stdin; what it reads comes back on a captured
 * stdout. */
START_TEST(test_stdin_from_file) {
  char *tmp = make_temp_dir();
  char in[PATH_MAX];
  uvexec_cmd_t *cmd;
  probe_t p;

  in_dir(in, sizeof in, tmp, "in");
  put_text(in, "first line\nsecond line\n");
  cmd = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_stdin_file(cmd, in), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  probe_init(&p, cmd);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(cmd, "first line\nsecond line\n");
  probe_free(&p);

  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* > out 2>&1: one open file with one offset, so the lines of both streams
 * stand in the order they were written, none over another. A stderr file
 * of its own is a second file. */
START_TEST(test_merged_and_separate_stderr) {
  char *tmp = make_temp_dir();
  char out[PATH_MAX], err[PATH_MAX], got[4096], want[4096];
  size_t len = 0;
  uvexec_cmd_t *cmd;
  int i;

  in_dir(out, sizeof out, tmp, "out");
  in_dir(err, sizeof err, tmp, "err");
  for (i = 0; i < 50; i++)
    len += (size_t)snprintf(want + len, sizeof want - len, "out %d\nerr %d\n",
                            i, i);

  cmd = helper_cmd("interleave", "50", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 0), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_MERGE), 0);
  ck_assert_int_eq(run_to_end(cmd), 0);
  get_text(out, got, sizeof got);
  ck_assert_str_eq(got, want);

  cmd = helper_cmd("interleave", "2", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 0), 0);
  ck_assert_int_eq(uvexec_cmd_stderr_file(cmd, err, 0), 0);
  ck_assert_int_eq(run_to_end(cmd), 0);
  get_text(out, got, sizeof got);
  ck_assert_str_eq(got, "out 0\nout 1\n");
  get_text(err, got, sizeof got);
  ck_assert_str_eq(got, "err 0\nerr 1\n");

  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* A relative path is the child's: taken from the cmd's directory, not
 * from this process's. */
START_TEST(test_relative_to_cmd_dir) {
  char *tmp = make_temp_dir();
  char path[PATH_MAX], got[256];
  uvexec_cmd_t *cmd;

  in_dir(path, sizeof path, tmp, "in");
  put_text(path, "from the dir\n");
  cmd = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, tmp), 0);
  ck_assert_int_eq(uvexec_cmd_stdin_file(cmd, "in"), 0);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, "out", 0), 0);
  ck_assert_int_eq(run_to_end(cmd), 0);
  in_dir(path, sizeof path, tmp, "out");
  get_text(path, got, sizeof got);
  ck_assert_str_eq(got, "from the dir\n");
  ck_assert_int_eq(access("out", F_OK), -1); /* not here */

  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* A file created for the child has mode 0666 less the child's umask. */
START_TEST(test_created_mode) {
  char *tmp = make_temp_dir();
  char out[PATH_MAX];
  uvexec_cmd_t *cmd;
  struct stat st;
  mode_t old = umask(022);

  in_dir(out, sizeof out, tmp, "out");
  cmd = helper_cmd("echo", "x", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 0), 0);
  ck_assert_int_eq(run_to_end(cmd), 0);
  ck_assert_int_eq(stat(out, &st), 0);
  ck_assert_int_eq(st.st_mode & 07777, 0644);

  if (have_pidfd()) {
    /* The clone engine opens it after the child's own umask is set. */
    ck_assert_int_eq(unlink(out), 0);
    cmd = helper_cmd("echo", "x", NULL);
    ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
    ck_assert_int_eq(uvexec_cmd_set_umask(cmd, 077), 0);
    ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 0), 0);
    ck_assert_int_eq(run_to_end(cmd), 0);
    ck_assert_int_eq(stat(out, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
  }
  umask(old);
  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* ---- failure ------------------------------------------------------------- */

/* A file that cannot be opened fails the start with a message naming it,
 * and leaves nothing: no child, no fd (the fixture), no file. */
START_TEST(test_open_failures) {
  char *tmp = make_temp_dir();
  char path[PATH_MAX], want[PATH_MAX + 64];
  uvexec_cmd_t *cmd;

  cmd = helper_cmd("echo", "x", NULL);
  ck_assert_int_eq(
      uvexec_cmd_stdout_file(cmd, "/nonexistent-uvexec-dir/out", 0), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOENT);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "open /nonexistent-uvexec-dir/out: no such file or "
                   "directory");
  uvexec_cmd_free(cmd);

  in_dir(path, sizeof path, tmp, "missing");
  cmd = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_stdin_file(cmd, path), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOENT);
  snprintf(want, sizeof want, "open %s: no such file or directory", path);
  ck_assert_str_eq(uvexec_cmd_error(cmd), want);
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(access(path, F_OK), -1);

  /* A directory is no file to write. */
  cmd = helper_cmd("echo", "x", NULL);
  in_dir(path, sizeof path, tmp, "out");
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, path, 0), 0);
  ck_assert_int_eq(uvexec_cmd_stderr_file(cmd, tmp, 1), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EISDIR);
  snprintf(want, sizeof want, "open %s: %s", tmp, uvexec_strerror(UV_EISDIR));
  ck_assert_str_eq(uvexec_cmd_error(cmd), want);
  uvexec_cmd_free(cmd);

  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* A stream that goes to a file has no bytes for a callback. */
START_TEST(test_file_refuses_callbacks) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "x", NULL);

  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, "/dev/null", 0), 0);
  ck_assert_int_eq(uvexec_cmd_on_stdout(cmd, probe_stdout_cb), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_setters_validate) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "x", NULL);

  ck_assert_int_eq(uvexec_cmd_stdin_file(NULL, "x"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stdin_file(cmd, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stdin_file(cmd, ""), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, NULL, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, "", 1), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_stderr_file(cmd, "", 0), UV_EINVAL);
  /* Another choice after a file replaces it: the echo lands in the
   * buffer, and no file is created. */
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, "uvexec-never-made", 0), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  assert_stdout(cmd, "x\n");
  ck_assert_int_eq(access("uvexec-never-made", F_OK), -1);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, "x", 0), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_stdin_file(cmd, "x"), UV_EBUSY);
  uvexec_cmd_free(cmd);
}
END_TEST

/* A copy has the same redirections, its own strings. */
START_TEST(test_copy_keeps_files) {
  char *tmp = make_temp_dir();
  char in[PATH_MAX], out[PATH_MAX], got[256];
  uvexec_cmd_t *cmd = helper_cmd("cat", NULL), *copy;

  in_dir(in, sizeof in, tmp, "in");
  in_dir(out, sizeof out, tmp, "out");
  put_text(in, "copied\n");
  ck_assert_int_eq(uvexec_cmd_stdin_file(cmd, in), 0);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 1), 0);
  copy = uvexec_cmd_copy(cmd);
  ck_assert_ptr_nonnull(copy);
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(run_to_end(copy), 0);
  get_text(out, got, sizeof got);
  ck_assert_str_eq(got, "copied\n");

  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* ---- above the cmd -------------------------------------------------------- */

/* < in cat | cat > out: the ends of a pipeline are files. */
START_TEST(test_pipeline_ends_in_files) {
  char *tmp = make_temp_dir();
  char in[PATH_MAX], out[PATH_MAX], got[256];
  uvexec_cmd_t *cmds[2];
  uvexec_pipeline_t *p;

  in_dir(in, sizeof in, tmp, "in");
  in_dir(out, sizeof out, tmp, "out");
  put_text(in, "through two\n");
  cmds[0] = helper_cmd("cat", NULL);
  cmds[1] = helper_cmd("cat", NULL);
  ck_assert_int_eq(uvexec_cmd_stdin_file(cmds[0], in), 0);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmds[1], out, 0), 0);
  p = uvexec_pipeline_cmds(cmds, 2);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(uvexec_pipeline_run(p), 0);
  uvexec_pipeline_free(p);
  get_text(out, got, sizeof got);
  ck_assert_str_eq(got, "through two\n");

  remove_tree(tmp);
  free(tmp);
}
END_TEST

/* ---- as another user ------------------------------------------------------ */

/* On the clone engine the child opens its files as itself: what it
 * creates is its own, and it cannot write where it may not. On the uv
 * engine this process opens them, as root. */
START_TEST(test_opened_as_the_child) {
  char *tmp = make_temp_dir();
  char *theirs = make_temp_dir();
  char out[PATH_MAX], want[PATH_MAX + 64];
  uvexec_cmd_t *cmd;
  struct stat st;
  int rc;

  in_dir(out, sizeof out, theirs, "out");
  ck_assert_int_eq(chmod(theirs, 0777), 0);

  if (have_pidfd()) {
    cmd = shared_helper_cmd("echo", "mine", NULL);
    ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
    ck_assert_int_eq(uvexec_cmd_set_uid(cmd, OTHER_UID), 0);
    ck_assert_int_eq(uvexec_cmd_set_gid(cmd, OTHER_UID), 0);
    ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 0), 0);
    ck_assert_int_eq(run_to_end(cmd), 0);
    ck_assert_int_eq(stat(out, &st), 0);
    ck_assert_int_eq(st.st_uid, OTHER_UID);
    ck_assert_int_eq(st.st_gid, OTHER_UID);
    ck_assert_int_eq(unlink(out), 0);

    /* tmp is root's, mode 0700 (mkdtemp): not nobody's to write in. */
    in_dir(out, sizeof out, tmp, "out");
    cmd = shared_helper_cmd("echo", "mine", NULL);
    ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
    ck_assert_int_eq(uvexec_cmd_set_uid(cmd, OTHER_UID), 0);
    ck_assert_int_eq(uvexec_cmd_set_gid(cmd, OTHER_UID), 0);
    ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 0), 0);
    rc = uvexec_start(cmd, test_loop, NULL);
    ck_assert_msg(rc == UV_EACCES, "start: %s", uvexec_err_name(rc));
    snprintf(want, sizeof want, "open %s: permission denied", out);
    ck_assert_str_eq(uvexec_cmd_error(cmd), want);
    uvexec_cmd_free(cmd);
    ck_assert_int_eq(access(out, F_OK), -1);
    in_dir(out, sizeof out, theirs, "out");
  }

  cmd = shared_helper_cmd("echo", "mine", NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_UV), 0);
  ck_assert_int_eq(uvexec_cmd_set_uid(cmd, OTHER_UID), 0);
  ck_assert_int_eq(uvexec_cmd_set_gid(cmd, OTHER_UID), 0);
  ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, out, 0), 0);
  ck_assert_int_eq(run_to_end(cmd), 0);
  ck_assert_int_eq(stat(out, &st), 0);
  ck_assert_int_eq(st.st_uid, getuid());

  remove_tree(theirs);
  remove_tree(tmp);
  free(theirs);
  free(tmp);
}
END_TEST

int main(void) {
  Suite *s = suite_create("files");

  ADD_TEST(s, test_stdout_truncates_and_appends);
  ADD_TEST(s, test_stdin_from_file);
  ADD_TEST(s, test_merged_and_separate_stderr);
  ADD_TEST(s, test_relative_to_cmd_dir);
  ADD_TEST(s, test_created_mode);
  ADD_TEST(s, test_open_failures);
  ADD_TEST(s, test_file_refuses_callbacks);
  ADD_TEST(s, test_setters_validate);
  ADD_TEST(s, test_copy_keeps_files);
  ADD_TEST(s, test_pipeline_ends_in_files);
  if (getuid() == 0 && share_helper("files")) {
    ADD_TEST(s, test_opened_as_the_child);
  } else {
    fprintf(stderr, "files: not root, or no helper that uid %d can run: "
                    "the other-user case is skipped, not passed\n",
            OTHER_UID);
  }
  return run_suite(s);
}
