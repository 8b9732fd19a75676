/* SPDX-License-Identifier: MIT */
/* The run's two timers: the timeout, and the wait delay.
 *
 * They decide nothing: when one runs out, it reports to the lifecycle,
 * which decides what a timeout or the end of the wait delay means. Each
 * timer is opened when first needed and closed when it has fired, so a
 * run without a timeout or a wait delay has no timer at all. */
#include "internal.h"

static void on_timeout(uv_timer_t *timer) {
  uvexec_cmd_t *cmd = timer->data;

  uvexec__timeout_close(cmd);
  uvexec__report(cmd, UVEXEC__EV_TIMEOUT, 0);
}

static void on_delay(uv_timer_t *timer) {
  uvexec_cmd_t *cmd = timer->data;

  uvexec__timer_close(&cmd->timers.delay, &cmd->timers.delay_open);
  uvexec__report(cmd, UVEXEC__EV_DELAY_OVER, 0);
}

int uvexec__timeout_start(uvexec_cmd_t *cmd) {
  uvexec__timers_t *t = &cmd->timers;
  int err;

  if (cmd->timeout_ms == 0)
    return 0;
  err = uvexec__timer_open(cmd, &t->timeout, &t->timeout_open);
  if (err != 0)
    return err;
  uv_update_time(cmd->loop); /* the timeout counts from the start */
  return uv_timer_start(&t->timeout, on_timeout, cmd->timeout_ms, 0);
}

void uvexec__timeout_close(uvexec_cmd_t *cmd) {
  uvexec__timer_close(&cmd->timers.timeout, &cmd->timers.timeout_open);
}

void uvexec__delay_start(uvexec_cmd_t *cmd, uint64_t ms, int cut) {
  uvexec__timers_t *t = &cmd->timers;

  if (t->delay_open && !cut)
    return;
  if (uvexec__timer_open(cmd, &t->delay, &t->delay_open) != 0 ||
      !uvexec__handle_usable(&t->delay))
    return;
  /* libuv times from the loop's cached clock, which is stale after any
   * blocking work the caller did: the delay counts from now. */
  uv_update_time(cmd->loop);
  uv_timer_start(&t->delay, on_delay, ms, 0);
}

void uvexec__timers_close(uvexec_cmd_t *cmd) {
  uvexec__timer_close(&cmd->timers.timeout, &cmd->timers.timeout_open);
  uvexec__timer_close(&cmd->timers.delay, &cmd->timers.delay_open);
}
