/* SPDX-License-Identifier: MIT */
/* The synchronous facade: Run, Output and CombinedOutput on a private
 * loop. Each call makes its own loop and closes it before it returns, so
 * it may run on any thread, many at once, and never touches the caller's
 * loops or libuv's default loop. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

/* fill_std_holes puts /dev/null on whichever of fds 0, 1 and 2 the
 * program has closed, for the duration of the call. Otherwise the private
 * loop's own fds (epoll, its signal pipe) would land there, and libuv 1.44
 * aborts when it closes an fd below 3 (and a child given "the parent's
 * stdout" would get the loop's epoll fd). held[i] is the fd put there, or
 * -1. */
static void fill_std_holes(int held[3]) {
  int fd;

  for (fd = 0; fd < 3; fd++) {
    held[fd] = -1;
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
      continue;
    /* The lowest free number is taken, which is fd itself, as long as no
     * other thread opens one in between; a stray number is given back. */
    held[fd] = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (held[fd] >= 0 && held[fd] != fd) {
      close(held[fd]);
      held[fd] = -1;
    }
  }
}

static void unfill_std_holes(const int held[3]) {
  int fd;

  for (fd = 0; fd < 3; fd++)
    if (held[fd] >= 0)
      close(held[fd]);
}

int uvexec__run_private(int (*start)(void *what, uv_loop_t *loop),
                        void *what) {
  uv_loop_t loop;
  int held[3], err, close_err;

  fill_std_holes(held);
  err = uv_loop_init(&loop);
  if (err == 0) {
    err = start(what, &loop);
    /* Even a failed start may leave a handle closing (libuv's process
     * handle): the loop runs until everything started is closed. */
    uv_run(&loop, UV_RUN_DEFAULT);
    close_err = uv_loop_close(&loop);
    if (err == 0)
      err = close_err;
  }
  unfill_std_holes(held);
  return err;
}

static int start_cmd(void *what, uv_loop_t *loop) {
  return uvexec_start(what, loop, NULL);
}

int uvexec_run(uvexec_cmd_t *cmd) {
  int err;

  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return uvexec__already_started(cmd);
  err = uvexec__run_private(start_cmd, cmd);
  cmd->loop = NULL;
  return err != 0 ? err : cmd->status;
}

/* unset tells whether the caller left a stream at its default. */
static int unset(const uvexec__reader_t *r) {
  return r->kind == UVEXEC__IO_NULL && !uvexec__has_callbacks(r);
}

static int already_set(uvexec_cmd_t *cmd, const char *stream) {
  uvexec__set_error(cmd, "exec: %s already set", stream);
  return UV_EINVAL;
}

int uvexec__capture_stdout(uvexec_cmd_t *cmd) {
  /* Callbacks still see the stream when it is captured; only another
   * destination (inherited, a caller's fd) conflicts. */
  if (cmd->out[0].kind != UVEXEC__IO_NULL &&
      cmd->out[0].kind != UVEXEC__IO_PIPE)
    return already_set(cmd, "Stdout");
  cmd->out[0].kind = UVEXEC__IO_PIPE;
  cmd->out[0].capture = 1;
  return 0;
}

void uvexec__keep_stderr(uvexec_cmd_t *cmd) {
  if (unset(&cmd->out[1])) {
    cmd->out[1].kind = UVEXEC__IO_PIPE;
    cmd->out[1].capture = 1;
  }
}

int uvexec_output(uvexec_cmd_t *cmd) {
  int err;

  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return uvexec__already_started(cmd);
  err = uvexec__capture_stdout(cmd);
  if (err != 0)
    return err;
  uvexec__keep_stderr(cmd);
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
