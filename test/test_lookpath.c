/* SPDX-License-Identifier: MIT */
/* uvexec_lookpath / uvexec_lookpath_in (lib/lookpath.c), and the lookup as
 * uvexec_run sees it: Go's exec.LookPath rules on Unix, ErrDot included. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "common.h"
#include "uvexec.h"

/* A pointer no lookup ever returns: a failing call must overwrite it. */
static char sentinel_byte;
#define SENTINEL (&sentinel_byte)

/* ---- files --------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_DP)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

/* rm_rf removes dir and everything below it (remove_tree of common.h only
 * goes one level down; these trees have subdirectories). */
static void rm_rf(const char *dir) {
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* at formats dir/rel into one of a few rotating static buffers. */
static const char *at(const char *dir, const char *rel) {
  static char bufs[8][PATH_MAX];
  static int next;
  char *b = bufs[next++ % 8];

  ck_assert_int_lt(snprintf(b, PATH_MAX, "%s/%s", dir, rel), PATH_MAX);
  return b;
}

static void put_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  size_t len = strlen(text);

  ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
  ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
  ck_assert_int_eq(close(fd), 0);
  /* chmod after the write: the umask does not get a say in the bits. */
  ck_assert_int_eq(chmod(path, mode), 0);
}

static void put_dir(const char *path) {
  ck_assert_msg(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
}

#define SCRIPT(text) "#!/bin/sh\n" text "\n"

/* A test that changes directory goes back before it ends. */
static char saved_cwd[PATH_MAX];

static void enter(const char *dir) {
  ck_assert_ptr_nonnull(getcwd(saved_cwd, sizeof saved_cwd));
  ck_assert_msg(chdir(dir) == 0, "chdir %s: %s", dir, strerror(errno));
}

static void leave(void) {
  ck_assert_int_eq(chdir(saved_cwd), 0);
}

/* show prints a PATH value that may be NULL. */
static const char *show(const char *s) {
  return s != NULL ? s : "(null)";
}

/* ename names an error code, 0 included. */
static const char *ename(int err) {
  return err == 0 ? "0" : uvexec_err_name(err);
}

/* lookup runs uvexec_lookpath_in with *path primed to a sentinel, so a
 * call that forgets to set it is caught. */
static int lookup(const char *file, const char *pathenv, char **path) {
  *path = SENTINEL;
  return uvexec_lookpath_in(file, pathenv, path);
}

#define ASSERT_FOUND(file, pathenv, want_err, want_path)                       \
  do {                                                                         \
    char *p_;                                                                  \
    int e_ = lookup((file), (pathenv), &p_);                                   \
    ck_assert_msg(e_ == (want_err), "lookpath(%s, %s) = %s, want %s", (file),  \
                  show(pathenv), ename(e_), ename(want_err));                  \
    ck_assert_ptr_ne(p_, SENTINEL);                                            \
    ck_assert_ptr_nonnull(p_);                                                 \
    ck_assert_str_eq(p_, (want_path));                                         \
    free(p_);                                                                  \
  } while (0)

#define ASSERT_NOT_FOUND(file, pathenv, want_err)                              \
  do {                                                                         \
    char *p_;                                                                  \
    int e_ = lookup((file), (pathenv), &p_);                                   \
    ck_assert_msg(e_ == (want_err), "lookpath(%s, %s) = %s, want %s", (file),  \
                  show(pathenv), ename(e_), ename(want_err));                  \
    ck_assert_ptr_null(p_);                                                    \
  } while (0)

static char path_buf[4 * PATH_MAX];

/* list joins up to four PATH entries with ':' (NULLs end the list). */
static const char *list(const char *a, const char *b, const char *c,
                        const char *d) {
  const char *parts[4] = {a, b, c, d};
  size_t len = 0;
  int i;

  path_buf[0] = '\0';
  for (i = 0; i < 4 && parts[i] != NULL; i++)
    len += (size_t)snprintf(path_buf + len, sizeof path_buf - len, "%s%s",
                            i > 0 ? ":" : "", parts[i]);
  return path_buf;
}

/* ---- uvexec_lookpath_in -------------------------------------------------- */

START_TEST(test_first_match_wins) {
  char *tmp = make_temp_dir();
  char d1[PATH_MAX], d2[PATH_MAX];

  snprintf(d1, sizeof d1, "%s", at(tmp, "one"));
  snprintf(d2, sizeof d2, "%s", at(tmp, "two"));
  put_dir(d1);
  put_dir(d2);
  put_file(at(d1, "prog"), SCRIPT("exit 0"), 0755);
  put_file(at(d2, "prog"), SCRIPT("exit 0"), 0755);
  put_file(at(d2, "only2"), SCRIPT("exit 0"), 0755);

  ASSERT_FOUND("prog", list(d1, d2, NULL, NULL), 0, at(d1, "prog"));
  ASSERT_FOUND("prog", list(d2, d1, NULL, NULL), 0, at(d2, "prog"));
  ASSERT_FOUND("only2", list(d1, d2, NULL, NULL), 0, at(d2, "only2"));
  ASSERT_FOUND("prog", list("/nonexistent-uvexec", d2, d1, NULL), 0,
               at(d2, "prog"));
  ASSERT_NOT_FOUND("absent", list(d1, d2, NULL, NULL), UV_ENOENT);

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_skips_directories_and_non_executables) {
  char *tmp = make_temp_dir();
  char d1[PATH_MAX], d2[PATH_MAX], d3[PATH_MAX];

  snprintf(d1, sizeof d1, "%s", at(tmp, "a"));
  snprintf(d2, sizeof d2, "%s", at(tmp, "b"));
  snprintf(d3, sizeof d3, "%s", at(tmp, "c"));
  put_dir(d1);
  put_dir(d2);
  put_dir(d3);
  put_dir(at(d1, "prog"));                          /* a directory */
  put_file(at(d2, "prog"), SCRIPT("exit 0"), 0644); /* no exec bit */
  put_file(at(d3, "prog"), SCRIPT("exit 0"), 0700); /* owner bit is enough */

  ASSERT_FOUND("prog", list(d1, d2, d3, NULL), 0, at(d3, "prog"));
  ASSERT_NOT_FOUND("prog", list(d1, d2, NULL, NULL), UV_ENOENT);

  /* Any one of the three bits counts, as in Go (mode & 0111). */
  put_file(at(d2, "prog"), SCRIPT("exit 0"), 0645);
  ASSERT_FOUND("prog", list(d1, d2, d3, NULL), 0, at(d2, "prog"));

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_symlinks_are_followed) {
  char *tmp = make_temp_dir();
  char bin[PATH_MAX];

  snprintf(bin, sizeof bin, "%s", at(tmp, "bin"));
  put_dir(bin);
  put_file(at(tmp, "real"), SCRIPT("exit 0"), 0755);
  ck_assert_int_eq(symlink(at(tmp, "real"), at(bin, "good")), 0);
  ck_assert_int_eq(symlink(at(tmp, "missing"), at(bin, "dangling")), 0);
  ck_assert_int_eq(symlink(tmp, at(bin, "dirlink")), 0);

  /* The path found is the link's, as the caller spelled the search. */
  ASSERT_FOUND("good", bin, 0, at(bin, "good"));
  ASSERT_NOT_FOUND("dangling", bin, UV_ENOENT);
  ASSERT_NOT_FOUND("dirlink", bin, UV_ENOENT);

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_entry_with_trailing_slash) {
  char *tmp = make_temp_dir();
  char entry[PATH_MAX];

  put_file(at(tmp, "prog"), SCRIPT("exit 0"), 0755);
  snprintf(entry, sizeof entry, "%s//", tmp);
  ASSERT_FOUND("prog", entry, 0, at(tmp, "prog"));

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_empty_entry_means_dot) {
  char *tmp = make_temp_dir();

  put_file(at(tmp, "prog"), SCRIPT("exit 0"), 0755);
  enter(tmp);

  ASSERT_FOUND("prog", "::/nonexistent-uvexec", UVEXEC_EDOT, "./prog");
  ASSERT_FOUND("prog", ":/nonexistent-uvexec", UVEXEC_EDOT, "./prog");
  ASSERT_FOUND("prog", "/nonexistent-uvexec:", UVEXEC_EDOT, "./prog");
  ASSERT_FOUND("prog", "/nonexistent-uvexec::/nonexistent-too", UVEXEC_EDOT,
               "./prog");
  /* An absolute entry before the empty one wins without an error. */
  ASSERT_FOUND("prog", list(tmp, "", NULL, NULL), 0, at(tmp, "prog"));

  leave();
  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_relative_entries_give_edot) {
  char *tmp = make_temp_dir();

  put_dir(at(tmp, "bin"));
  put_dir(at(tmp, "sub"));
  put_file(at(tmp, "prog"), SCRIPT("exit 0"), 0755);
  put_file(at(tmp, "bin/tool"), SCRIPT("exit 0"), 0755);

  enter(tmp);
  ASSERT_FOUND("prog", ".", UVEXEC_EDOT, "./prog");
  ASSERT_FOUND("tool", "bin", UVEXEC_EDOT, "bin/tool");
  ASSERT_FOUND("tool", "/nonexistent-uvexec:./bin", UVEXEC_EDOT, "./bin/tool");
  ck_assert_int_eq(chdir("sub"), 0);
  ASSERT_FOUND("tool", "../bin", UVEXEC_EDOT, "../bin/tool");
  /* Nothing relative matches: no error about "." at all. */
  ASSERT_NOT_FOUND("prog", ".:bin", UV_ENOENT);
  leave();

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_names_that_are_not_programs) {
  char *tmp = make_temp_dir();

  put_file(at(tmp, "prog"), SCRIPT("exit 0"), 0755);
  enter(tmp);
  ASSERT_NOT_FOUND("", ".:/bin:/usr/bin", UV_ENOENT);
  ASSERT_NOT_FOUND(".", ".:/bin:/usr/bin", UV_ENOENT);
  ASSERT_NOT_FOUND("..", ".:/bin:/usr/bin", UV_ENOENT);
  ASSERT_NOT_FOUND("", NULL, UV_ENOENT);
  leave();

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_names_with_slash_are_not_searched) {
  char *tmp = make_temp_dir();
  char bin[PATH_MAX];

  snprintf(bin, sizeof bin, "%s", at(tmp, "bin"));
  put_dir(bin);
  put_dir(at(bin, "sub"));
  put_file(at(tmp, "prog"), SCRIPT("exit 0"), 0755);
  put_file(at(bin, "sub/prog"), SCRIPT("exit 0"), 0755);

  enter(tmp);
  ASSERT_FOUND("./prog", "", 0, "./prog");
  ASSERT_FOUND("./prog", NULL, 0, "./prog");
  ASSERT_FOUND("./prog", bin, 0, "./prog");
  ASSERT_FOUND(at(tmp, "prog"), NULL, 0, at(tmp, "prog"));
  /* sub/prog exists below a PATH entry, but a name with '/' is only ever
   * relative to the current directory. */
  ASSERT_NOT_FOUND("sub/prog", bin, UV_ENOENT);
  ASSERT_NOT_FOUND("./missing", bin, UV_ENOENT);
  leave();

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_explicit_path_that_cannot_run) {
  char *tmp = make_temp_dir();

  put_file(at(tmp, "plain"), SCRIPT("exit 0"), 0644);
  put_dir(at(tmp, "dir"));

  ASSERT_NOT_FOUND(at(tmp, "plain"), "/bin:/usr/bin", UV_EACCES);
  ASSERT_NOT_FOUND(at(tmp, "dir"), "/bin:/usr/bin", UV_EACCES);
  ASSERT_NOT_FOUND(at(tmp, "nothing"), "/bin:/usr/bin", UV_ENOENT);
  enter(tmp);
  ASSERT_NOT_FOUND("./plain", NULL, UV_EACCES);
  ASSERT_NOT_FOUND("./dir", NULL, UV_EACCES);
  leave();

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_no_path) {
  char *tmp = make_temp_dir();

  put_file(at(tmp, "prog"), SCRIPT("exit 0"), 0755);
  enter(tmp);
  ASSERT_NOT_FOUND("prog", NULL, UV_ENOENT);
  /* An empty PATH has no entries at all (Go's SplitList): it is not a
   * lone empty entry meaning ".". */
  ASSERT_NOT_FOUND("prog", "", UV_ENOENT);
  ASSERT_NOT_FOUND("sh", NULL, UV_ENOENT);
  leave();

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_bad_arguments) {
  char *p = SENTINEL;

  ck_assert_int_eq(uvexec_lookpath_in(NULL, "/bin", &p), UV_EINVAL);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(uvexec_lookpath_in("sh", "/bin", NULL), UV_EINVAL);
  p = SENTINEL;
  ck_assert_int_eq(uvexec_lookpath(NULL, &p), UV_EINVAL);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(uvexec_lookpath("sh", NULL), UV_EINVAL);
}
END_TEST

START_TEST(test_lookpath_reads_process_path) {
  char *tmp = make_temp_dir();
  char *old = getenv("PATH") != NULL ? strdup(getenv("PATH")) : NULL;
  char *p = SENTINEL;

  put_file(at(tmp, "uvexec-lookpath-prog"), SCRIPT("exit 0"), 0755);

  ck_assert_int_eq(setenv("PATH", tmp, 1), 0);
  ck_assert_int_eq(uvexec_lookpath("uvexec-lookpath-prog", &p), 0);
  ck_assert_str_eq(p, at(tmp, "uvexec-lookpath-prog"));
  free(p);

  ck_assert_int_eq(unsetenv("PATH"), 0);
  p = SENTINEL;
  ck_assert_int_eq(uvexec_lookpath("uvexec-lookpath-prog", &p), UV_ENOENT);
  ck_assert_ptr_null(p);

  if (old != NULL)
    setenv("PATH", old, 1);
  free(old);
  rm_rf(tmp);
  free(tmp);
}
END_TEST

/* ---- the lookup as a start sees it --------------------------------------- */

/* With "." in the cmd's PATH, the lookup is relative to the parent's
 * directory (where Go's LookPath runs), not to the cmd's dir, and the
 * match is refused as ErrDot. */
START_TEST(test_run_refuses_dot_match) {
  char *here = make_temp_dir();
  char *there = make_temp_dir();
  uvexec_cmd_t *cmd;

  put_file(at(here, "uvexec-dot-prog"), SCRIPT("exit 0"), 0755);
  enter(here);

  cmd = uvexec_command("uvexec-dot-prog", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "PATH", ".:/usr/bin:/bin"), 0);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, there), 0);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_EDOT);
  ck_assert_ptr_nonnull(uvexec_cmd_error(cmd));
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "exec: \"uvexec-dot-prog\": cannot run executable found "
                   "relative to current directory");
  uvexec_cmd_free(cmd);

  leave();
  rm_rf(here);
  rm_rf(there);
  free(here);
  free(there);
}
END_TEST

START_TEST(test_run_dot_lookup_is_relative_to_parent) {
  char *here = make_temp_dir();
  char *there = make_temp_dir();
  uvexec_cmd_t *cmd;

  /* The program sits only in the cmd's dir: "." in PATH does not see it. */
  put_file(at(there, "uvexec-dot-prog"), SCRIPT("exit 0"), 0755);
  enter(here);

  cmd = uvexec_command("uvexec-dot-prog", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "PATH", "."), 0);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, there), 0);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOENT);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "exec: \"uvexec-dot-prog\": executable file not found in "
                   "$PATH");
  uvexec_cmd_free(cmd);

  leave();
  rm_rf(here);
  rm_rf(there);
  free(here);
  free(there);
}
END_TEST

START_TEST(test_run_explicit_relative_path) {
  char *tmp = make_temp_dir();
  uvexec_cmd_t *cmd;
  size_t len;

  put_file(at(tmp, "prog"), SCRIPT("echo ran"), 0755);
  enter(tmp);

  /* No PATH at all: "./prog" is never searched for. */
  cmd = uvexec_command("./prog", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "PATH", ""), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, &len), "ran\n");
  uvexec_cmd_free(cmd);

  leave();
  rm_rf(tmp);
  free(tmp);
}
END_TEST

/* A relative path with a slash is relative to the cmd's dir, where the
 * child runs it (Go's Cmd.Path: "relative to Dir"). */
START_TEST(test_run_explicit_relative_path_with_dir) {
  char *here = make_temp_dir();
  char *there = make_temp_dir();
  uvexec_cmd_t *cmd;

  put_file(at(there, "prog"), SCRIPT("echo there"), 0755);
  enter(here);

  cmd = uvexec_command("./prog", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, there), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "there\n");
  uvexec_cmd_free(cmd);

  leave();
  rm_rf(here);
  rm_rf(there);
  free(here);
  free(there);
}
END_TEST

/* The cmd's own PATH decides, not the parent's: a script named "true" in
 * the cmd's PATH shadows /bin/true. */
START_TEST(test_run_uses_cmd_path) {
  char *tmp = make_temp_dir();
  uvexec_cmd_t *cmd;

  put_file(at(tmp, "true"), SCRIPT("echo mine"), 0755);

  cmd = uvexec_command("true", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "PATH", tmp), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "mine\n");
  uvexec_cmd_free(cmd);

  /* And a PATH unset on the cmd finds nothing, whatever the parent's. */
  cmd = uvexec_command("true", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "PATH"), 0);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOENT);
  uvexec_cmd_free(cmd);

  cmd = uvexec_command("sh", "-c", "exit 0", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_cmd_clearenv(cmd), 0);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOENT);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "exec: \"sh\": executable file not found in $PATH");
  uvexec_cmd_free(cmd);

  rm_rf(tmp);
  free(tmp);
}
END_TEST

START_TEST(test_run_not_found_message) {
  uvexec_cmd_t *cmd = uvexec_command("uvexec-surely-not-a-program", NULL);

  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOENT);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "exec: \"uvexec-surely-not-a-program\": executable file "
                   "not found in $PATH");
  uvexec_cmd_free(cmd);
}
END_TEST

static void expect_start_error(const char *name, int want,
                               const char *message) {
  uvexec_cmd_t *cmd = uvexec_command(name, NULL);
  int err;

  ck_assert_ptr_nonnull(cmd);
  err = uvexec_run(cmd);
  ck_assert_msg(err == want, "run %s = %s, want %s", name, ename(err),
                ename(want));
  ck_assert_ptr_nonnull(uvexec_cmd_error(cmd));
  ck_assert_str_eq(uvexec_cmd_error(cmd), message);
  uvexec_cmd_free(cmd);
}

START_TEST(test_run_explicit_path_errors) {
  char *tmp = make_temp_dir();

  put_file(at(tmp, "plain"), SCRIPT("exit 0"), 0644);
  put_dir(at(tmp, "dir"));
  enter(tmp);

  expect_start_error("./plain", UV_EACCES,
                     "fork/exec ./plain: permission denied");
  expect_start_error("./dir", UV_EACCES, "fork/exec ./dir: permission denied");
  expect_start_error("/nonexistent-uvexec/prog", UV_ENOENT,
                     "fork/exec /nonexistent-uvexec/prog: no such file or "
                     "directory");
  expect_start_error("sub/missing", UV_ENOENT,
                     "fork/exec sub/missing: no such file or directory");

  leave();
  rm_rf(tmp);
  free(tmp);
}
END_TEST

/* Decision: an executable without "#!" that the kernel refuses is an
 * error (UVEXEC_ENOEXEC), not a script for /bin/sh as execvp would make
 * it: the message names the file. */
START_TEST(test_run_file_without_shebang) {
  char *tmp = make_temp_dir();
  const char *file = at(tmp, "noshebang");
  uvexec_cmd_t *cmd;

  put_file(file, "echo hi\n", 0755);

  cmd = uvexec_command(file, NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_ENOEXEC);
  ck_assert_ptr_nonnull(uvexec_cmd_error(cmd));
  ck_assert_msg(strstr(uvexec_cmd_error(cmd), file) != NULL,
                "message %s does not name %s", uvexec_cmd_error(cmd), file);
  ck_assert_msg(strstr(uvexec_cmd_error(cmd), "exec format error") != NULL,
                "message: %s", uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);

  /* Found through PATH, the same. */
  cmd = uvexec_command("noshebang", NULL);
  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "PATH", tmp), 0);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_ENOEXEC);
  ck_assert_ptr_nonnull(uvexec_cmd_error(cmd));
  ck_assert_msg(strstr(uvexec_cmd_error(cmd), "noshebang") != NULL,
                "message: %s", uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);

  rm_rf(tmp);
  free(tmp);
}
END_TEST

static Suite *lookpath_suite(void) {
  Suite *s = suite_create("lookpath");

  ADD_TEST(s, test_first_match_wins);
  ADD_TEST(s, test_skips_directories_and_non_executables);
  ADD_TEST(s, test_symlinks_are_followed);
  ADD_TEST(s, test_entry_with_trailing_slash);
  ADD_TEST(s, test_empty_entry_means_dot);
  ADD_TEST(s, test_relative_entries_give_edot);
  ADD_TEST(s, test_names_that_are_not_programs);
  ADD_TEST(s, test_names_with_slash_are_not_searched);
  ADD_TEST(s, test_explicit_path_that_cannot_run);
  ADD_TEST(s, test_no_path);
  ADD_TEST(s, test_bad_arguments);
  ADD_TEST(s, test_lookpath_reads_process_path);
  ADD_TEST(s, test_run_refuses_dot_match);
  ADD_TEST(s, test_run_dot_lookup_is_relative_to_parent);
  ADD_TEST(s, test_run_explicit_relative_path);
  ADD_TEST(s, test_run_explicit_relative_path_with_dir);
  ADD_TEST(s, test_run_uses_cmd_path);
  ADD_TEST(s, test_run_not_found_message);
  ADD_TEST(s, test_run_explicit_path_errors);
  ADD_TEST(s, test_run_file_without_shebang);
  return s;
}

int main(void) {
  return run_suite(lookpath_suite());
}
