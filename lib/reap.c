/* SPDX-License-Identifier: MIT */
/* Learning of a child's exit through its pidfd, and signalling it.
 *
 * A pidfd names one process for as long as the fd is open, however the
 * pid is recycled, so everything here goes through it: the exit is seen
 * when the pidfd becomes readable, the child is reaped with
 * waitid(P_PIDFD) (never wait4(pid), which could reap another child of
 * ours that was given a recycled pid), and signals are sent with
 * pidfd_send_signal(), which answers ESRCH for a process that is gone
 * instead of reaching whoever has its pid now.
 *
 * Someone else may reap our child first: an application calling
 * waitpid(-1), or SIGCHLD set to SIG_IGN. Its status is lost then, and
 * the cmd ends with UVEXEC_ECHILD rather than waiting forever.
 *
 * With the uv engine libuv reaps the child from its SIGCHLD handler, and
 * so may the pidfd's watcher, whichever runs first: libuv 1.44 never
 * notices a child that someone else reaped and would wait for it
 * forever, so when the pidfd reaps (or finds the child gone) the process
 * handle is closed instead. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1u << 2) /* Linux 6.9 */
#endif

int uvexec__pidfd_open(pid_t pid) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);

  return fd >= 0 ? fd : -errno;
}

/* waitid_pidfd is waitid(P_PIDFD) through the system call itself, whose
 * fifth argument gives the child's resource usage (glibc's waitid has
 * none). */
static int waitid_pidfd(int pidfd, siginfo_t *info, int options,
                        struct rusage *usage) {
  int rc;

  do
    rc = (int)syscall(SYS_waitid, P_PIDFD, pidfd, info, options, usage);
  while (rc < 0 && errno == EINTR);
  return rc < 0 ? -errno : 0;
}

/* uvexec__pidfd_wait_exit blocks until the pidfd's process has exited
 * and reaps it. The pidfd may be non-blocking (uv_poll_init makes it so),
 * and waitid() then answers EAGAIN instead of waiting; the pidfd also
 * turns readable a moment before the process can be reaped (while its
 * other threads still exit), so poll and try until the reap succeeds or
 * there is nothing to reap. */
void uvexec__pidfd_wait_exit(int pidfd) {
  struct pollfd pfd;
  siginfo_t info;
  int err;

  for (;;) {
    memset(&info, 0, sizeof(info));
    err = waitid_pidfd(pidfd, &info, WEXITED | WNOHANG, NULL);
    if (err != 0 && err != -EAGAIN)
      return; /* ECHILD: reaped elsewhere */
    if (err == 0 && info.si_pid != 0)
      return;
    pfd.fd = pidfd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    (void)poll(&pfd, 1, 1);
  }
}

static void on_reap_closed(uv_handle_t *handle) {
  uvexec__handle_closed(handle->data);
}

static void stop_watch(uvexec_cmd_t *cmd) {
  if (cmd->pidfd_polling) {
    uvexec__close_handle(cmd, (uv_handle_t *)&cmd->pidfd_poll,
                         on_reap_closed);
    cmd->pidfd_polling = 0;
  }
}

static void close_pidfd(uvexec_cmd_t *cmd) {
  stop_watch(cmd);
  if (cmd->pidfd >= 0) {
    close(cmd->pidfd);
    cmd->pidfd = -1;
  }
}

static uint64_t usec(const struct timeval *tv) {
  return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

/* lost reports a child someone else reaped. */
static void lost(uvexec_cmd_t *cmd) {
  if (cmd->engine_reaps_uv)
    uvexec__engine_uv_forget(cmd);
  close_pidfd(cmd);
  cmd->wait_error = UVEXEC_ECHILD;
  uvexec__on_exit(cmd, 0, 0);
}

static void on_pidfd(uv_poll_t *handle, int status, int events) {
  uvexec_cmd_t *cmd = handle->data;
  struct rusage usage;
  siginfo_t info;
  int err;

  (void)status;
  (void)events;
  memset(&info, 0, sizeof(info));
  err = waitid_pidfd(cmd->pidfd, &info, WEXITED | WNOHANG, &usage);
  if (err == -ECHILD) {
    lost(cmd);
    return;
  }
  if (err != 0 || info.si_pid == 0)
    return; /* not yet reapable; the pidfd will report again */

  close_pidfd(cmd);
  if (cmd->engine_reaps_uv) {
    /* Reaped here before libuv's SIGCHLD handler got to it: libuv would
     * look for this child forever, so its handle goes. The status is the
     * same either way; resource usage stays the pidfd engines' alone, so
     * that the uv engine always answers the same. */
    uvexec__engine_uv_forget(cmd);
  } else {
    cmd->have_rusage = 1;
    cmd->rusage.user_usec = usec(&usage.ru_utime);
    cmd->rusage.system_usec = usec(&usage.ru_stime);
    cmd->rusage.maxrss_kib = (uint64_t)usage.ru_maxrss;
  }
  if (info.si_code == CLD_EXITED)
    uvexec__on_exit(cmd, info.si_status, 0);
  else
    uvexec__on_exit(cmd, 0, info.si_status);
}

static void on_lost_timer(uv_timer_t *timer) {
  uvexec_cmd_t *cmd = timer->data;

  uvexec__close_handle(cmd, (uv_handle_t *)timer, on_reap_closed);
  cmd->lost_timer_open = 0;
  lost(cmd);
}

int uvexec__reap_watch(uvexec_cmd_t *cmd, int pidfd) {
  int err;

  if (pidfd < 0) {
    /* The child was reaped before a pidfd could be opened for it: a
     * successful start whose end is reported on the next loop turn, as
     * a callback never runs inside uvexec_start. */
    err = uv_timer_init(cmd->loop, &cmd->lost_timer);
    if (err != 0)
      return err;
    cmd->lost_timer.data = cmd;
    cmd->lost_timer_open = 1;
    uvexec__handle_opened(cmd);
    uv_timer_start(&cmd->lost_timer, on_lost_timer, 0, 0);
    return 0;
  }
  err = uvexec__poll_watch(cmd, &cmd->pidfd_poll, pidfd);
  if (err != 0)
    return err;
  cmd->pidfd_polling = 1;
  err = uv_poll_start(&cmd->pidfd_poll, UV_READABLE, on_pidfd);
  if (err != 0) {
    stop_watch(cmd); /* pidfd stays the caller's */
    return err;
  }
  cmd->pidfd = pidfd;
  return 0;
}

int uvexec__reap_adopt(uvexec_cmd_t *cmd) {
  siginfo_t info;
  int pidfd;

  pidfd = uvexec__pidfd_open(cmd->pid);
  if (pidfd == UV_ESRCH)
    return uvexec__reap_watch(cmd, -1); /* already reaped elsewhere */
  if (pidfd < 0)
    return 0; /* libuv still reaps it; signals go by pid */
  /* Reaped elsewhere and the pid given to a new process before the open:
   * that process is no child of ours. */
  memset(&info, 0, sizeof(info));
  if (waitid_pidfd(pidfd, &info, WEXITED | WNOHANG | WNOWAIT, NULL) ==
      -ECHILD) {
    close(pidfd);
    return uvexec__reap_watch(cmd, -1);
  }
  pidfd = uvexec__fd_move_high(pidfd);
  if (uvexec__reap_watch(cmd, pidfd) != 0)
    close(pidfd); /* no watch: libuv still reaps it; signals go by pid */
  return 0;
}

void uvexec__reap_release(uvexec_cmd_t *cmd) {
  close_pidfd(cmd);
}

void uvexec__reap_now(uvexec_cmd_t *cmd) {
  if (cmd->lost_timer_open) {
    /* Reaped elsewhere already: only the report is left, and nobody
     * wants it now. */
    uvexec__close_handle(cmd, (uv_handle_t *)&cmd->lost_timer,
                         on_reap_closed);
    cmd->lost_timer_open = 0;
  } else if (cmd->pidfd >= 0) {
    (void)uvexec__reap_signal(cmd, SIGKILL);
    uvexec__pidfd_wait_exit(cmd->pidfd);
  } else if (cmd->pid > 0) {
    /* No pidfd (a kernel without them, uv engine): libuv has not seen the
     * exit, so the pid is still our unreaped child. */
    (void)uvexec__reap_signal(cmd, SIGKILL);
    while (waitpid(cmd->pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  cmd->exited = 1;
  close_pidfd(cmd);
  if (cmd->engine_reaps_uv)
    uvexec__engine_uv_forget(cmd);
}

int uvexec__reap_signal(uvexec_cmd_t *cmd, int signum) {
  int group = uvexec__leads_group(cmd);

  if (cmd->pid <= 0 || cmd->exited)
    return UV_ESRCH;
  if (cmd->pidfd < 0) {
    /* Only where the kernel has no pidfd (the uv engine falls back to
     * this): libuv has not reaped the child, so its pid is still ours. */
    if (cmd->engine_reaps_uv && kill(group ? -cmd->pid : cmd->pid, signum) == 0)
      return 0;
    return cmd->engine_reaps_uv ? -errno : UV_ESRCH;
  }
  if (syscall(SYS_pidfd_send_signal, cmd->pidfd, signum, NULL,
              group ? PIDFD_SIGNAL_PROCESS_GROUP : 0) == 0)
    return 0;
  if (group && errno == EINVAL) {
    /* A kernel before 6.9 cannot signal a group through a pidfd. The
     * leader was not reaped a moment ago (the pidfd would say ESRCH), so
     * its group id is still its own; only a foreign reaper acting in
     * between the two calls could make it stale. */
    if (syscall(SYS_pidfd_send_signal, cmd->pidfd, 0, NULL, 0) != 0)
      return -errno;
    if (kill(-cmd->pid, signum) == 0)
      return 0;
  }
  return -errno;
}
