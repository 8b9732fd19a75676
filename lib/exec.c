/* SPDX-License-Identifier: MIT */
/* Replacing the current process with a cmd (Go's syscall.Exec, with the
 * cmd's argv, environment, directory and stdio fds).
 *
 * The new program must start the way a child of uv_spawn starts: default
 * signal dispositions and an empty signal mask (execve keeps ignored
 * signals ignored and keeps the mask, so both are reset by hand). And
 * because execve can still fail — a file without "#!" the kernel cannot
 * run, an argument list too long, a race with someone deleting the file —
 * every change made on the way is undone before returning, so the caller
 * finds its process as it left it: handlers, mask, directory, fds 0-2.
 * The environment is never touched: the child's is built apart and handed
 * to execve. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_DUPFD_CLOEXEC, O_PATH, pthread_sigmask */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* libuv's codes are negated errno values on Unix. ENOEXEC has no libuv
 * code in 1.44, so it becomes uvexec's own. */
static int errno_code(int e) {
  return e == ENOEXEC ? UVEXEC_ENOEXEC : -e;
}

/* The directory we leave is kept open to come back to it. O_PATH needs
 * no read permission on it, and fchdir accepts it. */
#ifdef O_PATH
#define CWD_FLAGS (O_PATH | O_DIRECTORY | O_CLOEXEC)
#else
#define CWD_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)
#endif

/* What uvexec_exec changed and must put back if execve returns. */
typedef struct {
  sigset_t mask; /* the calling thread's mask on entry */
  struct sigaction action[NSIG];
  char changed[NSIG]; /* action[sig] was replaced by SIG_DFL */

  int cwd;   /* the directory on entry (close-on-exec), or -1 */
  int moved; /* chdir happened */

  int src[3];   /* close-on-exec copies of what fd 0/1/2 become, or -1 */
  int saved[3]; /* close-on-exec copies of fd 0/1/2 on entry, or -1 */
  int was_open[3];
  int was_cloexec[3];
  int replaced[3]; /* fd i was overwritten with src[i] */
} saved_t;

static void saved_init(saved_t *s) {
  int i;

  memset(s, 0, sizeof(*s));
  s->cwd = -1;
  for (i = 0; i < 3; i++) {
    s->src[i] = -1;
    s->saved[i] = -1;
  }
}

/* ---- signals ------------------------------------------------------------- */

/* reset_signals sets every catchable signal the process handles or ignores
 * back to SIG_DFL, keeping the old action. Signals the libc keeps for
 * itself (glibc's 32 and 33 for threads) are refused by sigaction and
 * left alone: the new program's libc sets them up again anyway. Called
 * with every signal blocked, so no handler runs half-way through. */
static int reset_signals(saved_t *s) {
  struct sigaction dfl;
  int sig;

  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);

  for (sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP)
      continue;
    if (sigaction(sig, NULL, &s->action[sig]) != 0)
      continue;
    if (s->action[sig].sa_handler == SIG_DFL)
      continue;
    if (sigaction(sig, &dfl, NULL) != 0)
      return -errno;
    s->changed[sig] = 1;
  }
  return 0;
}

static void restore_signals(saved_t *s) {
  int sig;

  for (sig = 1; sig < NSIG; sig++)
    if (s->changed[sig])
      sigaction(sig, &s->action[sig], NULL);
}

/* ---- stdio --------------------------------------------------------------- */

/* file_of answers the file the new program's fd i is opened on, or NULL;
 * file_flags, how. */
static const char *file_of(const uvexec_cmd_t *cmd, int i) {
  if (i == 0)
    return cmd->in.kind == UVEXEC__IO_FILE ? cmd->in.path : NULL;
  return cmd->out[i - 1].kind == UVEXEC__IO_FILE ? cmd->out[i - 1].path
                                                 : NULL;
}

static int file_flags(const uvexec_cmd_t *cmd, int i) {
  if (i == 0)
    return O_RDONLY;
  return O_WRONLY | O_CREAT | (cmd->out[i - 1].append ? O_APPEND : O_TRUNC);
}

static int copy_failed(uvexec_cmd_t *cmd) {
  int err = -errno;

  uvexec__set_start_error(cmd, err, "exec", cmd->path);
  return err;
}

/* stdio_prepare takes copies of the fds the new program gets as 0, 1 and
 * 2, before anything is changed: dup2'ing the caller's fds straight onto
 * 0-2 one after the other would go wrong when they are themselves 0-2
 * (stdout to fd 2 and stderr to fd 1 would end as both on one file).
 * It also keeps a copy of each fd 0-2 that is about to be replaced. All
 * copies are close-on-exec, so none of them reaches the new program. */
static int stdio_prepare(uvexec_cmd_t *cmd, saved_t *s) {
  int want[3], i;

  want[0] = cmd->in.kind == UVEXEC__IO_FD ? cmd->in.caller_fd : -1;
  want[1] = cmd->out[0].kind == UVEXEC__IO_FD ? cmd->out[0].caller_fd : -1;
  want[2] = cmd->out[1].kind == UVEXEC__IO_FD ? cmd->out[1].caller_fd : -1;

  for (i = 0; i < 3; i++) {
    const char *path = file_of(cmd, i);

    if (path != NULL) {
      /* < file, > file, >> file: opened in the program's directory. */
      int fd = uvexec__open_in(cmd->dir, path, file_flags(cmd, i));

      if (fd < 0) {
        uvexec__set_start_error(cmd, fd, "open", path);
        return fd;
      }
      s->src[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
      close(fd);
    } else if (want[i] >= 0) {
      s->src[i] = fcntl(want[i], F_DUPFD_CLOEXEC, 3);
    } else {
      continue;
    }
    if (s->src[i] < 0)
      return copy_failed(cmd);
  }

  /* UVEXEC_MERGE is 2>&1: stderr joins whatever stdout will be. */
  if (cmd->out[1].kind == UVEXEC__IO_MERGE) {
    s->src[2] = fcntl(s->src[1] >= 0 ? s->src[1] : 1, F_DUPFD_CLOEXEC, 3);
    if (s->src[2] < 0)
      return copy_failed(cmd);
  }

  for (i = 0; i < 3; i++) {
    int flags;

    if (s->src[i] < 0)
      continue;
    flags = fcntl(i, F_GETFD);
    if (flags < 0)
      continue; /* closed now: closed again on restore */
    s->was_open[i] = 1;
    s->was_cloexec[i] = (flags & FD_CLOEXEC) != 0;
    s->saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
    if (s->saved[i] < 0)
      return copy_failed(cmd);
  }
  return 0;
}

/* stdio_apply puts the copies in place. dup2 clears close-on-exec on the
 * target, which is what the new program needs. */
static int stdio_apply(saved_t *s) {
  int i;

  for (i = 0; i < 3; i++) {
    if (s->src[i] < 0)
      continue;
    if (dup2(s->src[i], i) < 0)
      return -errno;
    s->replaced[i] = 1;
  }
  return 0;
}

static void stdio_restore(saved_t *s) {
  int i;

  for (i = 0; i < 3; i++) {
    if (!s->replaced[i])
      continue;
    if (s->was_open[i]) {
      dup2(s->saved[i], i);
      if (s->was_cloexec[i])
        fcntl(i, F_SETFD, FD_CLOEXEC);
    } else {
      close(i);
    }
  }
}

static void stdio_release(saved_t *s) {
  int i;

  for (i = 0; i < 3; i++) {
    if (s->src[i] >= 0)
      close(s->src[i]);
    if (s->saved[i] >= 0)
      close(s->saved[i]);
  }
}

/* ---- the call ------------------------------------------------------------ */

int uvexec_exec(uvexec_cmd_t *cmd) {
  saved_t s;
  sigset_t all, none;
  char **envp = NULL, **argv = NULL;
  const char *dir;
  int err, argv_owned = 0;

  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return UV_EBUSY;
  if (cmd->pty.on) {
    /* A terminal is made for a child; this process stays on its own. */
    uvexec__set_error(cmd, "exec: a terminal is for a child, not for "
                           "replacing this process");
    return UV_EINVAL;
  }
  if (cmd->detached || cmd->fg.fd >= 0) {
    /* Both are about a child and this process: there is one process. */
    uvexec__set_error(cmd, "exec: %s is for a child, not for replacing "
                           "this process",
                      cmd->detached ? "detaching" : "the foreground");
    return UV_EINVAL;
  }
  if (uvexec__setup_sandboxed(cmd)) {
    /* The sandbox is built by the clone engine's child, step by step;
     * half of it applied to this process would be worse than none. */
    uvexec__set_error(cmd, "exec: a sandbox is for a child, not for "
                           "replacing this process");
    return UV_EINVAL;
  }
  if (cmd->contain.on) {
    /* A contained tree is born into its cgroup and ends with its cmd:
     * this process would be neither. Never a silent run without it. */
    uvexec__set_error(cmd, "exec: containment and limits are for a child, "
                           "not for replacing this process");
    return UV_EINVAL;
  }

  saved_init(&s);
  dir = cmd->dir != NULL && cmd->dir[0] != '\0' ? cmd->dir : NULL;

  err = uvexec__env_build(cmd, &envp);
  if (err != 0) {
    uvexec__set_start_error(cmd, err, "exec", cmd->argv[0]);
    return err;
  }
  /* The program is looked up in the PATH it will get, relative to where
   * we are now, as uvexec_start does. */
  err = uvexec__resolve(cmd, uvexec__env_lookup(envp, "PATH"));
  if (err != 0)
    goto out;
  argv = uvexec__child_argv(cmd, &argv_owned);
  if (argv == NULL) {
    err = UV_ENOMEM;
    uvexec__set_start_error(cmd, err, "exec", cmd->path);
    goto out;
  }

  /* Everything that can fail without changing anything comes first. */
  err = stdio_prepare(cmd, &s);
  if (err != 0) {
    goto out;
  }
  if (dir != NULL) {
    s.cwd = open(".", CWD_FLAGS);
    if (s.cwd < 0) {
      err = -errno;
      uvexec__set_start_error(cmd, err, "getwd", ".");
      goto out;
    }
  }

  /* Whatever sits in stdio buffers would vanish with this image. */
  fflush(NULL);

  /* No handler may run while dispositions are half changed, nor while
   * fds 0-2 or the directory are not the caller's. */
  sigfillset(&all);
  sigemptyset(&none);
  err = pthread_sigmask(SIG_SETMASK, &all, &s.mask);
  if (err != 0) {
    err = -err;
    uvexec__set_start_error(cmd, err, "exec", cmd->path);
    goto out;
  }

  err = reset_signals(&s);
  if (err != 0) {
    uvexec__set_start_error(cmd, err, "exec", cmd->path);
    goto undo;
  }

  if (dir != NULL) {
    if (chdir(dir) != 0) {
      err = -errno;
      uvexec__set_start_error(cmd, err, "chdir", dir);
      goto undo;
    }
    s.moved = 1;
  }

  err = stdio_apply(&s);
  if (err != 0) {
    uvexec__set_start_error(cmd, err, "exec", cmd->path);
    goto undo;
  }

  /* The mask is inherited through execve, so it is emptied here, as late
   * as possible. The trade-off: from this line until execve is done, a
   * signal meets SIG_DFL, not the caller's handler. A signal the caller
   * kept blocked and pending is delivered right now with its default
   * action, which is what the new program would have met a moment later
   * (pending signals survive execve). When execve then succeeds, that is
   * the goal anyway; when it fails, the caller has taken that default
   * action itself: a SIGCHLD or SIGWINCH arriving in the window is
   * dropped, a SIGTERM or SIGINT ends the process as it would have ended
   * the new program. Other threads keep their own masks and see the
   * default dispositions while this call lasts; a multi-threaded caller
   * should keep signals blocked in them. */
  pthread_sigmask(SIG_SETMASK, &none, NULL);
  execve(cmd->path, argv, envp);
  err = errno_code(errno);
  pthread_sigmask(SIG_SETMASK, &all, NULL);
  uvexec__set_start_error(cmd, err, "exec", cmd->path);

undo:
  stdio_restore(&s);
  if (s.moved)
    (void)!fchdir(s.cwd);
  restore_signals(&s);
  /* Signals that arrived meanwhile stay pending until this point and
   * then reach the caller's own handlers. */
  pthread_sigmask(SIG_SETMASK, &s.mask, NULL);

out:
  stdio_release(&s);
  if (s.cwd >= 0)
    close(s.cwd);
  if (argv_owned)
    free(argv);
  free(envp);
  return err;
}
