/* SPDX-License-Identifier: MIT */
/* The child's stdin, stdout and stderr.
 *
 * Every pipe is a real pipe from pipe2(O_CLOEXEC), never libuv's
 * socketpairs: `cat /dev/stdin` works in the child, and a busy pipe wakes
 * the loop far less often. The child's ends reach the child only through
 * the engine's dup2 onto 0, 1 and 2; the parent's ends are close-on-exec,
 * so no other child ever sees them.
 *
 * The parent drives its ends with uv_poll_t and plain read()/write(): the
 * reading is read.c's, and writes are made with SIGPIPE blocked for the
 * calling thread only, so a child that stops reading gives EPIPE, never
 * a signal, whatever the application did with SIGPIPE's disposition
 * (which uvexec never changes). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void uvexec__close_fd(int *fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

static void on_poll_closed(uv_handle_t *handle) {
  uvexec__handle_closed(handle->data);
}

/* uvexec__poll_stop closes the watcher (libuv removes the fd from epoll
 * at once) and then the fd. */
void uvexec__poll_stop(uv_poll_t *poll, int *polling, int *fd) {
  if (*polling) {
    uvexec__close_handle(poll->data, (uv_handle_t *)poll, on_poll_closed);
    *polling = 0;
  }
  uvexec__close_fd(fd);
}

/* reads tells whether uvexec reads this stream at all. */
static int reads(const uvexec__reader_t *r) {
  if (r->kind == UVEXEC__IO_PIPE)
    return 1;
  return r->kind == UVEXEC__IO_NULL && uvexec__has_callbacks(r);
}

static int make_pipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0)
    return -errno;
  return 0;
}

int uvexec__stdio_prepare(uvexec_cmd_t *cmd, int child_fds[3],
                          int owned[3]) {
  int i, err, p[2];

  for (i = 0; i < 3; i++) {
    child_fds[i] = -1;
    owned[i] = 0;
  }

  /* Terminals (pty.c): the master is stdout's reader and stdin's writer,
   * the slave the child's 0 and 1. */
  if (cmd->pty.on && (err = uvexec__pty_prepare(cmd, child_fds)) != 0)
    goto fail;

  switch (cmd->in.kind) {
  case UVEXEC__IO_PIPE:
    if (cmd->pty.on)
      break; /* terminals: done above */
    if ((err = make_pipe(p)) != 0)
      goto fail;
    child_fds[0] = p[0];
    owned[0] = 1;
    cmd->in.fd = uvexec__fd_move_high(p[1]);
    break;
  case UVEXEC__IO_FD:
    child_fds[0] = cmd->in.caller_fd;
    break;
  default:
    break;
  }

  for (i = 0; i < 2; i++) {
    uvexec__reader_t *r = &cmd->out[i];

    if (i == 0 && cmd->pty.on) {
      continue; /* terminals: done above */
    } else if (reads(r)) {
      if ((err = make_pipe(p)) != 0)
        goto fail;
      child_fds[i + 1] = p[1];
      owned[i + 1] = 1;
      r->fd = uvexec__fd_move_high(p[0]);
    } else if (r->kind == UVEXEC__IO_INHERIT) {
      child_fds[i + 1] = i + 1;
    } else if (r->kind == UVEXEC__IO_FD) {
      child_fds[i + 1] = r->caller_fd;
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


/* ---- writing ----------------------------------------------------------- */

/* write_quietly is write() that cannot raise SIGPIPE: the signal is
 * blocked for this thread only, and one the write itself raised is taken
 * off the pending set before the mask is restored. A SIGPIPE that was
 * already pending is left alone. */
static ssize_t write_quietly(int fd, const void *data, size_t len) {
  static const struct timespec zero = {0, 0};
  sigset_t pipe_only, saved, pending;
  int was_pending, err;
  ssize_t n;

  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &saved);
  sigpending(&pending);
  was_pending = sigismember(&pending, SIGPIPE);

  do
    n = write(fd, data, len);
  while (n < 0 && errno == EINTR);
  err = errno;

  if (n < 0 && err == EPIPE && !was_pending) {
    while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  errno = err;
  return n;
}

static void writer_close(uvexec_cmd_t *cmd) {
  uvexec__poll_stop(&cmd->in.poll, &cmd->in.polling, &cmd->in.fd);
}

void uvexec__writer_shutdown(uvexec_cmd_t *cmd) {
  writer_close(cmd);
  uvexec__buf_free(&cmd->in.queue);
  cmd->in.sent = 0;
}

static void call_drain(uvexec_cmd_t *cmd, int status) {
  if (cmd->in.drain_cb != NULL && !cmd->freed)
    cmd->in.drain_cb(cmd, status);
}

static void writer_fail(uvexec_cmd_t *cmd, int err) {
  cmd->in.error = err;
  uvexec__writer_shutdown(cmd);
  call_drain(cmd, err);
}

static void on_writable(uv_poll_t *handle, int status, int events);

/* writer_flush writes what the child will take now and waits for the
 * pipe to become writable again for the rest. */
static void writer_flush(uvexec_cmd_t *cmd) {
  uvexec__writer_t *w = &cmd->in;
  int had_data = w->sent < w->queue.len;

  if (!uvexec__handle_usable(&w->poll))
    return; /* closed under the cmd by a uv_walk() */
  while (w->sent < w->queue.len) {
    ssize_t n = write_quietly(w->fd, w->queue.base + w->sent,
                              w->queue.len - w->sent);

    if (n >= 0) {
      w->sent += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (uv_poll_start(&w->poll, UV_WRITABLE, on_writable) != 0)
        writer_fail(cmd, UV_EIO);
      return;
    } else {
      /* EPIPE: the child closed its stdin. Not an error by itself; the
       * exit status tells whether the child was content. Terminals: EIO
       * from a master is a terminal nobody holds any more, the same. */
      writer_fail(cmd, cmd->pty.on && errno == EIO ? UV_EPIPE : -errno);
      return;
    }
  }

  w->queue.len = 0;
  w->sent = 0;
  if (w->close_requested)
    writer_close(cmd);
  else
    uv_poll_stop(&w->poll);
  if (had_data)
    call_drain(cmd, 0);
}

static void on_writable(uv_poll_t *handle, int status, int events) {
  uvexec_cmd_t *cmd = handle->data;

  (void)events;
  if (status < 0) {
    /* POLLERR on a pipe's write end: the read end is gone. */
    writer_fail(cmd, UV_EPIPE);
    return;
  }
  writer_flush(cmd);
}

/* writer_kick makes queued bytes (or a requested close) go out. */
static void writer_kick(uvexec_cmd_t *cmd) {
  uvexec__writer_t *w = &cmd->in;

  if (w->fd < 0 || cmd->state != UVEXEC__RUNNING ||
      !uvexec__handle_usable(&w->poll))
    return;
  if (w->sent < w->queue.len) {
    if (uv_poll_start(&w->poll, UV_WRITABLE, on_writable) != 0)
      writer_fail(cmd, UV_EIO);
  } else if (w->close_requested) {
    writer_close(cmd);
  }
}

int uvexec_write(uvexec_cmd_t *cmd, const void *data, size_t len) {
  uvexec__writer_t *w;
  int err;

  if (cmd == NULL || (data == NULL && len > 0))
    return UV_EINVAL;
  w = &cmd->in;
  if (!w->streaming)
    return UV_EINVAL;
  if (w->error != 0)
    return w->error;
  if (w->close_requested || cmd->state == UVEXEC__DONE ||
      cmd->state == UVEXEC__FAILED || cmd->exited)
    return UV_EPIPE;

  /* Drop what was already written before growing the queue. */
  if (w->sent > 0 && w->sent >= w->queue.len / 2) {
    uvexec__buf_consume(&w->queue, w->sent);
    w->sent = 0;
  }
  err = uvexec__buf_append(&w->queue, data, len);
  if (err != 0)
    return err;
  uvexec__pty_typed(cmd, data, len); /* terminals: where the line stands */
  writer_kick(cmd);
  return 0;
}

size_t uvexec_stdin_pending(const uvexec_cmd_t *cmd) {
  if (cmd == NULL)
    return 0;
  return cmd->in.queue.len - cmd->in.sent;
}

int uvexec_close_stdin(uvexec_cmd_t *cmd) {
  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->in.kind != UVEXEC__IO_PIPE)
    return UV_EINVAL;
  if (cmd->in.close_requested)
    return 0;
  /* Terminals: end of file is typed (pty.c), then the copy of the master
   * closes as a pipe would; the terminal stays. */
  if (cmd->pty.on && cmd->state != UVEXEC__DONE && cmd->in.error == 0) {
    int err = uvexec__pty_queue_eof(cmd);

    if (err != 0)
      return err;
  }
  cmd->in.close_requested = 1;
  writer_kick(cmd);
  return 0;
}

/* ---- starting the watchers ------------------------------------------- */

int uvexec__poll_watch(uvexec_cmd_t *cmd, uv_poll_t *poll, int fd) {
  int err = uv_poll_init(cmd->loop, poll, fd);

  if (err != 0)
    return err;
  poll->data = cmd;
  uvexec__handle_opened(cmd);
  return 0;
}

int uvexec__stdio_start(uvexec_cmd_t *cmd) {
  int i, err;

  for (i = 0; i < 2; i++) {
    uvexec__reader_t *r = &cmd->out[i];

    if (r->fd < 0)
      continue;
    err = uvexec__reader_start(cmd, r);
    if (err != 0) {
      cmd->io_error = err;
      uvexec__reader_abandon(r);
    }
  }

  if (cmd->in.fd >= 0) {
    err = uvexec__poll_watch(cmd, &cmd->in.poll, cmd->in.fd);
    if (err != 0) {
      writer_fail(cmd, err);
      return 0;
    }
    cmd->in.polling = 1;
    writer_kick(cmd);
  }
  return 0;
}
