/* The posix_spawn engine: glibc's posix_spawn starts the child with
 * clone(CLONE_VM|CLONE_VFORK), so the cost of a start does not grow with
 * the parent's memory the way fork's page-table copy does, and the loop is
 * blocked only for the child's exec. The exit is watched through a pidfd
 * (reap.c), opened as soon as posix_spawn returns. Nothing here relies on
 * SIGCHLD. */
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

int uvexec__engine_posix_available(void) {
  static int available = -1; /* a benign race: every thread finds the same */
  int fd;

  if (available < 0) {
    /* Only ENOSYS says the kernel has no pidfd; EMFILE and the like are
     * this moment's trouble, for the start to report, not a reason to
     * give up the engine for the life of the process. */
    fd = uvexec__pidfd_open(getpid());
    if (fd == UV_ENOSYS)
      available = 0;
    else if (fd >= 0)
      available = 1;
    if (fd >= 0)
      close(fd);
    if (available < 0)
      return 1;
  }
  return available;
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
  int *copies, ncopies = 0, err, reserve = -1;
  sigset_t all, none;
  short flags;
  pid_t pid;

  if (uvexec__setup_needs_clone(cmd)) {
    uvexec__set_error(cmd, "exec: the posix_spawn engine cannot apply child "
                           "setup (death signal, limits, umask, nice, "
                           "groups, cgroup): use UVEXEC_ENGINE_CLONE");
    return UV_ENOTSUP;
  }
  if (cmd->set_uid || cmd->set_gid)
    return UV_ENOTSUP;
  if (!uvexec__engine_posix_available())
    return UV_ENOSYS;

  copies = malloc(count * sizeof(*copies));
  if (copies == NULL)
    return UV_ENOMEM;
  /* The pidfd is opened after the child exists; an fd kept free for it
   * means running out of fds fails the start before there is a child. */
  err = -uvexec__fd_reserve(cmd, &reserve);
  if (err != 0) {
    free(copies);
    return -err;
  }
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);

  for (i = 0; i < count; i++) {
    int fd = i < 3 ? plan->fds[i] : plan->extra[i - 3];

    if (fd == UVEXEC__FD_TTY) {
      /* After the setsid() of POSIX_SPAWN_SETSID (glibc runs it before
       * the file actions), opening the terminal without O_NOCTTY makes it
       * the controlling one. fd 0 comes first and is the terminal. */
      if (i == 0)
        err = posix_spawn_file_actions_addopen(&actions, 0, plan->tty,
                                               O_RDWR, 0);
      else
        err = posix_spawn_file_actions_adddup2(&actions, 0, (int)i);
    } else if (fd < 0) {
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
#if defined(__GLIBC__) &&                                                     \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  /* Only what the child is given reaches it: every fd above its own is
   * closed in the child (close_range, after the dup2s above). */
  if (!cmd->setup.keep_fds) {
    err = posix_spawn_file_actions_addclosefrom_np(&actions, (int)count);
    if (err != 0)
      goto out;
  }
#endif

  /* The child starts as a child of uv_spawn would: every signal at its
   * default action, nothing blocked. */
  /* Every signal, glibc's reserved ones included: sigfillset() leaves
   * those out, and posix_spawn would then hand them over ignored. */
  memset(&all, 0xff, sizeof(all));
  sigemptyset(&none);
  flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (cmd->new_session || plan->tty != NULL)
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

  cmd->pid = pid;
  uvexec__fd_unreserve(&reserve);
  err = -uvexec__reap_adopt(cmd);


out:
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  while (ncopies > 0)
    close(copies[--ncopies]);
  free(copies);
  uvexec__fd_unreserve(&reserve);
  if (err == ENOEXEC)
    return UVEXEC_ENOEXEC;
  return -err;
}
