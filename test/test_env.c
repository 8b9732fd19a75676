/* SPDX-License-Identifier: MIT */
/* The child's environment: the parent's by default (as it is at the start),
 * changed by setenv / unsetenv / clearenv on the cmd, with the last setting
 * of a name winning and no name reaching the child twice. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

extern char **environ;

/* run_to_done starts cmd with stdout captured and waits for it. */
static int run_to_done(uvexec_cmd_t *cmd) {
  probe_t p;
  int status;
  probe_init(&p, cmd);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  status = p.status;
  p.cmd = NULL; /* the caller frees cmd */
  probe_free(&p);
  return status;
}

/* count_lines_with_prefix counts the lines of text that start with
 * prefix. *last gets the last such line (borrowed), or NULL. */
static int count_lines_with_prefix(const char *text, const char *prefix,
                                   const char **last, size_t *last_len) {
  size_t plen = strlen(prefix);
  int n = 0;
  const char *line = text;
  if (last != NULL)
    *last = NULL;
  while (line != NULL && *line != '\0') {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    if (len >= plen && memcmp(line, prefix, plen) == 0) {
      n++;
      if (last != NULL) {
        *last = line;
        *last_len = len;
      }
    }
    line = nl ? nl + 1 : NULL;
  }
  return n;
}

static void assert_env_line(const uvexec_cmd_t *cmd, const char *name,
                            const char *value) {
  char prefix[256], want[512];
  const char *out = uvexec_stdout_data(cmd, NULL);
  const char *last;
  size_t last_len = 0;
  int n;

  ck_assert_ptr_nonnull(out);
  snprintf(prefix, sizeof prefix, "%s=", name);
  snprintf(want, sizeof want, "%s=%s", name, value);
  n = count_lines_with_prefix(out, prefix, &last, &last_len);
  ck_assert_msg(n == 1, "%s appears %d times in the child's environment", name,
                n);
  ck_assert_msg(last_len == strlen(want) && memcmp(last, want, last_len) == 0,
                "the child has \"%.*s\", expected \"%s\"", (int)last_len, last,
                want);
}

static void assert_env_absent(const uvexec_cmd_t *cmd, const char *name) {
  char prefix[256];
  const char *out = uvexec_stdout_data(cmd, NULL);
  ck_assert_ptr_nonnull(out);
  snprintf(prefix, sizeof prefix, "%s=", name);
  ck_assert_msg(count_lines_with_prefix(out, prefix, NULL, NULL) == 0,
                "%s reached the child", name);
}

/* Unset in the parent whatever a test set there, for CK_FORK=no runs. */
static void forget(const char *name) { unsetenv(name); }

START_TEST(test_inherited_by_default) {
  uvexec_cmd_t *cmd;

  ck_assert_int_eq(setenv("UVEXEC_T_INHERIT", "parent value", 1), 0);
  cmd = helper_cmd("env-get", "UVEXEC_T_INHERIT", NULL);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_stdout(cmd, "parent value\n");
  uvexec_cmd_free(cmd);
  forget("UVEXEC_T_INHERIT");
}
END_TEST

/* The parent's environment is taken when the cmd starts, not when it is
 * created. */
START_TEST(test_inherited_at_start) {
  uvexec_cmd_t *cmd = helper_cmd("env-get", "UVEXEC_T_LATE", NULL);
  ck_assert_int_eq(setenv("UVEXEC_T_LATE", "set after create", 1), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_stdout(cmd, "set after create\n");
  uvexec_cmd_free(cmd);
  forget("UVEXEC_T_LATE");
}
END_TEST

START_TEST(test_setenv_reaches_child) {
  uvexec_cmd_t *cmd = helper_cmd("env-get", "UVEXEC_T_SET", NULL);
  forget("UVEXEC_T_SET");
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_SET", "a=b c"), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_stdout(cmd, "a=b c\n");
  uvexec_cmd_free(cmd);
  /* The parent's own environment is not touched. */
  ck_assert_ptr_null(getenv("UVEXEC_T_SET"));
}
END_TEST

START_TEST(test_setenv_empty_value) {
  uvexec_cmd_t *cmd = helper_cmd("env", NULL);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_EMPTY", ""), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_env_line(cmd, "UVEXEC_T_EMPTY", "");
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_setenv_twice_last_wins) {
  uvexec_cmd_t *cmd = helper_cmd("env", NULL);
  forget("UVEXEC_T_TWICE");
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_TWICE", "first"), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_TWICE", "second"), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_env_line(cmd, "UVEXEC_T_TWICE", "second");
  uvexec_cmd_free(cmd);
}
END_TEST

/* The parent has the name too: the cmd's setting replaces it, once. */
START_TEST(test_setenv_overrides_parent_once) {
  uvexec_cmd_t *cmd = helper_cmd("env", NULL);
  ck_assert_int_eq(setenv("UVEXEC_T_BOTH", "from parent", 1), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_BOTH", "one"), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_BOTH", "two"), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_env_line(cmd, "UVEXEC_T_BOTH", "two");
  uvexec_cmd_free(cmd);

  /* And a single setting over the parent's. */
  cmd = helper_cmd("env", NULL);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_BOTH", "only"), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_env_line(cmd, "UVEXEC_T_BOTH", "only");
  uvexec_cmd_free(cmd);
  ck_assert_str_eq(getenv("UVEXEC_T_BOTH"), "from parent");
  forget("UVEXEC_T_BOTH");
}
END_TEST

START_TEST(test_unsetenv_removes_inherited) {
  uvexec_cmd_t *cmd;

  ck_assert_int_eq(setenv("UVEXEC_T_GONE", "parent", 1), 0);
  cmd = helper_cmd("env-get", "UVEXEC_T_GONE", NULL);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "UVEXEC_T_GONE"), 0);
  ck_assert_int_eq(run_to_done(cmd), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 1); /* env-get: unset */
  uvexec_cmd_free(cmd);

  cmd = helper_cmd("env", NULL);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "UVEXEC_T_GONE"), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_env_absent(cmd, "UVEXEC_T_GONE");
  uvexec_cmd_free(cmd);

  /* Unsetting a name nobody has is fine. */
  cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "UVEXEC_T_NEVER_SET"), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  uvexec_cmd_free(cmd);
  forget("UVEXEC_T_GONE");
}
END_TEST

/* Set then unset, unset then set: the last word counts. */
START_TEST(test_set_and_unset_order) {
  uvexec_cmd_t *cmd = helper_cmd("env", NULL);
  forget("UVEXEC_T_ORDER_A");
  forget("UVEXEC_T_ORDER_B");
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_ORDER_A", "x"), 0);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "UVEXEC_T_ORDER_A"), 0);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "UVEXEC_T_ORDER_B"), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_ORDER_B", "y"), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_env_absent(cmd, "UVEXEC_T_ORDER_A");
  assert_env_line(cmd, "UVEXEC_T_ORDER_B", "y");
  uvexec_cmd_free(cmd);
}
END_TEST

/* clearenv then setenv: the child has exactly those names, nothing else. */
START_TEST(test_clearenv_then_setenv_exact) {
  uvexec_cmd_t *cmd = helper_cmd("env", NULL);
  ck_assert_int_eq(setenv("UVEXEC_T_PARENT_ONLY", "p", 1), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_BEFORE_CLEAR", "1"), 0);
  ck_assert_int_eq(uvexec_cmd_clearenv(cmd), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "ALPHA", "1"), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "BETA", "two words"), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "ALPHA", "3"), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  {
    const char *out = uvexec_stdout_data(cmd, NULL);
    ck_assert_ptr_nonnull(out);
    /* The order of names is not promised; the set is. */
    ck_assert_msg(strcmp(out, "ALPHA=3\nBETA=two words\n") == 0 ||
                      strcmp(out, "BETA=two words\nALPHA=3\n") == 0,
                  "the child's environment is \"%s\"", out);
  }
  uvexec_cmd_free(cmd);
  forget("UVEXEC_T_PARENT_ONLY");
}
END_TEST

START_TEST(test_clearenv_alone_is_empty) {
  uvexec_cmd_t *cmd = helper_cmd("env", NULL);
  ck_assert_int_eq(uvexec_cmd_clearenv(cmd), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  {
    size_t len = 99;
    uvexec_stdout_data(cmd, &len);
    ck_assert_uint_eq(len, 0);
  }
  uvexec_cmd_free(cmd);
}
END_TEST

/* With the environment cleared there is no PATH: a bare name is not
 * found, and the failed start leaves nothing behind. */
START_TEST(test_clearenv_bare_name_not_found) {
  probe_t p;
  probe_init(&p, uvexec_command("sh", "-c", "exit 0", NULL));
  ck_assert_ptr_nonnull(p.cmd);
  ck_assert_int_eq(uvexec_cmd_clearenv(p.cmd), 0);
  ck_assert_int_eq(uvexec_start(p.cmd, test_loop, probe_done_cb), UV_ENOENT);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 0);
  probe_free(&p);

  /* The PATH set on the cmd is the one searched. */
  probe_init(&p, uvexec_command("sh", "-c", "echo found", NULL));
  ck_assert_ptr_nonnull(p.cmd);
  ck_assert_int_eq(uvexec_cmd_clearenv(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(p.cmd, "PATH", "/usr/bin:/bin"), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "found\n");
  probe_free(&p);
}
END_TEST

/* A bare name is looked up in the PATH the child will get: one the cmd
 * sets finds a program the parent's PATH does not have. */
START_TEST(test_lookup_uses_child_path) {
  char *dir = make_temp_dir();
  char link[4096];
  char *parent_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
  uvexec_cmd_t *cmd;

  snprintf(link, sizeof link, "%s/uvexec-env-probe", dir);
  ck_assert_int_eq(symlink(helper_path(), link), 0);

  /* Not in the parent's PATH. */
  cmd = uvexec_command("uvexec-env-probe", "echo", "x", NULL);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOENT);
  uvexec_cmd_free(cmd);

  /* In the cmd's. */
  cmd = uvexec_command("uvexec-env-probe", "echo", "via child PATH", NULL);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "PATH", dir), 0);
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_stdout(cmd, "via child PATH\n");
  uvexec_cmd_free(cmd);

  /* The parent's PATH was left alone. */
  if (parent_path != NULL)
    ck_assert_str_eq(getenv("PATH"), parent_path);
  free(parent_path);
  remove_tree(dir);
  free(dir);
}
END_TEST

START_TEST(test_bad_names_are_einval) {
  uvexec_cmd_t *cmd = helper_cmd("env", NULL);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "", "v"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, NULL, "v"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "A=B", "v"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "=A", "v"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVEXEC_T_NULLVAL", NULL),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, ""), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "A=B"), UV_EINVAL);

  /* None of the refused settings reached the child. */
  ck_assert_int_eq(run_to_done(cmd), 0);
  assert_env_absent(cmd, "A");
  assert_env_absent(cmd, "");
  assert_env_absent(cmd, "UVEXEC_T_NULLVAL");
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- PWD follows the dir (Go since 1.19) --------------------------------- */

/* pwd_of runs env-get PWD in dir (with the parent's environment unless
 * clear) and returns its output, malloc'd; NULL when PWD was unset. */
static char *pwd_of(const char *dir, int clear, const char *set,
                    int unset) {
  uvexec_cmd_t *cmd = helper_cmd("env-get", "PWD", NULL);
  const char *out;
  char *copy = NULL;
  int status;

  if (clear)
    ck_assert_int_eq(uvexec_cmd_clearenv(cmd), 0);
  if (set != NULL)
    ck_assert_int_eq(uvexec_cmd_setenv(cmd, "PWD", set), 0);
  if (unset)
    ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "PWD"), 0);
  ck_assert_int_eq(uvexec_cmd_set_dir(cmd, dir), 0);
  status = run_to_done(cmd);
  out = uvexec_stdout_data(cmd, NULL);
  if (status == 0)
    copy = strdup(out);
  else
    ck_assert_int_eq(uvexec_exit_code(cmd), 1);
  uvexec_cmd_free(cmd);
  return copy;
}

START_TEST(test_pwd_follows_dir) {
  char cwd[4096], want[4200], *got;
  const char *old = getenv("PWD");
  char *saved = old != NULL ? strdup(old) : NULL;

  ck_assert_int_eq(setenv("PWD", "/somewhere/else", 1), 0);
  got = pwd_of("/tmp", 0, NULL, 0);
  ck_assert_str_eq(got, "/tmp\n");
  free(got);

  /* Cleaned as filepath.Abs cleans it. */
  got = pwd_of("/tmp/../tmp/./", 0, NULL, 0);
  ck_assert_str_eq(got, "/tmp\n");
  free(got);
  got = pwd_of("//", 0, NULL, 0);
  ck_assert_str_eq(got, "/\n");
  free(got);

  /* A relative dir is made absolute against the parent's directory. */
  ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
  got = pwd_of(".", 0, NULL, 0);
  snprintf(want, sizeof(want), "%s\n", cwd);
  ck_assert_str_eq(got, want);
  free(got);
  if (saved != NULL)
    setenv("PWD", saved, 1);
  else
    forget("PWD");
  free(saved);
}
END_TEST

/* The cmd's own word on PWD wins, and an environment the cmd built from
 * nothing gets no PWD it did not ask for. */
START_TEST(test_pwd_left_to_the_cmd) {
  char *got;

  got = pwd_of("/tmp", 0, "/mine", 0);
  ck_assert_str_eq(got, "/mine\n");
  free(got);
  ck_assert_ptr_null(pwd_of("/tmp", 0, NULL, 1));
  ck_assert_ptr_null(pwd_of("/tmp", 1, NULL, 0));
}
END_TEST

/* ---- a large inherited environment ---------------------------------------- */

/* 10,000 inherited variables with duplicates among them: each name
 * reaches the child once, with its last value, in the parent's order;
 * the cmd's settings replace and remove names as for a small one. */
START_TEST(test_large_environment_deduplicated) {
  enum { N = 10000 };
  char **saved = environ, **env;
  uvexec_cmd_t *cmd;
  const char *out, *line;
  int i, own = 0, lines = 0, status;

  /* The test's own environment first (UVEXEC_ENGINE and the helper's
   * path are read from it), then the large part. */
  while (saved[own] != NULL)
    own++;
  env = calloc((size_t)own + N + 3, sizeof(*env));
  ck_assert_ptr_nonnull(env);
  for (i = 0; i < own; i++)
    env[i] = strdup(saved[i]);
  for (i = 0; i < N; i++) {
    env[own + i] = malloc(32);
    /* Names repeat every 5,000: the second half's values must win. */
    snprintf(env[own + i], 32, "UVX_%d=%d", i % (N / 2), i);
  }
  env[own + N] = strdup("UVX_GONE=1");
  env[own + N + 1] = strdup("UVX_SET=old");
  environ = env;

  cmd = helper_cmd("env", NULL);
  ck_assert_int_eq(uvexec_cmd_unsetenv(cmd, "UVX_GONE"), 0);
  ck_assert_int_eq(uvexec_cmd_setenv(cmd, "UVX_SET", "new"), 0);
  status = run_to_done(cmd);
  environ = saved;
  ck_assert_int_eq(status, 0);

  out = uvexec_stdout_data(cmd, NULL);
  for (line = out; *line != '\0'; line = strchr(line, '\n') + 1) {
    int name, value;

    ck_assert_ptr_nonnull(strchr(line, '\n'));
    if (sscanf(line, "UVX_%d=%d", &name, &value) == 2) {
      /* In the parent's order: the surviving values are N/2 .. N-1. */
      ck_assert_int_eq(value, N / 2 + lines);
      ck_assert_int_eq(name, value % (N / 2));
      lines++;
    }
  }
  ck_assert_int_eq(lines, N / 2);
  ck_assert_ptr_null(strstr(out, "UVX_GONE="));
  ck_assert_ptr_nonnull(strstr(out, "\nUVX_SET=new\n"));
  ck_assert_ptr_null(strstr(out, "UVX_SET=old"));
  uvexec_cmd_free(cmd);
  for (i = 0; i < own + N + 2; i++)
    free(env[i]);
  free(env);
}
END_TEST

int main(void) {
  Suite *s = suite_create("env");
  ADD_TEST(s, test_inherited_by_default);
  ADD_TEST(s, test_inherited_at_start);
  ADD_TEST(s, test_setenv_reaches_child);
  ADD_TEST(s, test_setenv_empty_value);
  ADD_TEST(s, test_setenv_twice_last_wins);
  ADD_TEST(s, test_setenv_overrides_parent_once);
  ADD_TEST(s, test_unsetenv_removes_inherited);
  ADD_TEST(s, test_set_and_unset_order);
  ADD_TEST(s, test_clearenv_then_setenv_exact);
  ADD_TEST(s, test_clearenv_alone_is_empty);
  ADD_TEST(s, test_clearenv_bare_name_not_found);
  ADD_TEST(s, test_lookup_uses_child_path);
  ADD_TEST(s, test_bad_names_are_einval);
  ADD_TEST(s, test_pwd_follows_dir);
  ADD_TEST(s, test_pwd_left_to_the_cmd);
  ADD_TEST(s, test_large_environment_deduplicated);
  return run_suite(s);
}
