/* SPDX-License-Identifier: MIT */
/* Services: one command kept running by a restart policy.
 *
 * A service sits above the cmd's interface, as groups and pipelines do:
 * it keeps the caller's cmd as a template and starts a copy of it
 * (uvexec_cmd_copy) for each run. A run's done callback decides what
 * follows, from the outcome and the policy:
 *
 *   stopped by the caller            STOPPED, idle
 *   a restart asked for              a new run at once (not counted)
 *   an exit code that prevents       GAVE_UP (the run's status), failed
 *   the policy says no               STOPPED, idle
 *   more starts than the budget      GAVE_UP (UVEXEC_ERESTARTLIMIT), failed
 *   otherwise                        BACKOFF, waiting, then a new run
 *
 * A new run starts only from a timer's callback (the delay, 0 for a start
 * or a restart asked for), and only once the previous run is done: its
 * exit, end of file on its streams and, contained, its whole tree gone.
 * So two runs never overlap, and what the old one left can never hold
 * what the new one needs (a port, a lock file).
 *
 * The delay starts at the minimum and doubles with each run that failed
 * without having been healthy (ready for the healthy time) before, up to
 * the maximum; a healthy run resets it. A run is ready as its cmd says
 * (uvexec_cmd_on_ready: a readiness protocol, or once started); a run
 * stopped for not being ready in time, or by its watchdog, failed. Nothing polls: between runs a
 * service has one timer armed, and while a run lives, none.
 *
 * Lifetime: the caller may free the service from inside any event
 * callback; the memory goes once the callback has returned (depth) and
 * the timer, allocated apart, is freed by its own close callback. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct uvexec_service_s {
  uv_loop_t *loop;
  uvexec_cmd_t *template; /* owned */
  uvexec_cmd_t *run;      /* the current run, owned; NULL between runs */
  void *data;             /* the caller's */
  uvexec_service_cb event_cb;
  /* A supervisor's ear (supervisor.c), told of each event first. */
  uvexec__service_observer_t observer;
  void *observer_arg;

  /* Configuration. */
  uvexec_restart_t restart;
  uint64_t min_ms, max_ms;
  unsigned jitter; /* percent */
  uint64_t healthy_ms;
  unsigned burst; /* 0: no limit */
  uint64_t interval_ms;
  int *prevent; /* owned */
  size_t nprevent;
  int configured_ever; /* started once: setters answer UV_EBUSY */

  /* State. */
  uvexec_service_state_t state;
  unsigned failures;   /* runs failed in a row, none healthy between */
  unsigned restarts;   /* automatic and asked for */
  uint64_t next_delay; /* the pending delay, ms */
  uint64_t ready_at;   /* uv_now() when the current run became ready */
  int ready;           /* the current run is ready */
  int stopping;        /* stop asked for: no new run */
  int restart_asked;   /* a new run as soon as this one is done */
  int counted;         /* the run pending counts against the budget */
  int status;          /* the last run's done status, or the give-up's */
  char *error;         /* its message, owned */
  uint64_t *starts;    /* the last burst start times (uv_now), a ring */
  unsigned nstarts, start_at;
  uint64_t seed;        /* the jitter's random state */
  uv_timer_t *timer;    /* delays and deferred events; freed apart */
  int stopped_pending;  /* a STOPPED to deliver from the timer */
  unsigned depth;       /* event callbacks on the stack */
  int freed;
};

#define GUARD_CONFIG(s)                                                       \
  do {                                                                        \
    if ((s) == NULL || (s)->freed)                                            \
      return UV_EINVAL;                                                       \
    if ((s)->configured_ever)                                                 \
      return UV_EBUSY;                                                        \
  } while (0)

/* ---- creation and release ------------------------------------------------ */

uvexec_service_t *uvexec_service_new(uv_loop_t *loop, uvexec_cmd_t *cmd) {
  uvexec_service_t *s;

  if (loop == NULL || cmd == NULL || cmd->freed ||
      cmd->state != UVEXEC__CONFIGURING || cmd->group_node != NULL ||
      cmd->pipeline != NULL || cmd->service != NULL)
    return NULL;
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->timer = malloc(sizeof(*s->timer));
  if (s->timer == NULL || uv_timer_init(loop, s->timer) != 0) {
    free(s->timer);
    free(s);
    return NULL;
  }
  s->timer->data = s;
  s->loop = loop;
  s->template = cmd;
  cmd->service = s;
  s->restart = UVEXEC_RESTART_ON_FAILURE;
  s->min_ms = 100;
  s->max_ms = 30000;
  s->healthy_ms = 10000;
  s->burst = 5;
  s->interval_ms = 10000;
  s->state = UVEXEC_SERVICE_IDLE;
  s->seed = uv_hrtime() | 1;
  return s;
}

static void on_timer_closed(uv_handle_t *handle) {
  free(handle);
}

/* destroy releases what is left once nobody is inside a callback. */
static void destroy(uvexec_service_t *s) {
  uv_close((uv_handle_t *)s->timer, on_timer_closed);
  if (s->run != NULL) {
    s->run->service = NULL;
    uvexec_cmd_free(s->run); /* kills and reaps a running child */
  }
  s->template->service = NULL;
  uvexec_cmd_free(s->template);
  free(s->prevent);
  free(s->starts);
  free(s->error);
  free(s);
}

void uvexec_service_free(uvexec_service_t *s) {
  if (s == NULL || s->freed)
    return;
  s->freed = 1;
  if (s->depth == 0)
    destroy(s);
}

/* ---- configuration ------------------------------------------------------- */

int uvexec_service_set_restart(uvexec_service_t *s, uvexec_restart_t when) {
  GUARD_CONFIG(s);
  if (when != UVEXEC_RESTART_NEVER && when != UVEXEC_RESTART_ON_FAILURE &&
      when != UVEXEC_RESTART_ALWAYS)
    return UV_EINVAL;
  s->restart = when;
  return 0;
}

int uvexec_service_set_backoff(uvexec_service_t *s, uint64_t min_ms,
                               uint64_t max_ms) {
  GUARD_CONFIG(s);
  if (min_ms > max_ms)
    return UV_EINVAL;
  s->min_ms = min_ms;
  s->max_ms = max_ms;
  return 0;
}

int uvexec_service_set_jitter(uvexec_service_t *s, unsigned percent) {
  GUARD_CONFIG(s);
  if (percent > 100)
    return UV_EINVAL;
  s->jitter = percent;
  return 0;
}

int uvexec_service_set_healthy(uvexec_service_t *s, uint64_t ms) {
  GUARD_CONFIG(s);
  s->healthy_ms = ms;
  return 0;
}

int uvexec_service_set_limit(uvexec_service_t *s, unsigned burst,
                             uint64_t interval_ms) {
  GUARD_CONFIG(s);
  if (burst > 0 && interval_ms == 0)
    return UV_EINVAL;
  s->burst = burst;
  s->interval_ms = interval_ms;
  return 0;
}

int uvexec_service_set_prevent(uvexec_service_t *s, const int *codes,
                               size_t n) {
  int *copy = NULL;

  GUARD_CONFIG(s);
  if (codes == NULL && n > 0)
    return UV_EINVAL;
  if (n > 0) {
    copy = malloc(n * sizeof(*copy));
    if (copy == NULL)
      return UV_ENOMEM;
    memcpy(copy, codes, n * sizeof(*copy));
  }
  free(s->prevent);
  s->prevent = copy;
  s->nprevent = n;
  return 0;
}

int uvexec__service_observe(uvexec_service_t *s,
                            uvexec__service_observer_t observer, void *arg) {
  GUARD_CONFIG(s);
  if (s->observer != NULL && observer != NULL)
    return UV_EBUSY; /* one supervisor at a time */
  s->observer = observer;
  s->observer_arg = arg;
  return 0;
}

int uvexec_service_on_event(uvexec_service_t *s, uvexec_service_cb cb) {
  GUARD_CONFIG(s);
  s->event_cb = cb;
  return 0;
}

void uvexec_service_set_data(uvexec_service_t *s, void *data) {
  if (s != NULL)
    s->data = data;
}

void *uvexec_service_data(const uvexec_service_t *s) {
  return s != NULL ? s->data : NULL;
}

/* ---- what it tells ------------------------------------------------------- */

uvexec_service_state_t uvexec_service_state(const uvexec_service_t *s) {
  return s != NULL ? s->state : UVEXEC_SERVICE_IDLE;
}

uvexec_cmd_t *uvexec_service_run(const uvexec_service_t *s) {
  return s != NULL ? s->run : NULL;
}

unsigned uvexec_service_restarts(const uvexec_service_t *s) {
  return s != NULL ? s->restarts : 0;
}

uint64_t uvexec_service_next_delay(const uvexec_service_t *s) {
  return s != NULL && s->state == UVEXEC_SERVICE_WAITING ? s->next_delay : 0;
}

int uvexec_service_status(const uvexec_service_t *s) {
  return s != NULL ? s->status : UV_EINVAL;
}

const char *uvexec_service_error(const uvexec_service_t *s) {
  return s != NULL ? s->error : NULL;
}

/* ---- events -------------------------------------------------------------- */

/* emit calls the event callback. Non-zero when the service was freed in
 * it: the caller returns at once, touching nothing. */
static int emit(uvexec_service_t *s, uvexec_service_event_t event,
                uvexec_cmd_t *run) {
  s->depth++;
  if (s->observer != NULL)
    s->observer(s, event, run, s->observer_arg);
  if (s->event_cb != NULL && !s->freed)
    s->event_cb(s, event, run);
  s->depth--;
  if (s->freed) {
    if (s->depth == 0)
      destroy(s);
    return 1;
  }
  return 0;
}

static void set_status(uvexec_service_t *s, int status, const char *msg) {
  char *copy = msg != NULL ? strdup(msg) : NULL;

  free(s->error);
  s->error = copy;
  s->status = status;
}

/* ---- runs ---------------------------------------------------------------- */

static void on_timer(uv_timer_t *timer);
static void on_run_done(uvexec_cmd_t *run, int status);
static void on_run_ready(uvexec_cmd_t *run);

/* schedule arms the timer for ms: the next run, or a deferred STOPPED. */
static void schedule(uvexec_service_t *s, uint64_t ms) {
  uv_update_time(s->loop); /* the delay counts from now */
  uv_timer_start(s->timer, on_timer, ms, 0);
}

/* budget_spent tells whether one more start now would pass the start
 * limit, and records the start when it would not. */
static int budget_spent(uvexec_service_t *s) {
  uint64_t now = uv_now(s->loop);

  if (s->burst == 0)
    return 0;
  if (s->starts == NULL) {
    s->starts = calloc(s->burst, sizeof(*s->starts));
    if (s->starts == NULL)
      return 0; /* no memory to count with: no limit, rather than none */
  }
  /* The oldest of the last burst starts sits where the next one goes. */
  if (s->nstarts == s->burst && now - s->starts[s->start_at] < s->interval_ms)
    return 1;
  s->starts[s->start_at] = now;
  s->start_at = (s->start_at + 1) % s->burst;
  if (s->nstarts < s->burst)
    s->nstarts++;
  return 0;
}

/* give_up ends the service for good with status and its message. */
static void give_up(uvexec_service_t *s, int status, const char *msg) {
  set_status(s, status, msg);
  s->state = UVEXEC_SERVICE_FAILED;
  (void)emit(s, UVEXEC_SERVICE_GAVE_UP, NULL);
}

/* start_run starts a copy of the template. A copy that cannot start is a
 * run that failed at once: its done status is the start's error. */
static void start_run(uvexec_service_t *s) {
  uvexec_cmd_t *run;
  int err;

  if (s->counted && budget_spent(s)) {
    char msg[96];

    snprintf(msg, sizeof(msg), "restart limit: %u starts in %llu ms",
             s->burst, (unsigned long long)s->interval_ms);
    give_up(s, UVEXEC_ERESTARTLIMIT, msg);
    return;
  }
  run = uvexec_cmd_copy(s->template);
  if (run == NULL) {
    give_up(s, UV_ENOMEM, uvexec_strerror(UV_ENOMEM));
    return;
  }
  run->service = s;
  s->run = run;
  s->ready = 0;
  s->state = UVEXEC_SERVICE_STARTING;
  (void)uvexec_cmd_on_ready(run, on_run_ready);
  err = uvexec_start(run, s->loop, on_run_done);
  if (err != 0) {
    on_run_done(run, err);
    return;
  }
  (void)emit(s, UVEXEC_SERVICE_STARTED, run);
}

/* on_run_ready hears a run become ready (it said so, or it started,
 * without a readiness protocol), and passes the news to the template's
 * own ready callback. */
static void on_run_ready(uvexec_cmd_t *run) {
  uvexec_service_t *s = run->service;

  if (s == NULL || s->run != run)
    return;
  s->ready = 1;
  s->ready_at = uv_now(s->loop);
  if (s->state == UVEXEC_SERVICE_STARTING)
    s->state = UVEXEC_SERVICE_RUNNING;
  if (emit(s, UVEXEC_SERVICE_READY, run) || s->run != run)
    return;
  if (s->template->ready.on_ready != NULL)
    s->template->ready.on_ready(run);
}

static void on_timer(uv_timer_t *timer) {
  uvexec_service_t *s = timer->data;

  if (s->stopped_pending) {
    s->stopped_pending = 0;
    (void)emit(s, UVEXEC_SERVICE_STOPPED, NULL);
    return;
  }
  start_run(s);
}

/* prevented tells whether the run's exit code is one that no restart can
 * mend. */
static int prevented(const uvexec_service_t *s, uvexec_cmd_t *run) {
  int code = uvexec_exit_code(run);
  size_t i;

  if (uvexec_term_signal(run) > 0 || code < 0)
    return 0;
  for (i = 0; i < s->nprevent; i++)
    if (s->prevent[i] == code)
      return 1;
  return 0;
}

/* next_delay is the delay before the next automatic run: the minimum,
 * doubled for each failure in a row before this one, up to the maximum,
 * and with jitter drawn from its last percent. */
static uint64_t next_delay(uvexec_service_t *s) {
  uint64_t d = s->min_ms;
  unsigned i;

  for (i = 1; i < s->failures && d < s->max_ms; i++)
    d = d > s->max_ms / 2 ? s->max_ms : d * 2;
  if (d > s->max_ms)
    d = s->max_ms;
  if (s->jitter > 0 && d > 0) {
    uint64_t span = d * s->jitter / 100;

    s->seed ^= s->seed << 13; /* xorshift64 */
    s->seed ^= s->seed >> 7;
    s->seed ^= s->seed << 17;
    d -= span > 0 ? s->seed % (span + 1) : 0;
  }
  return d;
}

static void on_run_done(uvexec_cmd_t *run, int status) {
  uvexec_service_t *s = run->service;
  int failed = status != 0, prevent;

  if (s == NULL || s->run != run)
    return;
  set_status(s, status, uvexec_cmd_error(run));
  if (s->ready && uv_now(s->loop) - s->ready_at >= s->healthy_ms)
    s->failures = 0; /* a healthy run: the backoff starts over */
  if (failed)
    s->failures++;
  prevent = failed && prevented(s, run);

  if (emit(s, UVEXEC_SERVICE_EXITED, run))
    return;
  s->run = NULL;
  run->service = NULL;
  uvexec_cmd_free(run);

  if (s->stopping) {
    s->stopping = 0;
    s->restart_asked = 0;
    s->state = UVEXEC_SERVICE_IDLE;
    (void)emit(s, UVEXEC_SERVICE_STOPPED, NULL);
    return;
  }
  if (s->restart_asked) {
    s->restart_asked = 0;
    s->restarts++;
    s->counted = 0;
    s->state = UVEXEC_SERVICE_STARTING;
    schedule(s, 0);
    return;
  }
  if (prevent) {
    give_up(s, s->status, s->error);
    return;
  }
  if (s->restart == UVEXEC_RESTART_NEVER ||
      (s->restart == UVEXEC_RESTART_ON_FAILURE && !failed)) {
    s->state = UVEXEC_SERVICE_IDLE;
    (void)emit(s, UVEXEC_SERVICE_STOPPED, NULL);
    return;
  }
  s->restarts++;
  s->counted = 1;
  s->next_delay = next_delay(s);
  s->state = UVEXEC_SERVICE_WAITING;
  schedule(s, s->next_delay);
  (void)emit(s, UVEXEC_SERVICE_BACKOFF, NULL);
}

/* ---- what the caller asks ------------------------------------------------- */

int uvexec_service_start(uvexec_service_t *s) {
  if (s == NULL || s->freed)
    return UV_EINVAL;
  if (s->state != UVEXEC_SERVICE_IDLE && s->state != UVEXEC_SERVICE_FAILED)
    return UV_EALREADY;
  s->configured_ever = 1;
  s->failures = 0;
  s->nstarts = 0;
  s->start_at = 0;
  s->counted = 1;
  s->stopped_pending = 0;
  s->state = UVEXEC_SERVICE_STARTING;
  schedule(s, 0);
  return 0;
}

int uvexec_service_stop(uvexec_service_t *s) {
  if (s == NULL || s->freed)
    return UV_EINVAL;
  switch (s->state) {
  case UVEXEC_SERVICE_IDLE:
  case UVEXEC_SERVICE_FAILED:
  case UVEXEC_SERVICE_STOPPING:
    return 0;
  case UVEXEC_SERVICE_WAITING:
  case UVEXEC_SERVICE_STARTING:
    if (s->run == NULL) {
      /* Between runs: the pending start is dropped, and STOPPED comes
       * on the next turn of the loop, never from inside this call. */
      s->state = UVEXEC_SERVICE_IDLE;
      s->stopped_pending = 1;
      schedule(s, 0);
      return 0;
    }
    break;
  case UVEXEC_SERVICE_RUNNING:
    break;
  }
  s->stopping = 1;
  s->state = UVEXEC_SERVICE_STOPPING;
  return uvexec_cancel(s->run); /* the run's cancel signal and wait delay */
}

int uvexec_service_restart(uvexec_service_t *s) {
  if (s == NULL || s->freed)
    return UV_EINVAL;
  if (s->run == NULL) {
    /* Between runs, or never started: a new run now. */
    if (s->state != UVEXEC_SERVICE_IDLE && s->state != UVEXEC_SERVICE_FAILED)
      s->restarts++;
    s->configured_ever = 1;
    s->counted = 0;
    s->stopped_pending = 0;
    s->state = UVEXEC_SERVICE_STARTING;
    schedule(s, 0);
    return 0;
  }
  if (s->state == UVEXEC_SERVICE_STOPPING)
    return UV_EINVAL; /* a stop is under way */
  s->restart_asked = 1;
  return uvexec_cancel(s->run);
}
