/* SPDX-License-Identifier: MIT */
/* The child's exit and its signals, through its pidfd.
 *
 * A pidfd names one process for as long as the fd is open (pidfd.c), so
 * everything here goes through it: the exit is seen when the pidfd
 * becomes readable, the child is reaped with waitid(P_PIDFD) (never
 * wait4(pid), which could reap another child of ours that was given a
 * recycled pid), and signals are sent with pidfd_send_signal().
 *
 * Someone else may reap our child first: an application calling
 * waitpid(-1), or SIGCHLD set to SIG_IGN. Linux 6.15 and later keep its
 * status for the pidfd uvexec holds (PIDFD_INFO_EXIT), and it is reported
 * as any exit; before, the status is lost, and this part reports the loss
 * (UVEXEC__EV_LOST) rather than waiting forever.
 *
 * With the uv engine libuv reaps the child from its SIGCHLD handler, and
 * so may the pidfd's watcher, whichever runs first; either reports the
 * exit, and the lifecycle closes the other (libuv 1.44 never notices a
 * child that someone else reaped and would wait for it forever). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1u << 2) /* Linux 6.9 */
#endif

static void stop_watch(uvexec_cmd_t *cmd) {
  if (cmd->pidfd_polling) {
    uvexec__handle_close((uv_handle_t *)&cmd->pidfd_poll);
    cmd->pidfd_polling = 0;
  }
}

void uvexec__reap_close(uvexec_cmd_t *cmd) {
  stop_watch(cmd);
  uvexec__close_fd(&cmd->pidfd);
  if (cmd->lost_timer_open) {
    uvexec__handle_close((uv_handle_t *)&cmd->lost_timer);
    cmd->lost_timer_open = 0;
  }
}

/* A reap by someone else makes waitid() answer ECHILD a moment before the
 * kernel has filed the status for the pidfd (the reaper has claimed the
 * child and is still releasing it; the kernel answers EAGAIN's "not yet"
 * or ESRCH then): the status is asked for again every millisecond, this
 * many times, before it is given up as lost. */
#define LOST_TRIES 100

static void on_lost_timer(uv_timer_t *timer);

/* ask_later asks for the status again on a later loop turn. */
static int ask_later(uvexec_cmd_t *cmd) {
  if (!cmd->lost_timer_open) {
    if (uv_timer_init(cmd->loop, &cmd->lost_timer) != 0)
      return 0;
    uvexec__handle_open(cmd, (uv_handle_t *)&cmd->lost_timer);
    cmd->lost_timer_open = 1;
  }
  if (!uvexec__handle_usable(&cmd->lost_timer))
    return 0;
  stop_watch(cmd);
  uv_timer_start(&cmd->lost_timer, on_lost_timer, 1, 0);
  return 1;
}

/* lost reports a child someone else reaped: its exit, where the kernel
 * kept it for the pidfd, else the loss. */
static void lost(uvexec_cmd_t *cmd) {
  uvexec__event_t ev = {.type = UVEXEC__EV_EXITED};
  int wstatus, err = UV_ENOTSUP;

  if (cmd->pidfd >= 0)
    err = uvexec__pidfd_exit_status(cmd->pidfd, &wstatus);
  if ((err == UV_EAGAIN || err == UV_ESRCH) && cmd->lost_tries++ < LOST_TRIES &&
      ask_later(cmd))
    return;
  uvexec__reap_close(cmd);
  if (err != 0) {
    uvexec__report(cmd, UVEXEC__EV_LOST, UVEXEC_ECHILD);
    return;
  }
  if (WIFEXITED(wstatus))
    ev.exit_status = WEXITSTATUS(wstatus);
  else
    ev.term_signal = WTERMSIG(wstatus);
  uvexec__lifecycle_event(cmd, &ev);
}

static void on_pidfd(uv_poll_t *handle, int status, int events) {
  uvexec_cmd_t *cmd = handle->data;
  uvexec__event_t ev = {.type = UVEXEC__EV_EXITED};
  struct rusage usage;
  siginfo_t info;
  int err;

  (void)status;
  (void)events;
  memset(&info, 0, sizeof(info));
  err = uvexec__pidfd_waitid(cmd->pidfd, &info, WEXITED | WNOHANG, &usage);
  if (err == -ECHILD) {
    lost(cmd);
    return;
  }
  if (err != 0 || info.si_pid == 0)
    return; /* not yet reapable; the pidfd will report again */

  uvexec__reap_close(cmd);
  /* With the uv engine the resource usage stays unmeasured, so that the
   * uv engine always answers the same whoever reaped. */
  if (!cmd->engine_reaps_uv)
    ev.rusage = &usage;
  if (info.si_code == CLD_EXITED)
    ev.exit_status = info.si_status;
  else
    ev.term_signal = info.si_status;
  uvexec__lifecycle_event(cmd, &ev);
}

static void on_lost_timer(uv_timer_t *timer) {
  lost(timer->data);
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
    uvexec__handle_open(cmd, (uv_handle_t *)&cmd->lost_timer);
    cmd->lost_timer_open = 1;
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
  if (uvexec__pidfd_waitid(pidfd, &info, WEXITED | WNOHANG | WNOWAIT,
                           NULL) == -ECHILD) {
    close(pidfd);
    return uvexec__reap_watch(cmd, -1);
  }
  pidfd = uvexec__fd_move_high(pidfd);
  if (uvexec__reap_watch(cmd, pidfd) != 0)
    close(pidfd); /* no watch: libuv still reaps it; signals go by pid */
  return 0;
}

void uvexec__reap_now(uvexec_cmd_t *cmd) {
  if (cmd->lost_timer_open) {
    /* Reaped elsewhere already: only the report is left, and nobody
     * wants it now. */
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
  uvexec__reap_close(cmd);
}

int uvexec__reap_stopped(const uvexec_cmd_t *cmd) {
  char state = 0;

  /* Not reaped yet, so the pid is still our child's. */
  if (cmd->pid <= 0 || cmd->exited ||
      uvexec__proc_stat(cmd->pid, &state, NULL) != 0)
    return 0;
  return state == 'T' || state == 't';
}

int uvexec__reap_signal(uvexec_cmd_t *cmd, int signum) {
  int group = uvexec__leads_group(cmd), err;

  if (cmd->pid <= 0 || cmd->exited)
    return UV_ESRCH;
  if (cmd->pidfd < 0) {
    /* Only where the kernel has no pidfd (the uv engine falls back to
     * this): libuv has not reaped the child, so its pid is still ours. */
    if (cmd->engine_reaps_uv && kill(group ? -cmd->pid : cmd->pid, signum) == 0)
      return 0;
    return cmd->engine_reaps_uv ? -errno : UV_ESRCH;
  }
  err = uvexec__pidfd_signal(cmd->pidfd, signum,
                             group ? PIDFD_SIGNAL_PROCESS_GROUP : 0);
  if (err == UV_EINVAL && group) {
    /* A kernel before 6.9 cannot signal a group through a pidfd. The
     * leader was not reaped a moment ago (the pidfd would say ESRCH), so
     * its group id is still its own; only a foreign reaper acting in
     * between the two calls could make it stale. */
    err = uvexec__pidfd_signal(cmd->pidfd, 0, 0);
    if (err != 0)
      return err;
    if (kill(-cmd->pid, signum) == 0)
      return 0;
    return -errno;
  }
  return err;
}
