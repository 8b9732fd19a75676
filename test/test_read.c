/* SPDX-License-Identifier: MIT */
/* Reading the child's output (lib/read.c): a stream that never runs dry
 * starves neither another stream nor the loop's timers, and captured
 * memory follows what arrived: small for a small output, no slack left at
 * end of file, whatever the size. Speeds and latencies are the
 * benchmark's (test/bench/bench.c, "timer" and "memory"); these tests
 * assert behaviour only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

/* ---- fairness ------------------------------------------------------------- */

typedef struct {
  uvexec_cmd_t *flood;  /* writes without end */
  uvexec_cmd_t *echo;   /* cat: answers each line */
  size_t flood_bytes;   /* read from flood so far */
  unsigned sum;         /* of its bytes: the work done on them */
  int flood_eof;
  int echoed;           /* lines that came back */
  int rounds;           /* lines to send */
  int ticks;            /* of a repeating timer meanwhile */
  int finished;         /* every line came back */
  int flowing;          /* the flood was read from */
  size_t turn_bytes;    /* read from flood in this loop turn */
  size_t max_turn_bytes;
  uv_timer_t timer;
  uv_prepare_t turn; /* runs once a loop turn, before the poll */
} race_t;

/* A loop turn's reading is bounded: 2 MiB shared by the loop's streams
 * (lib/read.c), so never more than that from one stream in one turn. */
#define TURN_BOUND (2u * 1024 * 1024)

static void on_turn(uv_prepare_t *p) {
  race_t *r = p->data;

  if (r->turn_bytes > r->max_turn_bytes)
    r->max_turn_bytes = r->turn_bytes;
  r->turn_bytes = 0;
}

/* on_flood takes its time over every chunk (a real consumer parses what
 * it reads), so the child refills the pipe faster than it is read. */
static void on_flood(uvexec_cmd_t *cmd, const char *data, size_t len) {
  race_t *r = uvexec_cmd_data(cmd);
  size_t i;

  if (len == 0)
    r->flood_eof = 1;
  for (i = 0; i < len; i++)
    r->sum += (unsigned char)data[i];
  r->flood_bytes += len;
  r->turn_bytes += len;
  if (r->flood_bytes >= 1024 * 1024)
    r->flowing = 1;
}

static void on_echo_line(uvexec_cmd_t *cmd, const char *data, size_t len) {
  race_t *r = uvexec_cmd_data(cmd);
  char line[32];
  int n;

  snprintf(line, sizeof(line), "ping %d", r->echoed);
  ck_assert_uint_eq(len, strlen(line));
  ck_assert(memcmp(data, line, len) == 0);
  r->echoed++;
  if (r->echoed == r->rounds) {
    r->finished = 1;
    ck_assert_int_eq(uvexec_close_stdin(cmd), 0);
    return;
  }
  n = snprintf(line, sizeof(line), "ping %d\n", r->echoed);
  ck_assert_int_eq(uvexec_write(cmd, line, (size_t)n), 0);
}

static void on_tick(uv_timer_t *t) {
  race_t *r = t->data;

  r->ticks++;
}

static void on_race_done(uvexec_cmd_t *cmd, int status) {
  (void)cmd;
  (void)status;
}

static void on_timer_closed(uv_handle_t *h) {
  (void)h;
}

/* A child that writes as fast as it can keeps its pipe full; a second
 * child answering one line at a time, and a timer, still get their turns
 * while the first one is being read, and no loop turn reads more than its
 * bound from it. */
START_TEST(test_endless_stream_starves_nobody) {
  size_t before;
  int ticks;
  race_t r;

  memset(&r, 0, sizeof(r));
  r.rounds = 50;
  r.flood = helper_cmd("flood", "1000000000000", "0", NULL);
  uvexec_cmd_set_data(r.flood, &r);
  ck_assert_int_eq(uvexec_cmd_on_stdout(r.flood, on_flood), 0);
  r.echo = helper_cmd("cat", NULL);
  uvexec_cmd_set_data(r.echo, &r);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(r.echo), 0);
  ck_assert_int_eq(uvexec_cmd_on_stdout_line(r.echo, on_echo_line), 0);

  ck_assert_int_eq(uv_timer_init(test_loop, &r.timer), 0);
  r.timer.data = &r;
  ck_assert_int_eq(uv_timer_start(&r.timer, on_tick, 1, 1), 0);
  ck_assert_int_eq(uv_prepare_init(test_loop, &r.turn), 0);
  r.turn.data = &r;
  ck_assert_int_eq(uv_prepare_start(&r.turn, on_turn), 0);
  ck_assert_int_eq(uvexec_start(r.flood, test_loop, on_race_done), 0);
  run_loop_until(test_loop, &r.flowing, TEST_TIMEOUT_MS);

  /* The flood keeps its pipe full; the round trips start now. */
  before = r.flood_bytes;
  ticks = r.ticks;
  ck_assert_int_eq(uvexec_start(r.echo, test_loop, on_race_done), 0);
  ck_assert_int_eq(uvexec_write(r.echo, "ping 0\n", 7), 0);
  run_loop_until(test_loop, &r.finished, TEST_TIMEOUT_MS);
  /* The flood was being read all along, and is not over. */
  ck_assert_uint_gt(r.flood_bytes, before);
  ck_assert_int_eq(r.flood_eof, 0);
  ck_assert_int_gt(r.ticks, ticks);
  ck_assert_msg(r.max_turn_bytes <= TURN_BOUND,
                "%zu bytes of one stream in one loop turn", r.max_turn_bytes);

  uv_close((uv_handle_t *)&r.timer, on_timer_closed);
  uv_close((uv_handle_t *)&r.turn, on_timer_closed);
  uvexec_cmd_free(r.flood);
  uvexec_cmd_free(r.echo);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
}
END_TEST

/* Many busy streams on one loop, more than a turn's budget lets in: they
 * take turns, least recently served first, so a stream with bytes waiting
 * is read within as many turns as there are streams, not only the streams
 * the kernel happens to report first. Whether a child gets the CPU to
 * refill its pipe is the scheduler's business: what is measured is how
 * many loop turns in a row a stream had bytes waiting and was not read. */
enum { TAKERS = 24, TAKER_ROUNDS = 30 };

typedef struct {
  uvexec_cmd_t *cmd;
  long turns;   /* turns in which this stream was read */
  long waited;  /* turns in a row it had bytes and was not read */
  long longest; /* the longest such run */
  int read_now; /* read in the turn being run */
  long *total;  /* turns of all the streams */
} taker_t;

/* Before each poll: a stream with bytes in its pipe will be reported in
 * this turn; count the turn it waits, unless it was read in the last. */
static void on_turn_check(uv_prepare_t *p) {
  taker_t *takers = p->data;
  int i;

  for (i = 0; i < TAKERS; i++) {
    taker_t *t = &takers[i];
    int queued = 0;

    if (t->read_now) {
      t->read_now = 0;
      t->waited = 0;
    }
    ck_assert_int_eq(ioctl(t->cmd->out[0].fd, FIONREAD, &queued), 0);
    if (queued > 0) {
      t->waited++;
      if (t->waited > t->longest)
        t->longest = t->waited;
    }
  }
}

static void on_taker(uvexec_cmd_t *cmd, const char *data, size_t len) {
  taker_t *t = uvexec_cmd_data(cmd);

  (void)data;
  if (len > 0 && !t->read_now) {
    t->read_now = 1;
    t->turns++;
    (*t->total)++;
  }
}

START_TEST(test_busy_streams_take_turns) {
  taker_t takers[TAKERS];
  uv_prepare_t turn;
  long total = 0, longest = 0;
  int i, reached = 0;

  for (i = 0; i < TAKERS; i++) {
    takers[i] = (taker_t){.total = &total};
    takers[i].cmd = helper_cmd("flood", "1000000000000", "0", NULL);
    uvexec_cmd_set_data(takers[i].cmd, &takers[i]);
    ck_assert_int_eq(uvexec_cmd_on_stdout(takers[i].cmd, on_taker), 0);
    ck_assert_int_eq(uvexec_start(takers[i].cmd, test_loop, on_race_done), 0);
  }
  /* The children start one after the other: count from when each stream
   * has been read (and so is busy), then for TAKER_ROUNDS turns each on
   * average. */
  while (!reached) {
    ck_assert_int_ne(uv_run(test_loop, UV_RUN_ONCE), 0);
    for (i = 0, reached = 1; i < TAKERS; i++)
      reached = reached && takers[i].turns > 0;
  }
  ck_assert_int_eq(uv_prepare_init(test_loop, &turn), 0);
  turn.data = takers;
  ck_assert_int_eq(uv_prepare_start(&turn, on_turn_check), 0);
  for (i = 0, total = 0; i < TAKERS; i++)
    takers[i].turns = takers[i].waited = takers[i].longest = 0;
  for (reached = 0; !reached;) {
    ck_assert_int_ne(uv_run(test_loop, UV_RUN_ONCE), 0);
    reached = total >= (long)TAKERS * TAKER_ROUNDS;
  }
  for (i = 0; i < TAKERS; i++)
    if (takers[i].longest > longest)
      longest = takers[i].longest;
  ck_assert_msg(longest <= TAKERS,
                "a stream had bytes waiting for %ld turns in a row", longest);

  uv_close((uv_handle_t *)&turn, on_timer_closed);
  for (i = 0; i < TAKERS; i++)
    uvexec_cmd_free(takers[i].cmd);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
}
END_TEST

/* A loop may be run by one thread, then another. A stream that started
 * while one thread ran the loop and ended while another did leaves
 * nothing behind that a later start, on either thread, could trip over
 * (under ASan a stale entry is a use-after-free). */
typedef struct {
  sem_t go;          /* main: the first loop was run to its end */
  uv_loop_t first;   /* started on the thread, run to the end on main */
  uvexec_cmd_t *cmd; /* started there */
  int started;
  int rc_second; /* the thread's second start, on a loop of its own */
} mover_t;

static void *mover_main(void *arg) {
  mover_t *m = arg;
  uvexec_cmd_t *cmd;
  uv_loop_t second;

  m->cmd = helper_cmd("echo", "one", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(m->cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_start(m->cmd, &m->first, NULL), 0);
  __atomic_store_n(&m->started, 1, __ATOMIC_RELEASE);
  while (sem_wait(&m->go) != 0)
    ;
  /* The first loop has ended on the main thread: start again here. */
  ck_assert_int_eq(uv_loop_init(&second), 0);
  cmd = helper_cmd("echo", "two", NULL);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  m->rc_second = uvexec_start(cmd, &second, NULL);
  uv_run(&second, UV_RUN_DEFAULT);
  uvexec_cmd_free(cmd);
  uv_run(&second, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&second), 0);
  return NULL;
}

START_TEST(test_loop_moves_between_threads) {
  const char *out;
  pthread_t t;
  mover_t m;

  memset(&m, 0, sizeof(m));
  ck_assert_int_eq(sem_init(&m.go, 0, 0), 0);
  ck_assert_int_eq(uv_loop_init(&m.first), 0);
  ck_assert_int_eq(pthread_create(&t, NULL, mover_main, &m), 0);
  while (!__atomic_load_n(&m.started, __ATOMIC_ACQUIRE))
    sched_yield();
  uv_run(&m.first, UV_RUN_DEFAULT); /* the stream ends on this thread */
  out = uvexec_stdout_data(m.cmd, NULL);
  ck_assert_str_eq(out, "one\n");
  uvexec_cmd_free(m.cmd);
  uv_run(&m.first, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&m.first), 0);
  ck_assert_int_eq(sem_post(&m.go), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(m.rc_second, 0);
  sem_destroy(&m.go);
}
END_TEST

/* ---- memory that follows the output ---------------------------------------- */

/* captured_buffer runs cmd with stdout captured and returns its stream. */
static const uvexec__reader_t *run_captured(uvexec_cmd_t *cmd) {
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  return &cmd->out[0];
}

/* A small capture holds what it captured, not a read-sized buffer. */
START_TEST(test_small_capture_is_small) {
  uvexec_cmd_t *cmd = helper_cmd("echo", "hi", NULL);
  const uvexec__reader_t *r = run_captured(cmd);
  size_t len;

  ck_assert_str_eq(uvexec_stdout_data(cmd, &len), "hi\n");
  ck_assert_uint_eq(r->buf.cap, len + 1);
  ck_assert_int_eq(r->busy, 0);
  uvexec_cmd_free(cmd);
}
END_TEST

/* A large capture grew while the child kept the pipe full, and gives its
 * slack back at end of file: at most a page beyond the data. */
START_TEST(test_large_capture_gives_back_slack) {
  size_t want = 24u * 1024 * 1024 + 123, len;
  uvexec_cmd_t *cmd;
  const uvexec__reader_t *r;
  char count[32];
  const char *out;

  snprintf(count, sizeof(count), "%zu", want);
  cmd = helper_cmd("flood", count, "0", NULL);
  r = run_captured(cmd);
  out = uvexec_stdout_data(cmd, &len);
  ck_assert_uint_eq(len, want);
  ck_assert(out[0] == 'o' && out[len - 1] == 'o' && out[len] == '\0');
  ck_assert_int_eq(r->busy, 1);
  ck_assert_uint_ge(r->buf.cap, len + 1);
  ck_assert_uint_le(r->buf.cap, len + 1 + (size_t)sysconf(_SC_PAGESIZE));
  uvexec_cmd_free(cmd);
}
END_TEST

/* The output limit holds exactly with reads straight into the buffer. */
START_TEST(test_limit_exact_on_busy_stream) {
  uvexec_cmd_t *cmd = helper_cmd("flood", "100000000", "0", NULL);
  size_t len;

  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_output_limit(cmd, 5000001), 0);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOBUFS);
  (void)uvexec_stdout_data(cmd, &len);
  ck_assert_uint_eq(len, 5000001);
  uvexec_cmd_free(cmd);
}
END_TEST

/* Many streams read at once on one loop, each captured whole. */
START_TEST(test_many_streams_each_whole) {
  enum { N = 40 };
  uvexec_cmd_t *cmds[N];
  probe_t probes[N];
  int i;

  for (i = 0; i < N; i++) {
    char count[32];

    snprintf(count, sizeof(count), "%d", 1000000 + i * 4099);
    cmds[i] = helper_cmd("flood", count, "0", NULL);
    probe_init(&probes[i], cmds[i]);
    ck_assert_int_eq(uvexec_cmd_stdout(cmds[i], UVEXEC_CAPTURE), 0);
    probe_start(&probes[i]);
  }
  for (i = 0; i < N; i++) {
    size_t len;

    probe_wait(&probes[i]);
    ck_assert_int_eq(probes[i].status, 0);
    (void)uvexec_stdout_data(cmds[i], &len);
    ck_assert_uint_eq(len, (size_t)(1000000 + i * 4099));
    probe_free(&probes[i]);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("read");

  ADD_TEST(s, test_endless_stream_starves_nobody);
  ADD_TEST(s, test_busy_streams_take_turns);
  ADD_TEST(s, test_loop_moves_between_threads);
  ADD_TEST(s, test_small_capture_is_small);
  ADD_TEST(s, test_large_capture_gives_back_slack);
  ADD_TEST(s, test_limit_exact_on_busy_stream);
  ADD_TEST(s, test_many_streams_each_whole);
  return run_suite(s);
}
