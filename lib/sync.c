/* The synchronous facade: Run, Output and CombinedOutput on a private
 * loop. Each call makes its own loop and closes it before it returns, so
 * it may run on any thread, many at once, and never touches the caller's
 * loops or libuv's default loop. */
#include "internal.h"

int uvexec_run(uvexec_cmd_t *cmd) {
  uv_loop_t loop;
  int err, close_err;

  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return uvexec__already_started(cmd);
  err = uv_loop_init(&loop);
  if (err != 0)
    return err;

  err = uvexec_start(cmd, &loop, NULL);
  /* Even a failed start may leave a handle closing (libuv's process
   * handle): the loop runs until everything of cmd's is closed. */
  uv_run(&loop, UV_RUN_DEFAULT);
  close_err = uv_loop_close(&loop);
  cmd->loop = NULL;
  if (err != 0)
    return err;
  if (close_err != 0)
    return close_err;
  return cmd->status;
}

/* unset tells whether the caller left a stream at its default. */
static int unset(const uvexec__reader_t *r) {
  return r->kind == UVEXEC__IO_NULL && !uvexec__has_callbacks(r);
}

static int already_set(uvexec_cmd_t *cmd, const char *stream) {
  uvexec__set_error(cmd, "exec: %s already set", stream);
  return UV_EINVAL;
}

int uvexec_output(uvexec_cmd_t *cmd) {
  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return uvexec__already_started(cmd);
  /* Callbacks still see the stream when it is captured; only another
   * destination (inherited, a caller's fd) conflicts. */
  if (cmd->out[0].kind != UVEXEC__IO_NULL &&
      cmd->out[0].kind != UVEXEC__IO_PIPE)
    return already_set(cmd, "Stdout");
  cmd->out[0].kind = UVEXEC__IO_PIPE;
  cmd->out[0].capture = 1;
  /* Go keeps stderr in ExitError.Stderr when nobody else wanted it. */
  if (unset(&cmd->out[1])) {
    cmd->out[1].kind = UVEXEC__IO_PIPE;
    cmd->out[1].capture = 1;
  }
  return uvexec_run(cmd);
}

int uvexec_combined_output(uvexec_cmd_t *cmd) {
  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return uvexec__already_started(cmd);
  if (!unset(&cmd->out[0]))
    return already_set(cmd, "Stdout");
  if (!unset(&cmd->out[1]))
    return already_set(cmd, "Stderr");
  cmd->out[0].kind = UVEXEC__IO_PIPE;
  cmd->out[0].capture = 1;
  cmd->out[1].kind = UVEXEC__IO_MERGE;
  return uvexec_run(cmd);
}
