/* SPDX-License-Identifier: MIT */
/* Groups: a queue of commands that run at most N at a time on one loop.
 *
 * A group sits above the cmd's interface: it starts a queued cmd with
 * uvexec_start() and a done callback of its own (on_cmd_done), and hands
 * the status on to the caller's done callback from there. The cmd knows
 * nothing of groups; the one field it carries for them (group_node) is
 * read and written here only.
 *
 * Each cmd added gets one node, which is on exactly one of three lists:
 *
 *   queued   added, not started: first in, first out, so commands start
 *            in the order they were added
 *   running  started, done callback still ahead
 *   due      its fate is known but its callback not yet made: a start
 *            that failed, or a skip. These are delivered by an idle handle
 *            on the next turn of the loop, never from inside the call that
 *            decided them (uvexec_group_add, a halt, a cancel), so the
 *            caller's code is never re-entered from its own call.
 *
 * The lists are doubly linked through the nodes, so an add, a start and a
 * completion cost O(1) whatever the size of the queue, and a halt moves
 * the whole queue to the due list in one splice. Queued nodes carry
 * UVEXEC_ESKIPPED as their status from the start, which is what makes the
 * splice enough. Only a cancel walks a list: the running one, bounded by
 * max_running.
 *
 * Retries: a node's cmd is the caller's; when it fails and retries are
 * left, the node runs a copy of it (uvexec_cmd_copy) in the slot it held,
 * at once, and stays on the running list: the failure is not counted and
 * nobody is called. When the last try is done, the caller's cmd takes on
 * its outcome (uvexec__lifecycle_adopt), the copy is freed, and the node
 * is delivered as if the caller's cmd had run once.
 *
 * Lifetime: the caller may free the group from inside any callback. Every
 * function that calls out holds a count (depth) on the group; the memory
 * goes once nobody is inside and the idle handle, if one was opened, has
 * been through its close callback. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

typedef struct node_s node_t;

struct node_s {
  node_t *next, *prev;
  uvexec_group_t *g;
  uvexec_cmd_t *cmd; /* the caller's */
  uvexec_cmd_t *run; /* the try that runs: cmd, or a copy of it (ours) */
  unsigned retries;  /* tries still allowed after this one */
  uvexec_done_cb done_cb;
  int status; /* for a due node: what done_cb gets */
};

typedef struct {
  node_t *head, *tail;
  size_t n;
} list_t;

struct uvexec_group_s {
  /* The caller's loop; for a private group, its own loop while
   * uvexec_group_run runs, else NULL (nothing starts then). */
  uv_loop_t *loop;
  int private_loop;
  uv_loop_t own;
  size_t max_running; /* SIZE_MAX: no limit */
  uvexec_halt_t halt;
  size_t halt_after; /* failures before the halt policy applies; >= 1 */
  unsigned retries;  /* uvexec_group_set_retries */
  void *data;        /* the caller's */

  list_t queued, running, due;
  size_t succeeded, failed, skipped, retried;
  size_t pending;    /* added, done callback not yet called */
  int first_failure; /* the status the wait callback gets */
  int stopped;       /* halted or cancelled: nothing starts any more */

  uvexec_group_cb wait_cb;
  int waiting;      /* uvexec_group_wait was called */
  unsigned in_done; /* done callbacks of its cmds on the stack */
  int wait_done;    /* ... and its callback was called */

  uv_idle_t idle; /* delivers the due callbacks and the wait callback */
  int idle_open;  /* initialized and not yet through its close callback */
  unsigned depth; /* calls into the group that are still on the stack */
  int freed;
};

/* ---- lists ------------------------------------------------------------- */

static void list_push(list_t *l, node_t *n) {
  n->next = NULL;
  n->prev = l->tail;
  if (l->tail != NULL)
    l->tail->next = n;
  else
    l->head = n;
  l->tail = n;
  l->n++;
}

static void list_remove(list_t *l, node_t *n) {
  if (n->prev != NULL)
    n->prev->next = n->next;
  else
    l->head = n->next;
  if (n->next != NULL)
    n->next->prev = n->prev;
  else
    l->tail = n->prev;
  n->next = n->prev = NULL;
  l->n--;
}

static node_t *list_pop(list_t *l) {
  node_t *n = l->head;

  if (n != NULL)
    list_remove(l, n);
  return n;
}

/* list_splice moves every node of src to the end of dst. */
static void list_splice(list_t *dst, list_t *src) {
  if (src->head == NULL)
    return;
  if (dst->tail != NULL) {
    dst->tail->next = src->head;
    src->head->prev = dst->tail;
  } else {
    dst->head = src->head;
  }
  dst->tail = src->tail;
  dst->n += src->n;
  src->head = src->tail = NULL;
  src->n = 0;
}

/* forget_retry frees the copy a node runs for a retry, if any: the group
 * is gone, or the copy's outcome was taken. Freeing a copy that still runs
 * kills and reaps its child. */
static void forget_retry(node_t *n) {
  n->cmd->forward = NULL;
  if (n->run != n->cmd) {
    n->run->group_node = NULL;
    uvexec_cmd_free(n->run);
  }
  n->run = n->cmd;
}

/* drop releases every node of l without a callback, cutting its cmd loose
 * so that the cmd may join another group. */
static void drop(list_t *l) {
  node_t *n;

  while ((n = list_pop(l)) != NULL) {
    n->cmd->group_node = NULL;
    forget_retry(n);
    free(n);
  }
}

/* ---- lifetime ------------------------------------------------------------ */

static void maybe_release(uvexec_group_t *g) {
  if (g->freed && g->depth == 0 && !g->idle_open)
    free(g);
}

/* leave ends a call that held the group; g may be gone afterwards. */
static void leave(uvexec_group_t *g) {
  g->depth--;
  maybe_release(g);
}

static void on_idle_closed(uv_handle_t *handle) {
  uvexec_group_t *g = handle->data;

  g->idle_open = 0;
  maybe_release(g);
}

/* ---- callbacks ------------------------------------------------------------
 */

static void on_idle(uv_idle_t *idle);

/* kick makes the idle handle run on the next turn of the loop. A private
 * group outside uvexec_group_run has no loop: run kicks it on entry. */
static void kick(uvexec_group_t *g) {
  if (g->loop == NULL || g->freed)
    return;
  if (!g->idle_open) {
    /* uv_idle_init cannot fail (libuv 1.44 answers 0 unconditionally). */
    uv_idle_init(g->loop, &g->idle);
    g->idle.data = g;
    g->idle_open = 1;
  }
  uv_idle_start(&g->idle, on_idle);
}

/* deliver calls a node's done callback, after forgetting the node: the
 * callback may free its cmd, add to the group or free it. */
static void deliver(uvexec_group_t *g, node_t *n) {
  uvexec_cmd_t *cmd = n->cmd;
  uvexec_done_cb cb = n->done_cb;
  int status = n->status;

  cmd->group_node = NULL;
  free(n);
  g->pending--;
  if (status == UVEXEC_ESKIPPED)
    uvexec__set_error(cmd, "%s", uvexec_strerror(UVEXEC_ESKIPPED));
  if (cb != NULL) {
    g->in_done++;
    cb(cmd, status); /* the caller holds g: it outlives the call */
    g->in_done--;
  }
}

/* settle calls the wait callback once nothing is pending. Only from the
 * loop's callbacks, after the last done callback has returned. */
static void settle(uvexec_group_t *g) {
  if (g->freed || !g->waiting || g->wait_done || g->pending > 0)
    return;
  g->wait_done = 1;
  g->wait_cb(g, g->first_failure);
}

/* stop starts nothing more: the queued are skipped, and with cancel the
 * running are cancelled. Nothing calls back from here; uvexec_cancel
 * defers whatever follows to the loop. */
static void stop(uvexec_group_t *g, int cancel) {
  node_t *n;

  g->stopped = 1;
  g->skipped += g->queued.n;
  list_splice(&g->due, &g->queued);
  if (cancel)
    for (n = g->running.head; n != NULL; n = n->next)
      uvexec_cancel(n->run);
  if (g->due.head != NULL)
    kick(g);
}

/* record counts an outcome and applies the halt policy to a failure. */
static void record(uvexec_group_t *g, int status) {
  if (status == 0) {
    g->succeeded++;
    return;
  }
  g->failed++;
  if (g->first_failure == 0)
    g->first_failure = status;
  if (g->halt != UVEXEC_HALT_NEVER && !g->stopped && g->failed >= g->halt_after)
    stop(g, g->halt == UVEXEC_HALT_NOW);
}

static void on_cmd_done(uvexec_cmd_t *cmd, int status);

/* retry runs a failed node again, as a copy of the caller's cmd in the
 * slot it holds, and answers 1; 0 when its failure is final: no tries
 * left, the group stopped, a cancel (which asked for the end), or no copy
 * or no start to be had (what is final then is the failure just seen). */
static int retry(uvexec_group_t *g, node_t *n, int status) {
  uvexec_cmd_t *copy;

  /* A stdin stream's bytes went to the try that failed, and are not
   * kept: a copy would wait for input that never comes. */
  if (n->retries == 0 || g->stopped || g->freed || status == UV_ECANCELED ||
      n->cmd->in.streaming)
    return 0;
  copy = uvexec_cmd_copy(n->cmd);
  if (copy == NULL)
    return 0;
  copy->group_node = n;
  if (uvexec_start(copy, g->loop, on_cmd_done) != 0) {
    copy->group_node = NULL;
    uvexec_cmd_free(copy);
    return 0;
  }
  /* The try that just failed is done with: a copy is ours to free (the
   * caller's cmd, after its first try, waits for the last one's outcome). */
  if (n->run != n->cmd) {
    n->run->group_node = NULL;
    uvexec_cmd_free(n->run);
  }
  n->run = copy;
  n->cmd->forward = copy; /* the caller's cancel, kill, pid reach it */
  n->retries--;
  g->retried++;
  return 1;
}

/* pump starts queued cmds while there are free slots. A start that fails
 * counts as failed, frees its slot at once, and is reported through the
 * loop. */
static void pump(uvexec_group_t *g) {
  node_t *n;
  int err;

  if (g->loop == NULL)
    return;
  while (!g->stopped && g->running.n < g->max_running &&
         (n = list_pop(&g->queued)) != NULL) {
    err = uvexec_start(n->run, g->loop, on_cmd_done);
    if (err == 0) {
      list_push(&g->running, n);
      continue;
    }
    n->status = err;
    list_push(&g->due, n);
    kick(g);
    record(g, err);
  }
}

/* on_cmd_done is every started cmd's done callback: the cmd is wholly done
 * (exit and end of file), so its slot frees now. A cmd whose group was
 * freed has no node any more and is not reported. */
static void on_cmd_done(uvexec_cmd_t *cmd, int status) {
  node_t *n = cmd->group_node;
  uvexec_group_t *g;

  if (n == NULL)
    return;
  g = n->g;
  if (status != 0 && retry(g, n, status))
    return;
  if (n->run != n->cmd) {
    uvexec__lifecycle_adopt(n->cmd, n->run);
    forget_retry(n);
  }
  list_remove(&g->running, n);
  n->status = status;
  g->depth++;
  record(g, status);
  /* The slot goes to the next cmd before the callback runs, so a slow
   * callback does not leave it idle; a halt the failure caused, or a
   * cancel from the callback, still stops that cmd. */
  pump(g);
  deliver(g, n);
  if (!g->freed)
    settle(g);
  leave(g);
}

static void on_idle(uv_idle_t *idle) {
  uvexec_group_t *g = idle->data;
  node_t *last = g->due.tail, *n;

  g->depth++;
  /* Only what was due when this turn began: a callback that adds to a
   * stopped group makes more due, for the next turn, so an endless
   * producer cannot starve the loop. */
  while (last != NULL && !g->freed && (n = list_pop(&g->due)) != NULL) {
    int was_last = n == last;

    deliver(g, n);
    if (was_last)
      break;
  }
  if (!g->freed) {
    if (g->due.head == NULL)
      uv_idle_stop(idle);
    settle(g);
  }
  leave(g);
}

/* ---- the API ---------------------------------------------------------- */

uvexec_group_t *uvexec_group_new(uv_loop_t *loop, size_t max_running) {
  uvexec_group_t *g = calloc(1, sizeof(*g));

  if (g == NULL)
    return NULL;
  g->loop = loop;
  g->private_loop = loop == NULL;
  g->max_running = max_running == 0 ? SIZE_MAX : max_running;
  g->halt = UVEXEC_HALT_NEVER;
  g->halt_after = 1;
  return g;
}

void uvexec_group_set_data(uvexec_group_t *g, void *data) {
  if (g != NULL)
    g->data = data;
}

void *uvexec_group_data(const uvexec_group_t *g) {
  return g != NULL ? g->data : NULL;
}

int uvexec_group_add(uvexec_group_t *g, uvexec_cmd_t *cmd,
                     uvexec_done_cb done_cb) {
  node_t *n;

  if (g == NULL || g->freed || cmd == NULL || cmd->freed)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return UV_EALREADY;
  /* Once waited on, the group takes more work only from its cmds' done
   * callbacks, whose adds the wait then covers too. */
  if (cmd->group_node != NULL || cmd->pipeline != NULL || g->wait_done ||
      (g->waiting && g->in_done == 0))
    return UV_EBUSY;
  n = malloc(sizeof(*n));
  if (n == NULL)
    return UV_ENOMEM;
  n->g = g;
  n->cmd = cmd;
  n->run = cmd;
  n->retries = g->retries;
  n->done_cb = done_cb;
  n->status = UVEXEC_ESKIPPED;
  cmd->group_node = n;
  g->pending++;

  if (g->stopped) {
    g->skipped++;
    list_push(&g->due, n);
    kick(g);
    return 0;
  }
  list_push(&g->queued, n);
  pump(g);
  return 0;
}

int uvexec_group_set_halt(uvexec_group_t *g, uvexec_halt_t how) {
  if (g == NULL || g->freed)
    return UV_EINVAL;
  if (how != UVEXEC_HALT_NEVER && how != UVEXEC_HALT_SOON &&
      how != UVEXEC_HALT_NOW)
    return UV_EINVAL;
  g->halt = how;
  return 0;
}

int uvexec_group_set_retries(uvexec_group_t *g, unsigned n) {
  if (g == NULL || g->freed)
    return UV_EINVAL;
  g->retries = n;
  return 0;
}

int uvexec_group_set_halt_after(uvexec_group_t *g, unsigned failures) {
  if (g == NULL || g->freed || failures == 0)
    return UV_EINVAL;
  g->halt_after = failures;
  return 0;
}

int uvexec_group_count(const uvexec_group_t *g, int what) {
  size_t total = 0;

  if (g == NULL || what == 0 || (what & ~UVEXEC_COUNT_ALL) != 0)
    return UV_EINVAL;
  if (what & UVEXEC_COUNT_QUEUED)
    total += g->queued.n;
  if (what & UVEXEC_COUNT_RUNNING)
    total += g->running.n;
  if (what & UVEXEC_COUNT_SUCCEEDED)
    total += g->succeeded;
  if (what & UVEXEC_COUNT_FAILED)
    total += g->failed;
  if (what & UVEXEC_COUNT_SKIPPED)
    total += g->skipped;
  return total > INT_MAX ? INT_MAX : (int)total;
}

int uvexec_group_wait(uvexec_group_t *g, uvexec_group_cb cb) {
  if (g == NULL || g->freed || cb == NULL)
    return UV_EINVAL;
  if (g->waiting)
    return UV_EALREADY;
  g->waiting = 1;
  g->wait_cb = cb;
  if (g->pending == 0)
    kick(g); /* all done already: the answer still comes through the loop */
  return 0;
}

int uvexec_group_run(uvexec_group_t *g) {
  int err, status;

  if (g == NULL || g->freed || !g->private_loop)
    return UV_EINVAL;
  if (g->loop != NULL)
    return UV_EBUSY; /* from inside its own callbacks */
  err = uv_loop_init(&g->own);
  if (err != 0)
    return err;
  g->loop = &g->own;
  g->depth++;

  pump(g);
  if (g->due.head != NULL || (g->waiting && !g->wait_done && g->pending == 0))
    kick(g);
  /* The loop runs out of work once every cmd is done and delivered: a
   * queued cmd always has a running one or a due callback ahead of it.
   * After a free from a callback, it runs on until the cancelled children
   * are reaped. */
  uv_run(&g->own, UV_RUN_DEFAULT);
  status = g->first_failure;

  if (g->idle_open) {
    uv_close((uv_handle_t *)&g->idle, on_idle_closed);
    uv_run(&g->own, UV_RUN_DEFAULT);
  }
  err = uv_loop_close(&g->own);
  g->loop = NULL;
  leave(g); /* releases g if it was freed meanwhile */
  return err != 0 ? err : status;
}

int uvexec_group_cancel(uvexec_group_t *g) {
  if (g == NULL || g->freed)
    return UV_EINVAL;
  if (g->first_failure == 0 && (g->queued.n > 0 || g->running.n > 0))
    g->first_failure = UV_ECANCELED;
  stop(g, 1);
  return 0;
}

void uvexec_group_free(uvexec_group_t *g) {
  node_t *n;

  if (g == NULL || g->freed)
    return;
  g->freed = 1;
  /* Running cmds are cancelled and cut loose: their done callbacks still
   * come to on_cmd_done, which finds no node and keeps quiet. The cmds are
   * the caller's; freeing one later kills and reaps what is left of it. */
  for (n = g->running.head; n != NULL; n = n->next)
    uvexec_cancel(n->run);
  drop(&g->running);
  drop(&g->queued);
  drop(&g->due);
  if (g->idle_open && !uv_is_closing((uv_handle_t *)&g->idle))
    uv_close((uv_handle_t *)&g->idle, on_idle_closed);
  maybe_release(g);
}
