/* SPDX-License-Identifier: MIT */
/* Reading the child's stdout and stderr: fair, bounded, proportional.
 *
 * Bounded: a loop turn spends a bounded time reading, however many
 * streams are readable. The streams of one loop share a budget per turn
 * (TURN_BUDGET bytes), each readable stream taking at most its share
 * (the budget over the number of streams the loop reads, never less than
 * MIN_SHARE) before it yields the loop to its timers and other handles.
 * epoll is level-triggered for uv_poll_t, so a stream that still holds
 * bytes is reported again on the next turn: fair, since every readable
 * stream is served on every turn and none can starve another.
 *
 * Proportional: memory follows the output. A stream is first read into a
 * scratch buffer the loop's streams share, and only what arrived is kept;
 * a stream that fills its reads is busy, and from then on it is read
 * straight into its capture buffer, which grows geometrically, with its
 * pipe grown so the child blocks less often. At end of file the capture
 * buffer gives back its slack. A finished small capture costs what it
 * holds.
 *
 * The pages a read fills are faulted in just before it, and never more
 * than that read's share: read() into untouched pages takes its page
 * faults under the pipe's lock, where the writer then spins instead of
 * filling the pipe, but faulting megabytes at once would stall the loop
 * in one go instead. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* A turn reads at most TURN_BUDGET bytes, and less when reading that much
 * took longer than TURN_TIME: captured bytes cost a page fault each 4 KiB,
 * which on some machines (a VM whose host backs memory lazily) is dearer
 * than the copy, so the budget adapts, halving after a long turn and
 * growing back after a short one. Measured on a 2-core VM (make bench,
 * "timer" and "capture"). */
#define TURN_BUDGET (2u * 1024 * 1024)
#define TURN_BUDGET_MIN (256u * 1024)
#define TURN_TIME_NS (500u * 1000)
#define MIN_SHARE (16u * 1024)
#define SCRATCH_SIZE (64u * 1024)
#define BUSY_PIPE_SIZE (1024 * 1024)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* What the streams of one loop share: their count, for the share of the
 * budget, and the scratch buffer. A loop is driven by one thread, so the
 * list is the thread's own: no lock, and an entry lives exactly as long as
 * its loop has streams being read. */
struct uvexec__loop_share_s {
  struct uvexec__loop_share_s *next;
  uv_loop_t *loop;
  unsigned readers;
  size_t budget;       /* this turn's, adapted to how long turns take */
  uint64_t turn_ms;    /* uv_now() of the turn being read, to tell turns */
  uint64_t turn_start; /* uv_hrtime() of its first read */
  uint64_t turn_end;   /* ... and of its last */
  char scratch[SCRATCH_SIZE];
};

static _Thread_local uvexec__loop_share_t *shares;

static int attach(uvexec__reader_t *r, uv_loop_t *loop) {
  uvexec__loop_share_t *s;

  for (s = shares; s != NULL && s->loop != loop; s = s->next)
    ;
  if (s == NULL) {
    s = malloc(sizeof(*s));
    if (s == NULL)
      return UV_ENOMEM;
    s->loop = loop;
    s->readers = 0;
    s->budget = TURN_BUDGET;
    s->turn_ms = 0;
    s->turn_start = s->turn_end = 0;
    s->next = shares;
    shares = s;
  }
  s->readers++;
  r->share = s;
  return 0;
}

static void detach(uvexec__reader_t *r) {
  uvexec__loop_share_t **p, *s = r->share;

  if (s == NULL)
    return;
  r->share = NULL;
  if (--s->readers > 0)
    return;
  for (p = &shares; *p != NULL; p = &(*p)->next) {
    if (*p == s) {
      *p = s->next;
      break;
    }
  }
  free(s);
}

int uvexec__readers_open(const uvexec_cmd_t *cmd) {
  int i, n = 0;

  for (i = 0; i < 2; i++)
    if (cmd->out[i].fd >= 0 && !cmd->out[i].eof)
      n++;
  return n;
}

void uvexec__reader_abandon(uvexec__reader_t *r) {
  uvexec__poll_stop(&r->poll, &r->polling, &r->fd);
  detach(r);
  r->eof = 1;
}

/* deliver hands n new bytes to the callbacks. It returns non-zero when the
 * cmd was freed or the stream abandoned meanwhile, so the caller stops. */
static int deliver(uvexec_cmd_t *cmd, uvexec__reader_t *r, const char *data,
                   size_t n) {
  if (r->data_cb != NULL) {
    r->data_cb(cmd, data, n);
    if (cmd->freed || r->eof)
      return 1;
  }
  if (r->line_cb != NULL) {
    uvexec__lines_feed(cmd, r, data, n);
    if (cmd->freed || r->eof)
      return 1;
  }
  return 0;
}

/* uvexec__reader_end ends a stream, at its end of file or cut short by
 * the wait delay or a stop: the last partial line, then the len == 0 call.
 * The watcher is closed first, so cmd's memory outlives any
 * uvexec_cmd_free() made by the callbacks. What was captured gives back
 * its slack. Non-zero when cmd was freed. */
int uvexec__reader_end(uvexec_cmd_t *cmd, uvexec__reader_t *r) {
  if (r->eof)
    return cmd->freed;
  uvexec__reader_abandon(r);
  uvexec__buf_shrink(&r->buf);
  if (r->line_cb != NULL) {
    uvexec__lines_flush(cmd, r);
    uvexec__buf_free(&r->line);
    if (cmd->freed)
      return 1;
  }
  if (r->data_cb != NULL) {
    r->data_cb(cmd, "", 0);
    if (cmd->freed)
      return 1;
  }
  return 0;
}

static void reader_eof(uvexec_cmd_t *cmd, uvexec__reader_t *r) {
  if (!uvexec__reader_end(cmd, r))
    uvexec__maybe_done(cmd);
}

/* room_for_limit tells how many of n new bytes the output limit lets a
 * captured stream keep, and stops the child when the limit is passed. */
static size_t room_for_limit(uvexec_cmd_t *cmd, uvexec__reader_t *r,
                             size_t n) {
  size_t room;

  if (cmd->output_limit == 0 || r->buf.len + n <= cmd->output_limit)
    return n;
  room = cmd->output_limit > r->buf.len ? cmd->output_limit - r->buf.len : 0;
  r->capture_full = 1;
  uvexec__control_stop(cmd, UV_ENOBUFS);
  return room;
}

/* prefault faults in the pages of [from, from + len) before a read fills
 * them (see the top of this file). A kernel without MADV_POPULATE_WRITE
 * just faults as before. */
static void prefault(char *from, size_t len) {
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start, end;

  start = ((uintptr_t)from + page - 1) & ~(page - 1);
  end = ((uintptr_t)from + len) & ~(page - 1);
  if (end > start)
    (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

/* become_busy marks a stream that filled a whole read: a fast producer,
 * read straight into its capture buffer from now on, through a larger
 * pipe (failing to grow it is harmless). */
static void become_busy(uvexec__reader_t *r) {
  r->busy = 1;
  (void)fcntl(r->fd, F_SETPIPE_SZ, BUSY_PIPE_SIZE);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  uvexec_cmd_t *cmd = handle->data;
  uvexec__reader_t *r = handle == &cmd->out[0].poll ? &cmd->out[0]
                                                      : &cmd->out[1];
  uvexec__loop_share_t *s = r->share;
  size_t share, spent = 0;

  (void)status;
  (void)events;
  /* libuv updates its clock once a turn, after the poll: a new value is a
   * new turn, and the one before it shows how long its reading took. */
  if (uv_now(cmd->loop) != s->turn_ms) {
    uint64_t took = s->turn_end - s->turn_start;

    if (took > TURN_TIME_NS && s->budget > TURN_BUDGET_MIN)
      s->budget /= 2;
    else if (took < TURN_TIME_NS / 2 && s->budget < TURN_BUDGET)
      s->budget += s->budget / 4;
    s->turn_ms = uv_now(cmd->loop);
    s->turn_start = uv_hrtime();
  }
  share = s->budget / s->readers;
  if (share < MIN_SHARE)
    share = MIN_SHARE;
  /* An error on the watcher is followed by read()'s own answer below. */
  while (spent < share) {
    int direct = r->capture && r->busy && !r->capture_full;
    size_t want = share - spent, keep;
    char *into;
    ssize_t n;

    if (direct) {
      into = uvexec__buf_reserve(&r->buf, want, &want);
      if (into == NULL) {
        cmd->io_error = UV_ENOMEM;
        reader_eof(cmd, r);
        return;
      }
      if (want > share - spent)
        want = share - spent;
      prefault(into, want);
    } else {
      into = r->share->scratch;
      if (want > SCRATCH_SIZE)
        want = SCRATCH_SIZE;
    }

    do
      n = read(r->fd, into, want);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n <= 0) {
      /* Terminals: a master reads EIO once every slave fd is closed and
       * its bytes are all read; that is its end of file. */
      if (n < 0 && !(r->tty && errno == EIO))
        cmd->io_error = -errno;
      reader_eof(cmd, r);
      return;
    }
    spent += (size_t)n;
    if (!r->busy && (size_t)n == want)
      become_busy(r);

    keep = (size_t)n;
    if (r->capture) {
      keep = r->capture_full ? 0 : room_for_limit(cmd, r, keep);
      if (direct) {
        uvexec__buf_commit(&r->buf, keep);
        into = r->buf.base + r->buf.len - keep;
      } else if (keep > 0 && uvexec__buf_append(&r->buf, into, keep) != 0) {
        cmd->io_error = UV_ENOMEM;
        reader_eof(cmd, r);
        return;
      }
    }
    /* The turn's reading so far, the callbacks' time left out: they may
     * free cmd, and with it the last hold on s. */
    s->turn_end = uv_hrtime();
    if (keep > 0 && deliver(cmd, r, into, keep))
      return;
    if ((size_t)n < want)
      return; /* the pipe is empty for now: no read just to hear EAGAIN */
  }
}

int uvexec__reader_start(uvexec_cmd_t *cmd, uvexec__reader_t *r) {
  int err;

  err = attach(r, cmd->loop);
  if (err != 0)
    return err;
  err = uv_poll_init(cmd->loop, &r->poll, r->fd);
  if (err != 0) {
    detach(r);
    return err;
  }
  r->poll.data = cmd;
  r->polling = 1;
  uvexec__handle_opened(cmd);
  return uv_poll_start(&r->poll, UV_READABLE, on_readable);
}
