/* The child's environment: the parent's (unless cleared) with the cmd's
 * settings applied, each name at most once, the last setting winning. */
#include <stdlib.h>
#include <string.h>

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

static int same_name(const char *kv, const char *other_kv) {
  size_t n = name_len(kv);

  return n == name_len(other_kv) && memcmp(kv, other_kv, n) == 0;
}

static int overridden(const uvexec_cmd_t *cmd, const char *kv) {
  size_t i, n = name_len(kv);

  for (i = 0; i < cmd->env_count; i++)
    if (strlen(cmd->env[i].name) == n && memcmp(cmd->env[i].name, kv, n) == 0)
      return 1;
  return 0;
}

/* later_duplicate tells whether environ holds kv's name again after index
 * i: the parent's own duplicates are resolved as getenv() users would not
 * expect but Go does, the last one winning. */
static int later_duplicate(char **env, size_t i) {
  size_t j;

  for (j = i + 1; env[j] != NULL; j++)
    if (same_name(env[i], env[j]))
      return 1;
  return 0;
}

/* uvexec__env_build lays out the pointer array and the strings in one
 * malloc'd block, so the caller frees it with one free(). */
int uvexec__env_build(const uvexec_cmd_t *cmd, char ***envp) {
  char **parent = cmd->env_cleared || environ == NULL ? NULL : environ;
  size_t count = 0, bytes = 0, i, n = 0;
  char **out, *strings;

  *envp = NULL;
  for (i = 0; parent != NULL && parent[i] != NULL; i++) {
    if (overridden(cmd, parent[i]) || later_duplicate(parent, i))
      continue;
    count++;
    bytes += strlen(parent[i]) + 1;
  }
  for (i = 0; i < cmd->env_count; i++) {
    if (cmd->env[i].value == NULL)
      continue;
    count++;
    bytes += strlen(cmd->env[i].name) + 1 + strlen(cmd->env[i].value) + 1;
  }

  out = malloc((count + 1) * sizeof(*out) + bytes);
  if (out == NULL)
    return UV_ENOMEM;
  strings = (char *)(out + count + 1);

  for (i = 0; parent != NULL && parent[i] != NULL; i++) {
    size_t len;

    if (overridden(cmd, parent[i]) || later_duplicate(parent, i))
      continue;
    len = strlen(parent[i]) + 1;
    memcpy(strings, parent[i], len);
    out[n++] = strings;
    strings += len;
  }
  for (i = 0; i < cmd->env_count; i++) {
    size_t nlen, vlen;

    if (cmd->env[i].value == NULL)
      continue;
    nlen = strlen(cmd->env[i].name);
    vlen = strlen(cmd->env[i].value);
    memcpy(strings, cmd->env[i].name, nlen);
    strings[nlen] = '=';
    memcpy(strings + nlen + 1, cmd->env[i].value, vlen + 1);
    out[n++] = strings;
    strings += nlen + 1 + vlen + 1;
  }
  out[n] = NULL;
  *envp = out;
  return 0;
}

const char *uvexec__env_lookup(char *const *envp, const char *name) {
  size_t n = strlen(name), i;

  for (i = 0; envp != NULL && envp[i] != NULL; i++)
    if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
      return envp[i] + n + 1;
  return NULL;
}
