/* SPDX-License-Identifier: MIT */
/* What a start settles before any child exists: which engine starts it,
 * the environment it gets, the program looked up in that environment's
 * PATH, and its directory. Nothing here creates anything, so a start
 * (and a pipeline's start, for every member at once) can fail here
 * leaving nothing behind. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* default_engine reads UVEXEC_ENGINE at each start: the test suite runs
 * whole suites against each engine this way. */
static uvexec_engine_t default_engine(void) {
  const char *name = getenv("UVEXEC_ENGINE");

  if (name != NULL && strcmp(name, "uv") == 0)
    return UVEXEC_ENGINE_UV;
  /* "posix_spawn" names the engine the clone engine replaced. */
  if (name != NULL &&
      (strcmp(name, "clone") == 0 || strcmp(name, "posix_spawn") == 0))
    return UVEXEC_ENGINE_CLONE;
  return UVEXEC_ENGINE_AUTO;
}

uvexec_engine_t uvexec__choose_engine(const uvexec_cmd_t *cmd) {
  uvexec_engine_t engine = cmd->engine;

  if (engine == UVEXEC_ENGINE_AUTO)
    engine = default_engine();
  if (engine == UVEXEC_ENGINE_AUTO) {
    /* The clone engine does everything posix_spawn does at the same
     * cost, takes its pidfd at birth, and does child setup and uid/gid
     * (where libuv would fork). Without pidfds the uv engine still does
     * uid and gid; child setup then fails on the clone engine with
     * UV_ENOSYS, plainly, and so does a process group; a terminal is
     * refused by the uv engine (UV_ENOTSUP), as documented. */
    if (uvexec__have_pidfd() || uvexec__setup_needs_clone(cmd) ||
        cmd->set_pgid || cmd->detached || cmd->fg.fd >= 0)
      return UVEXEC_ENGINE_CLONE;
    return UVEXEC_ENGINE_UV;
  }
  if (engine == UVEXEC_ENGINE_POSIX_SPAWN)
    return UVEXEC_ENGINE_CLONE;
  return engine;
}

/* check_dir gives the error Go gives for a bad Dir, before anything is
 * created: the file named is the directory, not the program. */
static int check_dir(uvexec_cmd_t *cmd) {
  struct stat st;
  int err;

  if (cmd->dir == NULL)
    return 0;
  if (stat(cmd->dir, &st) != 0)
    err = -errno;
  else if (!S_ISDIR(st.st_mode))
    err = UV_ENOTDIR;
  else
    return 0;
  uvexec__set_start_error(cmd, err, "chdir", cmd->dir);
  return err;
}

/* uvexec__engine_can_group tells whether cmd would start through an
 * engine that can put the child in a process group of the caller's
 * choosing (uvexec_cmd_set_pgid): the clone engine can, uv_spawn cannot. */
int uvexec__engine_can_group(const uvexec_cmd_t *cmd) {
  return uvexec__choose_engine(cmd) == UVEXEC_ENGINE_CLONE &&
         uvexec__have_pidfd();
}

/* uvexec__preflight does the checks of a start that create nothing: the
 * child's environment, the program looked up in the PATH it holds, the
 * directory. On failure the cmd's error names the file, and *envp is
 * NULL; on success *envp is the environment to spawn with (one free). */
int uvexec__preflight(uvexec_cmd_t *cmd, char ***envp) {
  int err;

  *envp = NULL;
  err = uvexec__env_build(cmd, envp);
  if (err == 0 && cmd->setup.root != NULL) {
    free(cmd->path);
    cmd->path = NULL;
    /* The program and the directory are inside the new root, which only
     * the child sees: the program is named by its path there, and the
     * child's own errors say what is missing. */
    if (strchr(cmd->argv[0], '/') == NULL) {
      uvexec__set_error(cmd, "exec: %s: with a root, name the program by "
                             "its path inside the root",
                        cmd->argv[0]);
      err = UV_EINVAL;
    } else if ((cmd->path = strdup(cmd->argv[0])) == NULL) {
      err = UV_ENOMEM;
    }
    if (err != 0) {
      free(*envp);
      *envp = NULL;
    }
    return err;
  }
  if (err == 0)
    err = uvexec__resolve(cmd, uvexec__env_lookup(*envp, "PATH"));
  if (err == 0)
    err = check_dir(cmd);
  if (err != 0) {
    free(*envp);
    *envp = NULL;
  }
  return err;
}
