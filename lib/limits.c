/* SPDX-License-Identifier: MIT */
/* Limits of a whole tree: memory, processes and CPU, each a cgroup
 * controller, and the memory usage they measure.
 *
 * A limited cmd is contained (contain.c makes its cgroup v2 directory).
 * Each limit goes where its controller is:
 *
 *  - on that v2 directory, when the controller is in its
 *    cgroup.controllers, or can be put there by enabling it in the
 *    parent's cgroup.subtree_control (refused when the parent has
 *    processes of its own, cgroup v2's "no internal processes" rule);
 *  - else in a directory of its own in the controller's cgroup v1
 *    hierarchy (a hybrid host: RHEL 8, Amazon Linux 2, many CI images),
 *    which the child joins before it runs by writing "0" (itself) to its
 *    cgroup.procs, opened here and handed to the engine. The processes
 *    are then in both hierarchies: the v2 directory stays the one that
 *    is watched, signalled and killed.
 *
 * The lifecycle asks this part to open the limits after the v2 directory
 * is made, for the fds the child joins through, for the usage once the
 * tree is gone (before any directory is removed: nothing is sampled), and
 * to close, which removes the v1 directories. This part reports nothing:
 * an OOM kill shows in the usage it reads. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

/* The v1 CPU period: quota = period * milli-CPUs / 1000. */
#define CPU_PERIOD_USEC 100000

static const char *const controller[UVEXEC__LIMITS] = {"memory", "pids",
                                                       "cpu"};

int uvexec__limits_any(const uvexec_cmd_t *cmd) {
  int i;

  for (i = 0; i < UVEXEC__LIMITS; i++)
    if (cmd->limits.value[i] != 0)
      return 1;
  return 0;
}

/* v2_ready tells whether the v2 directory dirfd has controller i, after
 * enabling it in its parent where that is allowed. */
static int v2_ready(int dirfd, int i) {
  int parent, has;
  char add[16];

  has = uvexec__cgroup_has(dirfd, "cgroup.controllers", controller[i]);
  if (has != 0)
    return has > 0;
  parent = openat(dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0)
    return 0;
  if (uvexec__cgroup_has(parent, "cgroup.controllers", controller[i]) > 0) {
    snprintf(add, sizeof(add), "+%s", controller[i]);
    (void)uvexec__cgroup_write(parent, "cgroup.subtree_control", add);
  }
  close(parent);
  return uvexec__cgroup_has(dirfd, "cgroup.controllers", controller[i]) > 0;
}

int uvexec__limits_write_v2(int dirfd, int i, uint64_t value) {
  char text[64];

  if (i == 0) {
    snprintf(text, sizeof(text), "%" PRIu64, value);
    /* Without swap the limit is the memory; with swap, swap is not a way
     * around it. The swap file exists only where swap is accounted. */
    (void)uvexec__cgroup_write(dirfd, "memory.swap.max", "0");
    return uvexec__cgroup_write(dirfd, "memory.max", text);
  }
  if (i == 1) {
    snprintf(text, sizeof(text), "%" PRIu64, value);
    return uvexec__cgroup_write(dirfd, "pids.max", text);
  }
  snprintf(text, sizeof(text), "%" PRIu64 " %d",
           value * CPU_PERIOD_USEC / 1000 < 1000
               ? 1000
               : value * CPU_PERIOD_USEC / 1000,
           CPU_PERIOD_USEC);
  return uvexec__cgroup_write(dirfd, "cpu.max", text);
}

/* set_v1 writes limit i in its v1 directory. */
static int set_v1(int dirfd, int i, uint64_t value) {
  char text[64];
  uint64_t quota;
  int err;

  if (i == 0) {
    snprintf(text, sizeof(text), "%" PRIu64, value);
    err = uvexec__cgroup_write(dirfd, "memory.limit_in_bytes", text);
    if (err == 0) /* memory and swap together, where swap is accounted */
      (void)uvexec__cgroup_write(dirfd, "memory.memsw.limit_in_bytes", text);
    return err;
  }
  if (i == 1) {
    snprintf(text, sizeof(text), "%" PRIu64, value);
    return uvexec__cgroup_write(dirfd, "pids.max", text);
  }
  quota = value * CPU_PERIOD_USEC / 1000;
  if (quota < 1000)
    quota = 1000; /* the kernel's least */
  snprintf(text, sizeof(text), "%d", CPU_PERIOD_USEC);
  err = uvexec__cgroup_write(dirfd, "cpu.cfs_period_us", text);
  if (err == 0) {
    snprintf(text, sizeof(text), "%" PRIu64, quota);
    err = uvexec__cgroup_write(dirfd, "cpu.cfs_quota_us", text);
  }
  return err;
}

/* open_v1 makes limit i's v1 directory, sets the limit and opens its
 * cgroup.procs for the child. */
static int open_v1(uvexec_cmd_t *cmd, int i) {
  uvexec__limits_t *l = &cmd->limits;
  char *parent = NULL, *why = NULL;
  int err;

  err = uvexec__cgroup_v1_parent(controller[i], &parent);
  if (err != 0) {
    uvexec__set_error(cmd,
                      "limit: no %s controller: not in this process's "
                      "cgroup v2 directory's parent, and no cgroup v1 "
                      "hierarchy has it",
                      controller[i]);
    return err == UV_ENOMEM ? err : UV_ENOTSUP;
  }
  err = uvexec__cgroup_make_v1(parent, &l->v1[i], &why);
  if (err != 0) {
    uvexec__set_error(cmd, "limit: %s: %s", controller[i],
                      why != NULL ? why : uvexec_strerror(err));
    free(why);
    free(parent);
    return err;
  }
  free(parent);
  err = set_v1(l->v1[i].dirfd, i, l->value[i]);
  if (err == 0) {
    l->join[i] = openat(l->v1[i].dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (l->join[i] < 0)
      err = -errno;
    else
      l->join[i] = uvexec__fd_move_high(l->join[i]);
  }
  if (err != 0)
    uvexec__set_error(cmd, "limit: %s %s: %s", controller[i], l->v1[i].path,
                      uvexec_strerror(err));
  return err;
}

int uvexec__limits_open(uvexec_cmd_t *cmd, int v2_dirfd) {
  uvexec__limits_t *l = &cmd->limits;
  int i, err;

  l->v2_dirfd = v2_dirfd;
  l->measured = 0;
  l->memory_peak = 0;
  l->oom_kills = 0;
  for (i = 0; i < UVEXEC__LIMITS; i++) {
    if (l->value[i] == 0)
      continue;
    if (v2_dirfd >= 0 && v2_ready(v2_dirfd, i)) {
      err = uvexec__limits_write_v2(v2_dirfd, i, l->value[i]);
      if (err != 0) {
        uvexec__set_error(cmd, "limit: %s: %s", controller[i],
                          uvexec_strerror(err));
        uvexec__limits_close(cmd);
        return err;
      }
      l->v2[i] = 1;
      continue;
    }
    err = open_v1(cmd, i);
    if (err != 0) {
      uvexec__limits_close(cmd);
      return err;
    }
  }
  return 0;
}

int uvexec__limits_join_fds(const uvexec_cmd_t *cmd, int fds[]) {
  int i, n = 0;

  for (i = 0; i < UVEXEC__LIMITS; i++)
    if (cmd->limits.join[i] >= 0)
      fds[n++] = cmd->limits.join[i];
  return n;
}

void uvexec__limits_spawned(uvexec_cmd_t *cmd) {
  int i;

  for (i = 0; i < UVEXEC__LIMITS; i++)
    uvexec__close_fd(&cmd->limits.join[i]);
}

void uvexec__limits_measure(uvexec_cmd_t *cmd) {
  uvexec__limits_t *l = &cmd->limits;
  uint64_t peak = 0, kills = 0;
  int ok;

  if (l->value[0] == 0 || l->measured)
    return;
  if (l->v2[0])
    ok = uvexec__cgroup_read(l->v2_dirfd, "memory.peak", NULL, &peak) == 0 &&
         uvexec__cgroup_read(l->v2_dirfd, "memory.events", "oom_kill",
                             &kills) == 0;
  else
    ok = l->v1[0].dirfd >= 0 &&
         uvexec__cgroup_read(l->v1[0].dirfd, "memory.max_usage_in_bytes",
                             NULL, &peak) == 0 &&
         uvexec__cgroup_read(l->v1[0].dirfd, "memory.oom_control",
                             "oom_kill", &kills) == 0;
  if (!ok)
    return;
  l->measured = 1;
  l->memory_peak = peak;
  l->oom_kills = kills;
}

void uvexec__limits_close(uvexec_cmd_t *cmd) {
  uvexec__limits_t *l = &cmd->limits;
  int i;

  uvexec__limits_spawned(cmd);
  for (i = 0; i < UVEXEC__LIMITS; i++) {
    l->v2[i] = 0;
    if (l->v1[i].path != NULL)
      (void)uvexec__cgroup_remove(&l->v1[i]);
  }
  l->v2_dirfd = -1;
}
