/* SPDX-License-Identifier: MIT */
/* Bounded captures (lib/bounds.c): the first head and the last tail bytes
 * of a stream with "\n... omitting N bytes ...\n" between, for every size
 * around the bounds (the ring full, wrapped to its start, written in
 * pieces); none left out, nothing marked; a head or a tail alone; a
 * flooding stream that runs to its end in bounded memory; callbacks that
 * still see every byte; the output limit counting every byte. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "internal.h"

/* seq is byte i of the helper's sequence. */
static char seq(size_t i) {
  return (char)('a' + (i * 7 + i / 26) % 26);
}

/* expected builds what a capture bounded to head and tail keeps of the
 * sequence's first total bytes (malloc'd). */
static char *expected(size_t total, size_t head, size_t tail) {
  size_t omitted = total > head + tail ? total - head - tail : 0, i, n = 0;
  char *out = malloc(total + 64);

  ck_assert_ptr_nonnull(out);
  for (i = 0; i < total && i < head; i++)
    out[n++] = seq(i);
  if (omitted > 0)
    n += (size_t)sprintf(out + n, "\n... omitting %zu bytes ...\n", omitted);
  for (i = head + omitted; i < total; i++)
    out[n++] = seq(i);
  out[n] = '\0';
  return out;
}

static void check(size_t total, size_t head, size_t tail) {
  char count[32], *want;
  uvexec_cmd_t *cmd;
  const char *got;
  size_t len;

  snprintf(count, sizeof count, "%zu", total);
  cmd = helper_cmd("sequence", count, NULL);
  ck_assert_int_eq(uvexec_cmd_set_capture_bounds(cmd, head, tail), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  got = uvexec_stdout_data(cmd, &len);
  want = expected(total, head, tail);
  ck_assert_msg(len == strlen(want) && memcmp(got, want, len) == 0,
                "total %zu, head %zu, tail %zu: got %zu bytes \"%.80s\", "
                "want %zu \"%.80s\"",
                total, head, tail, len, got, strlen(want), want);
  ck_assert_int_eq(got[len], '\0');
  free(want);
  uvexec_cmd_free(cmd);
}

/* Every size around the bounds: below the head, at it, within the tail,
 * at head + tail, one past, the ring exactly full twice over, and far
 * past, in pieces of 4 KiB. */
START_TEST(test_sizes_around_the_bounds) {
  static const size_t totals[] = {0,    1,    99,   100,  101,  150,
                                  199,  200,  201,  299,  300,  301,
                                  4099, 5000, 65536, 1000003};
  size_t i;

  for (i = 0; i < sizeof totals / sizeof totals[0]; i++)
    check(totals[i], 100, 100);
}
END_TEST

START_TEST(test_head_only_and_tail_only) {
  check(5000, 64, 0);
  check(5000, 0, 64);
  check(30, 0, 64);
  check(30, 64, 0);
}
END_TEST

/* A stream that floods (read straight into its buffer when unbounded)
 * runs to its end, and what is kept is the bounds and the marker. */
START_TEST(test_flood_bounded) {
  uvexec_cmd_t *cmd = helper_cmd("flood", "20000000", "0", NULL);
  const uvexec__reader_t *r = &cmd->out[0];
  const char *got;
  size_t len;

  ck_assert_int_eq(uvexec_cmd_set_capture_bounds(cmd, 10, 10), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  got = uvexec_stdout_data(cmd, &len);
  ck_assert_str_eq(got, "oooooooooo\n... omitting 19999980 bytes ...\n"
                        "oooooooooo");
  ck_assert_uint_lt(r->buf.cap, 4096); /* never held the stream */
  uvexec_cmd_free(cmd);
}
END_TEST

/* Data callbacks see every byte of a bounded capture. */
START_TEST(test_callbacks_see_everything) {
  probe_t p;
  size_t len;

  probe_init(&p, helper_cmd("sequence", "100000", NULL));
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_capture_bounds(p.cmd, 5, 5), 0);
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_uint_eq(p.out.len, 100000);
  (void)uvexec_stdout_data(p.cmd, &len);
  ck_assert_uint_eq(len, 10 + strlen("\n... omitting 99990 bytes ...\n"));
  probe_free(&p);
}
END_TEST

/* With an output limit too, the limit counts every byte captured, not
 * what the bounds keep. */
START_TEST(test_limit_counts_every_byte) {
  uvexec_cmd_t *cmd = helper_cmd("flood", "1000000", "0", NULL);

  ck_assert_int_eq(uvexec_cmd_set_capture_bounds(cmd, 10, 10), 0);
  ck_assert_int_eq(uvexec_cmd_set_output_limit(cmd, 100000), 0);
  ck_assert_int_eq(uvexec_output(cmd), UV_ENOBUFS);
  uvexec_cmd_free(cmd);
}
END_TEST

/* Both streams, each bounded on its own. */
START_TEST(test_both_streams) {
  uvexec_cmd_t *cmd = helper_cmd("flood", "1000", "2000", NULL);

  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_capture_bounds(cmd, 2, 3), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL),
                   "oo\n... omitting 995 bytes ...\nooo");
  ck_assert_str_eq(uvexec_stderr_data(cmd, NULL),
                   "ee\n... omitting 1995 bytes ...\neee");
  uvexec_cmd_free(cmd);
}
END_TEST

START_TEST(test_guards) {
  probe_t p;

  ck_assert_int_eq(uvexec_cmd_set_capture_bounds(NULL, 1, 1), UV_EINVAL);
  probe_init(&p, helper_cmd("exit", "0", NULL));
  probe_start(&p);
  ck_assert_int_eq(uvexec_cmd_set_capture_bounds(p.cmd, 1, 1), UV_EBUSY);
  probe_wait(&p);
  probe_free(&p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("bounds");

  ADD_TEST(s, test_sizes_around_the_bounds);
  ADD_TEST(s, test_head_only_and_tail_only);
  ADD_TEST(s, test_flood_bounded);
  ADD_TEST(s, test_callbacks_see_everything);
  ADD_TEST(s, test_limit_counts_every_byte);
  ADD_TEST(s, test_both_streams);
  ADD_TEST(s, test_guards);
  return run_suite(s);
}
