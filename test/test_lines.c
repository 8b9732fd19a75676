/* SPDX-License-Identifier: MIT */
/* Line callbacks (bufio.Scanner over a pipe): one call per line without
 * its '\n' (nor the '\r' of a "\r\n"), a last partial line at end of file,
 * a lone '\r' kept, lines cut
 * across reads put back together, over-long lines in bounded pieces, and
 * line callbacks beside capture and data callbacks, on both streams. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* ---- a recorder of lines ------------------------------------------------- */

typedef struct {
  char **text; /* each NUL-terminated, the length in len[] */
  size_t *len;
  size_t count;
  size_t cap;
} lines_t;

typedef struct {
  probe_t probe;      /* first: the cmd's data points at the recorder */
  lines_t out;        /* stdout lines */
  lines_t err;        /* stderr lines */
  size_t out_at_done; /* lines seen when done fired */
  size_t err_at_done;
  int lines_after_done; /* never allowed */
  /* Optional actions inside the line callback. */
  const char *cancel_on; /* cancel when this stdout line arrives */
  int free_on_first;     /* free the cmd on the first stdout line */
} rec_t;

static void lines_add(lines_t *l, const char *data, size_t len) {
  if (l->count == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    l->text = realloc(l->text, cap * sizeof *l->text);
    l->len = realloc(l->len, cap * sizeof *l->len);
    ck_assert(l->text != NULL && l->len != NULL);
    l->cap = cap;
  }
  l->text[l->count] = malloc(len + 1);
  ck_assert_ptr_nonnull(l->text[l->count]);
  if (len > 0)
    memcpy(l->text[l->count], data, len);
  l->text[l->count][len] = '\0';
  l->len[l->count] = len;
  l->count++;
}

static void lines_free(lines_t *l) {
  size_t i;
  for (i = 0; i < l->count; i++)
    free(l->text[i]);
  free(l->text);
  free(l->len);
  memset(l, 0, sizeof *l);
}

static void rec_done_cb(uvexec_cmd_t *cmd, int status) {
  rec_t *r = uvexec_cmd_data(cmd);
  probe_done_cb(cmd, status);
  r->out_at_done = r->out.count;
  r->err_at_done = r->err.count;
}

static void rec_stdout_line(uvexec_cmd_t *cmd, const char *data, size_t len) {
  rec_t *r = uvexec_cmd_data(cmd);
  if (r->probe.cmd == NULL) {
    r->probe.calls_after_free++;
    return;
  }
  ck_assert(len == 0 || data != NULL);
  if (r->probe.done_calls > 0)
    r->lines_after_done++;
  lines_add(&r->out, data, len);
  if (r->cancel_on != NULL && len == strlen(r->cancel_on) &&
      memcmp(data, r->cancel_on, len) == 0) {
    ck_assert_int_eq(uvexec_cancel(cmd), 0);
    ck_assert_int_eq(uvexec_cancel(cmd), 0);
  }
  if (r->free_on_first) {
    uvexec_cmd_free(cmd);
    r->probe.cmd = NULL;
  }
}

static void rec_stderr_line(uvexec_cmd_t *cmd, const char *data, size_t len) {
  rec_t *r = uvexec_cmd_data(cmd);
  if (r->probe.cmd == NULL) {
    r->probe.calls_after_free++;
    return;
  }
  if (r->probe.done_calls > 0)
    r->lines_after_done++;
  lines_add(&r->err, data, len);
}

/* rec_init ties a recorder to cmd with line callbacks on the streams
 * asked for. */
static void rec_init(rec_t *r, uvexec_cmd_t *cmd, int out, int err) {
  memset(r, 0, sizeof *r);
  probe_init(&r->probe, cmd);
  uvexec_cmd_set_data(cmd, r);
  if (out)
    ck_assert_int_eq(uvexec_cmd_on_stdout_line(cmd, rec_stdout_line), 0);
  if (err)
    ck_assert_int_eq(uvexec_cmd_on_stderr_line(cmd, rec_stderr_line), 0);
}

static void rec_run(rec_t *r) {
  int rc = uvexec_start(r->probe.cmd, test_loop, rec_done_cb);
  ck_assert_msg(rc == 0, "uvexec_start gave %s: %s", uvexec_err_name(rc),
                uvexec_cmd_error(r->probe.cmd) ? uvexec_cmd_error(r->probe.cmd)
                                               : "-");
  probe_wait(&r->probe);
  ck_assert_int_eq(r->probe.done_calls, 1);
  ck_assert_int_eq(r->lines_after_done, 0);
}

static void rec_free(rec_t *r) {
  probe_free(&r->probe);
  lines_free(&r->out);
  lines_free(&r->err);
}

/* assert_lines compares the lines seen with want (count entries). */
static void assert_lines(const char *which, const lines_t *l,
                         const char *const *want, size_t count) {
  size_t i;
  ck_assert_msg(l->count == count, "%s: %zu lines, expected %zu", which,
                l->count, count);
  for (i = 0; i < count; i++)
    ck_assert_msg(l->len[i] == strlen(want[i]) &&
                      memcmp(l->text[i], want[i], l->len[i]) == 0,
                  "%s line %zu is \"%s\" (%zu bytes), expected \"%s\"", which,
                  i, l->text[i], l->len[i], want[i]);
}

/* ---- splitting ----------------------------------------------------------- */

START_TEST(test_lines_basic) {
  static const char *const want[] = {"a", "bb", "", "ccc"};
  rec_t r;

  rec_init(&r, uvexec_command("printf", "a\\nbb\\n\\nccc", NULL), 1, 0);
  rec_run(&r);
  ck_assert_int_eq(r.probe.status, 0);
  assert_lines("stdout", &r.out, want, 4);
  /* The last, partial line came before the done callback. */
  ck_assert_uint_eq(r.out_at_done, 4);
  rec_free(&r);
}
END_TEST

START_TEST(test_lines_no_output_no_calls) {
  rec_t r;

  rec_init(&r, helper_cmd("exit", "0", NULL), 1, 1);
  rec_run(&r);
  ck_assert_int_eq(r.probe.status, 0);
  ck_assert_uint_eq(r.out.count, 0);
  ck_assert_uint_eq(r.err.count, 0);
  rec_free(&r);
}
END_TEST

START_TEST(test_lines_single_newline) {
  static const char *const want[] = {""};
  rec_t r;

  rec_init(&r, uvexec_command("printf", "\\n", NULL), 1, 0);
  rec_run(&r);
  assert_lines("stdout", &r.out, want, 1);
  rec_free(&r);
}
END_TEST

/* "\r\n" ends a line as "\n" does (bufio.ScanLines), also for the last
 * line at end of file; a '\r' elsewhere is the line's own. */
START_TEST(test_lines_crlf_dropped) {
  static const char *const want[] = {"x", "y", "", "a\rb", "\r\r", "z"};
  rec_t r;

  rec_init(&r,
           uvexec_command("printf", "x\\r\\ny\\r\\n\\r\\na\\rb\\n\\r\\r\\r\\nz\\r",
                          NULL),
           1, 0);
  rec_run(&r);
  assert_lines("stdout", &r.out, want, 6);
  rec_free(&r);
}
END_TEST

/* Lines cut across reads: `cat` is fed one piece at a time, and the next
 * piece is written only once the previous one has come back, so every
 * read of the parent ends where a piece ends, never where a line ends. */
typedef struct {
  rec_t rec;
  const char *const *pieces;
  size_t npieces;
  size_t next;     /* the piece to write next */
  size_t expected; /* bytes written so far */
  size_t received;
} feeder_t;

static void feed_next(uvexec_cmd_t *cmd, feeder_t *f) {
  if (f->next < f->npieces) {
    const char *piece = f->pieces[f->next++];
    f->expected += strlen(piece);
    ck_assert_int_eq(uvexec_write(cmd, piece, strlen(piece)), 0);
  } else {
    ck_assert_int_eq(uvexec_close_stdin(cmd), 0);
  }
}

static void on_echoed(uvexec_cmd_t *cmd, const char *data, size_t len) {
  feeder_t *f = uvexec_cmd_data(cmd);
  (void)data;
  f->received += len;
  ck_assert_uint_le(f->received, f->expected);
  if (len > 0 && f->received == f->expected)
    feed_next(cmd, f);
}

static void run_fed(feeder_t *f, const char *const *pieces, size_t n) {
  uvexec_cmd_t *cmd = helper_cmd("cat", NULL);

  f->pieces = pieces;
  f->npieces = n;
  f->next = f->expected = f->received = 0;
  rec_init(&f->rec, cmd, 1, 0);
  uvexec_cmd_set_data(cmd, f);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(cmd), 0);
  ck_assert_int_eq(uvexec_cmd_on_stdout(cmd, on_echoed), 0);
  feed_next(cmd, f); /* queued before the start */
  rec_run(&f->rec);
  ck_assert_int_eq(f->rec.probe.status, 0);
  ck_assert_uint_eq(f->next, n);
}

START_TEST(test_lines_split_across_reads) {
  static const char *const pieces[] = {"he",   "llo\nwor", "ld\n",
                                       "\nla", "s",        "t"};
  static const char *const want[] = {"hello", "world", "", "last"};
  feeder_t f;

  run_fed(&f, pieces, 6);
  assert_lines("stdout", &f.rec.out, want, 4);
  rec_free(&f.rec);
}
END_TEST

START_TEST(test_lines_byte_by_byte) {
  static const char *const pieces[] = {"a",  "b", "\n", "\n", "c", "\r",
                                       "\n", "d", "e",  "f",  "\n"};
  static const char *const want[] = {"ab", "", "c", "def"};
  feeder_t f;

  run_fed(&f, pieces, 11);
  assert_lines("stdout", &f.rec.out, want, 4);
  rec_free(&f.rec);
}
END_TEST

/* ---- long lines ---------------------------------------------------------- */

/* run_cat_lines gives text to `cat` and records its stdout lines. */
static void run_cat_lines(rec_t *r, const char *text, size_t len) {
  uvexec_cmd_t *cmd = helper_cmd("cat", NULL);
  rec_init(r, cmd, 1, 0);
  ck_assert_int_eq(uvexec_cmd_set_stdin(cmd, text, len), 0);
  rec_run(r);
  ck_assert_int_eq(r->probe.status, 0);
}

static void assert_run_of(const lines_t *l, size_t i, size_t len, char c) {
  size_t k;
  ck_assert_msg(i < l->count, "line %zu missing (%zu lines)", i, l->count);
  ck_assert_msg(l->len[i] == len, "line %zu is %zu bytes, expected %zu", i,
                l->len[i], len);
  for (k = 0; k < len; k++)
    if (l->text[i][k] != c)
      ck_abort_msg("line %zu byte %zu is 0x%02x, expected '%c'", i, k,
                   (unsigned char)l->text[i][k], c);
}

START_TEST(test_lines_longer_than_max) {
  size_t big = 200000;
  char *text = malloc(big + 5);
  rec_t r;

  ck_assert_ptr_nonnull(text);
  memset(text, 'x', big);
  memcpy(text + big, "\nend\n", 5);
  run_cat_lines(&r, text, big + 5);

  ck_assert_uint_eq(r.out.count, 5);
  assert_run_of(&r.out, 0, UVEXEC_LINE_MAX, 'x');
  assert_run_of(&r.out, 1, UVEXEC_LINE_MAX, 'x');
  assert_run_of(&r.out, 2, UVEXEC_LINE_MAX, 'x');
  assert_run_of(&r.out, 3, big - 3 * UVEXEC_LINE_MAX, 'x'); /* 3392 */
  ck_assert_uint_eq(r.out.len[3], 3392);
  ck_assert_str_eq(r.out.text[4], "end");
  rec_free(&r);
  free(text);
}
END_TEST

/* A line of exactly UVEXEC_LINE_MAX bytes is not too long: one call, and
 * its newline does not turn into an extra empty line. */
START_TEST(test_lines_exactly_max) {
  size_t n = UVEXEC_LINE_MAX;
  char *text = malloc(2 * n + 16);
  size_t len = 0;
  rec_t r;

  ck_assert_ptr_nonnull(text);
  memset(text, 'm', n);
  len = n;
  text[len++] = '\n';
  memset(text + len, 'p', n + 1); /* one byte too long */
  len += n + 1;
  memcpy(text + len, "\nz\n", 3);
  len += 3;
  run_cat_lines(&r, text, len);

  ck_assert_msg(
      r.out.count == 4, "%zu lines, expected 4; lengths: %zu %zu %zu %zu %zu",
      r.out.count, r.out.count > 0 ? r.out.len[0] : 0,
      r.out.count > 1 ? r.out.len[1] : 0, r.out.count > 2 ? r.out.len[2] : 0,
      r.out.count > 3 ? r.out.len[3] : 0, r.out.count > 4 ? r.out.len[4] : 0);
  assert_run_of(&r.out, 0, n, 'm');
  assert_run_of(&r.out, 1, n, 'p');
  assert_run_of(&r.out, 2, 1, 'p');
  ck_assert_str_eq(r.out.text[3], "z");
  rec_free(&r);
  free(text);
}
END_TEST

/* A long last line without a newline comes out in pieces too, the rest of
 * it at end of file. */
START_TEST(test_lines_long_partial_at_eof) {
  size_t big = 2 * UVEXEC_LINE_MAX + 10;
  char *text = malloc(big);
  rec_t r;

  ck_assert_ptr_nonnull(text);
  memset(text, 'q', big);
  run_cat_lines(&r, text, big);
  ck_assert_uint_eq(r.out.count, 3);
  assert_run_of(&r.out, 0, UVEXEC_LINE_MAX, 'q');
  assert_run_of(&r.out, 1, UVEXEC_LINE_MAX, 'q');
  assert_run_of(&r.out, 2, 10, 'q');
  ck_assert_uint_eq(r.out_at_done, 3);
  rec_free(&r);
  free(text);
}
END_TEST

/* ---- together with capture and data callbacks ---------------------------- */

START_TEST(test_lines_with_capture_and_data) {
  tbuf_t text = {0}, joined = {0};
  char line[128];
  const char *data;
  size_t len = 0, i;
  rec_t r;
  uvexec_cmd_t *cmd = helper_cmd("cat", NULL);

  /* Lines of many lengths, well past one pipe buffer in total. */
  for (i = 0; i < 5000; i++) {
    int n = snprintf(line, sizeof line, "%zu:%.*s\n", i, (int)(i % 97),
                     "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                     "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
    tbuf_append(&text, line, (size_t)n);
  }
  rec_init(&r, cmd, 1, 0);
  probe_watch_stdout(&r.probe);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_stdin(cmd, text.data, text.len), 0);
  rec_run(&r);
  ck_assert_int_eq(r.probe.status, 0);

  /* The capture has everything ... */
  data = uvexec_stdout_data(cmd, &len);
  ck_assert_ptr_nonnull(data);
  ck_assert_uint_eq(len, text.len);
  ck_assert(memcmp(data, text.data, len) == 0);
  /* ... so has the data callback ... */
  ck_assert_uint_eq(r.probe.out.len, text.len);
  ck_assert(memcmp(r.probe.out.data, text.data, text.len) == 0);
  ck_assert_int_eq(r.probe.out_eof, 1);
  /* ... and the lines, put back together, are the same text. */
  ck_assert_uint_eq(r.out.count, 5000);
  for (i = 0; i < r.out.count; i++) {
    tbuf_append(&joined, r.out.text[i], r.out.len[i]);
    tbuf_append(&joined, "\n", 1);
  }
  ck_assert_uint_eq(joined.len, text.len);
  ck_assert(memcmp(joined.data, text.data, text.len) == 0);

  tbuf_free(&text);
  tbuf_free(&joined);
  rec_free(&r);
}
END_TEST

/* ---- stderr -------------------------------------------------------------- */

START_TEST(test_lines_stderr) {
  static const char *const want_out[] = {"out 0", "out 1", "out 2"};
  static const char *const want_err[] = {"err 0", "err 1", "err 2"};
  rec_t r;

  rec_init(&r, helper_cmd("interleave", "3", NULL), 1, 1);
  rec_run(&r);
  ck_assert_int_eq(r.probe.status, 0);
  assert_lines("stdout", &r.out, want_out, 3);
  assert_lines("stderr", &r.err, want_err, 3);
  rec_free(&r);
}
END_TEST

START_TEST(test_lines_stderr_only_with_capture) {
  static const char *const want[] = {"first", "second"};
  rec_t r;
  uvexec_cmd_t *cmd =
      uvexec_command("sh", "-c", "printf 'first\\nsecond' >&2; exit 7", NULL);

  rec_init(&r, cmd, 0, 1);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  rec_run(&r);
  ck_assert_int_eq(r.probe.status, UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 7);
  assert_lines("stderr", &r.err, want, 2);
  ck_assert_uint_eq(r.out.count, 0);
  assert_stderr(cmd, "first\nsecond");
  rec_free(&r);
}
END_TEST

/* ---- acting from a line callback ----------------------------------------- */

START_TEST(test_lines_cancel_from_line) {
  static const char *const want[] = {"ready"};
  rec_t r;

  rec_init(&r, helper_cmd("ignore-term", NULL), 1, 0);
  r.cancel_on = "ready";
  rec_run(&r);
  ck_assert_int_eq(r.probe.status, UV_ECANCELED);
  ck_assert_int_eq(uvexec_term_signal(r.probe.cmd), SIGKILL);
  assert_lines("stdout", &r.out, want, 1);
  rec_free(&r);
}
END_TEST

START_TEST(test_lines_free_from_line) {
  rec_t r;
  int rc;

  rec_init(&r, helper_cmd("interleave", "1000", NULL), 1, 0);
  r.free_on_first = 1;
  rc = uvexec_start(r.probe.cmd, test_loop, rec_done_cb);
  ck_assert_int_eq(rc, 0);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_uint_eq(r.out.count, 1);
  ck_assert_str_eq(r.out.text[0], "out 0");
  ck_assert_int_eq(r.probe.done_calls, 0);
  ck_assert_int_eq(r.probe.calls_after_free, 0);
  rec_free(&r);
}
END_TEST

/* A line callback needs a stream uvexec reads. */
START_TEST(test_lines_need_a_pipe) {
  rec_t r;
  uvexec_cmd_t *cmd = helper_cmd("echo", "x", NULL);

  rec_init(&r, cmd, 1, 0);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_INHERIT), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, rec_done_cb), UV_EINVAL);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(r.probe.done_calls, 0);
  ck_assert_uint_eq(r.out.count, 0);
  rec_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("lines");
  ADD_TEST(s, test_lines_basic);
  ADD_TEST(s, test_lines_no_output_no_calls);
  ADD_TEST(s, test_lines_single_newline);
  ADD_TEST(s, test_lines_crlf_dropped);
  ADD_TEST(s, test_lines_split_across_reads);
  ADD_TEST(s, test_lines_byte_by_byte);
  ADD_TEST(s, test_lines_longer_than_max);
  ADD_TEST(s, test_lines_exactly_max);
  ADD_TEST(s, test_lines_long_partial_at_eof);
  ADD_TEST(s, test_lines_with_capture_and_data);
  ADD_TEST(s, test_lines_stderr);
  ADD_TEST(s, test_lines_stderr_only_with_capture);
  ADD_TEST(s, test_lines_cancel_from_line);
  ADD_TEST(s, test_lines_free_from_line);
  ADD_TEST(s, test_lines_need_a_pipe);
  return run_suite(s);
}
