/* SPDX-License-Identifier: MIT */
/* Containment: a command and everything it starts are one tree, in a
 * cgroup v2 directory made for its run (cgroup.c), which the child enters
 * at birth (the clone engine's CLONE_INTO_CGROUP).
 *
 * This part owns the directory and the watch on it, and does what the
 * lifecycle asks: signal every process of the tree, kill it, freeze it,
 * tell whether anything of it is left once the child has exited. When
 * the tree empties after that, it reports UVEXEC__EV_TREE_EMPTY. The
 * decisions (when to stop the tree, what done waits for) are the
 * lifecycle's.
 *
 * The watch is made only when the child's exit leaves something in the
 * tree: a zombie does not count, so at the exit one read of cgroup.events
 * tells whether the tree is empty already, as it is for most commands,
 * and the watch (cgroup.events open, watched for POLLPRI) is the
 * exception, not a cost of every run. The read that arms the watch says
 * again whether anything is left, so no change before it is missed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* How long uvexec_cmd_free waits for a tree it killed to be gone before
 * it removes the directory (SIGKILL makes this short; only a process in
 * uninterruptible sleep can make it long, and then the directory is left
 * for uvexec_contain_sweep). */
#define FREE_WAIT_MS 2000

int uvexec__contain_open(uvexec_cmd_t *cmd) {
  uvexec__contain_t *c = &cmd->contain;
  char *parent = NULL, *why = NULL;
  int err;

  err = uvexec__cgroup_parent(c->parent, &parent);
  if (err != 0) {
    uvexec__set_error(cmd, "contain: no cgroup v2 directory of this "
                           "process's to make it in: %s",
                      uvexec_strerror(err));
    return err;
  }
  err = uvexec__cgroup_make(parent, &c->cg, &why);
  free(parent);
  if (err != 0) {
    if (why != NULL)
      uvexec__set_error(cmd, "%s", why);
    free(why);
    return err;
  }
  c->made = 1;
  return 0;
}

int uvexec__contain_signal(uvexec_cmd_t *cmd, int signum) {
  uvexec__contain_t *c = &cmd->contain;

  if (!c->made || c->empty)
    return UV_ESRCH;
  return uvexec__cgroup_signal(&c->cg, signum);
}

int uvexec__contain_freeze(uvexec_cmd_t *cmd, int on) {
  uvexec__contain_t *c = &cmd->contain;

  if (!c->made || c->empty)
    return UV_ESRCH;
  return uvexec__cgroup_freeze(&c->cg, on);
}

static void close_watch(uvexec__contain_t *c) {
  uvexec__poll_close(&c->poll, &c->polling, &c->watch);
}

static void on_events(uv_poll_t *handle, int status, int events) {
  uvexec_cmd_t *cmd = handle->data;
  uvexec__contain_t *c = &cmd->contain;

  (void)status;
  (void)events;
  if (uvexec__cgroup_watch_read(c->watch) > 0)
    return; /* another change: a freeze, a process moving */
  c->empty = 1;
  close_watch(c);
  uvexec__report(cmd, UVEXEC__EV_TREE_EMPTY, 0);
}

int uvexec__contain_left(uvexec_cmd_t *cmd) {
  uvexec__contain_t *c = &cmd->contain;
  int populated = 0, n, err;

  if (!c->made || c->empty)
    return 0;
  if (uvexec__cgroup_populated(&c->cg) <= 0) {
    c->empty = 1;
    return 0;
  }
  n = uvexec__cgroup_count(&c->cg);
  if (n < 0)
    n = 0;
  c->watch = uvexec__cgroup_watch(&c->cg, &populated);
  if (c->watch >= 0 && populated == 0) {
    close_watch(c); /* emptied since the first read */
    c->empty = 1;
    return n;
  }
  if (c->watch >= 0) {
    err = uvexec__poll_watch(cmd, &c->poll, c->watch);
    if (err == 0) {
      c->polling = 1;
      err = uv_poll_start(&c->poll, UV_PRIORITIZED, on_events);
    }
    if (err == 0)
      return n;
  }
  /* Nothing can watch the tree (no fd left for it): it is killed, and
   * waited for here. */
  close_watch(c);
  (void)uvexec__cgroup_kill(&c->cg);
  (void)uvexec__cgroup_wait_empty(&c->cg, FREE_WAIT_MS);
  c->empty = 1;
  return n;
}

int uvexec__contain_empty(const uvexec_cmd_t *cmd) {
  return !cmd->contain.made || cmd->contain.empty;
}

void uvexec__contain_close(uvexec_cmd_t *cmd) {
  uvexec__contain_t *c = &cmd->contain;

  close_watch(c);
  if (!c->made)
    return;
  if (uvexec__cgroup_populated(&c->cg) > 0) {
    /* Freed with the tree alive: it goes now, as a freed cmd's child
     * does. */
    (void)uvexec__cgroup_kill(&c->cg);
    (void)uvexec__cgroup_wait_empty(&c->cg, FREE_WAIT_MS);
  }
  (void)uvexec__cgroup_remove(&c->cg);
  c->made = 0;
  c->empty = 1;
}

int uvexec__contain_measure(const uvexec_cmd_t *cmd, uint64_t *user,
                            uint64_t *system) {
  const uvexec__contain_t *c = &cmd->contain;
  int err;

  if (!c->made)
    return UV_ESRCH;
  /* cpu.stat's usage is there without the cpu controller (Linux 4.15). */
  err = uvexec__cgroup_read(c->cg.dirfd, "cpu.stat", "user_usec", user);
  if (err == 0)
    err = uvexec__cgroup_read(c->cg.dirfd, "cpu.stat", "system_usec", system);
  return err;
}
