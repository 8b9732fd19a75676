/* SPDX-License-Identifier: MIT */
/* Supervisors (lib/supervisor.c): services start in the order added, each
 * once the one before is ready (not merely started); they stop in reverse
 * order, each done before the one before it is stopped; ONE_FOR_ONE,
 * ONE_FOR_ALL and REST_FOR_ONE restart what they should; a service that
 * gives up stops the rest and is reported once; free while starting; bad
 * input. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAX_EVENTS 128

/* One log of every service's events, in order. */
typedef struct {
  int who[MAX_EVENTS]; /* the service's number, from 0 */
  uvexec_service_event_t event[MAX_EVENTS];
  uint64_t at[MAX_EVENTS];
  int n;
  int sup_done;   /* supervisor callbacks */
  int sup_status; /* ... the last one's status */
} log_t;

static log_t lg;

static void on_event(uvexec_service_t *s, uvexec_service_event_t event,
                     uvexec_cmd_t *run) {
  (void)run;
  ck_assert_int_lt(lg.n, MAX_EVENTS);
  lg.who[lg.n] = (int)(intptr_t)uvexec_service_data(s);
  lg.event[lg.n] = event;
  lg.at[lg.n] = uv_now(test_loop);
  lg.n++;
  uv_stop(test_loop); /* events come from timers too: look at once */
}

static void on_sup(uvexec_supervisor_t *sup, int status) {
  (void)sup;
  lg.sup_done++;
  lg.sup_status = status;
  uv_stop(test_loop);
}

/* at answers the log index of the k-th (from 0) event of that kind of
 * service who, or -1. */
static int at(int who, uvexec_service_event_t event, int k) {
  int i;

  for (i = 0; i < lg.n; i++)
    if (lg.who[i] == who && lg.event[i] == event && k-- == 0)
      return i;
  return -1;
}

static int count(int who, uvexec_service_event_t event) {
  int i, n = 0;

  for (i = 0; i < lg.n; i++)
    n += lg.who[i] == who && lg.event[i] == event;
  return n;
}

typedef struct {
  int who;
  uvexec_service_event_t event;
  int k;
  int hit;
} wait_t;

static int seen(const void *arg) {
  const wait_t *w = arg;

  return at(w->who, w->event, w->k) >= 0;
}

/* wait_event runs the loop until that event was logged. */
static void wait_event(int who, uvexec_service_event_t event, int k) {
  uint64_t start = uv_now(test_loop);
  wait_t w = {who, event, k, 0};

  while (!seen(&w)) {
    ck_assert_msg(uv_now(test_loop) - start < TEST_TIMEOUT_MS,
                  "service %d never had event %d (#%d)", who, (int)event, k);
    uv_run(test_loop, UV_RUN_ONCE);
  }
}

static void wait_sup(void) {
  run_loop_until(test_loop, &lg.sup_done, TEST_TIMEOUT_MS);
}

/* service_of makes a service numbered who of cmd, graceful to stop
 * (SIGTERM, which the helpers used below answer, and a wait delay). */
static uvexec_service_t *service_of(uvexec_cmd_t *cmd, int who) {
  uvexec_service_t *s;

  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(cmd, 10000), 0);
  s = uvexec_service_new(test_loop, cmd);
  ck_assert_ptr_nonnull(s);
  uvexec_service_set_data(s, (void *)(intptr_t)who);
  ck_assert_int_eq(uvexec_service_on_event(s, on_event), 0);
  return s;
}

/* slow_ready is a service ready 300 ms after it started (a line says
 * so), answering SIGTERM. */
static uvexec_service_t *slow_ready(int who) {
  uvexec_cmd_t *cmd = uvexec_command(
      "sh", "-c", "trap 'exit 0' TERM; sleep 0.3; echo ready; "
                  "while :; do sleep 1; done",
      NULL);

  ck_assert_int_eq(uvexec_cmd_set_ready_line(cmd, "^ready$"), 0);
  return service_of(cmd, who);
}

static uvexec_supervisor_t *supervisor(uvexec_strategy_t how) {
  uvexec_supervisor_t *sup = uvexec_supervisor_new(test_loop, how);

  ck_assert_ptr_nonnull(sup);
  memset(&lg, 0, sizeof lg);
  return sup;
}

static void finish(uvexec_supervisor_t *sup) {
  uvexec_supervisor_free(sup);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
}

/* ---- order ----------------------------------------------------------------- */

/* Each starts once the one before is ready: 300 ms after its start, not
 * at it. */
START_TEST(test_start_in_order) {
  uvexec_supervisor_t *sup = supervisor(UVEXEC_ONE_FOR_ONE);
  int i;

  for (i = 0; i < 3; i++)
    ck_assert_int_eq(uvexec_supervisor_add(sup, slow_ready(i)), 0);
  ck_assert_int_eq(uvexec_supervisor_start(sup, on_sup), 0);
  wait_event(2, UVEXEC_SERVICE_READY, 0);
  for (i = 1; i < 3; i++) {
    int ready_before = at(i - 1, UVEXEC_SERVICE_READY, 0);
    int started = at(i, UVEXEC_SERVICE_STARTED, 0);

    ck_assert_int_lt(ready_before, started);
    ck_assert_uint_ge(lg.at[started] - lg.at[at(i - 1, UVEXEC_SERVICE_STARTED,
                                                 0)],
                      250);
  }
  ck_assert_int_eq(uvexec_supervisor_stop(sup), 0);
  wait_sup();
  ck_assert_int_eq(lg.sup_status, 0);
  finish(sup);
}
END_TEST

/* The stop goes in reverse order, each service done before the one
 * before it is stopped; the callback comes once, after the last. */
START_TEST(test_stop_in_reverse) {
  uvexec_supervisor_t *sup = supervisor(UVEXEC_ONE_FOR_ONE);
  int i;

  for (i = 0; i < 3; i++)
    ck_assert_int_eq(uvexec_supervisor_add(
                         sup, service_of(helper_cmd("handle-term", NULL), i)),
                     0);
  ck_assert_int_eq(uvexec_supervisor_start(sup, on_sup), 0);
  wait_event(2, UVEXEC_SERVICE_READY, 0);
  ck_assert_int_eq(uvexec_supervisor_stop(sup), 0);
  wait_sup();
  for (i = 2; i > 0; i--)
    ck_assert_int_lt(at(i, UVEXEC_SERVICE_STOPPED, 0),
                     at(i - 1, UVEXEC_SERVICE_EXITED, 0));
  ck_assert_int_eq(lg.sup_done, 1);
  ck_assert_int_eq(lg.sup_status, 0);
  finish(sup);
  ck_assert_int_eq(lg.sup_done, 1);
}
END_TEST

/* ---- strategies ----------------------------------------------------------- */

/* strategy runs three services, fails the one numbered failing once they
 * all run, waits for the new runs of those in expect (bits), and answers
 * which of the others had their run ended and restarted. */
static int strategy(uvexec_strategy_t how, int failing, int expect) {
  uvexec_supervisor_t *sup = supervisor(how);
  uvexec_service_t *svc[3];
  int i, restarted = 0;

  for (i = 0; i < 3; i++) {
    uvexec_cmd_t *cmd = i == failing
                            ? uvexec_command("sh", "-c",
                                             "read x; exit 1", NULL)
                            : helper_cmd("handle-term", NULL);

    if (i == failing)
      ck_assert_int_eq(uvexec_cmd_stdin_pipe(cmd), 0);
    svc[i] = service_of(cmd, i);
    ck_assert_int_eq(uvexec_service_set_backoff(svc[i], 60000, 60000), 0);
    ck_assert_int_eq(uvexec_supervisor_add(sup, svc[i]), 0);
  }
  ck_assert_int_eq(uvexec_supervisor_start(sup, on_sup), 0);
  wait_event(2, UVEXEC_SERVICE_READY, 0);
  ck_assert_int_eq(uvexec_close_stdin(uvexec_service_run(svc[failing])), 0);
  wait_event(failing, UVEXEC_SERVICE_BACKOFF, 0);
  for (i = 0; i < 3; i++)
    if (expect & (1 << i))
      wait_event(i, UVEXEC_SERVICE_STARTED, 1); /* the new run */
  for (i = 0; i < 3; i++)
    if (i != failing && count(i, UVEXEC_SERVICE_EXITED) > 0)
      restarted |= 1 << i;
  ck_assert_int_eq(uvexec_supervisor_stop(sup), 0);
  wait_sup();
  finish(sup);
  return restarted;
}

START_TEST(test_one_for_one) {
  ck_assert_int_eq(strategy(UVEXEC_ONE_FOR_ONE, 1, 0), 0);
}
END_TEST

START_TEST(test_one_for_all) {
  ck_assert_int_eq(strategy(UVEXEC_ONE_FOR_ALL, 1, 1 | 4), 1 | 4);
}
END_TEST

START_TEST(test_rest_for_one) {
  ck_assert_int_eq(strategy(UVEXEC_REST_FOR_ONE, 1, 4), 4);
  ck_assert_int_eq(strategy(UVEXEC_REST_FOR_ONE, 0, 2 | 4), 2 | 4);
}
END_TEST

/* ---- escalation ------------------------------------------------------------- */

/* A service that gives up takes the supervisor down: the others stop, in
 * reverse order, and the callback gets the give-up's status, once. */
START_TEST(test_escalation) {
  uvexec_supervisor_t *sup = supervisor(UVEXEC_ONE_FOR_ONE);
  uvexec_cmd_t *cmd = uvexec_command("sh", "-c", "read x; exit 1", NULL);
  uvexec_service_t *failing;
  int i;

  ck_assert_int_eq(uvexec_supervisor_add(
                       sup, service_of(helper_cmd("handle-term", NULL), 0)),
                   0);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(cmd), 0);
  failing = service_of(cmd, 1);
  ck_assert_int_eq(uvexec_service_set_limit(failing, 1, 60000), 0);
  ck_assert_int_eq(uvexec_supervisor_add(sup, failing), 0);
  ck_assert_int_eq(uvexec_supervisor_add(
                       sup, service_of(helper_cmd("handle-term", NULL), 2)),
                   0);
  ck_assert_int_eq(uvexec_supervisor_start(sup, on_sup), 0);
  wait_event(2, UVEXEC_SERVICE_READY, 0);
  ck_assert_int_eq(uvexec_close_stdin(uvexec_service_run(failing)), 0);
  wait_sup();
  ck_assert_int_eq(lg.sup_done, 1);
  ck_assert_int_eq(lg.sup_status, UVEXEC_ERESTARTLIMIT);
  ck_assert_int_eq(count(1, UVEXEC_SERVICE_GAVE_UP), 1);
  ck_assert_int_lt(at(2, UVEXEC_SERVICE_STOPPED, 0),
                   at(0, UVEXEC_SERVICE_EXITED, 0));
  for (i = 0; i < 3; i += 2)
    ck_assert_int_eq(count(i, UVEXEC_SERVICE_STOPPED), 1);
  finish(sup);
}
END_TEST

/* ---- free ----------------------------------------------------------------- */

/* Freed while the first service starts, or once it is ready: nothing is
 * left, no callback comes. */
START_TEST(test_free_while_starting) {
  uvexec_supervisor_t *sup = supervisor(UVEXEC_ONE_FOR_ALL);
  int i;

  for (i = 0; i < 3; i++)
    ck_assert_int_eq(uvexec_supervisor_add(sup, slow_ready(i)), 0);
  ck_assert_int_eq(uvexec_supervisor_start(sup, on_sup), 0);
  finish(sup);
  ck_assert_int_eq(lg.sup_done, 0);

  sup = supervisor(UVEXEC_ONE_FOR_ONE);
  for (i = 0; i < 3; i++)
    ck_assert_int_eq(uvexec_supervisor_add(sup, slow_ready(i)), 0);
  ck_assert_int_eq(uvexec_supervisor_start(sup, on_sup), 0);
  wait_event(0, UVEXEC_SERVICE_READY, 0);
  finish(sup);
  ck_assert_int_eq(lg.sup_done, 0);
  uvexec_supervisor_free(NULL);
}
END_TEST

START_TEST(test_bad_input) {
  uvexec_supervisor_t *sup = supervisor(UVEXEC_ONE_FOR_ONE), *other;
  uvexec_service_t *s = service_of(helper_cmd("exit", "0", NULL), 0), *late;

  ck_assert_ptr_null(uvexec_supervisor_new(NULL, UVEXEC_ONE_FOR_ONE));
  ck_assert_ptr_null(uvexec_supervisor_new(test_loop, (uvexec_strategy_t)7));
  ck_assert_int_eq(uvexec_supervisor_add(NULL, s), UV_EINVAL);
  ck_assert_int_eq(uvexec_supervisor_add(sup, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_supervisor_stop(sup), UV_EINVAL);
  ck_assert_int_eq(uvexec_supervisor_add(sup, s), 0);
  ck_assert_int_eq(uvexec_supervisor_add(sup, s), UV_EINVAL);
  other = uvexec_supervisor_new(test_loop, UVEXEC_ONE_FOR_ONE);
  ck_assert_int_eq(uvexec_supervisor_add(other, s), UV_EBUSY);
  uvexec_supervisor_free(other);
  ck_assert_int_eq(uvexec_supervisor_start(sup, on_sup), 0);
  ck_assert_int_eq(uvexec_supervisor_start(sup, on_sup), UV_EALREADY);
  late = service_of(helper_cmd("exit", "0", NULL), 1);
  ck_assert_int_eq(uvexec_supervisor_add(sup, late), UV_EBUSY);
  uvexec_service_free(late);
  finish(sup);
}
END_TEST

int main(void) {
  Suite *s = suite_create("supervisor");

  ADD_TEST(s, test_start_in_order);
  ADD_TEST(s, test_stop_in_reverse);
  ADD_TEST(s, test_one_for_one);
  ADD_TEST(s, test_one_for_all);
  ADD_TEST(s, test_rest_for_one);
  ADD_TEST(s, test_escalation);
  ADD_TEST(s, test_free_while_starting);
  ADD_TEST(s, test_bad_input);
  return run_suite(s);
}
