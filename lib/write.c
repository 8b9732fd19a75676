/* SPDX-License-Identifier: MIT */
/* Writing the child's stdin: the bytes given before the start, or a
 * stream written while the child runs, with back-pressure visible to the
 * caller (uvexec_stdin_pending, the drain callback).
 *
 * The parent's end of the pipe is driven with a uv_poll_t and plain
 * write(), made with SIGPIPE blocked for the calling thread only, so a
 * child that stops reading gives EPIPE, never a signal, whatever the
 * application did with SIGPIPE's disposition (which uvexec never
 * changes). A failure is reported to the lifecycle, which decides whether
 * it matters (EPIPE after a successful exit does not).
 *
 * On a terminal (pty.c) the writer types: its fd is a copy of the master.
 * A terminal cannot be half-closed, so closing stdin types the VEOF
 * character: at the start of a line it ends the reader's input; in the
 * middle of one it only hands over the line typed so far, so then it is
 * typed twice. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define CONTROL(c) ((c)&0x1f)

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

/* ---- terminals ---------------------------------------------------------- */

/* typed notes whether the bytes just queued for a terminal leave a line
 * begun. */
static void typed(uvexec_cmd_t *cmd, const void *data, size_t len) {
  unsigned char last;

  if (!cmd->pty.on || len == 0)
    return;
  last = ((const unsigned char *)data)[len - 1];
  cmd->in.line_started = last != '\n' && last != '\r';
}

/* queue_eof queues the terminal's VEOF character: once at the start of a
 * line, twice after a line begun (the first hands the line over without
 * a newline, the second is the end of file). The character is the one
 * the terminal has now, ^D by default. */
static int queue_eof(uvexec_cmd_t *cmd) {
  struct termios t;
  char eof[2];
  size_t n = 1;
  int err;

  eof[0] = CONTROL('D');
  if (cmd->in.fd >= 0 && tcgetattr(cmd->in.fd, &t) == 0 &&
      t.c_cc[VEOF] != _POSIX_VDISABLE)
    eof[0] = (char)t.c_cc[VEOF];
  if (cmd->in.line_started)
    eof[n++] = eof[0];
  err = uvexec__buf_append(&cmd->in.queue, eof, n);
  if (err == 0)
    cmd->in.line_started = 0;
  return err;
}

/* ---- writing ------------------------------------------------------------ */

static void close_pipe(uvexec_cmd_t *cmd) {
  uvexec__poll_close(&cmd->in.poll, &cmd->in.polling, &cmd->in.fd);
}

void uvexec__writer_close(uvexec_cmd_t *cmd) {
  close_pipe(cmd);
  uvexec__buf_free(&cmd->in.queue);
  cmd->in.sent = 0;
}

static void call_drain(uvexec_cmd_t *cmd, int status) {
  if (cmd->in.drain_cb != NULL && !cmd->freed)
    cmd->in.drain_cb(cmd, status);
}

static void writer_fail(uvexec_cmd_t *cmd, int err) {
  cmd->in.error = err;
  uvexec__writer_close(cmd);
  uvexec__report(cmd, UVEXEC__EV_WRITE_FAILED, err);
  call_drain(cmd, err);
}

static void on_writable(uv_poll_t *handle, int status, int events);

/* flush writes what the child will take now and waits for the pipe to
 * become writable again for the rest. */
static void flush(uvexec_cmd_t *cmd) {
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
    close_pipe(cmd);
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
  flush(cmd);
}

/* kick makes queued bytes (or a requested close) go out. */
static void kick(uvexec_cmd_t *cmd) {
  uvexec__writer_t *w = &cmd->in;

  if (w->fd < 0 || cmd->state != UVEXEC__RUNNING ||
      !uvexec__handle_usable(&w->poll))
    return;
  if (w->sent < w->queue.len) {
    if (uv_poll_start(&w->poll, UV_WRITABLE, on_writable) != 0)
      writer_fail(cmd, UV_EIO);
  } else if (w->close_requested) {
    close_pipe(cmd);
  }
}

void uvexec__writer_start(uvexec_cmd_t *cmd) {
  uvexec__writer_t *w = &cmd->in;
  int err;

  if (w->fd < 0)
    return;
  /* uvexec_cmd_set_stdin's bytes are queued: the configuration keeps
   * them, for uvexec_cmd_copy(). On a terminal they are typed, then end
   * of file. */
  if (w->data.len > 0) {
    err = uvexec__buf_append(&w->queue, w->data.base, w->data.len);
    if (err != 0) {
      writer_fail(cmd, err);
      return;
    }
  }
  if (cmd->pty.on && w->close_requested && !w->streaming) {
    typed(cmd, w->queue.base, w->queue.len);
    err = queue_eof(cmd);
    if (err != 0) {
      writer_fail(cmd, err);
      return;
    }
  }
  err = uvexec__poll_watch(cmd, &w->poll, w->fd);
  if (err != 0) {
    writer_fail(cmd, err);
    return;
  }
  w->polling = 1;
  kick(cmd);
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
  typed(cmd, data, len);
  kick(cmd);
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
  /* Terminals: end of file is typed, then the copy of the master closes
   * as a pipe would; the terminal stays. */
  if (cmd->pty.on && cmd->state != UVEXEC__DONE && cmd->in.error == 0) {
    int err = queue_eof(cmd);

    if (err != 0)
      return err;
  }
  cmd->in.close_requested = 1;
  kick(cmd);
  return 0;
}
