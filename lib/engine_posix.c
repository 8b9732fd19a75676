/* The posix_spawn engine: glibc's posix_spawn starts the child with
 * clone(CLONE_VM|CLONE_VFORK), so the cost of a start does not grow with
 * the parent's memory the way fork's page-table copy does, and the loop is
 * blocked only for the child's exec. The exit is watched through a pidfd
 * in a uv_poll_t and reaped with wait4() for that one pid, which also
 * gives the child's resource usage. Nothing here relies on SIGCHLD. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int pidfd_open_(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

int uvexec__engine_posix_available(void) {
  static int available = -1; /* a benign race: every thread finds the same */
  int fd;

  if (available < 0) {
    fd = pidfd_open_(getpid());
    available = fd >= 0;
    if (fd >= 0)
      close(fd);
  }
  return available;
}

static void on_pidfd_closed(uv_handle_t *handle) {
  uvexec__handle_closed(handle->data);
}

static void on_pidfd(uv_poll_t *handle, int status, int events) {
  uvexec_cmd_t *cmd = handle->data;
  struct rusage usage;
  int wstatus;
  pid_t got;

  (void)status;
  (void)events;
  do
    got = wait4(cmd->pid, &wstatus, WNOHANG, &usage);
  while (got < 0 && errno == EINTR);
  if (got == 0)
    return; /* not yet reapable; the pidfd will report again */

  uv_close((uv_handle_t *)&cmd->pidfd_poll, on_pidfd_closed);
  cmd->pidfd_polling = 0;
  close(cmd->pidfd);
  cmd->pidfd = -1;

  if (got < 0) {
    /* Someone else reaped our child (a waitpid(-1) in the application, or
     * SIGCHLD set to SIG_IGN): its status is lost. Say so, not hang. */
    cmd->wait_error = UVEXEC_ECHILD;
    uvexec__on_exit(cmd, 0, 0);
    return;
  }
  cmd->have_rusage = 1;
  cmd->rusage.user_usec = (uint64_t)usage.ru_utime.tv_sec * 1000000u +
                          (uint64_t)usage.ru_utime.tv_usec;
  cmd->rusage.system_usec = (uint64_t)usage.ru_stime.tv_sec * 1000000u +
                            (uint64_t)usage.ru_stime.tv_usec;
  cmd->rusage.maxrss_kib = (uint64_t)usage.ru_maxrss;
  if (WIFSIGNALED(wstatus))
    uvexec__on_exit(cmd, 0, WTERMSIG(wstatus));
  else
    uvexec__on_exit(cmd, WEXITSTATUS(wstatus), 0);
}

/* A source fd below the number of fds the child gets could be overwritten
 * by an earlier dup2 of the file actions (or be the target itself, which
 * dup2 would leave close-on-exec); such sources go through a copy above
 * that range first. The copies are close-on-exec and closed after the
 * spawn. */
static int safe_source(int fd, int limit, int *copies, int *ncopies) {
  int copy;

  if (fd >= limit)
    return fd;
  copy = fcntl(fd, F_DUPFD_CLOEXEC, limit);
  if (copy < 0)
    return -errno;
  copies[(*ncopies)++] = copy;
  return copy;
}

int uvexec__engine_posix_spawn(uvexec_cmd_t *cmd,
                               const uvexec__spawn_plan_t *plan) {
  size_t count = 3 + plan->extra_count, i;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  int *copies, ncopies = 0, err, pidfd;
  sigset_t all, none;
  short flags;
  pid_t pid;

  if (cmd->set_uid || cmd->set_gid)
    return UV_ENOTSUP;
  if (!uvexec__engine_posix_available())
    return UV_ENOSYS;

  copies = malloc(count * sizeof(*copies));
  if (copies == NULL)
    return UV_ENOMEM;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);

  for (i = 0; i < count; i++) {
    int fd = i < 3 ? plan->fds[i] : plan->extra[i - 3];

    if (fd < 0) {
      err = posix_spawn_file_actions_addopen(&actions, (int)i, "/dev/null",
                                             i == 0 ? O_RDONLY : O_RDWR, 0);
    } else {
      fd = safe_source(fd, (int)count, copies, &ncopies);
      if (fd < 0) {
        err = -fd;
        goto out;
      }
      err = posix_spawn_file_actions_adddup2(&actions, fd, (int)i);
    }
    if (err != 0)
      goto out;
  }
  if (plan->dir != NULL) {
    err = posix_spawn_file_actions_addchdir_np(&actions, plan->dir);
    if (err != 0)
      goto out;
  }

  /* The child starts as a child of uv_spawn would: every signal at its
   * default action, nothing blocked. */
  /* Every signal, glibc's reserved ones included: sigfillset() leaves
   * those out, and posix_spawn would then hand them over ignored. */
  memset(&all, 0xff, sizeof(all));
  sigemptyset(&none);
  flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (cmd->new_session)
    flags |= POSIX_SPAWN_SETSID;
  if (cmd->set_pgid && !cmd->new_session) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, cmd->pgid);
  }
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, flags);

  err = posix_spawn(&pid, plan->file, &actions, &attr, plan->argv,
                    plan->envp);
  if (err != 0)
    goto out;

  pidfd = pidfd_open_(pid);
  if (pidfd < 0 ||
      (err = uv_poll_init(cmd->loop, &cmd->pidfd_poll, pidfd)) != 0) {
    /* No way to learn of the exit: undo the start now. The child has just
     * exec'd, so this wait is short. */
    err = pidfd < 0 ? errno : -err;
    if (pidfd >= 0)
      close(pidfd);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    goto out;
  }
  cmd->pidfd = pidfd;
  cmd->pidfd_poll.data = cmd;
  cmd->pidfd_polling = 1;
  uvexec__handle_opened(cmd);
  uv_poll_start(&cmd->pidfd_poll, UV_READABLE, on_pidfd);
  cmd->pid = pid;

out:
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  while (ncopies > 0)
    close(copies[--ncopies]);
  free(copies);
  if (err == ENOEXEC)
    return UVEXEC_ENOEXEC;
  return -err;
}
