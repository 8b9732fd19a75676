/* SPDX-License-Identifier: MIT */
/* The child's environment: the parent's (unless cleared) with the cmd's
 * settings applied, each name at most once, the last setting winning. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

static int valid_name(const char *name) {
  return name != NULL && name[0] != '\0' && strchr(name, '=') == NULL;
}

/* find returns the cmd's entry for name, or NULL. */
static uvexec__env_entry_t *find(uvexec_cmd_t *cmd, const char *name) {
  size_t i;

  for (i = 0; i < cmd->env_count; i++)
    if (strcmp(cmd->env[i].name, name) == 0)
      return &cmd->env[i];
  return NULL;
}

/* put records name as set to value (NULL: removed). */
static int put(uvexec_cmd_t *cmd, const char *name, const char *value) {
  uvexec__env_entry_t *entry, *grown;
  char *name_copy = NULL, *value_copy = NULL;

  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return UV_EBUSY;
  if (!valid_name(name))
    return UV_EINVAL;

  if (value != NULL && (value_copy = strdup(value)) == NULL)
    return UV_ENOMEM;
  entry = find(cmd, name);
  if (entry != NULL) {
    free(entry->value);
    entry->value = value_copy;
    return 0;
  }

  name_copy = strdup(name);
  grown = realloc(cmd->env, (cmd->env_count + 1) * sizeof(*grown));
  if (name_copy == NULL || grown == NULL) {
    free(name_copy);
    free(value_copy);
    if (grown != NULL)
      cmd->env = grown;
    return UV_ENOMEM;
  }
  cmd->env = grown;
  cmd->env[cmd->env_count].name = name_copy;
  cmd->env[cmd->env_count].value = value_copy;
  cmd->env_count++;
  return 0;
}

int uvexec_cmd_setenv(uvexec_cmd_t *cmd, const char *name, const char *value) {
  if (value == NULL)
    return UV_EINVAL;
  return put(cmd, name, value);
}

int uvexec_cmd_unsetenv(uvexec_cmd_t *cmd, const char *name) {
  return put(cmd, name, NULL);
}

int uvexec_cmd_clearenv(uvexec_cmd_t *cmd) {
  size_t i;

  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return UV_EBUSY;
  /* Settings made before the clear are forgotten, as if the environment
   * had been emptied at that moment. */
  for (i = 0; i < cmd->env_count; i++) {
    free(cmd->env[i].name);
    free(cmd->env[i].value);
  }
  free(cmd->env);
  cmd->env = NULL;
  cmd->env_count = 0;
  cmd->env_cleared = 1;
  return 0;
}

/* name_len returns the length of the name in a "NAME=value" string. */
static size_t name_len(const char *kv) {
  const char *eq = strchr(kv, '=');

  return eq != NULL ? (size_t)(eq - kv) : strlen(kv);
}

/* compare_names orders "NAME=value" strings (or bare names) by name. */
static int compare_names(const char *a, size_t alen, const char *b,
                         size_t blen) {
  int c = memcmp(a, b, alen < blen ? alen : blen);

  if (c != 0)
    return c;
  return alen < blen ? -1 : alen > blen;
}

/* The parent's entries are sorted by name, and by position among equal
 * names, so that duplicates and the cmd's overrides are found in
 * O(n log n): with 10,000 inherited variables a quadratic scan blocked the
 * loop for half a second at every start. */
typedef struct {
  const char *kv;
  size_t len; /* of the name */
  size_t pos; /* in environ */
} sorted_t;

static int by_name_then_pos(const void *pa, const void *pb) {
  const sorted_t *a = pa, *b = pb;
  int c = compare_names(a->kv, a->len, b->kv, b->len);

  if (c != 0)
    return c;
  return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int by_entry_name(const void *pa, const void *pb) {
  const uvexec__env_entry_t *const *a = pa, *const *b = pb;

  return strcmp((*a)->name, (*b)->name);
}

/* set_by_cmd tells whether the cmd sets or unsets the name of kv (its
 * entries sorted by name in byname). */
static int set_by_cmd(uvexec__env_entry_t *const *byname, size_t count,
                      const char *kv, size_t len) {
  size_t lo = 0, hi = count;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *name = byname[mid]->name;
    int c = compare_names(kv, len, name, strlen(name));

    if (c == 0)
      return 1;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return 0;
}

/* clean_path appends the lexically cleaned form of the absolute path
 * path (Go's filepath.Clean: no ".", "..", or repeated '/') to out, which
 * has room for strlen(path) + 1 bytes. */
static void clean_path(const char *path, char *out) {
  size_t n = 0;

  while (*path != '\0') {
    const char *seg = path, *end;
    size_t len;

    while (*seg == '/')
      seg++;
    end = strchr(seg, '/');
    if (end == NULL)
      end = seg + strlen(seg);
    len = (size_t)(end - seg);
    path = end;
    if (len == 0 || (len == 1 && seg[0] == '.'))
      continue;
    if (len == 2 && seg[0] == '.' && seg[1] == '.') {
      while (n > 0 && out[n - 1] != '/')
        n--;
      if (n > 0)
        n--; /* the '/' before the dropped segment */
      continue;
    }
    out[n++] = '/';
    memcpy(out + n, seg, len);
    n += len;
  }
  if (n == 0)
    out[n++] = '/';
  out[n] = '\0';
}

/* pwd_for gives the child's PWD for dir: the absolute, cleaned path, as
 * Go's filepath.Abs; NULL when it cannot be had (then PWD is left as it
 * is). malloc'd. */
static char *pwd_for(const char *dir) {
  char *joined, *out;
  size_t len;

  if (dir[0] == '/') {
    joined = strdup(dir);
  } else {
    char *cwd = getcwd(NULL, 0);

    if (cwd == NULL)
      return NULL;
    len = strlen(cwd) + 1 + strlen(dir) + 1;
    joined = malloc(len);
    if (joined != NULL)
      snprintf(joined, len, "%s/%s", cwd, dir);
    free(cwd);
  }
  if (joined == NULL)
    return NULL;
  out = malloc(strlen(joined) + 2);
  if (out != NULL)
    clean_path(joined, out);
  free(joined);
  return out;
}

/* set_by_uvexec tells whether uvexec itself sets the name of kv for the
 * run (NOTIFY_SOCKET, WATCHDOG_USEC: ready.c), which then wins over the
 * parent's and the cmd's. */
static int set_by_uvexec(const char *const *own, size_t nown, const char *kv,
                         size_t len) {
  size_t i;

  for (i = 0; i < nown; i++)
    if (compare_names(kv, len, own[i], name_len(own[i])) == 0)
      return 1;
  return 0;
}

/* uvexec__env_build lays out the pointer array and the strings in one
 * malloc'd block, so the caller frees it with one free(). The parent's
 * entries keep their order, each name at its last occurrence (as Go's
 * dedupEnv keeps the later value); the cmd's settings follow. With a dir
 * and the parent's environment, PWD names that dir, as Go sets it since
 * 1.19, unless the cmd set or unset PWD itself. What uvexec sets for the
 * run itself (the notify socket's name) comes last and wins. */
int uvexec__env_build(const uvexec_cmd_t *cmd, char ***envp) {
  char **parent = cmd->env_cleared || environ == NULL ? NULL : environ;
  const char *own[2];
  size_t nparent = 0, count = 0, bytes = 0, i, n = 0, nown = 0;
  uvexec__env_entry_t **byname = NULL;
  sorted_t *sorted = NULL;
  unsigned char *keep = NULL;
  char **out = NULL, *strings, *pwd = NULL;
  int err = UV_ENOMEM;

  *envp = NULL;
  while (parent != NULL && parent[nparent] != NULL)
    nparent++;
  if (cmd->ready.env_socket[0] != '\0')
    own[nown++] = cmd->ready.env_socket;
  if (cmd->ready.env_watchdog[0] != '\0')
    own[nown++] = cmd->ready.env_watchdog;

  if (cmd->env_count > 0) {
    byname = malloc(cmd->env_count * sizeof(*byname));
    if (byname == NULL)
      goto out;
    for (i = 0; i < cmd->env_count; i++)
      byname[i] = &cmd->env[i];
    qsort(byname, cmd->env_count, sizeof(*byname), by_entry_name);
  }
  if (cmd->dir != NULL && parent != NULL &&
      !set_by_cmd(byname, cmd->env_count, "PWD", 3))
    pwd = pwd_for(cmd->dir);

  if (nparent > 0) {
    sorted = malloc(nparent * sizeof(*sorted));
    keep = calloc(nparent, 1);
    if (sorted == NULL || keep == NULL)
      goto out;
    for (i = 0; i < nparent; i++) {
      sorted[i].kv = parent[i];
      sorted[i].len = name_len(parent[i]);
      sorted[i].pos = i;
    }
    qsort(sorted, nparent, sizeof(*sorted), by_name_then_pos);
    for (i = 0; i < nparent; i++) {
      const sorted_t *e = &sorted[i];

      if (i + 1 < nparent && compare_names(e->kv, e->len, sorted[i + 1].kv,
                                           sorted[i + 1].len) == 0)
        continue; /* a later duplicate wins */
      if (set_by_cmd(byname, cmd->env_count, e->kv, e->len) ||
          set_by_uvexec(own, nown, e->kv, e->len))
        continue;
      if (pwd != NULL && compare_names(e->kv, e->len, "PWD", 3) == 0)
        continue;
      keep[e->pos] = 1;
      count++;
      bytes += strlen(e->kv) + 1;
    }
  }
  for (i = 0; i < cmd->env_count; i++) {
    if (cmd->env[i].value == NULL ||
        set_by_uvexec(own, nown, cmd->env[i].name, strlen(cmd->env[i].name)))
      continue;
    count++;
    bytes += strlen(cmd->env[i].name) + 1 + strlen(cmd->env[i].value) + 1;
  }
  for (i = 0; i < nown; i++) {
    count++;
    bytes += strlen(own[i]) + 1;
  }
  if (pwd != NULL) {
    count++;
    bytes += 4 + strlen(pwd) + 1;
  }

  out = malloc((count + 1) * sizeof(*out) + bytes);
  if (out == NULL)
    goto out;
  strings = (char *)(out + count + 1);

  for (i = 0; i < nparent; i++) {
    size_t len;

    if (!keep[i])
      continue;
    len = strlen(parent[i]) + 1;
    memcpy(strings, parent[i], len);
    out[n++] = strings;
    strings += len;
  }
  for (i = 0; i < cmd->env_count; i++) {
    size_t nlen, vlen;

    if (cmd->env[i].value == NULL ||
        set_by_uvexec(own, nown, cmd->env[i].name, strlen(cmd->env[i].name)))
      continue;
    nlen = strlen(cmd->env[i].name);
    vlen = strlen(cmd->env[i].value);
    memcpy(strings, cmd->env[i].name, nlen);
    strings[nlen] = '=';
    memcpy(strings + nlen + 1, cmd->env[i].value, vlen + 1);
    out[n++] = strings;
    strings += nlen + 1 + vlen + 1;
  }
  if (pwd != NULL) {
    memcpy(strings, "PWD=", 4);
    memcpy(strings + 4, pwd, strlen(pwd) + 1);
    out[n++] = strings;
    strings += 4 + strlen(pwd) + 1;
  }
  for (i = 0; i < nown; i++) {
    memcpy(strings, own[i], strlen(own[i]) + 1);
    out[n++] = strings;
    strings += strlen(own[i]) + 1;
  }
  out[n] = NULL;
  *envp = out;
  err = 0;

out:
  free(byname);
  free(sorted);
  free(keep);
  free(pwd);
  return err;
}

const char *uvexec__env_lookup(char *const *envp, const char *name) {
  size_t n = strlen(name), i;

  for (i = 0; envp != NULL && envp[i] != NULL; i++)
    if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
      return envp[i] + n + 1;
  return NULL;
}

char **uvexec_cmd_environ(const uvexec_cmd_t *cmd) {
  char **envp = NULL;

  if (cmd == NULL || uvexec__env_build(cmd, &envp) != 0)
    return NULL;
  return envp;
}
