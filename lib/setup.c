/* SPDX-License-Identifier: MIT */
/* Child setup: the setters for what the child is given before it runs its
 * program (death signal, limits, umask, nice, groups, cgroup, containment,
 * which fds it keeps). They only record; the clone engine (engine_clone.c) applies
 * them in the child, and the other engines refuse what they cannot do. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "internal.h"

int uvexec_cmd_set_pdeathsig(uvexec_cmd_t *cmd, int sig) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (sig < 0 || sig >= NSIG)
    return UV_EINVAL;
  cmd->setup.pdeathsig = sig;
  return 0;
}

int uvexec_cmd_set_rlimit(uvexec_cmd_t *cmd, int resource, uint64_t soft,
                          uint64_t hard) {
  uvexec__setup_t *s;
  uvexec__rlimit_t *list;
  size_t i;

  UVEXEC__GUARD_CONFIG(cmd);
  if (resource < 0 || resource >= RLIM_NLIMITS || soft > hard)
    return UV_EINVAL;
  s = &cmd->setup;
  for (i = 0; i < s->rlimit_count; i++) {
    if (s->rlimits[i].resource == resource) {
      s->rlimits[i].soft = soft;
      s->rlimits[i].hard = hard;
      return 0;
    }
  }
  list = realloc(s->rlimits, (s->rlimit_count + 1) * sizeof(*list));
  if (list == NULL)
    return UV_ENOMEM;
  list[s->rlimit_count].soft = soft;
  list[s->rlimit_count].hard = hard;
  list[s->rlimit_count].resource = resource;
  s->rlimits = list;
  s->rlimit_count++;
  return 0;
}

int uvexec_cmd_set_umask(uvexec_cmd_t *cmd, unsigned int mask) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (mask > 0777)
    return UV_EINVAL;
  cmd->setup.set_umask = 1;
  cmd->setup.umask = mask;
  return 0;
}

int uvexec_cmd_set_nice(uvexec_cmd_t *cmd, int inc) {
  UVEXEC__GUARD_CONFIG(cmd);
  /* Anything beyond the full range of 40 steps is the range itself. */
  if (inc > 40)
    inc = 40;
  if (inc < -40)
    inc = -40;
  cmd->setup.set_nice = 1;
  cmd->setup.nice = inc;
  return 0;
}

int uvexec_cmd_set_groups(uvexec_cmd_t *cmd, const uv_gid_t *gids, size_t n) {
  uv_gid_t *copy = NULL;

  UVEXEC__GUARD_CONFIG(cmd);
  if (gids == NULL && n > 0)
    return UV_EINVAL;
  if (n > 65536) /* the kernel's NGROUPS_MAX */
    return UV_EINVAL;
  if (n > 0) {
    copy = malloc(n * sizeof(*copy));
    if (copy == NULL)
      return UV_ENOMEM;
    memcpy(copy, gids, n * sizeof(*copy));
  }
  free(cmd->setup.groups);
  cmd->setup.groups = copy;
  cmd->setup.group_count = n;
  cmd->setup.set_groups = 1;
  return 0;
}

int uvexec_cmd_set_cgroup(uvexec_cmd_t *cmd, const char *path) {
  char *copy = NULL;

  UVEXEC__GUARD_CONFIG(cmd);
  if (path != NULL && path[0] != '\0') {
    copy = strdup(path);
    if (copy == NULL)
      return UV_ENOMEM;
  }
  free(cmd->setup.cgroup);
  cmd->setup.cgroup = copy;
  return 0;
}

int uvexec_cmd_set_contain(uvexec_cmd_t *cmd, const char *parent) {
  char *copy = NULL;

  UVEXEC__GUARD_CONFIG(cmd);
  if (parent != NULL && parent[0] != '\0') {
    copy = strdup(parent);
    if (copy == NULL)
      return UV_ENOMEM;
  }
  free(cmd->contain.parent);
  cmd->contain.parent = copy;
  cmd->contain.on = 1;
  return 0;
}

int uvexec_cmd_set_limit(uvexec_cmd_t *cmd, int what, uint64_t value) {
  int i;

  UVEXEC__GUARD_CONFIG(cmd);
  if (what == UVEXEC_LIMIT_MEMORY)
    i = 0;
  else if (what == UVEXEC_LIMIT_PIDS)
    i = 1;
  else if (what == UVEXEC_LIMIT_CPU)
    i = 2;
  else
    return UV_EINVAL;
  /* Bounds that keep every file's arithmetic exact: a million CPUs, the
   * kernel's most pids (PID_MAX_LIMIT). */
  if (value == 0 || value > INT64_MAX || (i == 1 && value > 4194304) ||
      (i == 2 && value > 1000000000))
    return UV_EINVAL;
  cmd->limits.value[i] = value;
  cmd->contain.on = 1; /* a limit is a limit of the whole tree */
  return 0;
}

/* ---- the sandbox ------------------------------------------------------------ */

#define NS_ALL                                                                \
  (UVEXEC_NS_USER | UVEXEC_NS_PID | UVEXEC_NS_NET | UVEXEC_NS_MOUNT |         \
   UVEXEC_NS_IPC | UVEXEC_NS_UTS | UVEXEC_NS_CGROUP)

int uvexec__setup_sandboxed(const uvexec_cmd_t *cmd) {
  const uvexec__setup_t *s = &cmd->setup;

  return s->ns != 0 || s->root != NULL || s->path_count > 0 ||
         s->no_new_privs || s->filter_len > 0 || s->cap_count > 0;
}

int uvexec_cmd_set_namespaces(uvexec_cmd_t *cmd, int flags) {
  UVEXEC__GUARD_CONFIG(cmd);
  if ((flags & ~NS_ALL) != 0)
    return UV_EINVAL;
  cmd->setup.ns = flags;
  return 0;
}

static int set_map(uvexec_cmd_t *cmd, uint32_t *map, int *set,
                   uint32_t inside, uint32_t outside, uint32_t count) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (count == 0 || inside + (uint64_t)count > UINT32_MAX ||
      outside + (uint64_t)count > UINT32_MAX)
    return UV_EINVAL;
  map[0] = inside;
  map[1] = outside;
  map[2] = count;
  *set = 1;
  return 0;
}

int uvexec_cmd_set_uid_map(uvexec_cmd_t *cmd, uint32_t inside,
                           uint32_t outside, uint32_t count) {
  if (cmd == NULL)
    return UV_EINVAL;
  return set_map(cmd, cmd->setup.uid_map, &cmd->setup.set_uid_map, inside,
                 outside, count);
}

int uvexec_cmd_set_gid_map(uvexec_cmd_t *cmd, uint32_t inside,
                           uint32_t outside, uint32_t count) {
  if (cmd == NULL)
    return UV_EINVAL;
  return set_map(cmd, cmd->setup.gid_map, &cmd->setup.set_gid_map, inside,
                 outside, count);
}

int uvexec_cmd_set_root(uvexec_cmd_t *cmd, const char *dir) {
  char *copy = NULL;

  UVEXEC__GUARD_CONFIG(cmd);
  if (dir != NULL && dir[0] != '\0' && (copy = strdup(dir)) == NULL)
    return UV_ENOMEM;
  free(cmd->setup.root);
  cmd->setup.root = copy;
  return 0;
}

int uvexec_cmd_allow_path(uvexec_cmd_t *cmd, const char *path, int access) {
  uvexec__path_rule_t *grown;
  char *copy;

  UVEXEC__GUARD_CONFIG(cmd);
  if (path == NULL || path[0] == '\0' || access == 0 ||
      (access & ~(UVEXEC_FS_READ | UVEXEC_FS_WRITE | UVEXEC_FS_EXEC)) != 0)
    return UV_EINVAL;
  copy = strdup(path);
  grown = realloc(cmd->setup.paths,
                  (cmd->setup.path_count + 1) * sizeof(*grown));
  if (copy == NULL || grown == NULL) {
    free(copy);
    if (grown != NULL)
      cmd->setup.paths = grown;
    return UV_ENOMEM;
  }
  cmd->setup.paths = grown;
  grown[cmd->setup.path_count].path = copy;
  grown[cmd->setup.path_count].access = access;
  cmd->setup.path_count++;
  return 0;
}

int uvexec_cmd_set_no_new_privs(uvexec_cmd_t *cmd, int on) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->setup.no_new_privs = on != 0;
  return 0;
}

int uvexec_cmd_set_seccomp(uvexec_cmd_t *cmd, const void *filter,
                           size_t len) {
  void *copy;

  UVEXEC__GUARD_CONFIG(cmd);
  if (filter == NULL || len == 0 || len % 8 != 0 || len / 8 > 4096)
    return UV_EINVAL;
  copy = malloc(len);
  if (copy == NULL)
    return UV_ENOMEM;
  memcpy(copy, filter, len);
  free(cmd->setup.filter);
  cmd->setup.filter = copy;
  cmd->setup.filter_len = len;
  return 0;
}

int uvexec_cmd_set_ambient_caps(uvexec_cmd_t *cmd, const int *caps,
                                size_t n) {
  int *copy = NULL;
  size_t i;

  UVEXEC__GUARD_CONFIG(cmd);
  if (n > 64 || (n > 0 && caps == NULL))
    return UV_EINVAL;
  for (i = 0; i < n; i++)
    if (caps[i] < 0 || caps[i] > 63)
      return UV_EINVAL;
  if (n > 0) {
    copy = malloc(n * sizeof(*copy));
    if (copy == NULL)
      return UV_ENOMEM;
    memcpy(copy, caps, n * sizeof(*copy));
  }
  free(cmd->setup.caps);
  cmd->setup.caps = copy;
  cmd->setup.cap_count = n;
  return 0;
}

int uvexec_cmd_set_close_fds(uvexec_cmd_t *cmd, int on) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->setup.keep_fds = on == 0;
  return 0;
}

int uvexec__setup_needs_clone(const uvexec_cmd_t *cmd) {
  const uvexec__setup_t *s = &cmd->setup;

  return s->pdeathsig != 0 || s->rlimit_count > 0 || s->set_umask ||
         s->set_nice || s->set_groups || s->cgroup != NULL ||
         cmd->contain.on || uvexec__setup_sandboxed(cmd);
}

void uvexec__setup_release(uvexec_cmd_t *cmd) {
  size_t i;

  for (i = 0; i < cmd->setup.path_count; i++)
    free(cmd->setup.paths[i].path);
  free(cmd->setup.paths);
  free(cmd->setup.root);
  free(cmd->setup.filter);
  free(cmd->setup.caps);
  free(cmd->setup.rlimits);
  free(cmd->setup.groups);
  free(cmd->setup.cgroup);
  memset(&cmd->setup, 0, sizeof(cmd->setup));
  free(cmd->contain.parent);
  cmd->contain.parent = NULL;
}

/* dup_or_null copies a string that may be NULL; 0 or UV_ENOMEM. */
static int dup_or_null(char **to, const char *from) {
  *to = NULL;
  if (from != NULL && (*to = strdup(from)) == NULL)
    return UV_ENOMEM;
  return 0;
}

int uvexec__setup_copy(uvexec_cmd_t *to, const uvexec_cmd_t *from) {
  const uvexec__setup_t *s = &from->setup;
  uvexec__setup_t *t = &to->setup;

  *t = *s;
  t->rlimits = NULL;
  t->groups = NULL;
  t->cgroup = NULL;
  t->root = NULL;
  t->paths = NULL;
  t->path_count = 0;
  t->filter = NULL;
  t->caps = NULL;
  if (dup_or_null(&t->root, s->root) != 0)
    return UV_ENOMEM;
  if (s->path_count > 0) {
    size_t i;

    t->paths = calloc(s->path_count, sizeof(*t->paths));
    if (t->paths == NULL)
      return UV_ENOMEM;
    for (i = 0; i < s->path_count; i++) {
      t->paths[i].access = s->paths[i].access;
      t->path_count = i + 1;
      if (dup_or_null(&t->paths[i].path, s->paths[i].path) != 0)
        return UV_ENOMEM;
    }
  }
  if (s->filter_len > 0) {
    t->filter = malloc(s->filter_len);
    if (t->filter == NULL)
      return UV_ENOMEM;
    memcpy(t->filter, s->filter, s->filter_len);
  }
  if (s->cap_count > 0) {
    t->caps = malloc(s->cap_count * sizeof(*t->caps));
    if (t->caps == NULL)
      return UV_ENOMEM;
    memcpy(t->caps, s->caps, s->cap_count * sizeof(*t->caps));
  }
  to->contain.on = from->contain.on;
  to->contain.parent = NULL;
  memcpy(to->limits.value, from->limits.value, sizeof(to->limits.value));
  if (s->rlimit_count > 0) {
    t->rlimits = malloc(s->rlimit_count * sizeof(*t->rlimits));
    if (t->rlimits == NULL)
      return UV_ENOMEM;
    memcpy(t->rlimits, s->rlimits, s->rlimit_count * sizeof(*t->rlimits));
  }
  if (s->group_count > 0) {
    t->groups = malloc(s->group_count * sizeof(*t->groups));
    if (t->groups == NULL)
      return UV_ENOMEM;
    memcpy(t->groups, s->groups, s->group_count * sizeof(*t->groups));
  }
  if (dup_or_null(&t->cgroup, s->cgroup) != 0 ||
      dup_or_null(&to->contain.parent, from->contain.parent) != 0)
    return UV_ENOMEM;
  return 0;
}
