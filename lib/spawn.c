/* SPDX-License-Identifier: MIT */
/* Starting a command, learning that it is over, and signalling it.
 *
 * The done callback waits for two things: the exit (reported by the
 * engine through uvexec__on_exit) and end of file on every stream uvexec
 * reads. A child's output can still sit in a pipe when its exit is seen,
 * and a grandchild may hold the pipe open longer; reporting done at the
 * exit would lose that output, as Go's Wait would if it did not wait for
 * its copying goroutines. */
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

static uvexec_engine_t choose_engine(const uvexec_cmd_t *cmd) {
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
    if (uvexec__engine_clone_available() || uvexec__setup_needs_clone(cmd) ||
        cmd->set_pgid)
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

int uvexec__already_started(uvexec_cmd_t *cmd) {
  uvexec__set_error(cmd, "exec: already started");
  return UV_EALREADY;
}

/* uvexec__engine_can_group tells whether cmd would start through an
 * engine that can put the child in a process group of the caller's
 * choosing (uvexec_cmd_set_pgid): the clone engine can, uv_spawn cannot. */
int uvexec__engine_can_group(const uvexec_cmd_t *cmd) {
  return choose_engine(cmd) == UVEXEC_ENGINE_CLONE &&
         uvexec__engine_clone_available();
}

/* uvexec__preflight does the checks of a start that create nothing: the
 * child's environment, the program looked up in the PATH it holds, the
 * directory. On failure the cmd's error names the file, and *envp is
 * NULL; on success *envp is the environment to spawn with (one free). */
int uvexec__preflight(uvexec_cmd_t *cmd, char ***envp) {
  int err;

  *envp = NULL;
  err = uvexec__env_build(cmd, envp);
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

int uvexec_start(uvexec_cmd_t *cmd, uv_loop_t *loop, uvexec_done_cb done_cb) {
  uvexec__spawn_plan_t plan;
  int child_fds[3], owned[3];
  char **envp = NULL;
  int err, i;

  if (cmd == NULL || loop == NULL)
    return UV_EINVAL;
  if (cmd->freed)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return uvexec__already_started(cmd);
  err = uvexec__pty_check(cmd);
  if (err != 0)
    return err;
  err = uvexec__check_config(cmd);
  if (err != 0) {
    uvexec__set_error(cmd, "exec: an output callback needs its stream left "
                           "at its default or captured, not inherited, "
                           "merged or a caller's fd");
    return err;
  }

  cmd->loop = loop;
  cmd->done_cb = done_cb;
  cmd->state = UVEXEC__FAILED; /* until the child runs */

  err = uvexec__preflight(cmd, &envp);
  if (err != 0)
    goto out;
  err = uvexec__stdio_prepare(cmd, child_fds, owned);
  if (err != 0) {
    uvexec__set_error(cmd, "exec: creating pipes: %s", uvexec_strerror(err));
    goto out;
  }

  plan.file = cmd->path;
  plan.argv = cmd->argv;
  plan.envp = envp;
  plan.dir = cmd->dir;
  for (i = 0; i < 3; i++)
    plan.fds[i] = child_fds[i];
  plan.extra = cmd->extra_fds;
  plan.extra_count = cmd->extra_count;
  plan.tty = cmd->pty.on ? cmd->pty.path : NULL;

  switch (choose_engine(cmd)) {
  case UVEXEC_ENGINE_CLONE:
    err = uvexec__engine_clone_spawn(cmd, &plan);
    break;
  default:
    err = uvexec__engine_uv_spawn(cmd, &plan);
    break;
  }

  /* The child has its copies (or there is no child): the parent's copies
   * of the child's ends go now, or the parent would never see EOF. */
  for (i = 0; i < 3; i++)
    if (owned[i])
      close(child_fds[i]);

  if (err != 0) {
    uvexec__stdio_abort(cmd);
    if (cmd->error == NULL)
      uvexec__set_start_error(cmd, err, "fork/exec", cmd->path);
    goto out;
  }

  cmd->state = UVEXEC__RUNNING;
  uvexec__clear_error(cmd);
  uvexec__stdio_start(cmd);
  err = uvexec__control_start(cmd);
  if (err != 0) {
    /* The child runs but cannot be bounded as asked: stop it and let
     * the normal path report the error through done. */
    uvexec__control_stop(cmd, err);
    err = 0;
  }

out:
  free(envp);
  return err;
}

/* uvexec__on_exit is called by the engine once the child was reaped: from
 * here on its pid is not ours. */
void uvexec__on_exit(uvexec_cmd_t *cmd, int64_t exit_status,
                     int term_signal) {
  cmd->exited = 1;
  cmd->exit_code = (int)exit_status;
  cmd->term_signal = term_signal;
  if (cmd->freed) {
    uvexec__control_close(cmd);
    return;
  }
  if (uvexec__control_on_exit(cmd))
    return;
  uvexec__maybe_done(cmd);
}

/* final_status decides what the done callback reports, and words it. */
static int final_status(uvexec_cmd_t *cmd) {
  int failed = cmd->term_signal != 0 || cmd->exit_code != 0;

  if (cmd->stop_reason != 0) {
    /* A stop uvexec made (timeout, cancel, output limit) explains the
     * exit better than the signal that carried it out. */
    if (cmd->stop_reason == UV_ETIMEDOUT)
      uvexec__set_error(cmd, "context deadline exceeded");
    else if (cmd->stop_reason == UV_ECANCELED)
      uvexec__set_error(cmd, "context canceled");
    else if (cmd->stop_reason == UV_ENOBUFS)
      uvexec__set_error(cmd, "exec: output limit of %zu bytes exceeded",
                        cmd->output_limit);
    else
      uvexec__set_error(cmd, "exec: %s", uvexec_strerror(cmd->stop_reason));
    return cmd->stop_reason;
  }
  if (cmd->wait_error != 0) {
    uvexec__set_error(cmd, "wait: %s", uvexec_strerror(cmd->wait_error));
    return cmd->wait_error;
  }
  if (failed) {
    uvexec__set_exit_error(cmd);
    return cmd->term_signal != 0 ? UVEXEC_ESIGNALED : UVEXEC_EEXIT;
  }
  if (cmd->waitdelay_expired) {
    uvexec__set_error(cmd, "%s", uvexec_strerror(UVEXEC_EWAITDELAY));
    return UVEXEC_EWAITDELAY;
  }
  if (cmd->io_error != 0) {
    uvexec__set_error(cmd, "exec: i/o: %s", uvexec_strerror(cmd->io_error));
    return cmd->io_error;
  }
  if (cmd->in.error != 0 && cmd->in.error != UV_EPIPE) {
    /* EPIPE after a successful exit is no error: the child did not need
     * the rest of its input (Go ignores it too). */
    uvexec__set_error(cmd, "exec: writing stdin: %s",
                      uvexec_strerror(cmd->in.error));
    return cmd->in.error;
  }
  return 0;
}

/* uvexec__maybe_done calls the done callback once both the exit and every
 * end of file were seen. The callback may free cmd: nothing touches cmd
 * after it, and callers call this last. */
void uvexec__maybe_done(uvexec_cmd_t *cmd) {
  int status;

  if (cmd->state != UVEXEC__RUNNING || !cmd->exited ||
      uvexec__readers_open(cmd) > 0)
    return;
  cmd->state = UVEXEC__DONE;
  uvexec__writer_shutdown(cmd);
  uvexec__control_close(cmd);
  status = final_status(cmd);
  cmd->status = status;
  if (cmd->done_cb != NULL && !cmd->freed)
    cmd->done_cb(cmd, status);
}

/* uvexec__signal_child signals the child, or its whole group when it
 * leads one. Never after the exit was seen, and only through the pidfd
 * (reap.c): the pid may belong to another process by then. */
int uvexec__signal_child(uvexec_cmd_t *cmd, int signum) {
  return uvexec__reap_signal(cmd, signum);
}

int uvexec_kill(uvexec_cmd_t *cmd, int signum) {
  if (cmd == NULL || signum < 0 || signum >= NSIG)
    return UV_EINVAL;
  return uvexec__signal_child(cmd, signum);
}
