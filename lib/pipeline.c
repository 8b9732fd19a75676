/* SPDX-License-Identifier: MIT */
/* Pipelines: `a | b | c` on the loop, without a shell.
 *
 * A pipeline is built above the cmd's own interface: each joint is a
 * pipe2(O_CLOEXEC) made here, whose write end becomes member i's stdout
 * and whose read end becomes member i+1's stdin through the caller-fd
 * setters, and the parent closes its copies as soon as the members that
 * need them have started. The bytes then go from child to child: the
 * parent never reads them, and a member that stops reading gives its
 * writer SIGPIPE (or EOF downstream) exactly as in a shell, since no copy
 * of a joint stays open anywhere else.
 *
 * Start is all or nothing. Everything that can be checked without a
 * child (the program's lookup, the directory) is checked for every member
 * before the first spawn; a member that still fails to start has the ones
 * already running killed (they are reaped as the loop runs, and no
 * callback reports them).
 *
 * The members form one process group led by the first, so that a stop is
 * one kill() reaching every member and whatever they started. The group
 * is signalled only while a member is unreaped: the group's id is the
 * first member's pid, and only a live (or zombie) member keeps that
 * number from being reused. Where no group can be set (the uv_spawn
 * engine, a new session per member) each member is signalled in turn.
 *
 * A contained pipeline (uvexec_pipeline_set_contain) has one cgroup v2
 * directory of its own (cgroup.c), and each member is contained in a
 * directory inside it (uvexec_cmd_set_contain): a stop reaches every
 * process of every member's tree through the pipeline's directory, and
 * each member stops what it leaves at its own exit, as any contained
 * cmd does. The directory goes once every member is done. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

typedef enum {
  P_CONFIGURING = 0,
  P_RUNNING, /* every member started; the done callback is still ahead */
  P_DONE,    /* the done callback was called (or is being called) */
  P_FAILED   /* the start failed; started members are being reaped */
} pstate_t;

struct uvexec_pipeline_s {
  pstate_t state;
  void *data;          /* the caller's */
  uvexec_cmd_t **cmds; /* owned, and the cmds with it */
  size_t n;

  /* Configuration. */
  uvexec_pipe_policy_t policy;
  uint64_t timeout_ms;
  uint64_t wait_delay_ms; /* 0: the members keep their own */
  int cancel_signal;
  int new_session;
  int contain;          /* uvexec_pipeline_set_contain was called */
  char *contain_parent; /* owned; NULL: the default */

  /* The run. */
  uv_loop_t *loop;
  uvexec_pipeline_done_cb done_cb;
  size_t running;  /* members started whose done has not come yet */
  pid_t pgid;      /* the members' process group; 0 without one */
  int stop_reason; /* 0, UV_ETIMEDOUT, UV_ECANCELED */
  int status;
  /* The timeout's timer is allocated on its own and freed by its close
   * callback, so that the pipeline may be freed before libuv is done. */
  uv_timer_t *timer;
  uvexec__cgroup_t cg; /* a contained pipeline's directory */
  char *error; /* owned */
};

#define GUARD_CONFIG(p)                                                        \
  do {                                                                         \
    if ((p) == NULL)                                                           \
      return UV_EINVAL;                                                        \
    if ((p)->state != P_CONFIGURING)                                           \
      return UV_EBUSY;                                                         \
  } while (0)

/* ---- messages ------------------------------------------------------------ */

static void set_error(uvexec_pipeline_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(uvexec_pipeline_t *p, const char *fmt, ...) {
  char *msg = NULL;
  va_list ap;

  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL; /* no memory: no message, the status still tells */
  va_end(ap);
  free(p->error);
  p->error = msg;
}

/* put_member writes a member as messages name it: its number from 1 and
 * its arguments, quoted: 2 "grep x". */
static void put_member(FILE *f, const uvexec_pipeline_t *p, size_t i) {
  char **argv = p->cmds[i]->argv;
  size_t k;

  fprintf(f, "%zu \"", i + 1);
  for (k = 0; argv[k] != NULL; k++)
    fprintf(f, "%s%s", k > 0 ? " " : "", argv[k]);
  fputc('"', f);
}

/* member_error is member cmd's own message for err. */
static const char *member_error(const uvexec_cmd_t *cmd, int err) {
  const char *msg = uvexec_cmd_error(cmd);

  return msg != NULL ? msg : uvexec_strerror(err);
}

/* set_member_error words an error of member i: the member named, then
 * what. */
static void set_member_error(uvexec_pipeline_t *p, size_t i,
                             const char *what) {
  char *msg = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&msg, &len);

  if (f == NULL)
    return;
  fputs("pipeline: ", f);
  put_member(f, p, i);
  fprintf(f, ": %s", what);
  if (fclose(f) != 0) {
    free(msg);
    msg = NULL;
  }
  free(p->error);
  p->error = msg;
}

/* ---- creation and release ------------------------------------------------ */

/* The streams a pipeline joins must be left to it: what the caller may
 * have done to them is set a destination, a buffer, a pipe or a
 * callback. */
static int stdout_configured(const uvexec_cmd_t *cmd) {
  const uvexec__reader_t *r = &cmd->out[0];

  return r->kind != UVEXEC__IO_NULL || r->capture || uvexec__has_callbacks(r);
}

static int stdin_configured(const uvexec_cmd_t *cmd) {
  const uvexec__writer_t *w = &cmd->in;

  return w->kind != UVEXEC__IO_NULL || w->streaming || w->data.len > 0 ||
         w->drain_cb != NULL;
}

/* joints_free tells whether member i of n leaves the joined streams
 * alone. */
static int joints_free(const uvexec_cmd_t *cmd, size_t i, size_t n) {
  if (i + 1 < n && stdout_configured(cmd))
    return 0;
  if (i > 0 && stdin_configured(cmd))
    return 0;
  return 1;
}

uvexec_pipeline_t *uvexec_pipeline_cmds(uvexec_cmd_t *const *cmds, size_t n) {
  uvexec_pipeline_t *p;
  size_t i, j;

  if (cmds == NULL || n == 0)
    return NULL;
  for (i = 0; i < n; i++) {
    const uvexec_cmd_t *cmd = cmds[i];

    if (cmd == NULL || cmd->freed || cmd->state != UVEXEC__CONFIGURING ||
        cmd->pipeline != NULL || cmd->group_node != NULL ||
        !joints_free(cmd, i, n))
      return NULL;
    for (j = 0; j < i; j++)
      if (cmds[j] == cmd)
        return NULL;
  }

  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return NULL;
  p->cmds = malloc(n * sizeof(*p->cmds));
  if (p->cmds == NULL) {
    free(p);
    return NULL;
  }
  for (i = 0; i < n; i++) {
    p->cmds[i] = cmds[i];
    cmds[i]->pipeline = p;
  }
  p->n = n;
  p->state = P_CONFIGURING;
  p->policy = UVEXEC_PIPE_FAIL;
  p->cancel_signal = SIGKILL;
  uvexec__cgroup_init(&p->cg);
  return p;
}

uvexec_pipeline_t *uvexec_pipeline(uvexec_cmd_t *first, ...) {
  uvexec_pipeline_t *p;
  uvexec_cmd_t **cmds;
  va_list ap;
  size_t n;

  if (first == NULL)
    return NULL;
  va_start(ap, first);
  for (n = 1; va_arg(ap, uvexec_cmd_t *) != NULL; n++)
    ;
  va_end(ap);

  cmds = malloc((n + 1) * sizeof(*cmds)); /* and the NULL */
  if (cmds == NULL)
    return NULL;
  cmds[0] = first;
  va_start(ap, first);
  for (n = 1; (cmds[n] = va_arg(ap, uvexec_cmd_t *)) != NULL; n++)
    ;
  va_end(ap);

  p = uvexec_pipeline_cmds(cmds, n);
  free(cmds);
  return p;
}

static void on_timer_closed(uv_handle_t *handle) {
  free(handle);
}

static void close_timer(uvexec_pipeline_t *p) {
  if (p->timer != NULL) {
    uv_close((uv_handle_t *)p->timer, on_timer_closed);
    p->timer = NULL;
  }
}

/* signal_group sends signum to every process of a contained pipeline's
 * tree, or to the members' process group, if there is one and a member
 * still holds its id (an unreaped member: the id is the first member's
 * pid, and a group without a member could be another's by now). Non-zero
 * when it was sent. */
static int signal_group(uvexec_pipeline_t *p, int signum) {
  size_t i;

  if (p->cg.dirfd >= 0)
    return uvexec__cgroup_signal(&p->cg, signum) == 0;
  if (p->pgid <= 0)
    return 0;
  for (i = 0; i < p->n; i++) {
    const uvexec_cmd_t *cmd = p->cmds[i];

    if (uvexec_pid(cmd) > 0 && uvexec_exit_code(cmd) == UV_EBUSY)
      return kill(-p->pgid, signum) == 0;
  }
  return 0;
}

void uvexec_pipeline_free(uvexec_pipeline_t *p) {
  size_t i;

  if (p == NULL)
    return;
  /* One SIGKILL for the group reaches what the members started too; each
   * member's own free then kills it (again) and lets the loop reap it. */
  if (p->state == P_RUNNING || p->state == P_FAILED)
    signal_group(p, SIGKILL);
  close_timer(p);
  for (i = 0; i < p->n; i++) {
    p->cmds[i]->pipeline = NULL;
    uvexec_cmd_free(p->cmds[i]);
  }
  /* Each member's free removed its own directory, inside this one. */
  (void)uvexec__cgroup_remove(&p->cg);
  free(p->contain_parent);
  free(p->cmds);
  free(p->error);
  free(p);
}

size_t uvexec_pipeline_len(const uvexec_pipeline_t *p) {
  return p != NULL ? p->n : 0;
}

uvexec_cmd_t *uvexec_pipeline_cmd(const uvexec_pipeline_t *p, size_t i) {
  if (p == NULL || i >= p->n)
    return NULL;
  return p->cmds[i];
}

void uvexec_pipeline_set_data(uvexec_pipeline_t *p, void *data) {
  if (p != NULL)
    p->data = data;
}

void *uvexec_pipeline_data(const uvexec_pipeline_t *p) {
  return p != NULL ? p->data : NULL;
}

const char *uvexec_pipeline_error(const uvexec_pipeline_t *p) {
  return p != NULL ? p->error : NULL;
}

/* ---- configuration ------------------------------------------------------- */

int uvexec_pipeline_set_policy(uvexec_pipeline_t *p, uvexec_pipe_policy_t how) {
  GUARD_CONFIG(p);
  if (how != UVEXEC_PIPE_FAIL && how != UVEXEC_PIPE_LAST &&
      how != UVEXEC_PIPE_ALL)
    return UV_EINVAL;
  p->policy = how;
  return 0;
}

int uvexec_pipeline_set_timeout(uvexec_pipeline_t *p, uint64_t ms) {
  GUARD_CONFIG(p);
  p->timeout_ms = ms;
  return 0;
}

int uvexec_pipeline_set_cancel_signal(uvexec_pipeline_t *p, int signum) {
  GUARD_CONFIG(p);
  if (signum <= 0 || signum >= NSIG)
    return UV_EINVAL;
  p->cancel_signal = signum;
  return 0;
}

int uvexec_pipeline_set_wait_delay(uvexec_pipeline_t *p, uint64_t ms) {
  GUARD_CONFIG(p);
  p->wait_delay_ms = ms;
  return 0;
}

int uvexec_pipeline_set_new_session(uvexec_pipeline_t *p, int on) {
  GUARD_CONFIG(p);
  p->new_session = on != 0;
  return 0;
}

int uvexec_pipeline_set_contain(uvexec_pipeline_t *p, const char *parent) {
  char *copy = NULL;

  GUARD_CONFIG(p);
  if (parent != NULL && parent[0] != '\0') {
    copy = strdup(parent);
    if (copy == NULL)
      return UV_ENOMEM;
  }
  free(p->contain_parent);
  p->contain_parent = copy;
  p->contain = 1;
  return 0;
}

/* ---- stopping ------------------------------------------------------------ */

/* stop_member records a stop on one member, so that it reports it and its
 * pipes are bounded as after its own cancel. When the group's signal
 * already reached the member, its stop sends nothing more (a SIGTERM
 * handler would see two). */
static void stop_member(uvexec_cmd_t *cmd, int reason, int signalled) {
  uvexec__lifecycle_stop(cmd, reason, signalled ? 0 : cmd->cancel_signal);
}

/* stop cuts the whole run short: one signal for the group, or each
 * member's own. Like a cmd's stop, it calls back into nothing, so it is
 * safe from any callback. */
static void stop(uvexec_pipeline_t *p, int reason) {
  int grouped;
  size_t i;

  if (p->state != P_RUNNING || p->stop_reason != 0)
    return;
  p->stop_reason = reason;
  close_timer(p);
  grouped = signal_group(p, p->cancel_signal);
  /* Without a group, downstream first: a member whose writer died first
   * would see end of file and could exit on its own before its signal. */
  for (i = p->n; i-- > 0;)
    stop_member(p->cmds[i], reason, grouped);
}

static void on_timeout(uv_timer_t *timer) {
  stop(timer->data, UV_ETIMEDOUT);
}

int uvexec_pipeline_cancel(uvexec_pipeline_t *p) {
  if (p == NULL || p->state == P_CONFIGURING || p->state == P_FAILED)
    return UV_EINVAL;
  stop(p, UV_ECANCELED);
  return 0;
}

/* ---- the outcome --------------------------------------------------------- */

static int killed_by_sigpipe(const uvexec_cmd_t *cmd) {
  return cmd->status == UVEXEC_ESIGNALED &&
         uvexec_term_signal(cmd) == SIGPIPE;
}

/* outcome decides the done status under the policy and words the
 * message. A member killed by SIGPIPE is excused when the member it wrote
 * to succeeded, or was excused itself (`yes | cat | head -1`: head had
 * what it wanted, cat and then yes lost their readers). */
static int outcome(uvexec_pipeline_t *p) {
  char *msg = NULL;
  size_t len = 0, i, failed = 0;
  int downstream_ok = 0; /* member i+1 succeeded or was excused */
  unsigned char *counts;
  FILE *f;

  if (p->stop_reason != 0) {
    set_error(p, "pipeline: %s",
              p->stop_reason == UV_ETIMEDOUT ? "context deadline exceeded"
                                             : "context canceled");
    return p->stop_reason;
  }

  counts = calloc(p->n, 1);
  if (counts == NULL) {
    set_error(p, "pipeline: %s", uvexec_strerror(UV_ENOMEM));
    return UV_ENOMEM;
  }
  for (i = p->n; i-- > 0;) {
    const uvexec_cmd_t *cmd = p->cmds[i];
    int ok = cmd->status == 0;

    if (!ok && i + 1 < p->n && downstream_ok && killed_by_sigpipe(cmd))
      ok = 1;
    downstream_ok = ok;
    if (!ok && (p->policy != UVEXEC_PIPE_LAST || i + 1 == p->n)) {
      counts[i] = 1;
      failed++;
    }
  }

  free(p->error);
  p->error = NULL;
  if (failed == 0) {
    free(counts);
    return 0;
  }
  f = open_memstream(&msg, &len);
  if (f != NULL) {
    const char *sep = "pipeline: ";

    for (i = 0; i < p->n; i++) {
      if (!counts[i])
        continue;
      fputs(sep, f);
      put_member(f, p, i);
      fprintf(f, ": %s", member_error(p->cmds[i], p->cmds[i]->status));
      sep = "; ";
    }
    if (fclose(f) == 0)
      p->error = msg;
    else
      free(msg);
  }
  free(counts);
  return UVEXEC_EPIPELINE;
}

/* on_member_done hears every member's done; the last one ends the
 * pipeline. After a failed start the members that had started are
 * reaped here in silence. */
static void on_member_done(uvexec_cmd_t *cmd, int status) {
  uvexec_pipeline_t *p = cmd->pipeline;

  (void)status;
  if (p == NULL)
    return;
  p->running--;
  if (p->running == 0)
    (void)uvexec__cgroup_remove(&p->cg); /* every member's is gone */
  if (p->state != P_RUNNING || p->running > 0)
    return;
  close_timer(p);
  p->state = P_DONE;
  p->status = outcome(p);
  /* Last: the callback may free p. */
  if (p->done_cb != NULL)
    p->done_cb(p, p->status);
}

/* ---- starting ------------------------------------------------------------ */

/* check_members refuses what cannot start as a pipeline: a member started
 * on its own, or a joined stream configured after the creation. */
static int check_members(uvexec_pipeline_t *p) {
  size_t i;

  for (i = 0; i < p->n; i++) {
    uvexec_cmd_t *cmd = p->cmds[i];

    if (cmd->state != UVEXEC__CONFIGURING)
      return UV_EALREADY;
    if (p->contain && (cmd->contain.on || cmd->setup.cgroup != NULL)) {
      set_member_error(p, i,
                       "a contained pipeline puts its members in its own "
                       "cgroup; it cannot have one of its own");
      return UV_EINVAL;
    }
    if (joints_free(cmd, i, p->n) && uvexec__check_config(cmd) == 0)
      continue;
    set_member_error(p, i,
                     !joints_free(cmd, i, p->n)
                         ? "its stdin and stdout between members are the "
                           "pipeline's"
                         : "an output callback needs its stream left at its "
                           "default or captured");
    return UV_EINVAL;
  }
  return 0;
}

/* configure_members gives the members what the pipeline decides for all
 * of them, before any starts. Answers whether they can share a group. */
static int configure_members(uvexec_pipeline_t *p) {
  int grouped = !p->new_session;
  size_t i;

  for (i = 0; i < p->n; i++)
    if (!uvexec__engine_can_group(p->cmds[i]))
      grouped = 0;
  for (i = 0; i < p->n; i++) {
    uvexec_cmd_t *cmd = p->cmds[i];

    uvexec_cmd_set_cancel_signal(cmd, p->cancel_signal);
    if (p->wait_delay_ms > 0)
      uvexec_cmd_set_wait_delay(cmd, p->wait_delay_ms);
    /* A member's own session would take it out of the group (and the
     * session); with the pipeline's, every member gets one. */
    if (grouped || p->new_session)
      uvexec_cmd_set_new_session(cmd, p->new_session);
  }
  return grouped;
}

/* contain_members makes the pipeline's directory and contains each member
 * in one of its own inside it. */
static int contain_members(uvexec_pipeline_t *p) {
  char *parent = NULL, *why = NULL;
  size_t i;
  int err;

  err = uvexec__cgroup_parent(p->contain_parent, &parent);
  if (err != 0) {
    set_error(p, "pipeline: contain: no cgroup v2 directory of this "
                 "process's to make it in: %s",
              uvexec_strerror(err));
    return err;
  }
  err = uvexec__cgroup_make(parent, &p->cg, &why);
  free(parent);
  if (err != 0) {
    set_error(p, "pipeline: %s", why != NULL ? why : uvexec_strerror(err));
    free(why);
    return err;
  }
  for (i = 0; i < p->n; i++) {
    err = uvexec_cmd_set_contain(p->cmds[i], p->cg.path);
    if (err != 0) {
      set_error(p, "pipeline: %s", uvexec_strerror(err));
      (void)uvexec__cgroup_remove(&p->cg);
      return err;
    }
  }
  return 0;
}

int uvexec_pipeline_start(uvexec_pipeline_t *p, uv_loop_t *loop,
                          uvexec_pipeline_done_cb done_cb) {
  size_t njoints, i, started = 0;
  int *fds = NULL; /* joint j: fds[2j] read end, fds[2j+1] write end */
  int err, grouped;

  if (p == NULL || loop == NULL)
    return UV_EINVAL;
  if (p->state != P_CONFIGURING)
    return UV_EALREADY;
  err = check_members(p);
  if (err != 0)
    return err;

  p->loop = loop;
  p->done_cb = done_cb;
  p->state = P_FAILED; /* until every member runs */
  grouped = configure_members(p);

  /* Whatever can fail without a child fails here, before any starts. */
  for (i = 0; i < p->n; i++) {
    char **envp;

    err = uvexec__preflight(p->cmds[i], &envp);
    free(envp);
    if (err != 0) {
      set_member_error(p, i, member_error(p->cmds[i], err));
      return err;
    }
  }
  if (p->contain && (err = contain_members(p)) != 0)
    return err;

  njoints = p->n > 1 ? p->n - 1 : 0;
  if (njoints > 0) {
    fds = malloc(2 * njoints * sizeof(*fds));
    if (fds == NULL) {
      err = UV_ENOMEM;
      set_error(p, "pipeline: %s", uvexec_strerror(err));
      return err;
    }
    for (i = 0; i < 2 * njoints; i++)
      fds[i] = -1;
    for (i = 0; i < njoints; i++) {
      if (pipe2(&fds[2 * i], O_CLOEXEC) != 0) {
        err = -errno;
        set_error(p, "pipeline: creating pipes: %s", uvexec_strerror(err));
        goto fail;
      }
    }
  }
  if (p->timeout_ms > 0) {
    p->timer = malloc(sizeof(*p->timer));
    if (p->timer == NULL) {
      err = UV_ENOMEM;
      set_error(p, "pipeline: %s", uvexec_strerror(err));
      goto fail;
    }
    err = uv_timer_init(loop, p->timer);
    if (err != 0) {
      free(p->timer);
      p->timer = NULL;
      set_error(p, "pipeline: %s", uvexec_strerror(err));
      goto fail;
    }
    p->timer->data = p;
  }

  for (i = 0; i < p->n; i++) {
    uvexec_cmd_t *cmd = p->cmds[i];

    if (i > 0)
      uvexec_cmd_stdin_fd(cmd, fds[2 * (i - 1)]);
    if (i + 1 < p->n)
      uvexec_cmd_stdout_fd(cmd, fds[2 * i + 1]);
    if (grouped)
      uvexec_cmd_set_pgid(cmd, i == 0 ? 0 : p->pgid);
    err = uvexec_start(cmd, loop, on_member_done);
    if (err != 0) {
      set_member_error(p, i, member_error(p->cmds[i], err));
      goto fail;
    }
    started++;
    p->running++;
    if (i == 0 && grouped)
      p->pgid = uvexec_pid(cmd);
    /* The member has its copies: the parent's go now, or a reader would
     * never see end of file and a writer never lose its reader. */
    if (i > 0)
      uvexec__close_fd(&fds[2 * (i - 1)]);
    if (i + 1 < p->n)
      uvexec__close_fd(&fds[2 * i + 1]);
  }
  free(fds);

  if (p->timer != NULL) {
    /* The timeout counts from now, not from the loop's cached clock. */
    uv_update_time(loop);
    uv_timer_start(p->timer, on_timeout, p->timeout_ms, 0);
  }
  free(p->error);
  p->error = NULL;
  p->state = P_RUNNING;
  return 0;

fail:
  for (i = 0; fds != NULL && i < 2 * njoints; i++)
    uvexec__close_fd(&fds[i]);
  free(fds);
  close_timer(p);
  /* Undo the members that did start: SIGKILL (one for the group), and a
   * stop so that none of their pipes is waited on past their exit. Their
   * done callbacks come to on_member_done, which reports nothing now. */
  if (started > 0) {
    int signalled = signal_group(p, SIGKILL);

    /* Without a group, every one is killed before any is stopped, and
     * downstream first: a member whose writer died first would see end of
     * file and could exit on its own before its SIGKILL came. */
    for (i = started; !signalled && i-- > 0;)
      uvexec_kill(p->cmds[i], SIGKILL);
    for (i = 0; i < started; i++)
      stop_member(p->cmds[i], UV_ECANCELED, 1);
  } else {
    (void)uvexec__cgroup_remove(&p->cg);
  }
  return err;
}

/* ---- the synchronous facade ---------------------------------------------- */

static int start_pipeline(void *what, uv_loop_t *loop) {
  return uvexec_pipeline_start(what, loop, NULL);
}

int uvexec_pipeline_run(uvexec_pipeline_t *p) {
  int err;
  size_t i;

  if (p == NULL)
    return UV_EINVAL;
  if (p->state != P_CONFIGURING)
    return UV_EALREADY;
  /* After a failed start too, members that had started are reaped, and
   * every handle closes, before the private loop goes. */
  err = uvexec__run_private(start_pipeline, p);
  p->loop = NULL;
  for (i = 0; i < p->n; i++)
    p->cmds[i]->loop = NULL;
  return err != 0 ? err : p->status;
}

int uvexec_pipeline_output(uvexec_pipeline_t *p) {
  uvexec_cmd_t *last;
  size_t i;
  int err;

  if (p == NULL)
    return UV_EINVAL;
  if (p->state != P_CONFIGURING)
    return UV_EALREADY;
  last = p->cmds[p->n - 1];
  err = uvexec__capture_stdout(last);
  if (err != 0) {
    set_error(p, "%s", uvexec_cmd_error(last));
    return err;
  }
  /* Each member's stderr nobody else wanted is kept, for the report. */
  for (i = 0; i < p->n; i++)
    uvexec__keep_stderr(p->cmds[i]);
  return uvexec_pipeline_run(p);
}
