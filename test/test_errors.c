/* SPDX-License-Identifier: MIT */
/* Errors: uvexec_strerror() and uvexec_err_name() describe libuv's codes as
 * libuv does, uvexec's own codes in uvexec's words, anything else as
 * unknown without allocating, and the two code spaces never overlap. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "internal.h"

START_TEST(test_libuv_code_enoent) {
  ck_assert_str_eq(uvexec_err_name(UV_ENOENT), "ENOENT");
  ck_assert_str_eq(uvexec_strerror(UV_ENOENT), "no such file or directory");
  ck_assert_str_eq(uvexec_err_name(UV_EACCES), "EACCES");
  ck_assert_str_eq(uvexec_strerror(UV_EACCES), "permission denied");
  ck_assert_str_eq(uvexec_err_name(UV_ETIMEDOUT), "ETIMEDOUT");
  ck_assert_str_eq(uvexec_err_name(UV_ECANCELED), "ECANCELED");
  ck_assert_str_eq(uvexec_err_name(UV_ENOBUFS), "ENOBUFS");
}
END_TEST

/* Every code libuv 1.44 knows reads the same through uvexec as through
 * libuv itself (both are static strings for known codes). */
START_TEST(test_every_libuv_code_matches_libuv) {
#define XX(name, msg)                                                         \
  ck_assert_str_eq(uvexec_err_name(UV_##name), #name);                        \
  ck_assert_str_eq(uvexec_err_name(UV_##name), uv_err_name(UV_##name));       \
  ck_assert_str_eq(uvexec_strerror(UV_##name), msg);                          \
  ck_assert_str_eq(uvexec_strerror(UV_##name), uv_strerror(UV_##name));
  UV_ERRNO_MAP(XX)
#undef XX
}
END_TEST

START_TEST(test_uvexec_codes) {
  ck_assert_str_eq(uvexec_err_name(UVEXEC_EEXIT), "UVEXEC_EEXIT");
  ck_assert_str_eq(uvexec_err_name(UVEXEC_ESIGNALED), "UVEXEC_ESIGNALED");
  ck_assert_str_eq(uvexec_err_name(UVEXEC_EWAITDELAY), "UVEXEC_EWAITDELAY");
  ck_assert_str_eq(uvexec_err_name(UVEXEC_EDOT), "UVEXEC_EDOT");
  ck_assert_str_eq(uvexec_err_name(UVEXEC_ENOEXEC), "UVEXEC_ENOEXEC");
  ck_assert_str_eq(uvexec_strerror(UVEXEC_EWAITDELAY),
                   "exec: WaitDelay expired before I/O complete");
  ck_assert_str_eq(uvexec_strerror(UVEXEC_EEXIT), "exit status");
}
END_TEST

/* Each entry of the table gets its own name and message. */
START_TEST(test_uvexec_table_consistent) {
#define XX(name, value, msg)                                                  \
  ck_assert_int_eq(UVEXEC_##name, value);                                     \
  ck_assert_str_eq(uvexec_err_name(value), "UVEXEC_" #name);                  \
  ck_assert_str_eq(uvexec_strerror(value), msg);                              \
  ck_assert_int_lt(value, 0);
  UVEXEC_ERRNO_MAP(XX)
#undef XX
}
END_TEST

/* uvexec's codes must never be mistaken for one of libuv's. */
START_TEST(test_no_collision_with_libuv) {
  static const int libuv_codes[] = {
#define XX(name, msg) UV_##name,
      UV_ERRNO_MAP(XX)
#undef XX
  };
  static const int own_codes[] = {
#define XX(name, value, msg) value,
      UVEXEC_ERRNO_MAP(XX)
#undef XX
  };
  size_t i, j;
  for (i = 0; i < sizeof own_codes / sizeof own_codes[0]; i++) {
    for (j = 0; j < sizeof libuv_codes / sizeof libuv_codes[0]; j++)
      ck_assert_msg(own_codes[i] != libuv_codes[j],
                    "uvexec code %d (%s) collides with libuv's %s",
                    own_codes[i], uvexec_err_name(own_codes[i]),
                    uv_err_name(libuv_codes[j]));
    /* ... nor with each other. */
    for (j = i + 1; j < sizeof own_codes / sizeof own_codes[0]; j++)
      ck_assert_int_ne(own_codes[i], own_codes[j]);
  }
}
END_TEST

/* Unknown codes answer fixed static strings. libuv's own functions would
 * strdup a fresh message per call here (and leak it); uvexec must not:
 * repeated calls return the very same pointer, and valgrind sees no
 * block left behind. */
START_TEST(test_unknown_codes) {
  static const int unknown[] = {-29999, 12345, -30000, -30999, -5000,
                                1,      INT_MIN, INT_MAX, -4096 - 1};
  size_t i;
  for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    int code = unknown[i];
    const char *msg = uvexec_strerror(code);
    const char *name = uvexec_err_name(code);
    ck_assert_msg(msg != NULL && strcmp(msg, "unknown error") == 0,
                  "uvexec_strerror(%d) is \"%s\"", code, msg ? msg : "NULL");
    ck_assert_msg(name != NULL && strcmp(name, "UNKNOWN") == 0,
                  "uvexec_err_name(%d) is \"%s\"", code, name ? name : "NULL");
    ck_assert_ptr_eq(uvexec_strerror(code), msg);
    ck_assert_ptr_eq(uvexec_err_name(code), name);
  }
}
END_TEST

/* Zero is not an error code; whatever uvexec says about it, it must be a
 * static string (no allocation per call). */
START_TEST(test_zero_is_static) {
  const char *msg = uvexec_strerror(0);
  const char *name = uvexec_err_name(0);
  ck_assert_ptr_nonnull(msg);
  ck_assert_ptr_nonnull(name);
  ck_assert_ptr_eq(uvexec_strerror(0), msg);
  ck_assert_ptr_eq(uvexec_err_name(0), name);
}
END_TEST

/* Signals are worded as Go words them on Linux, every one of them;
 * real-time signals go by number. */
START_TEST(test_signal_texts_as_go) {
  static const struct {
    int signum;
    const char *text;
  } go[] = {
      {SIGHUP, "hangup"},
      {SIGINT, "interrupt"},
      {SIGQUIT, "quit"},
      {SIGILL, "illegal instruction"},
      {SIGTRAP, "trace/breakpoint trap"},
      {SIGABRT, "aborted"},
      {SIGBUS, "bus error"},
      {SIGFPE, "floating point exception"},
      {SIGKILL, "killed"},
      {SIGUSR1, "user defined signal 1"},
      {SIGSEGV, "segmentation fault"},
      {SIGUSR2, "user defined signal 2"},
      {SIGPIPE, "broken pipe"},
      {SIGALRM, "alarm clock"},
      {SIGTERM, "terminated"},
      {SIGSTKFLT, "stack fault"},
      {SIGCHLD, "child exited"},
      {SIGCONT, "continued"},
      {SIGSTOP, "stopped (signal)"},
      {SIGTSTP, "stopped"},
      {SIGTTIN, "stopped (tty input)"},
      {SIGTTOU, "stopped (tty output)"},
      {SIGURG, "urgent I/O condition"},
      {SIGXCPU, "CPU time limit exceeded"},
      {SIGXFSZ, "file size limit exceeded"},
      {SIGVTALRM, "virtual timer expired"},
      {SIGPROF, "profiling timer expired"},
      {SIGWINCH, "window changed"},
      {SIGIO, "I/O possible"},
      {SIGPWR, "power failure"},
      {SIGSYS, "bad system call"},
  };
  size_t i;

  for (i = 0; i < sizeof(go) / sizeof(go[0]); i++) {
    const char *text = uvexec__signal_text(go[i].signum);

    ck_assert_msg(text != NULL && strcmp(text, go[i].text) == 0,
                  "signal %d: \"%s\", Go says \"%s\"", go[i].signum,
                  text != NULL ? text : "(none)", go[i].text);
  }
  ck_assert_ptr_null(uvexec__signal_text(SIGRTMIN + 2));
}
END_TEST

/* A child killed by SIGSTKFLT reads "signal: stack fault" as in Go. */
START_TEST(test_signal_text_reaches_message) {
  char num[16];
  uvexec_cmd_t *cmd;

  snprintf(num, sizeof(num), "%d", SIGSTKFLT);
  cmd = helper_cmd("kill-self", num, NULL);
  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_ESIGNALED);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "signal: stack fault");
  uvexec_cmd_free(cmd);
}
END_TEST

/* A message taken from uvexec_cmd_error() stays readable until the cmd is
 * freed, however many messages come after it (ASan and valgrind check
 * the reads). A second start says what Go says. */
START_TEST(test_message_outlives_later_errors) {
  uvexec_cmd_t *cmd = uvexec_command("uvexec-no-such-program", NULL);
  const char *first, *second;

  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_ENOENT);
  first = uvexec_cmd_error(cmd);
  ck_assert_ptr_nonnull(first);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EALREADY);
  second = uvexec_cmd_error(cmd);
  ck_assert_str_eq(second, "exec: already started");
  ck_assert_int_eq(uvexec_run(cmd), UV_EALREADY);
  ck_assert_str_eq(first, "exec: \"uvexec-no-such-program\": executable "
                          "file not found in $PATH");
  ck_assert_str_eq(second, "exec: already started");
  uvexec_cmd_free(cmd);
}
END_TEST

/* A second start of a running cmd is refused in Go's words and leaves the
 * run alone: its done callback still comes, once, with its own message. */
START_TEST(test_second_start_while_running) {
  const char *refusal;
  probe_t p;

  probe_init(&p, helper_cmd("exit", "4", NULL));
  probe_start(&p);
  ck_assert_int_eq(uvexec_start(p.cmd, test_loop, probe_done_cb),
                   UV_EALREADY);
  refusal = uvexec_cmd_error(p.cmd);
  ck_assert_str_eq(refusal, "exec: already started");
  probe_wait(&p);
  ck_assert_int_eq(p.done_calls, 1);
  ck_assert_int_eq(p.status, UVEXEC_EEXIT);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "exit status 4");
  ck_assert_str_eq(refusal, "exec: already started");
  probe_free(&p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("errors");
  ADD_TEST(s, test_libuv_code_enoent);
  ADD_TEST(s, test_every_libuv_code_matches_libuv);
  ADD_TEST(s, test_uvexec_codes);
  ADD_TEST(s, test_uvexec_table_consistent);
  ADD_TEST(s, test_no_collision_with_libuv);
  ADD_TEST(s, test_unknown_codes);
  ADD_TEST(s, test_zero_is_static);
  ADD_TEST(s, test_signal_texts_as_go);
  ADD_TEST(s, test_signal_text_reaches_message);
  ADD_TEST(s, test_message_outlives_later_errors);
  ADD_TEST(s, test_second_start_while_running);
  return run_suite(s);
}
