/* SPDX-License-Identifier: MIT */
/* A cmd's libuv handles: how many are open, the one way they are closed,
 * and those someone else closed.
 *
 * A cmd's memory may go only once libuv is done with every handle inside
 * it. Every part of a run counts the handles it opens here and closes
 * them through uvexec__handle_close, whose close callback counts them
 * out; the lifecycle asks to be told when the count reaches zero
 * (uvexec__handles_when_closed). Nothing here knows what a handle is for,
 * and nothing here calls any other file of lib/.
 *
 * An application may end its loop the usual libuv way, uv_walk() closing
 * every handle, while a cmd runs; libuv then calls the application's
 * close callback for cmd's handles, never uvexec's. Such a handle is
 * counted as closed once libuv is through with it, which its flags tell:
 * libuv's private UV_HANDLE_CLOSED, set before the close callback runs
 * (src/uv-common.h, the same value since libuv 1.0; test_cmd's uv_walk
 * cases would see a change as a leak or a crash under ASan and valgrind).
 * When the cmd is released while such closes are still in progress, a
 * timer of the cmd's own (the sweeper) waits for them on the loop: the
 * loop is alive then (libuv would not let it close), and runs on, as it
 * must for the closes to end. */
#include "internal.h"

#define UVEXEC__UV_HANDLE_CLOSED 0x00000002

void uvexec__handle_open(uvexec_cmd_t *cmd, uv_handle_t *handle) {
  handle->data = cmd;
  cmd->handles.open++;
}

/* counted_out counts one handle out, and tells whoever waits once the
 * last one is. */
static void counted_out(uvexec_cmd_t *cmd) {
  void (*cb)(uvexec_cmd_t *cmd) = cmd->handles.all_closed;

  cmd->handles.open--;
  if (cmd->handles.open == 0 && cb != NULL) {
    cmd->handles.all_closed = NULL;
    cb(cmd);
  }
}

static void on_closed(uv_handle_t *handle) {
  counted_out(handle->data);
}

void uvexec__handle_close(uv_handle_t *handle) {
  uvexec_cmd_t *cmd = handle->data;
  uvexec__handles_t *h = &cmd->handles;

  if (!uv_is_closing(handle)) {
    uv_close(handle, on_closed);
    return;
  }
  if (h->nforeign < sizeof(h->foreign) / sizeof(h->foreign[0]))
    h->foreign[h->nforeign++] = handle;
}

/* settle_foreign counts out the foreign-closed handles libuv is done
 * with. It never reaches zero itself: the caller decides what follows. */
static void settle_foreign(uvexec__handles_t *h) {
  unsigned i = 0;

  while (i < h->nforeign) {
    if (h->foreign[i]->flags & UVEXEC__UV_HANDLE_CLOSED) {
      h->foreign[i] = h->foreign[--h->nforeign];
      h->open--;
    } else {
      i++;
    }
  }
}

static void on_sweep(uv_timer_t *timer) {
  uvexec_cmd_t *cmd = timer->data;

  settle_foreign(&cmd->handles);
  if (cmd->handles.nforeign == 0) {
    cmd->handles.sweeping = 0;
    uvexec__handle_close((uv_handle_t *)timer); /* the last, or not */
  }
}

void uvexec__handles_when_closed(uvexec_cmd_t *cmd,
                                 void (*cb)(uvexec_cmd_t *cmd)) {
  uvexec__handles_t *h = &cmd->handles;

  settle_foreign(h);
  if (h->open == 0) {
    cb(cmd);
    return;
  }
  h->all_closed = cb;
  if (h->nforeign == 0 || h->sweeping)
    return;
  if (uv_timer_init(cmd->loop, &h->sweeper) != 0)
    return; /* cannot fail in libuv 1.44 */
  uvexec__handle_open(cmd, (uv_handle_t *)&h->sweeper);
  h->sweeping = 1;
  uv_timer_start(&h->sweeper, on_sweep, 1, 1);
}

int uvexec__poll_watch(uvexec_cmd_t *cmd, uv_poll_t *poll, int fd) {
  int err = uv_poll_init(cmd->loop, poll, fd);

  if (err != 0)
    return err;
  uvexec__handle_open(cmd, (uv_handle_t *)poll);
  return 0;
}

int uvexec__timer_open(uvexec_cmd_t *cmd, uv_timer_t *timer, int *open) {
  int err;

  if (*open)
    return 0;
  err = uv_timer_init(cmd->loop, timer);
  if (err != 0)
    return err;
  uvexec__handle_open(cmd, (uv_handle_t *)timer);
  *open = 1;
  return 0;
}

void uvexec__timer_close(uv_timer_t *timer, int *open) {
  if (*open) {
    uvexec__handle_close((uv_handle_t *)timer);
    *open = 0;
  }
}

void uvexec__poll_close(uv_poll_t *poll, int *polling, int *fd) {
  if (*polling) {
    uvexec__handle_close((uv_handle_t *)poll);
    *polling = 0;
  }
  uvexec__close_fd(fd);
}
