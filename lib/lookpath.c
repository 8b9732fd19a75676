/* SPDX-License-Identifier: MIT */
/* Finding a program the way Go's exec.LookPath does on Unix.
 *
 * A name with a slash in it names its file: it is checked, never searched.
 * A bare name is tried in each PATH entry in order and the first file that
 * could be run wins. A match reached through a relative entry ("", ".",
 * "bin", "../bin") is still reported, but as UVEXEC_EDOT: running it would
 * run whatever the current directory happens to hold, which is how a
 * planted ./ls gets executed, so the caller has to opt in (Go's ErrDot). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* AT_EACCESS */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* libuv's codes are negated errno values on Unix (uv.h keeps its own
 * UV__ERR macro to itself). */
#define ERRNO_CODE(e) (-(e))

/* runnable tells whether path names a file execve() could start: 0, or
 * the negative error that describes why not. A directory, or anything
 * else that is not a regular file, is UV_EACCES, which is what execve()
 * itself answers for one. */
static int runnable(const char *path) {
  struct stat st;

  if (stat(path, &st) != 0)
    return ERRNO_CODE(errno);
  if (!S_ISREG(st.st_mode))
    return UV_EACCES;
  if ((st.st_mode & 0111) == 0)
    return UV_EACCES;

  /* The bits say someone may run it; faccessat with AT_EACCESS asks
   * whether we may, with our effective ids, ACLs and mount flags counted.
   * Where the libc or a seccomp filter refuses the question (ENOSYS,
   * EPERM), the bits are the answer, as in Go. */
  if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
    return 0;
  if (errno == ENOSYS || errno == EPERM)
    return 0;
  return ERRNO_CODE(errno);
}

int uvexec_lookpath_in(const char *file, const char *pathenv, char **path) {
  const char *entry, *end;
  size_t file_len, dir_len;
  char *buf;
  int err;

  if (path == NULL)
    return UV_EINVAL;
  *path = NULL;
  if (file == NULL)
    return UV_EINVAL;

  /* These name the current or parent directory, or nothing: there is no
   * program to find (searching would only find directories). */
  if (file[0] == '\0' || strcmp(file, ".") == 0 || strcmp(file, "..") == 0)
    return UV_ENOENT;

  if (strchr(file, '/') != NULL) {
    err = runnable(file);
    if (err != 0)
      return err;
    *path = strdup(file);
    return *path != NULL ? 0 : UV_ENOMEM;
  }

  /* An unset or empty PATH has no entries at all (Go's SplitList), so a
   * bare name is not found; only an empty entry among others means ".". */
  if (pathenv == NULL || pathenv[0] == '\0')
    return UV_ENOENT;

  /* One buffer fits every candidate: the longest entry is PATH itself. */
  file_len = strlen(file);
  buf = malloc(strlen(pathenv) + 1 + file_len + 2);
  if (buf == NULL)
    return UV_ENOMEM;

  for (entry = pathenv;; entry = end + 1) {
    end = strchr(entry, ':');
    if (end == NULL)
      end = entry + strlen(entry);
    dir_len = (size_t)(end - entry);

    if (dir_len == 0) {
      buf[0] = '.';
      dir_len = 1;
    } else {
      memcpy(buf, entry, dir_len);
      /* "/usr/bin/" joins as "/usr/bin/prog", not "/usr/bin//prog";
       * "/" itself stays. */
      while (dir_len > 1 && buf[dir_len - 1] == '/')
        dir_len--;
    }
    if (buf[dir_len - 1] != '/')
      buf[dir_len++] = '/';
    memcpy(buf + dir_len, file, file_len + 1);

    if (runnable(buf) == 0) {
      *path = buf;
      return buf[0] == '/' ? 0 : UVEXEC_EDOT;
    }
    if (*end == '\0')
      break;
  }

  free(buf);
  return UV_ENOENT;
}

int uvexec_lookpath(const char *file, char **path) {
  return uvexec_lookpath_in(file, getenv("PATH"), path);
}

/* check_in_dir checks a relative explicit name the way it will be run:
 * the child changes into dir first, so "./prog" means dir/prog (Go's
 * Cmd.Path: "relative to Dir"). When dir itself cannot be reached, the
 * name is left unjudged and the code that changes directory reports the
 * directory, which is what Go names in that case ("chdir DIR: ..."). */
static int check_in_dir(const char *name, const char *dir) {
  struct stat st;
  size_t dir_len, name_len;
  char *joined;
  int err;

  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return 0;

  dir_len = strlen(dir);
  name_len = strlen(name);
  joined = malloc(dir_len + 1 + name_len + 1);
  if (joined == NULL)
    return UV_ENOMEM;
  memcpy(joined, dir, dir_len);
  joined[dir_len] = '/';
  memcpy(joined + dir_len + 1, name, name_len + 1);
  err = runnable(joined);
  free(joined);
  return err;
}

/* uvexec__resolve settles which file a start (or uvexec_exec) will run,
 * against the PATH the child will get, and words a failure as Go does. */
int uvexec__resolve(uvexec_cmd_t *cmd, const char *pathenv) {
  const char *name;
  char *found = NULL;
  int err;

  if (cmd == NULL || cmd->argv == NULL || cmd->argv[0] == NULL)
    return UV_EINVAL;
  name = cmd->argv[0];

  free(cmd->path);
  cmd->path = NULL;

  if (strchr(name, '/') != NULL) {
    /* An explicit path. Go does not look it up: the exec in the child
     * fails, and the message is about fork/exec of that path. Checking it
     * here gives the same answer without a child. */
    if (name[0] != '/' && cmd->dir != NULL && cmd->dir[0] != '\0') {
      err = check_in_dir(name, cmd->dir);
      if (err == 0 && (found = strdup(name)) == NULL)
        err = UV_ENOMEM;
    } else {
      err = uvexec_lookpath_in(name, pathenv, &found);
    }
    if (err != 0) {
      uvexec__set_start_error(cmd, err, "fork/exec", name);
      return err;
    }
    cmd->path = found;
    return 0;
  }

  err = uvexec_lookpath_in(name, pathenv, &found);
  switch (err) {
    case 0:
      cmd->path = found;
      return 0;
    case UVEXEC_EDOT:
      /* Keep the path, as Go keeps it in Cmd.Path: the error says why it
       * will not be used. */
      cmd->path = found;
      uvexec__set_error(cmd,
                        "exec: \"%s\": cannot run executable found relative "
                        "to current directory",
                        name);
      return err;
    case UV_ENOENT:
      uvexec__set_error(cmd, "exec: \"%s\": executable file not found in $PATH",
                        name);
      return err;
    default:
      uvexec__set_error(cmd, "exec: \"%s\": %s", name, uvexec_strerror(err));
      return err;
  }
}
