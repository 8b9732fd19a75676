/* SPDX-License-Identifier: MIT */
/* Process control: the timeout, cancellation, and the wait delay.
 *
 * One rule covers all the ways a run is cut short (timeout, uvexec_cancel,
 * the output limit): the cancel signal goes to the child (or its group)
 * at once, and the wait delay, as in Go, starts at the first of the stop
 * and the exit. When it runs out, a child still alive gets SIGKILL and the
 * pipes are closed, keeping what was read. A stopped child's pipes are
 * never waited on beyond the exit when there is no wait delay: a
 * grandchild holding them must not hang the done callback forever. */
#include <signal.h>

#include "internal.h"

static void on_timer_closed(uv_handle_t *handle) {
  uvexec__handle_closed(handle->data);
}

static int open_timer(uvexec_cmd_t *cmd, uv_timer_t *timer, int *open) {
  int err;

  if (*open)
    return 0;
  err = uv_timer_init(cmd->loop, timer);
  if (err != 0)
    return err;
  timer->data = cmd;
  *open = 1;
  uvexec__handle_opened(cmd);
  return 0;
}

static void close_timer(uv_timer_t *timer, int *open) {
  if (*open) {
    uvexec__close_handle(timer->data, (uv_handle_t *)timer, on_timer_closed);
    *open = 0;
  }
}

/* end_readers closes the pipes still open, keeping what was read; the
 * callbacks still get their last line and their end-of-file call.
 * Non-zero when a callback freed cmd. */
static int end_readers(uvexec_cmd_t *cmd) {
  return uvexec__reader_end(cmd, &cmd->out[0]) ||
         uvexec__reader_end(cmd, &cmd->out[1]);
}

static void on_delay(uv_timer_t *timer) {
  uvexec_cmd_t *cmd = timer->data;

  close_timer(&cmd->delay_timer, &cmd->delay_timer_open);
  if (!cmd->exited)
    uvexec__signal_child(cmd, SIGKILL);
  if (uvexec__readers_open(cmd) > 0) {
    cmd->waitdelay_expired = cmd->wait_delay_ms > 0;
    if (end_readers(cmd))
      return;
  }
  uvexec__maybe_done(cmd);
}

/* arm_delay starts the wait delay unless it already runs; with cut, it
 * also cuts a running delay short to ms. */
static void arm_delay(uvexec_cmd_t *cmd, uint64_t ms, int cut) {
  if (cmd->delay_timer_open && !cut)
    return;
  if (open_timer(cmd, &cmd->delay_timer, &cmd->delay_timer_open) != 0 ||
      !uvexec__handle_usable(&cmd->delay_timer))
    return;
  /* libuv times from the loop's cached clock, which is stale after any
   * blocking work the caller did: the delay counts from now. */
  uv_update_time(cmd->loop);
  uv_timer_start(&cmd->delay_timer, on_delay, ms, 0);
}

static void on_timeout(uv_timer_t *timer) {
  uvexec_cmd_t *cmd = timer->data;

  close_timer(&cmd->timeout_timer, &cmd->timeout_timer_open);
  uvexec__control_stop(cmd, UV_ETIMEDOUT);
}

int uvexec__control_start(uvexec_cmd_t *cmd) {
  int err;

  if (cmd->timeout_ms == 0)
    return 0;
  err = open_timer(cmd, &cmd->timeout_timer, &cmd->timeout_timer_open);
  if (err != 0)
    return err;
  uv_update_time(cmd->loop); /* the timeout counts from the start */
  return uv_timer_start(&cmd->timeout_timer, on_timeout, cmd->timeout_ms, 0);
}

/* uvexec__control_stop cuts the run short for reason, with the cmd's own
 * cancel signal. */
void uvexec__control_stop(uvexec_cmd_t *cmd, int reason) {
  uvexec__control_stop_with(cmd, reason, cmd->cancel_signal);
}

/* uvexec__control_stop_with cuts the run short for reason, sending signum
 * first (0: nothing, for a child the caller has signalled already, as a
 * pipeline does for its group). It never calls back
 * into the application directly: whatever must follow the stop goes
 * through the loop, so it is safe from inside any callback. */
void uvexec__control_stop_with(uvexec_cmd_t *cmd, int reason, int signum) {
  if (cmd->state != UVEXEC__RUNNING || cmd->stop_reason != 0)
    return;
  cmd->stop_reason = reason;
  close_timer(&cmd->timeout_timer, &cmd->timeout_timer_open);

  if (!cmd->exited) {
    if (signum != 0)
      uvexec__signal_child(cmd, signum);
    if (cmd->wait_delay_ms > 0)
      arm_delay(cmd, cmd->wait_delay_ms, 0);
  } else {
    /* Exited already, pipes still open (a grandchild holds them): close
     * them on the next turn, also when the wait delay after the exit was
     * already counting down. */
    arm_delay(cmd, 0, 1);
  }
}

/* uvexec__control_on_exit bounds the wait for the pipes after the exit.
 * Non-zero when a callback freed cmd. */
int uvexec__control_on_exit(uvexec_cmd_t *cmd) {
  close_timer(&cmd->timeout_timer, &cmd->timeout_timer_open);
  if (uvexec__readers_open(cmd) == 0)
    return 0;
  if (cmd->stop_reason != 0 && cmd->wait_delay_ms == 0)
    return end_readers(cmd); /* the caller's maybe_done follows */
  if (cmd->wait_delay_ms > 0)
    arm_delay(cmd, cmd->wait_delay_ms, 0);
  return 0;
}

void uvexec__control_close(uvexec_cmd_t *cmd) {
  close_timer(&cmd->timeout_timer, &cmd->timeout_timer_open);
  close_timer(&cmd->delay_timer, &cmd->delay_timer_open);
}

int uvexec_cancel(uvexec_cmd_t *cmd) {
  if (cmd == NULL || cmd->state == UVEXEC__CONFIGURING ||
      cmd->state == UVEXEC__FAILED)
    return UV_EINVAL;
  uvexec__control_stop(cmd, UV_ECANCELED);
  return 0;
}
