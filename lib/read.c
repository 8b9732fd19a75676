/* SPDX-License-Identifier: MIT */
/* Reading the child's stdout and stderr: fair, bounded, proportional.
 *
 * Bounded: a loop turn spends a bounded time reading, however many
 * streams are readable. The streams of one loop share a budget of bytes
 * per turn; when it is spent, the streams still readable wait for the
 * next turn, and the loop goes on to its timers and other handles. The
 * budget adapts to how long reading it takes (see TURN_TIME_NS).
 *
 * Fair: a quiet stream (one no read has found the scratch buffer's worth
 * waiting in; from the first that did, a stream is busy for good) is read
 * whenever it is readable: what it has fits one read. A busy stream (a
 * fast producer, whose pipe stays full) reads a large piece when it has
 * its turn, and busy streams take their turns least recently served
 * first: each turn lets in the budget's worth of them (QUANTUM bytes
 * each) that waited longest among those readable in the turn before, and
 * one that read goes to the back. No stream can starve another, and
 * large reads keep the cost of a byte low however many streams there are
 * (reading 50 streams a few KiB each per turn ran at a quarter of one
 * stream's speed). epoll is level-triggered for uv_poll_t, so a stream
 * left waiting is simply reported again.
 *
 * Proportional: memory follows the output. A stream is first read into a
 * scratch buffer the loop's streams share, and only what arrived is kept;
 * a busy stream is read straight into its capture buffer, which grows
 * geometrically, with its pipe grown so the child blocks less often. At
 * end of file the capture buffer gives back its slack. A finished small
 * capture costs what it holds.
 *
 * The pages a read fills are faulted in just before it, QUANTUM bytes at
 * a time: read() into untouched pages takes its page faults under the
 * pipe's lock, where the writer then spins instead of filling the pipe;
 * faulting megabytes at once would stall the loop in one go instead, and
 * the zeroed pages would have left the CPU's cache before read() fills
 * them (a single capture ran 15-30% slower in reads of 2 MiB). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* A turn reads at most TURN_BUDGET bytes, and less when reading (and
 * delivering) that much took longer than TURN_TIME: captured bytes cost a
 * page fault each 4 KiB, which on some machines (a VM whose host backs
 * memory lazily) is dearer than the copy, so the budget adapts, halving
 * after a long turn and growing back after a short one. A busy stream's
 * turn is at least QUANTUM bytes: below that, the system calls per byte
 * cost more than the bytes. Measured on a 2-core VM (make bench, "timer"
 * and "capture"). */
#define TURN_BUDGET (2u * 1024 * 1024)
#define QUANTUM (256u * 1024)
#define TURN_TIME_NS (1000u * 1000)
#define SCRATCH_SIZE (64u * 1024)
#define QUIET_MIN (4u * 1024)
/* A busy stream's pipe holds one QUANTUM, what its turn reads, four
 * times the default: the bytes waiting in the pipes of many busy streams
 * then stay in the CPU's cache until they are read (50 captures through
 * pipes of 1 MiB ran 5-10% slower, one capture 10-15% slower). */
#define BUSY_PIPE_SIZE ((int)QUANTUM)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* What the streams of one loop share: their count, the turn's budget,
 * the busy streams' queue and the scratch buffer. An entry lives exactly
 * as long as its loop has streams being read. A loop is driven by one
 * thread at a time, but not always the same one, so the list is the
 * process's, under a lock taken only when a stream starts or ends.
 *
 * The queue is implicit: a busy stream's ticket tells when it last had
 * its turn. The tickets of the busy streams reported in a turn are kept
 * (waiting), and the next turn lets in those holding the smallest. */
struct uvexec__loop_share_s {
  struct uvexec__loop_share_s *next;
  uv_loop_t *loop;
  unsigned readers;
  size_t budget;       /* bytes a turn may read, adapted */
  size_t left;         /* ... of this turn's */
  uint64_t turn;       /* this turn's number */
  uint64_t turn_ms;    /* uv_now() of this turn, to tell turns apart */
  uint64_t turn_start; /* uv_hrtime() when this turn's reading began */
  uint64_t turn_end;   /* ... and when its last read was delivered */
  uint64_t tickets;    /* tickets handed out */
  uint64_t let_in;     /* this turn, busy streams with tickets up to this */
  size_t grant;        /* ... read this much each */
  uint64_t *waiting;   /* tickets of the busy streams reported this turn */
  unsigned nwaiting;
  unsigned waiting_cap;
  char scratch[SCRATCH_SIZE];
};

static pthread_mutex_t shares_lock = PTHREAD_MUTEX_INITIALIZER;
static uvexec__loop_share_t *shares; /* under shares_lock */

/* unlink_share takes s off the list, with shares_lock held. */
static void unlink_share(uvexec__loop_share_t *s) {
  uvexec__loop_share_t **p;

  for (p = &shares; *p != s; p = &(*p)->next)
    ;
  *p = s->next;
}

static int attach(uvexec__reader_t *r, uv_loop_t *loop) {
  uvexec__loop_share_t *s;
  int err = 0;

  pthread_mutex_lock(&shares_lock);
  for (s = shares; s != NULL && s->loop != loop; s = s->next)
    ;
  if (s == NULL && (s = calloc(1, sizeof(*s))) != NULL) {
    s->loop = loop;
    s->budget = TURN_BUDGET; /* the rest is set by the first new_turn() */
    s->next = shares;
    shares = s;
  }
  if (s == NULL) {
    err = UV_ENOMEM;
  } else if (s->readers + 1 > s->waiting_cap) {
    /* Room for every stream's ticket, so a turn never allocates. */
    unsigned cap = s->waiting_cap > 0 ? s->waiting_cap * 2 : 16;
    uint64_t *w = realloc(s->waiting, cap * sizeof(*w));

    if (w == NULL) {
      err = UV_ENOMEM;
      if (s->readers == 0) {
        unlink_share(s);
        free(s);
      }
    } else {
      s->waiting = w;
      s->waiting_cap = cap;
    }
  }
  if (err == 0) {
    s->readers++;
    r->share = s;
    r->turn = 0;
    r->ticket = 0;
    r->faulted = 0;
  }
  pthread_mutex_unlock(&shares_lock);
  return err;
}

static void detach(uvexec__reader_t *r) {
  uvexec__loop_share_t *s = r->share;

  if (s == NULL)
    return;
  r->share = NULL;
  pthread_mutex_lock(&shares_lock);
  if (--s->readers == 0) {
    unlink_share(s);
    free(s->waiting);
    free(s);
  }
  pthread_mutex_unlock(&shares_lock);
}

/* kth_smallest returns the k-th smallest (from 0) of the n distinct
 * values in v, reordering them: quickselect, O(n) on average. */
static uint64_t kth_smallest(uint64_t *v, unsigned n, unsigned k) {
  unsigned lo = 0, hi = n - 1;

  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2, i, at = lo;
    uint64_t pivot = v[mid], t;

    v[mid] = v[hi];
    v[hi] = pivot;
    for (i = lo; i < hi; i++) {
      if (v[i] < pivot) {
        t = v[i];
        v[i] = v[at];
        v[at] = t;
        at++;
      }
    }
    v[hi] = v[at];
    v[at] = pivot;
    if (k == at)
      return pivot;
    if (k < at)
      hi = at - 1;
    else
      lo = at + 1;
  }
  return v[k];
}

/* new_turn starts a turn: the budget adapts to how long the last one took
 * to read, and the busy streams let in are the budget's worth (a QUANTUM
 * each) that waited longest among those reported last turn; when those
 * are fewer, all are let in and share the budget. */
static void new_turn(uvexec__loop_share_t *s, uint64_t now_ms) {
  uint64_t took = s->turn_end - s->turn_start;
  unsigned places;

  if (took > TURN_TIME_NS)
    s->budget /= 2;
  else if (took < TURN_TIME_NS / 2)
    s->budget += s->budget / 4;
  if (s->budget < QUANTUM)
    s->budget = QUANTUM;
  if (s->budget > TURN_BUDGET)
    s->budget = TURN_BUDGET;
  s->left = s->budget;
  places = (unsigned)(s->budget / QUANTUM);
  if (s->nwaiting > places) {
    s->let_in = kth_smallest(s->waiting, s->nwaiting, places - 1);
    s->grant = s->budget / places;
  } else {
    s->let_in = UINT64_MAX;
    s->grant = s->budget / (s->nwaiting > 0 ? s->nwaiting : 1);
  }
  s->nwaiting = 0;
  s->turn++;
  s->turn_ms = now_ms;
  s->turn_start = s->turn_end = uv_hrtime();
}

int uvexec__readers_open(const uvexec_cmd_t *cmd) {
  int i, n = 0;

  for (i = 0; i < 2; i++)
    if (cmd->out[i].fd >= 0 && !cmd->out[i].eof)
      n++;
  return n;
}

void uvexec__reader_abandon(uvexec__reader_t *r) {
  uvexec__poll_close(&r->poll, &r->polling, &r->fd);
  detach(r);
  r->eof = 1;
}

/* deliver hands n new bytes to the callbacks, after the lifecycle, when
 * a ready line is looked for. It returns non-zero when the cmd was freed
 * or the stream abandoned meanwhile, so the caller stops. */
static int deliver(uvexec_cmd_t *cmd, uvexec__reader_t *r, const char *data,
                   size_t n) {
  if ((cmd->ready.ways & UVEXEC__READY_LINE) && !cmd->ready.ready) {
    uvexec__event_t ev = {.type = UVEXEC__EV_OUTPUT};

    ev.data = data;
    ev.len = n;
    ev.which = r == &cmd->out[1];
    uvexec__lifecycle_event(cmd, &ev);
    if (cmd->freed || r->eof)
      return 1;
  }
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
  if (uvexec__bounded(cmd) && r->capture &&
      uvexec__bounds_finish(cmd, r) != 0)
    uvexec__report(cmd, UVEXEC__EV_IO_ERROR, UV_ENOMEM);
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

/* reader_eof ends the stream at its end of file (err 0) or at a read
 * error, and reports it: the last thing done with cmd. */
static void reader_eof(uvexec_cmd_t *cmd, uvexec__reader_t *r, int err) {
  if (!uvexec__reader_end(cmd, r))
    uvexec__report(cmd, UVEXEC__EV_EOF, err);
}

/* room_for_limit tells how many of n new bytes the output limit lets a
 * captured stream keep, and reports when the limit is passed. */
static size_t room_for_limit(uvexec_cmd_t *cmd, uvexec__reader_t *r,
                             size_t n) {
  size_t room, have = uvexec__bounded(cmd) ? r->bounds.seen : r->buf.len;

  if (cmd->output_limit == 0 || have + n <= cmd->output_limit)
    return n;
  room = cmd->output_limit > have ? cmd->output_limit - have : 0;
  r->capture_full = 1;
  uvexec__report(cmd, UVEXEC__EV_LIMIT, 0);
  return room;
}

/* prefault faults in the pages of the len bytes after r's captured ones
 * before a read fills them (see the top of this file), skipping those an
 * earlier read left faulted in. A kernel without MADV_POPULATE_WRITE just
 * faults as before; so does a read into a buffer moved to the heap's
 * copy, whose pages past the data are new. */
static void prefault(uvexec__reader_t *r, size_t len) {
  static uintptr_t page;
  uintptr_t start, end;
  size_t from = r->faulted > r->buf.len ? r->faulted : r->buf.len;

  if (r->buf.len + len <= from)
    return;
  if (page == 0)
    page = (uintptr_t)sysconf(_SC_PAGESIZE); /* a benign race */
  start = ((uintptr_t)r->buf.base + from + page - 1) & ~(page - 1);
  end = ((uintptr_t)r->buf.base + r->buf.len + len) & ~(page - 1);
  if (end > start)
    (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
  r->faulted = r->buf.len + len;
}

/* become_busy marks a stream that filled the scratch buffer: a fast
 * producer, read straight into its capture buffer from now on, through a
 * larger pipe (failing to grow it is harmless), and in the busy streams'
 * queue, at its back. */
static void become_busy(const uvexec_cmd_t *cmd, uvexec__reader_t *r) {
  r->busy = 1;
  r->ticket = ++r->share->tickets;
  if (cmd->pipe_size == 0) /* a size the caller chose stays */
    (void)fcntl(r->fd, F_SETPIPE_SZ, BUSY_PIPE_SIZE);
}

/* may_read tells how many bytes r may read this turn: a quiet stream one
 * read's worth, a busy one the turn's grant if it is let in and the
 * budget is not spent, else none. A busy stream that reads goes to the
 * back of the queue. */
static size_t may_read(uvexec__loop_share_t *s, uvexec__reader_t *r) {
  size_t allowed = 0;

  if (!r->busy)
    return s->left > SCRATCH_SIZE ? SCRATCH_SIZE
           : s->left > QUIET_MIN  ? s->left
                                  : QUIET_MIN;
  if (r->ticket <= s->let_in && s->left > 0) {
    allowed = s->grant;
    r->ticket = ++s->tickets;
  }
  if (s->nwaiting < s->waiting_cap)
    s->waiting[s->nwaiting++] = r->ticket;
  return allowed;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  uvexec_cmd_t *cmd = handle->data;
  uvexec__reader_t *r = handle == &cmd->out[0].poll ? &cmd->out[0]
                                                      : &cmd->out[1];
  uvexec__loop_share_t *s = r->share;
  size_t allowed, spent = 0;

  (void)status;
  (void)events;
  /* A turn reports each readable stream once, and libuv updates its clock
   * once a turn: a stream reported again, or a new clock, is a new turn. */
  if (r->turn == s->turn || uv_now(cmd->loop) != s->turn_ms)
    new_turn(s, uv_now(cmd->loop));
  r->turn = s->turn;
  allowed = may_read(s, r);
  /* An error on the watcher is followed by read()'s own answer below. */
  while (spent < allowed) {
    int direct = r->capture && r->busy && !r->capture_full &&
                 !uvexec__bounded(cmd);
    size_t want = allowed - spent, keep;
    char *into;
    ssize_t n;

    if (direct) {
      size_t room;

      if (want > QUANTUM)
        want = QUANTUM; /* faulted in and filled while in the cache */
      into = uvexec__buf_reserve(&r->buf, want, &room);
      if (into == NULL) {
        reader_eof(cmd, r, UV_ENOMEM);
        return;
      }
      prefault(r, want);
    } else {
      into = s->scratch;
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
      reader_eof(cmd, r, n < 0 && !(r->tty && errno == EIO) ? -errno : 0);
      return;
    }
    spent += (size_t)n;
    s->left = s->left > (size_t)n ? s->left - (size_t)n : 0;
    if (!r->busy && (size_t)n == SCRATCH_SIZE)
      become_busy(cmd, r);

    keep = (size_t)n;
    if (r->capture) {
      keep = r->capture_full ? 0 : room_for_limit(cmd, r, keep);
      if (direct) {
        uvexec__buf_commit(&r->buf, keep);
        into = r->buf.base + r->buf.len - keep;
      } else if (keep > 0 &&
                 (uvexec__bounded(cmd)
                      ? uvexec__bounds_keep(cmd, r, into, keep)
                      : uvexec__buf_append(&r->buf, into, keep)) != 0) {
        reader_eof(cmd, r, UV_ENOMEM);
        return;
      }
    }
    /* The callbacks may free cmd, and with it the last hold on s: the
     * turn's time is taken after them only when they did not. */
    if (keep > 0 && deliver(cmd, r, into, keep))
      return;
    s->turn_end = uv_hrtime();
    if ((size_t)n < want)
      return; /* the pipe is empty for now: no read just to hear EAGAIN */
  }
}

int uvexec__reader_start(uvexec_cmd_t *cmd, uvexec__reader_t *r) {
  int err;

  err = attach(r, cmd->loop);
  if (err != 0)
    return err;
  err = uvexec__poll_watch(cmd, &r->poll, r->fd);
  if (err != 0) {
    detach(r);
    return err;
  }
  r->polling = 1;
  return uv_poll_start(&r->poll, UV_READABLE, on_readable);
}
