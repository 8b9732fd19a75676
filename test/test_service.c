/* SPDX-License-Identifier: MIT */
/* Services (lib/service.c): the restart policies, the delay that doubles
 * up to its maximum and the gaps actually waited, the start limit and its
 * one give-up, the exit codes that prevent a restart, the reset after a
 * healthy run, the jitter's bounds, a stop during the delay, a restart
 * asked for, runs that strictly alternate even when a grandchild holds the
 * old one's stdout, free in every state and inside every event, and bad
 * input.
 *
 * Times are taken from uv_now() at each event and only ever bounded
 * generously below the figure ("waited at least the delay") and far above
 * it; the delay figures themselves are the benchmark's. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAX_EVENTS 64

/* What the event callback saw. */
typedef struct {
  uvexec_service_event_t event[MAX_EVENTS];
  uint64_t at[MAX_EVENTS];    /* uv_now() */
  uint64_t delay[MAX_EVENTS]; /* next_delay at BACKOFF */
  int status[MAX_EVENTS];     /* uvexec_service_status() at EXITED */
  int pid[MAX_EVENTS];        /* the run's pid at STARTED */
  int n;
  int stop_after_backoffs; /* > 0: stop at that BACKOFF */
  int free_on;             /* free the service at this event, + 1 */
  int freed;
  int after_free; /* events after the free: never allowed */
  int ended;      /* STOPPED or GAVE_UP seen */
  char tail[256]; /* the last EXITED run's captured stderr */
  int want;       /* wait_for: the event awaited, + 1 */
  int want_n;     /* ... this many of it */
  int hit;        /* ... seen */
} seen_t;

static int count(const seen_t *w, uvexec_service_event_t event);

static void on_event(uvexec_service_t *s, uvexec_service_event_t event,
                     uvexec_cmd_t *run) {
  seen_t *w = uvexec_service_data(s);
  int i = w->n;

  if (w->freed) {
    w->after_free++;
    return;
  }
  if (w->free_on == (int)event + 1)
    uv_stop(test_loop);
  ck_assert_int_lt(i, MAX_EVENTS);
  w->event[i] = event;
  w->at[i] = uv_now(test_loop);
  w->delay[i] = uvexec_service_next_delay(s);
  w->status[i] = event == UVEXEC_SERVICE_EXITED ? uvexec_service_status(s) : 0;
  w->pid[i] = run != NULL ? uvexec_pid(run) : 0;
  w->n++;
  if (event == UVEXEC_SERVICE_EXITED && run != NULL) {
    size_t len;
    const char *err = uvexec_stderr_data(run, &len);

    snprintf(w->tail, sizeof w->tail, "%s", err != NULL ? err : "");
  }
  if (event == UVEXEC_SERVICE_STOPPED || event == UVEXEC_SERVICE_GAVE_UP)
    w->ended = 1;
  if (w->want == (int)event + 1 && count(w, event) >= w->want_n)
    w->hit = 1;
  /* Events come from a timer's callback too, after which an iteration of
   * the loop would go on to wait for I/O: the test's waits look at their
   * flags at once. */
  uv_stop(test_loop);
  if (w->free_on == (int)event + 1) {
    w->freed = 1;
    uvexec_service_free(s);
    return;
  }
  if (event == UVEXEC_SERVICE_BACKOFF && w->stop_after_backoffs > 0 &&
      --w->stop_after_backoffs == 0)
    ck_assert_int_eq(uvexec_service_stop(s), 0);
}

static uvexec_service_t *service(uvexec_cmd_t *cmd, seen_t *w) {
  uvexec_service_t *s = uvexec_service_new(test_loop, cmd);

  ck_assert_ptr_nonnull(s);
  memset(w, 0, sizeof(*w));
  uvexec_service_set_data(s, w);
  ck_assert_int_eq(uvexec_service_on_event(s, on_event), 0);
  return s;
}

static int count(const seen_t *w, uvexec_service_event_t event) {
  int i, n = 0;

  for (i = 0; i < w->n; i++)
    n += w->event[i] == event;
  return n;
}

/* nth answers the index of the k-th (from 0) event of that kind, -1. */
static int nth(const seen_t *w, uvexec_service_event_t event, int k) {
  int i;

  for (i = 0; i < w->n; i++)
    if (w->event[i] == event && k-- == 0)
      return i;
  return -1;
}

/* wait_for runs the loop until n events of that kind have come. */
static void wait_for(seen_t *w, uvexec_service_event_t event, int n) {
  w->want = (int)event + 1;
  w->want_n = n;
  w->hit = count(w, event) >= n;
  run_loop_until(test_loop, &w->hit, TEST_TIMEOUT_MS);
  w->want = 0;
}

static void wait_ended(seen_t *w) {
  run_loop_until(test_loop, &w->ended, TEST_TIMEOUT_MS);
}

static void finish(uvexec_service_t *s) {
  uvexec_service_free(s);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
}

/* ---- the delay ----------------------------------------------------------- */

/* A run that fails at once, again and again: the delays are 50, 100, 200,
 * 400, 400 ms, and each next run starts no sooner than its delay after
 * the exit. */
START_TEST(test_delay_sequence) {
  static const uint64_t want[] = {50, 100, 200, 400, 400};
  uvexec_service_t *s;
  seen_t w;
  int k;

  s = service(helper_cmd("exit", "1", NULL), &w);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 50, 400), 0);
  ck_assert_int_eq(uvexec_service_set_limit(s, 0, 0), 0);
  w.stop_after_backoffs = 5;
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_ended(&w);
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_BACKOFF), 5);
  for (k = 0; k < 5; k++) {
    int b = nth(&w, UVEXEC_SERVICE_BACKOFF, k);
    int next = nth(&w, UVEXEC_SERVICE_STARTED, k + 1);
    int exited = nth(&w, UVEXEC_SERVICE_EXITED, k);

    ck_assert_uint_eq(w.delay[b], want[k]);
    ck_assert_int_eq(w.status[exited], UVEXEC_EEXIT);
    if (next >= 0) /* the fifth delay was cut short by the stop */
      ck_assert_uint_ge(w.at[next] - w.at[exited], want[k]);
  }
  ck_assert_int_eq(uvexec_service_restarts(s), 5);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_IDLE);
  finish(s);
}
END_TEST

/* A healthy run (ready for the healthy time) resets the delay: runs that
 * live 200 ms with a healthy time of 50 ms get the minimum every time. */
START_TEST(test_healthy_resets) {
  uvexec_service_t *s;
  seen_t w;
  int k;

  s = service(uvexec_command("sh", "-c", "sleep 0.2; exit 1", NULL), &w);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 30, 1000), 0);
  ck_assert_int_eq(uvexec_service_set_healthy(s, 50), 0);
  ck_assert_int_eq(uvexec_service_set_limit(s, 0, 0), 0);
  w.stop_after_backoffs = 3;
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_ended(&w);
  for (k = 0; k < 3; k++)
    ck_assert_uint_eq(w.delay[nth(&w, UVEXEC_SERVICE_BACKOFF, k)], 30);
  finish(s);
}
END_TEST

/* The jitter draws each delay from its last percent: 50% of 100 ms is
 * 50 to 100 ms, and not always the same. */
START_TEST(test_jitter_bounds) {
  uvexec_service_t *s;
  seen_t w;
  int k, same = 1;
  uint64_t first = 0;

  s = service(helper_cmd("exit", "1", NULL), &w);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 100, 100), 0);
  ck_assert_int_eq(uvexec_service_set_jitter(s, 50), 0);
  ck_assert_int_eq(uvexec_service_set_limit(s, 0, 0), 0);
  w.stop_after_backoffs = 10;
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_ended(&w);
  for (k = 0; k < 10; k++) {
    uint64_t d = w.delay[nth(&w, UVEXEC_SERVICE_BACKOFF, k)];

    ck_assert_uint_ge(d, 50);
    ck_assert_uint_le(d, 100);
    if (k == 0)
      first = d;
    else if (d != first)
      same = 0;
  }
  ck_assert_msg(!same, "ten draws all gave %llu ms", (unsigned long long)first);
  finish(s);
}
END_TEST

/* ---- the policies -------------------------------------------------------- */

/* policy runs a command that exits with code under a policy and answers
 * whether a second run came. */
static int restarted(uvexec_restart_t how, const char *code) {
  uvexec_service_t *s;
  seen_t w;
  int again;

  s = service(helper_cmd("exit", code, NULL), &w);
  ck_assert_int_eq(uvexec_service_set_restart(s, how), 0);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 0, 0), 0);
  w.stop_after_backoffs = 1;
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_ended(&w);
  again = count(&w, UVEXEC_SERVICE_BACKOFF) == 1;
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_STOPPED), 1);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_IDLE);
  finish(s);
  return again;
}

START_TEST(test_policies) {
  ck_assert_int_eq(restarted(UVEXEC_RESTART_NEVER, "1"), 0);
  ck_assert_int_eq(restarted(UVEXEC_RESTART_NEVER, "0"), 0);
  ck_assert_int_eq(restarted(UVEXEC_RESTART_ON_FAILURE, "1"), 1);
  ck_assert_int_eq(restarted(UVEXEC_RESTART_ON_FAILURE, "0"), 0);
  ck_assert_int_eq(restarted(UVEXEC_RESTART_ALWAYS, "1"), 1);
  ck_assert_int_eq(restarted(UVEXEC_RESTART_ALWAYS, "0"), 1);
}
END_TEST

/* ---- giving up ----------------------------------------------------------- */

/* Three starts allowed in a minute: the fourth is refused, GAVE_UP comes
 * once, and nothing runs after it (the loop runs out of work). */
START_TEST(test_limit_gives_up_once) {
  uvexec_service_t *s;
  seen_t w;

  s = service(helper_cmd("exit", "1", NULL), &w);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 0, 0), 0);
  ck_assert_int_eq(uvexec_service_set_limit(s, 3, 60000), 0);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_ended(&w);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_STARTED), 3);
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_GAVE_UP), 1);
  ck_assert_int_eq(w.event[w.n - 1], UVEXEC_SERVICE_GAVE_UP);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_FAILED);
  ck_assert_int_eq(uvexec_service_status(s), UVEXEC_ERESTARTLIMIT);
  ck_assert_str_eq(uvexec_service_error(s),
                   "restart limit: 3 starts in 60000 ms");
  ck_assert_str_eq(uvexec_err_name(UVEXEC_ERESTARTLIMIT),
                   "UVEXEC_ERESTARTLIMIT");
  finish(s);
}
END_TEST

/* An exit code on the prevent list gives up at once, with the run's own
 * status and message; another code restarts as usual. */
START_TEST(test_prevent_codes) {
  static const int codes[] = {2, 78};
  uvexec_service_t *s;
  seen_t w;

  s = service(helper_cmd("die", "78", "bad configuration", NULL), &w);
  ck_assert_int_eq(uvexec_service_set_prevent(s, codes, 2), 0);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_ended(&w);
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_STARTED), 1);
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_GAVE_UP), 1);
  ck_assert_int_eq(uvexec_service_status(s), UVEXEC_EEXIT);
  ck_assert_str_eq(uvexec_service_error(s), "exit status 78");
  finish(s);

  ck_assert_int_eq(restarted(UVEXEC_RESTART_ON_FAILURE, "3"), 1);
}
END_TEST

/* ---- stopping and restarting --------------------------------------------- */

/* A stop during the delay drops the next run: STOPPED comes, and nothing
 * starts (the loop runs out of work well before the 60 s delay). */
START_TEST(test_stop_during_backoff) {
  uvexec_service_t *s;
  seen_t w;

  s = service(helper_cmd("exit", "1", NULL), &w);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 60000, 60000), 0);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_for(&w, UVEXEC_SERVICE_BACKOFF, 1);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_WAITING);
  ck_assert_uint_eq(uvexec_service_next_delay(s), 60000);
  ck_assert_int_eq(uvexec_service_stop(s), 0);
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_STOPPED), 0); /* not inside */
  wait_ended(&w);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_IDLE);
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_STARTED), 1);
  finish(s);
}
END_TEST

/* A stop of a running service is graceful (the run's cancel signal, here
 * SIGTERM, which it answers), and never restarted. */
START_TEST(test_stop_running) {
  uvexec_cmd_t *cmd = helper_cmd("handle-term", NULL);
  uvexec_service_t *s;
  seen_t w;

  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(cmd, 60000), 0);
  s = service(cmd, &w);
  ck_assert_int_eq(uvexec_service_set_restart(s, UVEXEC_RESTART_ALWAYS), 0);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_for(&w, UVEXEC_SERVICE_READY, 1);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_RUNNING);
  ck_assert_int_eq(uvexec_service_stop(s), 0);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_STOPPING);
  wait_ended(&w);
  ck_assert_int_eq(uvexec_service_status(s), UV_ECANCELED);
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_STARTED), 1);
  ck_assert_int_eq(w.event[w.n - 1], UVEXEC_SERVICE_STOPPED);
  finish(s);
}
END_TEST

/* A restart asked for: the run is stopped, and a new one starts once it
 * is done; counted among the restarts, not against the limit. */
START_TEST(test_restart_asked) {
  uvexec_service_t *s;
  seen_t w;
  int i;

  s = service(helper_cmd("sleep", "60000", NULL), &w);
  ck_assert_int_eq(uvexec_service_set_limit(s, 1, 60000), 0);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  for (i = 0; i < 3; i++) {
    wait_for(&w, UVEXEC_SERVICE_READY, i + 1);
    ck_assert_int_eq(uvexec_service_restart(s), 0);
    wait_for(&w, UVEXEC_SERVICE_STARTED, i + 2);
  }
  ck_assert_int_eq(uvexec_service_restarts(s), 3);
  ck_assert_int_eq(count(&w, UVEXEC_SERVICE_GAVE_UP), 0);
  ck_assert_int_ne(w.pid[nth(&w, UVEXEC_SERVICE_STARTED, 0)],
                   w.pid[nth(&w, UVEXEC_SERVICE_STARTED, 1)]);
  ck_assert_int_eq(uvexec_service_stop(s), 0);
  wait_ended(&w);
  finish(s);
}
END_TEST

/* Runs strictly alternate: a run whose grandchild keeps its stdout for
 * 300 ms is done only then, and the next run starts after that. */
START_TEST(test_runs_never_overlap) {
  uvexec_cmd_t *cmd = helper_cmd("grandchild", "300", NULL);
  uvexec_service_t *s;
  seen_t w;
  int i, started = 0;

  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  s = service(cmd, &w);
  ck_assert_int_eq(uvexec_service_set_restart(s, UVEXEC_RESTART_ALWAYS), 0);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 0, 0), 0);
  w.stop_after_backoffs = 3;
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_ended(&w);
  for (i = 0; i < w.n; i++) {
    if (w.event[i] == UVEXEC_SERVICE_STARTED) {
      ck_assert_int_eq(started, 0);
      started = 1;
    } else if (w.event[i] == UVEXEC_SERVICE_EXITED) {
      ck_assert_int_eq(started, 1);
      started = 0;
    }
  }
  for (i = 1; i < 3; i++)
    ck_assert_uint_ge(w.at[nth(&w, UVEXEC_SERVICE_STARTED, i)] -
                          w.at[nth(&w, UVEXEC_SERVICE_STARTED, i - 1)],
                      250);
  finish(s);
}
END_TEST

/* The finished run is readable in EXITED: here its captured stderr, kept
 * to its ends. */
START_TEST(test_exited_run_readable) {
  uvexec_cmd_t *cmd = helper_cmd("die", "1", "the reason it crashed", NULL);
  uvexec_service_t *s;
  seen_t w;

  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_capture_bounds(cmd, 4, 8), 0);
  s = service(cmd, &w);
  ck_assert_int_eq(uvexec_service_set_restart(s, UVEXEC_RESTART_NEVER), 0);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_ended(&w);
  ck_assert_str_eq(w.tail, "the \n... omitting 10 bytes ...\ncrashed\n");
  finish(s);
}
END_TEST

/* ---- free ---------------------------------------------------------------- */

/* free_inside frees the service from inside each kind of event: nothing
 * comes after, and nothing is left (the fixture's proofs). */
static void free_inside(uvexec_service_event_t event, const char *code) {
  uvexec_service_t *s;
  seen_t w;

  s = service(helper_cmd("exit", code, NULL), &w);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 0, 0), 0);
  ck_assert_int_eq(uvexec_service_set_limit(s, 2, 60000), 0);
  w.free_on = (int)event + 1;
  ck_assert_int_eq(uvexec_service_start(s), 0);
  run_loop_until(test_loop, &w.freed, TEST_TIMEOUT_MS);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(w.after_free, 0);
}

START_TEST(test_free_inside_events) {
  free_inside(UVEXEC_SERVICE_STARTED, "1");
  free_inside(UVEXEC_SERVICE_READY, "1");
  free_inside(UVEXEC_SERVICE_EXITED, "1");
  free_inside(UVEXEC_SERVICE_BACKOFF, "1");
  free_inside(UVEXEC_SERVICE_STOPPED, "0");
  free_inside(UVEXEC_SERVICE_GAVE_UP, "1");
}
END_TEST

/* Free in every state from outside: never started, starting (before the
 * loop ran), running (the child is killed), waiting, stopping, failed. */
START_TEST(test_free_in_every_state) {
  uvexec_service_t *s;
  uvexec_cmd_t *cmd;
  seen_t w;

  s = service(helper_cmd("exit", "0", NULL), &w);
  finish(s); /* idle */

  s = service(helper_cmd("exit", "0", NULL), &w);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_STARTING);
  finish(s);

  s = service(helper_cmd("sleep", "60000", NULL), &w);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_for(&w, UVEXEC_SERVICE_READY, 1);
  finish(s); /* running */

  s = service(helper_cmd("exit", "1", NULL), &w);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 60000, 60000), 0);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_for(&w, UVEXEC_SERVICE_BACKOFF, 1);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_WAITING);
  finish(s);

  cmd = helper_cmd("ignore-term", NULL);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(cmd, 60000), 0);
  s = service(cmd, &w);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_for(&w, UVEXEC_SERVICE_READY, 1);
  ck_assert_int_eq(uvexec_service_stop(s), 0);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_STOPPING);
  finish(s); /* stopping: the child that ignores SIGTERM is killed */

  s = service(helper_cmd("exit", "1", NULL), &w);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 0, 0), 0);
  ck_assert_int_eq(uvexec_service_set_limit(s, 1, 60000), 0);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  wait_ended(&w);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_FAILED);
  finish(s);
  uvexec_service_free(NULL);
}
END_TEST

/* ---- bad input ------------------------------------------------------------ */

START_TEST(test_bad_input) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  uvexec_service_t *s;
  probe_t p;
  seen_t w;

  ck_assert_ptr_null(uvexec_service_new(NULL, cmd));
  ck_assert_ptr_null(uvexec_service_new(test_loop, NULL));
  s = service(cmd, &w);
  ck_assert_ptr_null(uvexec_service_new(test_loop, cmd)); /* taken */
  ck_assert_int_eq(uvexec_service_set_restart(s, (uvexec_restart_t)9),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 10, 5), UV_EINVAL);
  ck_assert_int_eq(uvexec_service_set_jitter(s, 101), UV_EINVAL);
  ck_assert_int_eq(uvexec_service_set_limit(s, 3, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_service_set_prevent(s, NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  ck_assert_int_eq(uvexec_service_start(s), UV_EALREADY);
  ck_assert_int_eq(uvexec_service_set_restart(s, UVEXEC_RESTART_ALWAYS),
                   UV_EBUSY);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 1, 2), UV_EBUSY);
  finish(s);

  ck_assert_int_eq(uvexec_service_start(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_service_stop(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_service_restart(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_service_state(NULL), UVEXEC_SERVICE_IDLE);
  ck_assert_ptr_null(uvexec_service_run(NULL));

  /* A started cmd cannot be a template. */
  probe_init(&p, helper_cmd("exit", "0", NULL));
  probe_start(&p);
  ck_assert_ptr_null(uvexec_service_new(test_loop, p.cmd));
  probe_wait(&p);
  probe_free(&p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("service");

  ADD_TEST(s, test_delay_sequence);
  ADD_TEST(s, test_healthy_resets);
  ADD_TEST(s, test_jitter_bounds);
  ADD_TEST(s, test_policies);
  ADD_TEST(s, test_limit_gives_up_once);
  ADD_TEST(s, test_prevent_codes);
  ADD_TEST(s, test_stop_during_backoff);
  ADD_TEST(s, test_stop_running);
  ADD_TEST(s, test_restart_asked);
  ADD_TEST(s, test_runs_never_overlap);
  ADD_TEST(s, test_exited_run_readable);
  ADD_TEST(s, test_free_inside_events);
  ADD_TEST(s, test_free_in_every_state);
  ADD_TEST(s, test_bad_input);
  return run_suite(s);
}
