/* SPDX-License-Identifier: MIT */
/* A command's life, decided in one place.
 *
 *                    uvexec_start
 *      CONFIGURING ---------------> RUNNING ---------------------> DONE
 *           |        the child         |   the exit seen, and every
 *           |        runs              |   stream uvexec reads at its
 *           | the start                |   end: the done callback
 *           | fails                    |
 *           v                          |
 *         FAILED                       |
 *
 *      uvexec_cmd_free, in any state: a running child is killed and
 *      reaped at once, every part is closed, no callback fires any more,
 *      and the memory goes once libuv has closed the last handle.
 *
 * Inside RUNNING, a run may be cut short (stop_reason: a timeout, a
 * cancel, the output limit), and may have exited while a stream is
 * still open (a grandchild holds the pipe); the wait delay bounds both.
 *
 * This file is the only one that changes cmd->state, and it alone decides
 * when a cmd is done, when and how it is stopped, and when its memory
 * goes. The parts of a run each own their resources and know nothing of
 * one another, as libuv's handles do:
 *
 *   read.c     stdout and stderr        EOF, IO_ERROR, LIMIT, OUTPUT
 *   write.c    stdin                    WRITE_FAILED
 *   reap.c     the exit, and signals    EXITED, LOST
 *   engine_*.c starting the child       EXITED (the uv engine)
 *   timers.c   the timeout, the delay   TIMEOUT, DELAY_OVER
 *   contain.c  the process tree         TREE_EMPTY
 *   ready.c    readiness, the watchdog  READY, NOT_READY, WATCHDOG
 *   pty.c      the terminal             (nothing to report)
 *   foreground.c  the caller's terminal (nothing to report)
 *
 * A part reports what happened through uvexec__lifecycle_event; the
 * switch there is the table of what each event does. Only this file
 * calls the parts (to start them, to cut them short, to close them), and
 * handles.c tells it when the last handle has closed.
 *
 * Why done waits for end of file as well as the exit: a child's output
 * can still sit in a pipe when its exit is seen, and a grandchild may
 * hold the pipe open longer; reporting done at the exit would lose that
 * output, as Go's Wait would if it did not wait for its copying
 * goroutines. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

/* ---- deciding the outcome ------------------------------------------------ */

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
    else if (cmd->stop_reason == UVEXEC_ENOTREADY)
      uvexec__set_error(cmd, "not ready after %llu ms",
                        (unsigned long long)cmd->ready.timeout_ms);
    else if (cmd->stop_reason == UVEXEC_EWATCHDOG)
      uvexec__set_error(cmd, "watchdog: no keep-alive for %llu ms",
                        (unsigned long long)cmd->ready.watchdog_ms);
    else
      uvexec__set_error(cmd, "exec: %s", uvexec_strerror(cmd->stop_reason));
    return cmd->stop_reason;
  }
  if (cmd->wait_error != 0) {
    uvexec__set_error(cmd, "wait: %s", uvexec_strerror(cmd->wait_error));
    return cmd->wait_error;
  }
  if (failed && cmd->limits.measured && cmd->limits.oom_kills > 0) {
    /* The kernel killed a process of the tree for the memory limit: the
     * failure is that, whichever process it was. */
    uvexec__set_error(cmd, "killed: out of memory (limit %llu bytes)",
                      (unsigned long long)cmd->limits.value[0]);
    return UVEXEC_EOOM;
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
  if (cmd->write_error != 0 && cmd->write_error != UV_EPIPE) {
    /* EPIPE after a successful exit is no error: the child did not need
     * the rest of its input (Go ignores it too). */
    uvexec__set_error(cmd, "exec: writing stdin: %s",
                      uvexec_strerror(cmd->write_error));
    return cmd->write_error;
  }
  return 0;
}

/* maybe_done ends the run once both the exit and every end of file were
 * seen. The done callback may free cmd: nothing touches cmd after it, and
 * callers call this last. */
static void maybe_done(uvexec_cmd_t *cmd) {
  int status;

  if (cmd->state != UVEXEC__RUNNING || !cmd->exited ||
      uvexec__readers_open(cmd) > 0 || !uvexec__contain_empty(cmd))
    return;
  cmd->state = UVEXEC__DONE;
  uvexec__foreground_close(cmd);
  uvexec__writer_close(cmd);
  uvexec__timers_close(cmd);
  uvexec__ready_close(cmd);
  /* What the tree used is read while its directories are still there. */
  if (uvexec__contain_measure(cmd, &cmd->tree_user_usec,
                              &cmd->tree_system_usec) == 0)
    cmd->tree_cpu_known = 1;
  uvexec__limits_measure(cmd);
  uvexec__contain_close(cmd);
  uvexec__limits_close(cmd);
  status = final_status(cmd);
  cmd->status = status;
  if (cmd->done_cb != NULL && !cmd->freed)
    cmd->done_cb(cmd, status);
}

/* cut_streams closes the streams still open, keeping what was read; the
 * callbacks still get their last line and their end-of-file call.
 * Non-zero when a callback freed cmd. */
static int cut_streams(uvexec_cmd_t *cmd) {
  return uvexec__reader_end(cmd, &cmd->out[0]) ||
         uvexec__reader_end(cmd, &cmd->out[1]);
}

/* ---- signalling and stopping -------------------------------------------- */

/* tree_alive tells whether a contained cmd's tree may still hold a
 * process. */
static int tree_alive(const uvexec_cmd_t *cmd) {
  return cmd->contain.on && !uvexec__contain_empty(cmd);
}

/* signal_run signals what the run is: every process of the tree when it
 * is contained, else the child, or its whole group when it leads one.
 * The child never after its exit was seen, and only through its pidfd
 * (reap.c): the pid may belong to another process by then. */
static int signal_run(uvexec_cmd_t *cmd, int signum) {
  if (tree_alive(cmd))
    return uvexec__contain_signal(cmd, signum);
  return uvexec__reap_signal(cmd, signum);
}

/* wake gives a stopped run back its CPU after signum, so that a signal
 * it handles reaches it: a run uvexec_suspend() stopped is thawed or
 * continued; a child stopped by job control (^Z on its terminal,
 * SIGTSTP, SIGSTOP) gets SIGCONT (its group or tree with it) after a
 * catchable signal, which it would keep pending until continued, as a
 * shell's kill of a stopped job knows. A run that is not stopped gets no
 * SIGCONT. */
static void wake(uvexec_cmd_t *cmd, int signum) {
  if (cmd->suspended) {
    cmd->suspended = 0;
    if (tree_alive(cmd))
      (void)uvexec__contain_freeze(cmd, 0);
    else
      (void)uvexec__reap_signal(cmd, SIGCONT);
    return;
  }
  if (signum != 0 && signum != SIGKILL && signum != SIGCONT &&
      uvexec__reap_stopped(cmd))
    (void)signal_run(cmd, SIGCONT);
}

/* One rule covers all the ways a run is cut short (timeout, cancel, the
 * output limit, a pipeline's stop): the signal goes to the child (or its
 * group, or every process of its tree) at once, and the wait delay, as in
 * Go, starts at the first of the stop and the exit. When it runs out, a
 * child still alive gets SIGKILL (a tree cgroup.kill) and the streams are
 * cut, keeping what was read. A stopped child's streams are never waited
 * on beyond its exit when there is no wait delay: a grandchild holding
 * them must not hang the done callback forever. A contained tree's
 * streams are never cut while the tree lives: killing the tree closes
 * them, and what it wrote before is read to the end. */
void uvexec__lifecycle_stop(uvexec_cmd_t *cmd, int reason, int signum) {
  if (cmd->state != UVEXEC__RUNNING || cmd->stop_reason != 0)
    return;
  cmd->stop_reason = reason;
  uvexec__timeout_close(cmd);

  if (!cmd->exited) {
    if (signum != 0)
      signal_run(cmd, signum);
    wake(cmd, signum);
    if (cmd->wait_delay_ms > 0)
      uvexec__delay_start(cmd, cmd->wait_delay_ms, 0);
  } else if (tree_alive(cmd)) {
    /* Exited, and what it left is being stopped: now, at once. */
    (void)uvexec__contain_signal(cmd, SIGKILL);
  } else {
    /* Exited already, streams still open (a grandchild holds them): cut
     * them on the next turn, also when the wait delay after the exit was
     * already counting down. */
    uvexec__delay_start(cmd, 0, 1);
  }
}

/* stop_leftovers stops what a contained child left in its tree when it
 * exited, as a stop would have (systemd's KillMode=control-group): the
 * cancel signal, then cgroup.kill after the wait delay, at once without
 * one. A stop already made signalled the tree and started the delay. */
static void stop_leftovers(uvexec_cmd_t *cmd) {
  if (cmd->stop_reason == 0 && cmd->cancel_signal != SIGKILL)
    (void)uvexec__contain_signal(cmd, cmd->cancel_signal);
  if (cmd->cancel_signal == SIGKILL || cmd->wait_delay_ms == 0) {
    (void)uvexec__contain_signal(cmd, SIGKILL);
    return;
  }
  wake(cmd, cmd->cancel_signal);
  uvexec__delay_start(cmd, cmd->wait_delay_ms, 0);
}

/* close_exit_watch closes whatever watches the exit: the pidfd and, with
 * the uv engine, libuv's process handle. After the exit was seen, or
 * once the child was reaped, neither has anything left to tell. */
static void close_exit_watch(uvexec_cmd_t *cmd) {
  uvexec__reap_close(cmd);
  uvexec__engine_uv_close(cmd);
}

/* ---- the events ---------------------------------------------------------- */

static uint64_t usec(const struct timeval *tv) {
  return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

/* exited records the exit and bounds the wait for the streams after it. */
static void exited(uvexec_cmd_t *cmd, const uvexec__event_t *ev) {
  cmd->exited = 1;
  cmd->exit_code = (int)ev->exit_status;
  cmd->term_signal = ev->term_signal;
  if (ev->type == UVEXEC__EV_LOST)
    cmd->wait_error = ev->err;
  cmd->exited_ns = uv_hrtime();
  if (ev->rusage != NULL) {
    cmd->have_rusage = 1;
    cmd->rusage_full = *ev->rusage;
    cmd->rusage.user_usec = usec(&ev->rusage->ru_utime);
    cmd->rusage.system_usec = usec(&ev->rusage->ru_stime);
    cmd->rusage.maxrss_kib = (uint64_t)ev->rusage->ru_maxrss;
  }
  close_exit_watch(cmd);
  /* The terminal is the caller's again as soon as the child is gone, as
   * a shell takes it back after waitpid(): done may wait longer (for end
   * of file, for a tree). */
  uvexec__foreground_close(cmd);
  if (cmd->freed)
    return;
  uvexec__timeout_close(cmd);
  if (cmd->contain.on) {
    /* Done waits for the tree's end; the streams end with it, as nothing
     * outside the tree holds them, so they are read to their end. */
    cmd->leftovers = uvexec__contain_left(cmd);
    if (!uvexec__contain_empty(cmd))
      stop_leftovers(cmd);
    maybe_done(cmd);
    return;
  }
  if (uvexec__readers_open(cmd) > 0) {
    if (cmd->stop_reason != 0 && cmd->wait_delay_ms == 0) {
      if (cut_streams(cmd))
        return;
    } else if (cmd->wait_delay_ms > 0) {
      uvexec__delay_start(cmd, cmd->wait_delay_ms, 0);
    }
  }
  maybe_done(cmd);
}

/* delay_over ends the wait delay: the child, if still alive, is killed
 * (a tree, with everything in it), and the streams still open are cut,
 * unless a tree being killed holds them. */
static void delay_over(uvexec_cmd_t *cmd) {
  if (!cmd->exited || tree_alive(cmd))
    signal_run(cmd, SIGKILL);
  if (uvexec__readers_open(cmd) > 0) {
    cmd->waitdelay_expired = cmd->wait_delay_ms > 0;
    if (!tree_alive(cmd) && cut_streams(cmd))
      return;
  }
  maybe_done(cmd);
}

/* became_ready records readiness, once, while the child runs, and calls
 * the ready callback, which may free cmd: the callers call this last. */
static void became_ready(uvexec_cmd_t *cmd) {
  if (cmd->state != UVEXEC__RUNNING || cmd->exited || cmd->ready.ready)
    return;
  uvexec__ready_became(cmd);
  if (cmd->ready.on_ready != NULL && !cmd->freed)
    cmd->ready.on_ready(cmd);
}

void uvexec__lifecycle_adopt(uvexec_cmd_t *cmd, uvexec_cmd_t *from) {
  int i;

  if (cmd->state != UVEXEC__DONE || from->state != UVEXEC__DONE)
    return;
  cmd->pid = from->pid;
  cmd->exit_code = from->exit_code;
  cmd->term_signal = from->term_signal;
  cmd->stop_reason = from->stop_reason;
  cmd->status = from->status;
  cmd->waitdelay_expired = from->waitdelay_expired;
  cmd->io_error = from->io_error;
  cmd->write_error = from->write_error;
  cmd->wait_error = from->wait_error;
  cmd->have_rusage = from->have_rusage;
  cmd->rusage = from->rusage;
  cmd->rusage_full = from->rusage_full;
  cmd->started_ns = from->started_ns;
  cmd->exited_ns = from->exited_ns;
  cmd->tree_cpu_known = from->tree_cpu_known;
  cmd->tree_user_usec = from->tree_user_usec;
  cmd->tree_system_usec = from->tree_system_usec;
  cmd->limits.measured = from->limits.measured;
  cmd->limits.memory_peak = from->limits.memory_peak;
  cmd->limits.oom_kills = from->limits.oom_kills;
  cmd->leftovers = from->leftovers;
  /* The captures trade places: each buffer is freed with its new owner. */
  for (i = 0; i < 2; i++) {
    uvexec__buf_t buf = cmd->out[i].buf;

    cmd->out[i].buf = from->out[i].buf;
    from->out[i].buf = buf;
    cmd->out[i].capture_full = from->out[i].capture_full;
  }
  if (from->error == NULL)
    uvexec__clear_error(cmd);
  else
    uvexec__set_error(cmd, "%s", from->error);
}

void uvexec__lifecycle_event(uvexec_cmd_t *cmd, const uvexec__event_t *ev) {
  switch (ev->type) {
  case UVEXEC__EV_EXITED: /* the child was reaped */
  case UVEXEC__EV_LOST:   /* ... by someone else: its status is lost */
    exited(cmd, ev);
    return;
  case UVEXEC__EV_EOF: /* a stream ended: the run may be over */
    if (ev->err != 0)
      cmd->io_error = ev->err;
    maybe_done(cmd);
    return;
  case UVEXEC__EV_DELAY_OVER:
    delay_over(cmd);
    return;
  case UVEXEC__EV_TREE_EMPTY: /* what the exit left is gone */
    maybe_done(cmd);
    return;
  case UVEXEC__EV_READY:
    became_ready(cmd);
    return;
  case UVEXEC__EV_OUTPUT: /* the ready line may be among these bytes */
    if (uvexec__ready_output(cmd, ev->which, ev->data, ev->len))
      became_ready(cmd);
    return;
  case UVEXEC__EV_NOT_READY:
    uvexec__lifecycle_stop(cmd, UVEXEC_ENOTREADY, cmd->cancel_signal);
    return;
  case UVEXEC__EV_WATCHDOG: /* as systemd's WatchdogSignal: SIGABRT */
    uvexec__lifecycle_stop(cmd, UVEXEC_EWATCHDOG, SIGABRT);
    return;
  case UVEXEC__EV_IO_ERROR: /* the first loss is the one reported */
    if (cmd->io_error == 0)
      cmd->io_error = ev->err;
    return;
  case UVEXEC__EV_LIMIT:
    uvexec__lifecycle_stop(cmd, UV_ENOBUFS, cmd->cancel_signal);
    return;
  case UVEXEC__EV_WRITE_FAILED:
    cmd->write_error = ev->err;
    return;
  case UVEXEC__EV_TIMEOUT:
    uvexec__lifecycle_stop(cmd, UV_ETIMEDOUT, cmd->cancel_signal);
    return;
  }
}

/* ---- the start ------------------------------------------------------------ */

/* spawn starts the child: the checks that create nothing, the terminal,
 * the pipes, the engine, and the watch on its exit. On failure nothing is
 * left: no fd, no child (libuv's process handle, which must be closed
 * even after a failed uv_spawn, closes on the loop). */
/* extra_fds answers the child's fds from 3 on: the caller's, and the
 * notification fd's pipe at its number, the fds between them closed
 * (UVEXEC__FD_NONE). *extra is cmd's own array when nothing is added. */
static int extra_fds(uvexec_cmd_t *cmd, int **extra, size_t *n) {
  size_t count = cmd->extra_count, i;
  int *fds;

  *extra = cmd->extra_fds;
  *n = cmd->extra_count;
  if (!(cmd->ready.ways & UVEXEC__READY_FD))
    return 0;
  if ((size_t)cmd->ready.child_fd - 3 + 1 > count)
    count = (size_t)cmd->ready.child_fd - 3 + 1;
  fds = malloc(count * sizeof(*fds));
  if (fds == NULL)
    return UV_ENOMEM;
  for (i = 0; i < count; i++)
    fds[i] = i < cmd->extra_count ? cmd->extra_fds[i] : UVEXEC__FD_NONE;
  fds[cmd->ready.child_fd - 3] = cmd->ready.pipe_child;
  *extra = fds;
  *n = count;
  return 0;
}

/* plan_files names the files the child's 0, 1 and 2 are opened on
 * (< file, > or >> file; 2>&1 into the same open file). */
static void plan_files(const uvexec_cmd_t *cmd, uvexec__spawn_plan_t *plan) {
  int i;

  for (i = 0; i < 3; i++) {
    plan->path[i] = NULL;
    plan->flags[i] = 0;
  }
  if (cmd->in.kind == UVEXEC__IO_FILE) {
    plan->path[0] = cmd->in.path;
    plan->flags[0] = O_RDONLY;
  }
  for (i = 0; i < 2; i++) {
    const uvexec__reader_t *r = &cmd->out[i];

    if (r->kind != UVEXEC__IO_FILE)
      continue;
    plan->path[i + 1] = r->path;
    plan->flags[i + 1] =
        O_WRONLY | O_CREAT | (r->append ? O_APPEND : O_TRUNC);
  }
  if (cmd->out[1].kind == UVEXEC__IO_MERGE && plan->path[1] != NULL) {
    plan->path[2] = plan->path[1];
    plan->flags[2] = plan->flags[1];
  }
}

static int spawn(uvexec_cmd_t *cmd) {
  uvexec__spawn_plan_t plan;
  int child_fds[3] = {-1, -1, -1}, owned[3] = {0, 0, 0};
  char **envp = NULL;
  int *extra = NULL;
  size_t nextra = 0;
  int err, i, pidfd = -1, argv_owned = 0;
  char **argv = NULL;
  uvexec_engine_t engine;

  engine = uvexec__choose_engine(cmd);
  if (engine != UVEXEC_ENGINE_CLONE && (cmd->detached || cmd->fg.fd >= 0)) {
    /* libuv's child is this process's, and runs no code of ours. */
    uvexec__set_error(cmd, "exec: the uv engine cannot %s: use "
                           "UVEXEC_ENGINE_CLONE",
                      cmd->detached ? "detach a child"
                                    : "give the child the terminal's "
                                      "foreground");
    return UV_ENOTSUP;
  }
  if (cmd->contain.on) {
    if (engine != UVEXEC_ENGINE_CLONE) {
      uvexec__set_error(cmd, "exec: the uv engine cannot contain a command "
                             "(its child cannot be born in a cgroup): use "
                             "UVEXEC_ENGINE_CLONE");
      return UV_ENOTSUP;
    }
    if (cmd->setup.cgroup != NULL) {
      uvexec__set_error(cmd, "exec: a contained command runs in a cgroup "
                             "of its own, not in %s",
                        cmd->setup.cgroup);
      return UV_EINVAL;
    }
  }
  err = uvexec__ready_prepare(cmd);
  if (err != 0)
    return err;
  err = uvexec__preflight(cmd, &envp);
  if (err != 0) {
    uvexec__ready_close(cmd);
    return err;
  }
  if (cmd->contain.on) {
    err = uvexec__contain_open(cmd);
    if (err == 0 && uvexec__limits_any(cmd)) {
      err = uvexec__limits_open(cmd, cmd->contain.cg.dirfd);
      if (err != 0)
        uvexec__contain_close(cmd);
    }
    if (err != 0) {
      uvexec__ready_close(cmd);
      free(envp);
      return err;
    }
  }
  if (cmd->pty.on)
    err = uvexec__pty_open(cmd, child_fds);
  if (err == 0)
    err = uvexec__stdio_prepare(cmd, child_fds, owned);
  if (err == 0)
    err = uvexec__foreground_open(cmd);
  if (err == 0)
    err = extra_fds(cmd, &extra, &nextra);
  if (err == 0 && (argv = uvexec__child_argv(cmd, &argv_owned)) == NULL)
    err = UV_ENOMEM;
  if (err != 0) {
    uvexec__stdio_abort(cmd);
    uvexec__contain_close(cmd);
    uvexec__limits_close(cmd);
    uvexec__ready_close(cmd);
    if (extra != cmd->extra_fds)
      free(extra);
    if (cmd->error == NULL)
      uvexec__set_error(cmd, "exec: creating pipes: %s",
                        uvexec_strerror(err));
    free(envp);
    return err;
  }

  plan.file = cmd->path;
  plan.argv = argv;
  plan.envp = envp;
  plan.dir = cmd->dir;
  for (i = 0; i < 3; i++)
    plan.fds[i] = child_fds[i];
  plan.extra = extra;
  plan.extra_count = nextra;
  plan.tty = cmd->pty.on ? cmd->pty.path : NULL;
  plan.cgroup_fd = cmd->contain.cg.dirfd;
  plan.foreground_fd = cmd->fg.fd;
  plan.detach = cmd->detached;
  plan.njoin = uvexec__limits_join_fds(cmd, plan.join_fds);
  plan_files(cmd, &plan);
  cmd->started_ns = uv_hrtime();

  if (engine == UVEXEC_ENGINE_CLONE) {
    err = uvexec__engine_clone_spawn(cmd, &plan, &pidfd);
    if (err == 0 && !cmd->detached) {
      err = uvexec__reap_watch(cmd, pidfd);
      if (err != 0) {
        /* Started, but its exit could not be watched: undone. */
        (void)uvexec__pidfd_signal(pidfd, SIGKILL, 0);
        uvexec__pidfd_wait_exit(pidfd);
        close(pidfd);
        cmd->pid = 0;
      }
    }
  } else {
    err = uvexec__engine_uv_spawn(cmd, &plan);
    /* libuv reaps the child; a pidfd lets uvexec signal only this child
     * and notice a foreign reaper, which libuv would wait for forever. */
    if (err == 0)
      err = uvexec__reap_adopt(cmd);
  }

  /* The child has its copies (or there is no child): the parent's copies
   * of the child's ends go now, or the parent would never see EOF. */
  for (i = 0; i < 3; i++)
    if (owned[i])
      close(child_fds[i]);
  uvexec__ready_spawned(cmd);
  uvexec__limits_spawned(cmd);
  if (extra != cmd->extra_fds)
    free(extra);
  if (argv_owned)
    free(argv);
  free(envp);

  if (err != 0) {
    uvexec__stdio_abort(cmd);
    uvexec__foreground_close(cmd);
    uvexec__contain_close(cmd);
    uvexec__limits_close(cmd);
    uvexec__ready_close(cmd);
    if (cmd->error == NULL)
      uvexec__set_start_error(cmd, err, "fork/exec", cmd->path);
  }
  return err;
}

int uvexec_start(uvexec_cmd_t *cmd, uv_loop_t *loop, uvexec_done_cb done_cb) {
  int err, i;

  if (cmd == NULL || loop == NULL)
    return UV_EINVAL;
  if (cmd->freed)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return uvexec__already_started(cmd);
  err = uvexec__pty_check(cmd);
  if (err == 0)
    err = uvexec__foreground_check(cmd);
  if (err == 0)
    err = uvexec__detached_check(cmd);
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
  err = spawn(cmd);
  if (err != 0)
    return err;

  cmd->state = UVEXEC__RUNNING;
  uvexec__clear_error(cmd);
  if (cmd->detached) {
    /* The daemon runs, and is not ours: the run is over, with nothing
     * to wait for. Done comes on the next turn, as the contract of a
     * start wants (never from inside uvexec_start). */
    cmd->exited = 1;
    uvexec__delay_start(cmd, 0, 1);
    return 0;
  }
  for (i = 0; i < 2; i++) {
    uvexec__reader_t *r = &cmd->out[i];

    if (r->fd < 0)
      continue;
    err = uvexec__reader_start(cmd, r);
    if (err != 0) {
      cmd->io_error = err;
      uvexec__reader_abandon(r);
    }
  }
  uvexec__writer_start(cmd);
  err = uvexec__ready_start(cmd);
  if (err == 0)
    err = uvexec__timeout_start(cmd);
  if (err != 0) {
    /* The child runs but cannot be bounded as asked: stop it and let
     * the normal path report the error through done. */
    uvexec__lifecycle_stop(cmd, err, cmd->cancel_signal);
  }
  return 0;
}

/* ---- what the caller may do while it runs ------------------------------- */

int uvexec_cancel(uvexec_cmd_t *cmd) {
  if (cmd != NULL && cmd->forward != NULL)
    cmd = cmd->forward;
  if (cmd == NULL || cmd->state == UVEXEC__CONFIGURING ||
      cmd->state == UVEXEC__FAILED)
    return UV_EINVAL;
  uvexec__lifecycle_stop(cmd, UV_ECANCELED, cmd->cancel_signal);
  return 0;
}

int uvexec_kill(uvexec_cmd_t *cmd, int signum) {
  if (cmd == NULL || signum < 0 || signum >= NSIG)
    return UV_EINVAL;
  if (cmd->forward != NULL)
    cmd = cmd->forward;
  return signal_run(cmd, signum);
}

/* suspend_run freezes (on) or thaws the run: a contained tree through
 * cgroup.freeze, which it cannot see; else the child (its group when it
 * leads one) with SIGSTOP and SIGCONT. */
static int suspend_run(uvexec_cmd_t *cmd, int on) {
  int err;

  if (cmd == NULL)
    return UV_EINVAL;
  if (cmd->forward != NULL)
    cmd = cmd->forward;
  if (cmd->state != UVEXEC__RUNNING || cmd->exited)
    return UV_ESRCH;
  if (cmd->contain.on)
    err = uvexec__contain_freeze(cmd, on);
  else
    err = uvexec__reap_signal(cmd, on ? SIGSTOP : SIGCONT);
  if (err == 0)
    cmd->suspended = on;
  return err;
}

int uvexec_suspend(uvexec_cmd_t *cmd) {
  return suspend_run(cmd, 1);
}

int uvexec_resume(uvexec_cmd_t *cmd) {
  return suspend_run(cmd, 0);
}

int uvexec_contain_leftovers(const uvexec_cmd_t *cmd) {
  if (cmd == NULL || !cmd->contain.on)
    return UV_EINVAL;
  if (cmd->state != UVEXEC__DONE)
    return UV_EBUSY;
  return cmd->leftovers;
}

/* ---- release -------------------------------------------------------------- */

static void release(uvexec_cmd_t *cmd) {
  uvexec__cmd_release(cmd);
}

void uvexec_cmd_free(uvexec_cmd_t *cmd) {
  if (cmd == NULL || cmd->freed)
    return;
  cmd->freed = 1;

  if (cmd->state == UVEXEC__RUNNING) {
    /* The child must not outlive its cmd: it is killed and reaped here
     * and now, which SIGKILL makes short, rather than on a later loop
     * turn that may never come (the loop's handles may have been closed
     * under the cmd, or be about to be, by a uv_walk() shutdown). Then
     * every part closes. No callback fires from here on, since
     * cmd->freed is set. */
    if (!cmd->exited) {
      uvexec__reap_now(cmd);
      cmd->exited = 1;
    }
    close_exit_watch(cmd);
    uvexec__foreground_close(cmd);
    uvexec__contain_close(cmd); /* the tree, killed and waited for */
    uvexec__limits_close(cmd);
    uvexec__ready_close(cmd);
    uvexec__reader_abandon(&cmd->out[0]);
    uvexec__reader_abandon(&cmd->out[1]);
    uvexec__writer_close(cmd);
    uvexec__timers_close(cmd);
  }
  uvexec__handles_when_closed(cmd, release);
}
