/* SPDX-License-Identifier: MIT */
/* The child's stdin, stdout and stderr: defaults, capture, callbacks,
 * merging, feeding stdin, caller fds, SIGPIPE, and that no fd uvexec
 * opens leaks into a child. */
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
#include <unistd.h>

#include "common.h"

/* run_probe starts p and waits for its done callback. */
static void run_probe(probe_t *p) {
  probe_start(p);
  probe_wait(p);
}

/* read_all reads fd to end of file into a tbuf. */
static void read_all(int fd, tbuf_t *b) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    ck_assert_msg(n >= 0, "read: %s", strerror(errno));
    if (n == 0)
      break;
    tbuf_append(b, buf, (size_t)n);
  }
  if (b->data == NULL)
    tbuf_append(b, "", 0);
}

/* assert_stderr_empty: captured stderr holds no bytes (whether an empty
 * capture reads as "" is test_capture_empty_stream's business). */
static void assert_stderr_empty(const uvexec_cmd_t *cmd) {
  size_t len = 99;
  const char *data = uvexec_stderr_data(cmd, &len);
  ck_assert_msg(len == 0, "stderr has %zu bytes: \"%.*s\"", len,
                (int)(len > 200 ? 200 : len), data ? data : "");
}

static int all_bytes_are(const char *data, size_t len, char c) {
  size_t i;
  for (i = 0; i < len; i++)
    if (data[i] != c)
      return 0;
  return 1;
}

/* first_other returns the offset of the first byte that is not c, or len. */
static size_t first_other(const char *data, size_t len, char c) {
  size_t i;
  for (i = 0; i < len && data[i] == c; i++) {
  }
  return i;
}

/* ---- defaults and capture ------------------------------------------------ */

START_TEST(test_capture_stdout) {
  probe_t p;
  size_t len = 99;
  probe_init(&p, helper_cmd("echo", "hello", "world", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "hello world\n");
  ck_assert_ptr_null(uvexec_stderr_data(p.cmd, &len));
  ck_assert_uint_eq(len, 0);
  probe_free(&p);
}
END_TEST

START_TEST(test_capture_stderr_separately) {
  probe_t p;
  probe_init(&p, helper_cmd("interleave", "3", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "out 0\nout 1\nout 2\n");
  assert_stderr(p.cmd, "err 0\nerr 1\nerr 2\n");
  probe_free(&p);
}
END_TEST

/* A captured stream that stayed silent is empty, not "not captured". */
START_TEST(test_capture_empty_stream) {
  probe_t p;
  size_t len = 99;
  const char *data;
  probe_init(&p, helper_cmd("exit", "0", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  data = uvexec_stdout_data(p.cmd, &len);
  ck_assert_uint_eq(len, 0);
  ck_assert_msg(data != NULL,
                "a captured but empty stdout reads as NULL, which the API "
                "reserves for a stream that was not captured");
  ck_assert_msg(data[0] == '\0',
                "a captured but empty stdout is not NUL-terminated "
                "(first byte 0x%02x)",
                (unsigned)(unsigned char)data[0]);
  probe_free(&p);
}
END_TEST

/* Unset streams are /dev/null, as in Go: the child sees it on its fds. */
START_TEST(test_defaults_are_dev_null) {
  probe_t p;

  /* stdin and stdout, seen from the child, reported on its stderr. */
  probe_init(&p, helper_cmd("fd-link", "2", "0", "1", NULL));
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stderr(p.cmd, "/dev/null\n/dev/null\n");
  ck_assert_ptr_null(uvexec_stdout_data(p.cmd, NULL));
  probe_free(&p);

  /* stderr, reported on stdout. */
  probe_init(&p, helper_cmd("fd-link", "1", "2", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "/dev/null\n");
  probe_free(&p);

  /* A reader of the default stdin sees end of file at once. */
  probe_init(&p, helper_cmd("stdin-count", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "0\n");
  probe_free(&p);
}
END_TEST

/* ---- data callbacks ------------------------------------------------------ */

/* Every byte reaches the callback, then exactly one len == 0 call, and
 * both happen before the done callback, on each stream. Without
 * UVEXEC_CAPTURE nothing is kept. */
START_TEST(test_callbacks_every_byte_then_eof) {
  probe_t p;
  probe_init(&p, helper_cmd("flood", "300000", "200000", NULL));
  probe_watch_stdout(&p);
  probe_watch_stderr(&p);
  run_probe(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);

  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(p.done_calls, 1);
  ck_assert_uint_eq(p.out.len, 300000);
  ck_assert_uint_eq(p.err.len, 200000);
  ck_assert_msg(first_other(p.out.data, p.out.len, 'o') == p.out.len,
                "the stdout callback got a byte other than the child wrote "
                "at offset %zu of %zu",
                first_other(p.out.data, p.out.len, 'o'), p.out.len);
  ck_assert_msg(first_other(p.err.data, p.err.len, 'e') == p.err.len,
                "the stderr callback got a byte other than the child wrote "
                "at offset %zu of %zu",
                first_other(p.err.data, p.err.len, 'e'), p.err.len);
  ck_assert_int_eq(p.out_eof, 1);
  ck_assert_int_eq(p.err_eof, 1);
  ck_assert_int_eq(p.out_eof_at_done, 1);
  ck_assert_int_eq(p.err_eof_at_done, 1);
  ck_assert_int_eq(p.out_after_eof, 0);
  ck_assert_int_eq(p.err_after_eof, 0);
  ck_assert_ptr_null(uvexec_stdout_data(p.cmd, NULL));
  ck_assert_ptr_null(uvexec_stderr_data(p.cmd, NULL));
  probe_free(&p);
}
END_TEST

/* A callback and capture together: both see the same bytes. */
START_TEST(test_callback_with_capture) {
  probe_t p;
  size_t len = 0;
  const char *data;
  probe_init(&p, helper_cmd("flood", "100000", "0", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  data = uvexec_stdout_data(p.cmd, &len);
  ck_assert_ptr_nonnull(data);
  ck_assert_uint_eq(len, 100000);
  ck_assert_uint_eq(p.out.len, 100000);
  ck_assert_mem_eq(data, p.out.data, len);
  ck_assert_int_eq(p.out_eof_at_done, 1);
  probe_free(&p);
}
END_TEST

/* The child exits at once but a grandchild holds its stdout a while:
 * done waits for end of file (Go's Wait), so the grandchild's lifetime is
 * inside the run and nothing is lost. */
START_TEST(test_done_after_eof_not_just_exit) {
  probe_t p;
  probe_init(&p, helper_cmd("grandchild", "300", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  run_probe(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(p.done_calls, 1);
  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(p.out_eof_at_done, 1);
  assert_stdout(p.cmd, "hi\n");
  probe_free(&p);
}
END_TEST

/* ---- real pipes ---------------------------------------------------------- */

/* The child's ends are pipes, not sockets: /dev/stdin and /dev/stdout can
 * be opened by name, as a shell's redirections do. */
START_TEST(test_dev_stdin_works) {
  probe_t p;
  const char *text = "read through /dev/stdin\n";

  probe_init(&p, uvexec_command("sh", "-c", "cat /dev/stdin", NULL));
  ck_assert_ptr_nonnull(p.cmd);
  ck_assert_int_eq(uvexec_cmd_set_stdin(p.cmd, text, strlen(text)), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, text);
  assert_stderr_empty(p.cmd);
  probe_free(&p);

  probe_init(&p, uvexec_command("sh", "-c",
                                "echo to-stdout > /dev/stdout; "
                                "echo to-stderr > /dev/stderr",
                                NULL));
  ck_assert_ptr_nonnull(p.cmd);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "to-stdout\n");
  assert_stderr(p.cmd, "to-stderr\n");
  probe_free(&p);

  probe_init(&p, uvexec_command("sh", "-c",
                                "test -p /dev/stdin && test -p /dev/stdout "
                                "&& test -p /dev/stderr && echo fifo",
                                NULL));
  ck_assert_ptr_nonnull(p.cmd);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(p.cmd), 0);
  ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "fifo\n");
  probe_free(&p);
}
END_TEST

/* ---- volume -------------------------------------------------------------- */

/* Megabytes on both streams at once, far past any pipe buffer: a reader
 * that drained one stream at a time would deadlock with this child. */
START_TEST(test_flood_both_streams) {
  const size_t out_n = 3 * 1024 * 1024, err_n = 2 * 1024 * 1024;
  char a[32], b[32];
  probe_t p;
  size_t olen = 0, elen = 0;
  const char *o, *e;

  snprintf(a, sizeof a, "%zu", out_n);
  snprintf(b, sizeof b, "%zu", err_n);
  probe_init(&p, helper_cmd("flood", a, b, NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  o = uvexec_stdout_data(p.cmd, &olen);
  e = uvexec_stderr_data(p.cmd, &elen);
  ck_assert_ptr_nonnull(o);
  ck_assert_ptr_nonnull(e);
  ck_assert_uint_eq(olen, out_n);
  ck_assert_uint_eq(elen, err_n);
  ck_assert(all_bytes_are(o, olen, 'o'));
  ck_assert(all_bytes_are(e, elen, 'e'));
  ck_assert_int_eq(o[olen], '\0');
  ck_assert_int_eq(e[elen], '\0');
  probe_free(&p);
}
END_TEST

/* ---- merging ------------------------------------------------------------- */

static void expected_interleave(tbuf_t *b, int n) {
  char line[64];
  int i;
  for (i = 0; i < n; i++) {
    int len = snprintf(line, sizeof line, "out %d\nerr %d\n", i, i);
    tbuf_append(b, line, (size_t)len);
  }
}

/* stderr merged into stdout lands in one buffer, in the order written. */
START_TEST(test_merge_keeps_order) {
  probe_t p;
  tbuf_t want = {0};
  size_t len = 99;

  expected_interleave(&want, 500);
  probe_init(&p, helper_cmd("interleave", "500", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_MERGE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, want.data);
  ck_assert_ptr_null(uvexec_stderr_data(p.cmd, &len));
  ck_assert_uint_eq(len, 0);
  tbuf_free(&want);
  probe_free(&p);
}
END_TEST

/* Merged into a caller's fd: both streams go there, in order. */
START_TEST(test_merge_into_caller_fd) {
  probe_t p;
  tbuf_t want = {0}, got = {0};
  int fds[2];

  expected_interleave(&want, 20);
  ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
  probe_init(&p, helper_cmd("interleave", "20", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout_fd(p.cmd, fds[1]), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_MERGE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  close(fds[1]);
  read_all(fds[0], &got);
  close(fds[0]);
  ck_assert_str_eq(got.data, want.data);
  tbuf_free(&want);
  tbuf_free(&got);
  probe_free(&p);
}
END_TEST

/* ---- stdin --------------------------------------------------------------- */

/* Bytes given with set_stdin come back through cat exactly, NULs and all,
 * with far more than a pipe buffer each way. */
START_TEST(test_set_stdin_roundtrip) {
  const size_t n = 1536 * 1024 + 7;
  char *data = malloc(n);
  size_t i, len = 0;
  const char *out;
  probe_t p;

  ck_assert_ptr_nonnull(data);
  for (i = 0; i < n; i++)
    data[i] = (char)(i * 131 + (i >> 9));
  probe_init(&p, helper_cmd("cat", NULL));
  ck_assert_int_eq(uvexec_cmd_set_stdin(p.cmd, data, n), 0);
  /* The data was copied: scribbling on ours changes nothing. */
  memcpy(data + n / 2, "scribble", 8);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  out = uvexec_stdout_data(p.cmd, &len);
  ck_assert_ptr_nonnull(out);
  ck_assert_uint_eq(len, n);
  for (i = 0; i < n; i++)
    if (out[i] != (char)(i * 131 + (i >> 9)))
      ck_abort_msg("byte %zu differs", i);
  probe_free(&p);
  free(data);
}
END_TEST

START_TEST(test_set_stdin_empty) {
  probe_t p;
  probe_init(&p, helper_cmd("stdin-count", NULL));
  ck_assert_int_eq(uvexec_cmd_set_stdin(p.cmd, "", 0), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&p);
  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "0\n");
  probe_free(&p);
}
END_TEST

static int drain_calls;
static int drain_last_status = 12345;

static void count_drain(uvexec_cmd_t *cmd, int status) {
  (void)cmd;
  drain_calls++;
  drain_last_status = status;
}

/* StdinPipe: chunks written before and after the start arrive in order,
 * closing gives the child end of file, writes after the close fail. */
START_TEST(test_stdin_pipe_chunks) {
  probe_t p;
  drain_calls = 0;
  drain_last_status = 12345;

  probe_init(&p, helper_cmd("cat", NULL));
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_on_stdin_drain(p.cmd, count_drain), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_write(p.cmd, "alpha ", 6), 0);
  ck_assert_uint_eq(uvexec_stdin_pending(p.cmd), 6);
  probe_start(&p);
  ck_assert_int_eq(uvexec_write(p.cmd, "beta ", 5), 0);
  probe_wait_text(&p, "alpha beta ");
  ck_assert_uint_eq(uvexec_stdin_pending(p.cmd), 0);
  ck_assert_int_eq(uvexec_write(p.cmd, "gamma", 5), 0);
  ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0);
  ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0); /* twice: no-op */
  ck_assert_int_eq(uvexec_write(p.cmd, "late", 4), UV_EPIPE);
  probe_wait(&p);

  ck_assert_int_eq(p.status, 0);
  assert_stdout(p.cmd, "alpha beta gamma");
  ck_assert_uint_eq(uvexec_stdin_pending(p.cmd), 0);
  ck_assert_int_ge(drain_calls, 1);
  ck_assert_int_eq(drain_last_status, 0);
  probe_free(&p);
}
END_TEST

/* Megabytes through the stdin pipe: queued bytes are visible as pending
 * (the back-pressure) and all of them reach the child. */
START_TEST(test_stdin_pipe_large) {
  static char chunk[64 * 1024];
  const int chunks = 64;
  char want[32];
  probe_t p;
  int i;

  memset(chunk, 's', sizeof chunk);
  probe_init(&p, helper_cmd("stdin-count", NULL));
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  for (i = 0; i < chunks; i++)
    ck_assert_int_eq(uvexec_write(p.cmd, chunk, sizeof chunk), 0);
  /* More than a pipe holds is still queued: nothing ran the loop yet. */
  ck_assert_uint_gt(uvexec_stdin_pending(p.cmd), 1024 * 1024);
  ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  snprintf(want, sizeof want, "%zu\n", (size_t)chunks * sizeof chunk);
  assert_stdout(p.cmd, want);
  ck_assert_uint_eq(uvexec_stdin_pending(p.cmd), 0);
  probe_free(&p);
}
END_TEST

/* ---- SIGPIPE ------------------------------------------------------------- */

static volatile sig_atomic_t sigpipe_seen;

static void on_sigpipe(int sig) {
  (void)sig;
  sigpipe_seen++;
}

/* A child that exits without reading its stdin: with SIGPIPE at its
 * default action the parent would die on the first write into the broken
 * pipe. It must survive, report the child's success, and find its SIGPIPE
 * disposition and signal mask as they were. */
static void feed_child_that_exits_early(int streaming) {
  const size_t n = 8 * 1024 * 1024;
  char *data = malloc(n);
  probe_t p;

  ck_assert_ptr_nonnull(data);
  memset(data, 'z', n);
  probe_init(&p, helper_cmd("close-stdin-exit", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  if (streaming) {
    ck_assert_int_eq(uvexec_cmd_stdin_pipe(p.cmd), 0);
    ck_assert_int_eq(uvexec_write(p.cmd, data, n), 0);
    ck_assert_int_eq(uvexec_close_stdin(p.cmd), 0);
  } else {
    ck_assert_int_eq(uvexec_cmd_set_stdin(p.cmd, data, n), 0);
  }
  run_probe(&p);
  ck_assert_msg(p.status == 0, "status %s: %s", uvexec_err_name(p.status),
                uvexec_cmd_error(p.cmd) ? uvexec_cmd_error(p.cmd) : "-");
  ck_assert_int_eq(uvexec_exit_code(p.cmd), 0);
  ck_assert_ptr_null(uvexec_cmd_error(p.cmd));
  /* Writing again after the child is gone: an error, not a signal. */
  if (streaming)
    ck_assert_int_ne(uvexec_write(p.cmd, "x", 1), 0);
  probe_free(&p);
  free(data);
}

static void check_sigpipe_survival(void (*handler)(int)) {
  struct sigaction sa, before, after;
  sigset_t mask_before, mask_after;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  ck_assert_int_eq(sigaction(SIGPIPE, &sa, &before), 0);
  ck_assert_int_eq(sigprocmask(SIG_SETMASK, NULL, &mask_before), 0);
  sigpipe_seen = 0;

  feed_child_that_exits_early(0);
  feed_child_that_exits_early(1);

  ck_assert_int_eq(sigaction(SIGPIPE, NULL, &after), 0);
  ck_assert_msg(after.sa_handler == handler,
                "the SIGPIPE disposition was changed");
  ck_assert_int_eq(sigprocmask(SIG_SETMASK, NULL, &mask_after), 0);
  ck_assert_int_eq(sigismember(&mask_after, SIGPIPE),
                   sigismember(&mask_before, SIGPIPE));
  ck_assert_int_eq(sigpipe_seen, 0);
  {
    sigset_t pending;
    ck_assert_int_eq(sigpending(&pending), 0);
    ck_assert_msg(!sigismember(&pending, SIGPIPE),
                  "a SIGPIPE was left pending");
  }
  sigaction(SIGPIPE, &before, NULL);
}

START_TEST(test_sigpipe_default_does_not_kill) {
  check_sigpipe_survival(SIG_DFL);
}
END_TEST

/* With a handler installed the application must not hear of SIGPIPE
 * either: the parent never gets it. */
START_TEST(test_sigpipe_handler_never_called) {
  check_sigpipe_survival(on_sigpipe);
}
END_TEST

START_TEST(test_sigpipe_ignored_stays_ignored) {
  check_sigpipe_survival(SIG_IGN);
}
END_TEST

/* ---- caller fds and inherit ---------------------------------------------- */

static int fd_is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

/* The caller's fds are given to the child and never taken over. */
START_TEST(test_caller_fds) {
  int in[2], out[2], err[2];
  tbuf_t got_out = {0}, got_err = {0};
  probe_t p;

  ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
  ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
  ck_assert_int_eq(write(in[1], "from the caller's pipe\n", 23), 23);
  close(in[1]);

  probe_init(&p, uvexec_command("sh", "-c", "cat; echo oops >&2", NULL));
  ck_assert_ptr_nonnull(p.cmd);
  ck_assert_int_eq(uvexec_cmd_stdin_fd(p.cmd, in[0]), 0);
  ck_assert_int_eq(uvexec_cmd_stdout_fd(p.cmd, out[1]), 0);
  ck_assert_int_eq(uvexec_cmd_stderr_fd(p.cmd, err[1]), 0);
  probe_start(&p);
  ck_assert(fd_is_open(in[0]));
  ck_assert(fd_is_open(out[1]));
  ck_assert(fd_is_open(err[1]));
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert(fd_is_open(in[0]));
  ck_assert(fd_is_open(out[1]));
  ck_assert(fd_is_open(err[1]));
  ck_assert_ptr_null(uvexec_stdout_data(p.cmd, NULL));
  probe_free(&p);

  /* Still ours after the free, too. */
  ck_assert(fd_is_open(in[0]));
  close(in[0]);
  close(out[1]);
  close(err[1]);
  read_all(out[0], &got_out);
  read_all(err[0], &got_err);
  close(out[0]);
  close(err[0]);
  ck_assert_str_eq(got_out.data, "from the caller's pipe\n");
  ck_assert_str_eq(got_err.data, "oops\n");
  tbuf_free(&got_out);
  tbuf_free(&got_err);
}
END_TEST

/* UVEXEC_INHERIT hands the child this process's own fd 1 or 2. To see
 * where the bytes go, fd 1 (then 2) points at a test pipe meanwhile. */
static void check_inherit(int which) {
  int fds[2], saved;
  tbuf_t got = {0};
  probe_t p;

  fflush(stdout);
  fflush(stderr);
  ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
  saved = fcntl(which, F_DUPFD_CLOEXEC, 10);
  ck_assert_int_ge(saved, 0);
  ck_assert_int_eq(dup2(fds[1], which), which);

  probe_init(&p, helper_cmd(which == 1 ? "echo" : "echo-err", "inherited",
                            NULL));
  if (which == 1)
    ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_INHERIT), 0);
  else
    ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_INHERIT), 0);
  probe_start(&p);
  /* The child has its copy: put ours back at once. */
  ck_assert_int_eq(dup2(saved, which), which);
  close(saved);
  close(fds[1]);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_ptr_null(uvexec_stdout_data(p.cmd, NULL));
  probe_free(&p);

  read_all(fds[0], &got);
  close(fds[0]);
  ck_assert_str_eq(got.data, "inherited\n");
  tbuf_free(&got);
}

START_TEST(test_inherit_stdout) { check_inherit(1); }
END_TEST

START_TEST(test_inherit_stderr) { check_inherit(2); }
END_TEST

/* ---- no fd leaks into children ------------------------------------------- */

/* hide_runner_fds marks close-on-exec the fds above 2 that this process
 * holds without it before uvexec opens anything (Check keeps one for its
 * messages). Those would be the caller's to give away, not uvexec's leak;
 * hiding them lets the child prove that it gets 0, 1 and 2 and nothing
 * else. Returns how many were marked, and lists them in marked[]. */
static int hide_runner_fds(int *marked, int max) {
  DIR *dir = opendir("/proc/self/fd");
  struct dirent *de;
  int n = 0, self;

  ck_assert_ptr_nonnull(dir);
  self = dirfd(dir);
  while ((de = readdir(dir)) != NULL) {
    int fd, flags;
    if (de->d_name[0] == '.')
      continue;
    fd = atoi(de->d_name);
    if (fd <= 2 || fd == self)
      continue;
    flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC) && n < max &&
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0)
      marked[n++] = fd;
  }
  closedir(dir);
  return n;
}

static void unhide_runner_fds(const int *marked, int n) {
  int i;
  for (i = 0; i < n; i++)
    fcntl(marked[i], F_SETFD, fcntl(marked[i], F_GETFD) & ~FD_CLOEXEC);
}

#define MANY 100

/* With 100 children running, each with all three pipes open, one more
 * child sees only its 0, 1 and 2: nothing uvexec opened for the others
 * (pipe ends, pidfds, /dev/null) reaches it. */
START_TEST(test_no_fd_leak_with_100_children) {
  static probe_t many[MANY];
  probe_t lister;
  char line[MANY][32];
  int hidden[64], nhidden;
  int i;

  nhidden = hide_runner_fds(hidden, 64);

  for (i = 0; i < MANY; i++) {
    probe_init(&many[i], helper_cmd("cat", NULL));
    ck_assert_int_eq(uvexec_cmd_stdin_pipe(many[i].cmd), 0);
    ck_assert_int_eq(uvexec_cmd_stdout(many[i].cmd, UVEXEC_CAPTURE), 0);
    ck_assert_int_eq(uvexec_cmd_stderr(many[i].cmd, UVEXEC_CAPTURE), 0);
    probe_start(&many[i]);
  }

  probe_init(&lister, helper_cmd("fds", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(lister.cmd, UVEXEC_CAPTURE), 0);
  run_probe(&lister);
  ck_assert_int_eq(lister.status, 0);
  assert_stdout(lister.cmd, "0 1 2\n");
  probe_free(&lister);

  /* The others are still running: each echoes its own line, then ends. */
  for (i = 0; i < MANY; i++) {
    ck_assert_int_eq(many[i].done_calls, 0);
    snprintf(line[i], sizeof line[i], "child %d\n", i);
    ck_assert_int_eq(uvexec_write(many[i].cmd, line[i], strlen(line[i])), 0);
    ck_assert_int_eq(uvexec_close_stdin(many[i].cmd), 0);
  }
  for (i = 0; i < MANY; i++) {
    probe_wait(&many[i]);
    ck_assert_int_eq(many[i].status, 0);
    assert_stdout(many[i].cmd, line[i]);
    assert_stderr_empty(many[i].cmd);
  }
  for (i = 0; i < MANY; i++)
    probe_free(&many[i]);
  unhide_runner_fds(hidden, nhidden);
}
END_TEST

int main(void) {
  Suite *s = suite_create("stdio");
  ADD_TEST(s, test_capture_stdout);
  ADD_TEST(s, test_capture_stderr_separately);
  ADD_TEST(s, test_capture_empty_stream);
  ADD_TEST(s, test_defaults_are_dev_null);
  ADD_TEST(s, test_callbacks_every_byte_then_eof);
  ADD_TEST(s, test_callback_with_capture);
  ADD_TEST(s, test_done_after_eof_not_just_exit);
  ADD_TEST(s, test_dev_stdin_works);
  ADD_TEST(s, test_flood_both_streams);
  ADD_TEST(s, test_merge_keeps_order);
  ADD_TEST(s, test_merge_into_caller_fd);
  ADD_TEST(s, test_set_stdin_roundtrip);
  ADD_TEST(s, test_set_stdin_empty);
  ADD_TEST(s, test_stdin_pipe_chunks);
  ADD_TEST(s, test_stdin_pipe_large);
  ADD_TEST(s, test_sigpipe_default_does_not_kill);
  ADD_TEST(s, test_sigpipe_handler_never_called);
  ADD_TEST(s, test_sigpipe_ignored_stays_ignored);
  ADD_TEST(s, test_caller_fds);
  ADD_TEST(s, test_inherit_stdout);
  ADD_TEST(s, test_inherit_stderr);
  ADD_TEST(s, test_no_fd_leak_with_100_children);
  return run_suite(s);
}
