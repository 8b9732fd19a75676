/* SPDX-License-Identifier: MIT */
/* The pipes of a start: the child's stdin, stdout and stderr.
 *
 * Every pipe is a real pipe from pipe2(O_CLOEXEC), never libuv's
 * socketpairs: `cat /dev/stdin` works in the child, and a busy pipe wakes
 * the loop far less often. The child's ends reach the child only through
 * the engine's dup2 onto 0, 1 and 2; the parent's ends are close-on-exec,
 * so no other child ever sees them, and they go to the reader (read.c)
 * and the writer (write.c), which drive them once the child runs. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

/* reads tells whether uvexec reads this stream at all: captured, given a
 * callback, or watched for a ready line. */
static int reads(const uvexec_cmd_t *cmd, const uvexec__reader_t *r) {
  if (r->kind == UVEXEC__IO_PIPE)
    return 1;
  return r->kind == UVEXEC__IO_NULL &&
         (uvexec__has_callbacks(r) || (cmd->ready.ways & UVEXEC__READY_LINE));
}

/* make_pipe makes a pipe of the cmd's pipe size, when it has one: a size
 * the kernel refuses (past /proc/sys/fs/pipe-max-size without the
 * privilege, or too large) is a start error, never ignored. */
static int make_pipe(uvexec_cmd_t *cmd, int fds[2]) {
  int err;

  if (pipe2(fds, O_CLOEXEC) != 0)
    return -errno;
  if (cmd->pipe_size > 0 && fcntl(fds[0], F_SETPIPE_SZ, cmd->pipe_size) < 0) {
    err = -errno;
    close(fds[0]);
    close(fds[1]);
    uvexec__set_error(cmd, "exec: pipe size %d: %s",
                      cmd->pipe_size, uvexec_strerror(err));
    return err;
  }
  return 0;
}

int uvexec__stdio_prepare(uvexec_cmd_t *cmd, int child_fds[3],
                          int owned[3]) {
  int i, err, p[2];

  for (i = 0; i < 3; i++)
    owned[i] = 0;

  switch (cmd->in.kind) {
  case UVEXEC__IO_PIPE:
    if (child_fds[0] == UVEXEC__FD_TTY)
      break; /* a terminal's */
    if ((err = make_pipe(cmd, p)) != 0)
      goto fail;
    child_fds[0] = p[0];
    owned[0] = 1;
    cmd->in.fd = uvexec__fd_move_high(p[1]);
    break;
  case UVEXEC__IO_FD:
    child_fds[0] = cmd->in.caller_fd;
    break;
  case UVEXEC__IO_FILE:
    child_fds[0] = UVEXEC__FD_FILE;
    break;
  default:
    break;
  }

  for (i = 0; i < 2; i++) {
    uvexec__reader_t *r = &cmd->out[i];

    if (child_fds[i + 1] == UVEXEC__FD_TTY) {
      continue; /* a terminal's */
    } else if (reads(cmd, r)) {
      if ((err = make_pipe(cmd, p)) != 0)
        goto fail;
      child_fds[i + 1] = p[1];
      owned[i + 1] = 1;
      r->fd = uvexec__fd_move_high(p[0]);
    } else if (r->kind == UVEXEC__IO_INHERIT) {
      child_fds[i + 1] = i + 1;
    } else if (r->kind == UVEXEC__IO_FD) {
      child_fds[i + 1] = r->caller_fd;
    } else if (r->kind == UVEXEC__IO_FILE) {
      child_fds[i + 1] = UVEXEC__FD_FILE;
    } else if (r->kind == UVEXEC__IO_MERGE) {
      child_fds[2] = child_fds[1];
    }
  }
  return 0;

fail:
  for (i = 0; i < 3; i++)
    if (owned[i])
      close(child_fds[i]);
  uvexec__stdio_abort(cmd);
  return err;
}

void uvexec__stdio_abort(uvexec_cmd_t *cmd) {
  uvexec__close_fd(&cmd->in.fd);
  uvexec__close_fd(&cmd->out[0].fd);
  uvexec__close_fd(&cmd->out[1].fd);
}
