/* SPDX-License-Identifier: MIT */
/* Supervisors: services started in order, stopped in reverse order, with
 * Erlang's restart strategies.
 *
 * A supervisor is above the services, as they are above the cmd: it hears
 * each service's events first (uvexec__service_observe) and drives them
 * through their interface only.
 *
 *   start      the first service starts; each next one once the one
 *              before is ready (its first READY), so a proxy starts after
 *              its backend answers, not merely after it was spawned
 *   a failure  a service restarts itself by its own policy; with
 *              ONE_FOR_ALL every other service is restarted too, with
 *              REST_FOR_ONE those added after it
 *   give-up    a service that gives up takes the supervisor down: the
 *              others are stopped in reverse order, and the callback gets
 *              the status of the one that gave up (escalation)
 *   stop       one at a time in reverse order, each with its own cancel
 *              signal and wait delay, each done before the one before it
 *              is stopped; then the callback, once
 *
 * The callback is never called from inside a call of the caller's: a stop
 * with nothing left to stop reports on the next turn. */
#include <stdlib.h>

#include "internal.h"

typedef enum {
  SUP_IDLE = 0,
  SUP_STARTING, /* bringing the services up, in order */
  SUP_RUNNING,
  SUP_STOPPING, /* taking them down, in reverse order */
  SUP_STOPPED
} sup_state_t;

struct uvexec_supervisor_s {
  uv_loop_t *loop;
  uvexec_strategy_t how;
  void *data; /* the caller's */
  uvexec_supervisor_cb cb;
  uvexec_service_t **svc; /* owned, in the order added */
  size_t n, cap;
  sup_state_t state;
  size_t next;    /* starting: the next service to start */
  size_t stopping; /* stopping: services not yet stopped, from the end */
  int status;     /* what the callback gets */
  uv_timer_t *timer; /* reports a stop with nothing to wait for; freed apart */
  unsigned depth;    /* calls out that are on the stack */
  int freed;
};

static void on_timer_closed(uv_handle_t *handle) {
  free(handle);
}

static size_t index_of(const uvexec_supervisor_t *sup,
                       const uvexec_service_t *s) {
  size_t i;

  for (i = 0; i < sup->n && sup->svc[i] != s; i++)
    ;
  return i;
}

uvexec_supervisor_t *uvexec_supervisor_new(uv_loop_t *loop,
                                           uvexec_strategy_t how) {
  uvexec_supervisor_t *sup;

  if (loop == NULL || (how != UVEXEC_ONE_FOR_ONE && how != UVEXEC_ONE_FOR_ALL &&
                       how != UVEXEC_REST_FOR_ONE))
    return NULL;
  sup = calloc(1, sizeof(*sup));
  if (sup == NULL)
    return NULL;
  sup->timer = malloc(sizeof(*sup->timer));
  if (sup->timer == NULL || uv_timer_init(loop, sup->timer) != 0) {
    free(sup->timer);
    free(sup);
    return NULL;
  }
  sup->timer->data = sup;
  sup->loop = loop;
  sup->how = how;
  return sup;
}

static void destroy(uvexec_supervisor_t *sup) {
  size_t i;

  uv_close((uv_handle_t *)sup->timer, on_timer_closed);
  /* In reverse order, as a stop: each run is killed as it goes. */
  for (i = sup->n; i-- > 0;)
    uvexec_service_free(sup->svc[i]);
  free(sup->svc);
  free(sup);
}

void uvexec_supervisor_free(uvexec_supervisor_t *sup) {
  if (sup == NULL || sup->freed)
    return;
  sup->freed = 1;
  if (sup->depth == 0)
    destroy(sup);
}

void uvexec_supervisor_set_data(uvexec_supervisor_t *sup, void *data) {
  if (sup != NULL)
    sup->data = data;
}

void *uvexec_supervisor_data(const uvexec_supervisor_t *sup) {
  return sup != NULL ? sup->data : NULL;
}

/* ---- the end -------------------------------------------------------------- */

/* finish reports the supervisor stopped, once. */
static void finish(uvexec_supervisor_t *sup) {
  sup->state = SUP_STOPPED;
  if (sup->cb != NULL) {
    sup->depth++;
    sup->cb(sup, sup->status);
    sup->depth--;
  }
  if (sup->freed && sup->depth == 0)
    destroy(sup);
}

static void on_timer(uv_timer_t *timer) {
  finish(timer->data);
}

static int stopped(const uvexec_service_t *s) {
  uvexec_service_state_t st = uvexec_service_state(s);

  return st == UVEXEC_SERVICE_IDLE || st == UVEXEC_SERVICE_FAILED;
}

/* stop_next stops the next service from the end that still runs, or
 * finishes once none does. From a service's event: the finish comes
 * from here; from the caller's stop: on the next turn. */
static void stop_next(uvexec_supervisor_t *sup, int from_event) {
  while (sup->stopping > 0) {
    uvexec_service_t *s = sup->svc[sup->stopping - 1];

    if (!stopped(s)) {
      (void)uvexec_service_stop(s);
      return; /* its STOPPED brings the next */
    }
    sup->stopping--;
  }
  if (from_event)
    finish(sup);
  else
    uv_timer_start(sup->timer, on_timer, 0, 0);
}

static void begin_stop(uvexec_supervisor_t *sup, int status, int from_event) {
  if (sup->state == SUP_STOPPING || sup->state == SUP_STOPPED)
    return;
  sup->state = SUP_STOPPING;
  sup->status = status;
  sup->stopping = sup->n;
  stop_next(sup, from_event);
}

/* ---- what the services say ------------------------------------------------ */

/* restart_others restarts, after a failure of service i, the services the
 * strategy says. */
static void restart_others(uvexec_supervisor_t *sup, size_t i) {
  size_t k;

  if (sup->how == UVEXEC_ONE_FOR_ONE)
    return;
  for (k = sup->how == UVEXEC_REST_FOR_ONE ? i + 1 : 0; k < sup->n; k++) {
    if (k == i || stopped(sup->svc[k]) ||
        uvexec_service_state(sup->svc[k]) == UVEXEC_SERVICE_STOPPING)
      continue;
    (void)uvexec_service_restart(sup->svc[k]);
  }
}

static void observe(uvexec_service_t *s, uvexec_service_event_t event,
                    uvexec_cmd_t *run, void *arg) {
  uvexec_supervisor_t *sup = arg;
  size_t i = index_of(sup, s);

  (void)run;
  if (sup->freed || i == sup->n)
    return;
  sup->depth++;
  switch (event) {
  case UVEXEC_SERVICE_READY:
    /* The next one starts once this one is first ready. */
    if (sup->state == SUP_STARTING && i + 1 == sup->next) {
      if (sup->next < sup->n)
        (void)uvexec_service_start(sup->svc[sup->next++]);
      else
        sup->state = SUP_RUNNING;
    }
    break;
  case UVEXEC_SERVICE_EXITED:
    if ((sup->state == SUP_RUNNING || sup->state == SUP_STARTING) &&
        uvexec_service_status(s) != 0)
      restart_others(sup, i);
    break;
  case UVEXEC_SERVICE_GAVE_UP:
    begin_stop(sup, uvexec_service_status(s), 1);
    break;
  case UVEXEC_SERVICE_STOPPED:
    if (sup->state == SUP_STOPPING && sup->stopping == i + 1) {
      sup->stopping--;
      stop_next(sup, 1);
    }
    break;
  default:
    break;
  }
  sup->depth--;
  /* Freed from inside the callback: the services go now (a service
   * freed inside its own event goes once that event is over). */
  if (sup->freed && sup->depth == 0)
    destroy(sup);
}

/* ---- the caller's calls --------------------------------------------------- */

int uvexec_supervisor_add(uvexec_supervisor_t *sup, uvexec_service_t *s) {
  uvexec_service_t **grown;
  int err;

  if (sup == NULL || s == NULL || sup->freed)
    return UV_EINVAL;
  if (sup->state != SUP_IDLE)
    return UV_EBUSY;
  if (index_of(sup, s) < sup->n)
    return UV_EINVAL;
  if (sup->n == sup->cap) {
    size_t cap = sup->cap > 0 ? sup->cap * 2 : 8;

    grown = realloc(sup->svc, cap * sizeof(*grown));
    if (grown == NULL)
      return UV_ENOMEM;
    sup->svc = grown;
    sup->cap = cap;
  }
  err = uvexec__service_observe(s, observe, sup);
  if (err != 0)
    return err; /* started already, or another supervisor's */
  sup->svc[sup->n++] = s;
  return 0;
}

int uvexec_supervisor_start(uvexec_supervisor_t *sup,
                            uvexec_supervisor_cb cb) {
  if (sup == NULL || sup->freed)
    return UV_EINVAL;
  if (sup->state != SUP_IDLE)
    return UV_EALREADY;
  sup->cb = cb;
  sup->status = 0;
  if (sup->n == 0) {
    sup->state = SUP_RUNNING;
    return 0;
  }
  sup->state = SUP_STARTING;
  sup->next = 1;
  return uvexec_service_start(sup->svc[0]);
}

int uvexec_supervisor_stop(uvexec_supervisor_t *sup) {
  if (sup == NULL || sup->freed)
    return UV_EINVAL;
  if (sup->state == SUP_IDLE)
    return UV_EINVAL;
  begin_stop(sup, 0, 0);
  return 0;
}
