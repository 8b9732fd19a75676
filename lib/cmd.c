/* SPDX-License-Identifier: MIT */
/* The command object: construction, configuration and results, and the
 * memory it owns.
 *
 * Every setter begins with the same guard: a NULL cmd is UV_EINVAL, a cmd
 * that has been started is UV_EBUSY. When the memory goes is the
 * lifecycle's to decide (lifecycle.c): only once every handle the loop
 * holds for the cmd has been through its close callback, however early
 * the caller frees. */
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void init_reader(uvexec__reader_t *r) {
  r->kind = UVEXEC__IO_NULL;
  r->caller_fd = -1;
  r->fd = -1;
}

uvexec_cmd_t *uvexec_command_argv(const char *const argv[]) {
  uvexec_cmd_t *cmd;
  size_t argc, i;

  if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
    return NULL;
  for (argc = 0; argv[argc] != NULL; argc++)
    ;

  cmd = calloc(1, sizeof(*cmd));
  if (cmd == NULL)
    return NULL;
  cmd->argv = calloc(argc + 1, sizeof(*cmd->argv));
  if (cmd->argv == NULL) {
    free(cmd);
    return NULL;
  }
  for (i = 0; i < argc; i++) {
    cmd->argv[i] = strdup(argv[i]);
    if (cmd->argv[i] == NULL) {
      uvexec__cmd_release(cmd);
      return NULL;
    }
  }

  /* calloc: the state is UVEXEC__CONFIGURING, the lifecycle's start. */
  cmd->cancel_signal = SIGKILL;
  cmd->in.kind = UVEXEC__IO_NULL;
  cmd->in.caller_fd = -1;
  cmd->in.fd = -1;
  init_reader(&cmd->out[0]);
  init_reader(&cmd->out[1]);
  cmd->pid = 0;
  cmd->pidfd = -1;
  cmd->fg.fd = -1;
  uvexec__cgroup_init(&cmd->contain.cg);
  cmd->contain.watch = -1;
  for (i = 0; i < UVEXEC__LIMITS; i++) {
    uvexec__cgroup_init(&cmd->limits.v1[i]);
    cmd->limits.join[i] = -1;
  }
  cmd->limits.v2_dirfd = -1;
  cmd->ready.sock = -1;
  cmd->ready.pipe = -1;
  cmd->ready.pipe_child = -1;
  return cmd;
}

uvexec_cmd_t *uvexec_command(const char *name, ...) {
  const char **argv;
  uvexec_cmd_t *cmd;
  va_list ap;
  size_t argc;

  if (name == NULL || name[0] == '\0')
    return NULL;

  va_start(ap, name);
  for (argc = 1; va_arg(ap, const char *) != NULL; argc++)
    ;
  va_end(ap);

  argv = calloc(argc + 1, sizeof(*argv));
  if (argv == NULL)
    return NULL;
  argv[0] = name;
  va_start(ap, name);
  for (argc = 1; (argv[argc] = va_arg(ap, const char *)) != NULL; argc++)
    ;
  va_end(ap);

  cmd = uvexec_command_argv(argv);
  free(argv);
  return cmd;
}

void uvexec__cmd_release(uvexec_cmd_t *cmd) {
  size_t i;

  for (i = 0; cmd->argv != NULL && cmd->argv[i] != NULL; i++)
    free(cmd->argv[i]);
  free(cmd->argv);
  free(cmd->argv0);
  for (i = 0; i < cmd->env_count; i++) {
    free(cmd->env[i].name);
    free(cmd->env[i].value);
  }
  free(cmd->env);
  free(cmd->extra_fds);
  free(cmd->dir);
  free(cmd->path);
  uvexec__free_messages(cmd);
  uvexec__setup_release(cmd);
  uvexec__buf_free(&cmd->in.queue);
  uvexec__buf_free(&cmd->in.data);
  free(cmd->in.path);
  for (i = 0; i < 2; i++) {
    free(cmd->out[i].path);
    uvexec__buf_free(&cmd->out[i].buf);
    uvexec__buf_free(&cmd->out[i].line);
    free(cmd->out[i].bounds.ring);
    uvexec__buf_free(&cmd->ready.line[i]);
  }
  if (cmd->ready.pattern != NULL)
    regfree(&cmd->ready.regex);
  free(cmd->ready.pattern);
  free(cmd->ready.status);
  free(cmd);
}

/* ---- copies ------------------------------------------------------------- */

/* copy_reader gives to the configuration of from: where the stream goes,
 * whether it is captured and how, its callbacks. */
static int copy_reader(uvexec__reader_t *to, const uvexec__reader_t *from) {
  to->kind = from->kind;
  to->capture = from->capture;
  to->caller_fd = from->caller_fd;
  to->data_cb = from->data_cb;
  to->line_cb = from->line_cb;
  to->append = from->append;
  if (from->path != NULL && (to->path = strdup(from->path)) == NULL)
    return UV_ENOMEM;
  return 0;
}

uvexec_cmd_t *uvexec_cmd_copy(const uvexec_cmd_t *cmd) {
  uvexec_cmd_t *copy;
  size_t i;

  if (cmd == NULL || cmd->freed)
    return NULL;
  copy = uvexec_command_argv((const char *const *)cmd->argv);
  if (copy == NULL)
    return NULL;
  copy->data = cmd->data;
  if (cmd->dir != NULL && (copy->dir = strdup(cmd->dir)) == NULL)
    goto fail;
  if (cmd->argv0 != NULL && (copy->argv0 = strdup(cmd->argv0)) == NULL)
    goto fail;

  copy->env_cleared = cmd->env_cleared;
  if (cmd->env_count > 0) {
    copy->env = calloc(cmd->env_count, sizeof(*copy->env));
    if (copy->env == NULL)
      goto fail;
    for (; copy->env_count < cmd->env_count; copy->env_count++) {
      const uvexec__env_entry_t *e = &cmd->env[copy->env_count];
      uvexec__env_entry_t *t = &copy->env[copy->env_count];

      t->name = strdup(e->name);
      t->value = e->value != NULL ? strdup(e->value) : NULL;
      if (t->name == NULL || (e->value != NULL && t->value == NULL)) {
        free(t->name);
        free(t->value);
        goto fail;
      }
    }
  }
  if (cmd->extra_count > 0) {
    copy->extra_fds = malloc(cmd->extra_count * sizeof(*copy->extra_fds));
    if (copy->extra_fds == NULL)
      goto fail;
    memcpy(copy->extra_fds, cmd->extra_fds,
           cmd->extra_count * sizeof(*copy->extra_fds));
    copy->extra_count = cmd->extra_count;
  }

  copy->new_session = cmd->new_session;
  copy->detached = cmd->detached;
  copy->fg.fd = cmd->fg.fd;
  copy->set_pgid = cmd->set_pgid;
  copy->pgid = cmd->pgid;
  copy->set_uid = cmd->set_uid;
  copy->set_gid = cmd->set_gid;
  copy->uid = cmd->uid;
  copy->gid = cmd->gid;
  copy->timeout_ms = cmd->timeout_ms;
  copy->wait_delay_ms = cmd->wait_delay_ms;
  copy->cancel_signal = cmd->cancel_signal;
  copy->output_limit = cmd->output_limit;
  copy->pipe_size = cmd->pipe_size;
  copy->capture_head = cmd->capture_head;
  copy->capture_tail = cmd->capture_tail;
  copy->engine = cmd->engine;
  if (uvexec__setup_copy(copy, cmd) != 0)
    goto fail;

  copy->in.kind = cmd->in.kind;
  copy->in.caller_fd = cmd->in.caller_fd;
  copy->in.streaming = cmd->in.streaming;
  /* A stream's close is a run's; bytes given before the start are the
   * configuration's. */
  copy->in.close_requested = cmd->in.streaming ? 0 : cmd->in.close_requested;
  copy->in.drain_cb = cmd->in.drain_cb;
  if (cmd->in.data.len > 0 &&
      uvexec__buf_append(&copy->in.data, cmd->in.data.base,
                         cmd->in.data.len) != 0)
    goto fail;
  if (cmd->in.path != NULL && (copy->in.path = strdup(cmd->in.path)) == NULL)
    goto fail;
  for (i = 0; i < 2; i++)
    if (copy_reader(&copy->out[i], &cmd->out[i]) != 0)
      goto fail;
  copy->pty.on = cmd->pty.on;
  copy->pty.rows = cmd->pty.rows;
  copy->pty.cols = cmd->pty.cols;

  copy->ready.ways = cmd->ready.ways;
  copy->ready.child_fd = cmd->ready.child_fd;
  copy->ready.timeout_ms = cmd->ready.timeout_ms;
  copy->ready.watchdog_ms = cmd->ready.watchdog_ms;
  copy->ready.on_ready = cmd->ready.on_ready;
  if (cmd->ready.pattern != NULL) {
    /* Compiled anew: a regex_t cannot be copied. */
    copy->ready.pattern = strdup(cmd->ready.pattern);
    if (copy->ready.pattern == NULL)
      goto fail;
    if (regcomp(&copy->ready.regex, copy->ready.pattern,
                REG_EXTENDED | REG_NOSUB) != 0) {
      free(copy->ready.pattern);
      copy->ready.pattern = NULL;
      goto fail;
    }
  }
  return copy;

fail:
  uvexec__cmd_release(copy);
  return NULL;
}

void uvexec_cmd_set_data(uvexec_cmd_t *cmd, void *data) {
  if (cmd != NULL)
    cmd->data = data;
}

void *uvexec_cmd_data(const uvexec_cmd_t *cmd) {
  return cmd != NULL ? cmd->data : NULL;
}

static int replace_string(char **slot, const char *value) {
  char *copy = NULL;

  if (value != NULL && value[0] != '\0') {
    copy = strdup(value);
    if (copy == NULL)
      return UV_ENOMEM;
  }
  free(*slot);
  *slot = copy;
  return 0;
}

int uvexec_cmd_set_dir(uvexec_cmd_t *cmd, const char *dir) {
  UVEXEC__GUARD_CONFIG(cmd);
  return replace_string(&cmd->dir, dir);
}

int uvexec_cmd_set_argv0(uvexec_cmd_t *cmd, const char *name) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (name == NULL)
    return UV_EINVAL;
  /* "" is an argv[0] as good as any (a login shell's is "-sh"). */
  free(cmd->argv0);
  cmd->argv0 = strdup(name);
  return cmd->argv0 != NULL ? 0 : UV_ENOMEM;
}

char **uvexec__child_argv(const uvexec_cmd_t *cmd, int *owned) {
  char **argv;
  size_t n;

  *owned = 0;
  if (cmd->argv0 == NULL)
    return cmd->argv;
  for (n = 0; cmd->argv[n] != NULL; n++)
    ;
  argv = malloc((n + 1) * sizeof(*argv));
  if (argv == NULL)
    return NULL;
  memcpy(argv, cmd->argv, (n + 1) * sizeof(*argv));
  argv[0] = cmd->argv0;
  *owned = 1;
  return argv;
}

/* ---- stdio configuration ------------------------------------------------ */

static int set_output(uvexec_cmd_t *cmd, int which, uvexec_stdio_t how) {
  uvexec__reader_t *r;

  UVEXEC__GUARD_CONFIG(cmd);
  r = &cmd->out[which];
  switch (how) {
  case UVEXEC_NULL:
    r->kind = UVEXEC__IO_NULL;
    r->capture = 0;
    break;
  case UVEXEC_INHERIT:
    r->kind = UVEXEC__IO_INHERIT;
    r->capture = 0;
    break;
  case UVEXEC_CAPTURE:
    r->kind = UVEXEC__IO_PIPE;
    r->capture = 1;
    break;
  case UVEXEC_MERGE:
    if (which == 0)
      return UV_EINVAL;
    r->kind = UVEXEC__IO_MERGE;
    r->capture = 0;
    break;
  default:
    return UV_EINVAL;
  }
  r->caller_fd = -1;
  free(r->path);
  r->path = NULL;
  return 0;
}

int uvexec_cmd_stdout(uvexec_cmd_t *cmd, uvexec_stdio_t how) {
  return set_output(cmd, 0, how);
}

int uvexec_cmd_stderr(uvexec_cmd_t *cmd, uvexec_stdio_t how) {
  return set_output(cmd, 1, how);
}

static int set_output_fd(uvexec_cmd_t *cmd, int which, int fd) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (fd < 0)
    return UV_EBADF;
  cmd->out[which].kind = UVEXEC__IO_FD;
  cmd->out[which].capture = 0;
  cmd->out[which].caller_fd = fd;
  free(cmd->out[which].path);
  cmd->out[which].path = NULL;
  return 0;
}

static int set_output_file(uvexec_cmd_t *cmd, int which, const char *path,
                           int append) {
  uvexec__reader_t *r;
  char *copy;

  UVEXEC__GUARD_CONFIG(cmd);
  if (path == NULL || path[0] == '\0')
    return UV_EINVAL;
  copy = strdup(path);
  if (copy == NULL)
    return UV_ENOMEM;
  r = &cmd->out[which];
  free(r->path);
  r->path = copy;
  r->append = append != 0;
  r->kind = UVEXEC__IO_FILE;
  r->capture = 0;
  r->caller_fd = -1;
  return 0;
}

int uvexec_cmd_stdout_file(uvexec_cmd_t *cmd, const char *path, int append) {
  return set_output_file(cmd, 0, path, append);
}

int uvexec_cmd_stderr_file(uvexec_cmd_t *cmd, const char *path, int append) {
  return set_output_file(cmd, 1, path, append);
}

int uvexec_cmd_stdout_fd(uvexec_cmd_t *cmd, int fd) {
  return set_output_fd(cmd, 0, fd);
}

int uvexec_cmd_stderr_fd(uvexec_cmd_t *cmd, int fd) {
  return set_output_fd(cmd, 1, fd);
}

int uvexec_cmd_on_stdout(uvexec_cmd_t *cmd, uvexec_data_cb cb) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->out[0].data_cb = cb;
  return 0;
}

int uvexec_cmd_on_stderr(uvexec_cmd_t *cmd, uvexec_data_cb cb) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->out[1].data_cb = cb;
  return 0;
}

int uvexec_cmd_on_stdout_line(uvexec_cmd_t *cmd, uvexec_data_cb cb) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->out[0].line_cb = cb;
  return 0;
}

int uvexec_cmd_on_stderr_line(uvexec_cmd_t *cmd, uvexec_data_cb cb) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->out[1].line_cb = cb;
  return 0;
}

static void reset_stdin(uvexec__writer_t *in) {
  uvexec__buf_free(&in->queue);
  uvexec__buf_free(&in->data);
  free(in->path);
  in->path = NULL;
  in->kind = UVEXEC__IO_NULL;
  in->caller_fd = -1;
  in->streaming = 0;
  in->close_requested = 0;
}

int uvexec_cmd_stdin_fd(uvexec_cmd_t *cmd, int fd) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (fd < 0)
    return UV_EBADF;
  reset_stdin(&cmd->in);
  cmd->in.kind = UVEXEC__IO_FD;
  cmd->in.caller_fd = fd;
  return 0;
}

int uvexec_cmd_stdin_file(uvexec_cmd_t *cmd, const char *path) {
  char *copy;

  UVEXEC__GUARD_CONFIG(cmd);
  if (path == NULL || path[0] == '\0')
    return UV_EINVAL;
  copy = strdup(path);
  if (copy == NULL)
    return UV_ENOMEM;
  reset_stdin(&cmd->in);
  cmd->in.kind = UVEXEC__IO_FILE;
  cmd->in.path = copy;
  return 0;
}

int uvexec_cmd_set_stdin(uvexec_cmd_t *cmd, const void *data, size_t len) {
  uvexec__buf_t copy = {NULL, 0, 0, 0};
  int err;

  UVEXEC__GUARD_CONFIG(cmd);
  if (data == NULL && len > 0)
    return UV_EINVAL;
  err = uvexec__buf_append(&copy, data, len);
  if (err != 0)
    return err;
  reset_stdin(&cmd->in);
  cmd->in.kind = UVEXEC__IO_PIPE;
  cmd->in.data = copy;
  cmd->in.close_requested = 1;
  return 0;
}

int uvexec_cmd_stdin_pipe(uvexec_cmd_t *cmd) {
  UVEXEC__GUARD_CONFIG(cmd);
  reset_stdin(&cmd->in);
  cmd->in.kind = UVEXEC__IO_PIPE;
  cmd->in.streaming = 1;
  return 0;
}

int uvexec_cmd_on_stdin_drain(uvexec_cmd_t *cmd, uvexec_drain_cb cb) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->in.drain_cb = cb;
  return 0;
}

int uvexec_cmd_add_fd(uvexec_cmd_t *cmd, int fd) {
  int *fds;

  UVEXEC__GUARD_CONFIG(cmd);
  if (fd < 0)
    return UV_EBADF;
  fds = realloc(cmd->extra_fds, (cmd->extra_count + 1) * sizeof(*fds));
  if (fds == NULL)
    return UV_ENOMEM;
  fds[cmd->extra_count++] = fd;
  cmd->extra_fds = fds;
  return 0;
}

/* ---- process attributes and control ------------------------------------- */

int uvexec_cmd_set_new_session(uvexec_cmd_t *cmd, int on) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->new_session = on != 0;
  return 0;
}

int uvexec_cmd_set_detached(uvexec_cmd_t *cmd, int on) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->detached = on != 0;
  return 0;
}

int uvexec_cmd_set_foreground(uvexec_cmd_t *cmd, int tty_fd) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (tty_fd < 0)
    return UV_EBADF;
  cmd->fg.fd = tty_fd;
  return 0;
}

int uvexec_cmd_set_pgid(uvexec_cmd_t *cmd, int pgid) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (pgid < 0)
    return UV_EINVAL;
  cmd->set_pgid = 1;
  cmd->pgid = pgid;
  return 0;
}

int uvexec_cmd_set_uid(uvexec_cmd_t *cmd, uv_uid_t uid) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->set_uid = 1;
  cmd->uid = uid;
  return 0;
}

int uvexec_cmd_set_gid(uvexec_cmd_t *cmd, uv_gid_t gid) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->set_gid = 1;
  cmd->gid = gid;
  return 0;
}

int uvexec_cmd_set_timeout(uvexec_cmd_t *cmd, uint64_t ms) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->timeout_ms = ms;
  return 0;
}

int uvexec_cmd_set_cancel_signal(uvexec_cmd_t *cmd, int signum) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (signum <= 0 || signum >= NSIG)
    return UV_EINVAL;
  cmd->cancel_signal = signum;
  return 0;
}

int uvexec_cmd_set_wait_delay(uvexec_cmd_t *cmd, uint64_t ms) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->wait_delay_ms = ms;
  return 0;
}

int uvexec_cmd_set_pipe_size(uvexec_cmd_t *cmd, size_t bytes) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (bytes > INT_MAX)
    return UV_EINVAL; /* F_SETPIPE_SZ takes an int */
  cmd->pipe_size = (int)bytes;
  return 0;
}

int uvexec_cmd_set_output_limit(uvexec_cmd_t *cmd, size_t bytes) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->output_limit = bytes;
  return 0;
}

int uvexec_cmd_set_capture_bounds(uvexec_cmd_t *cmd, size_t head,
                                  size_t tail) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->capture_head = head;
  cmd->capture_tail = tail;
  return 0;
}

int uvexec_cmd_set_engine(uvexec_cmd_t *cmd, uvexec_engine_t engine) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (engine != UVEXEC_ENGINE_AUTO && engine != UVEXEC_ENGINE_UV &&
      engine != UVEXEC_ENGINE_POSIX_SPAWN && engine != UVEXEC_ENGINE_CLONE)
    return UV_EINVAL;
  cmd->engine = engine;
  return 0;
}

/* uvexec__check_config rejects combinations no child can be given. */
int uvexec__check_config(const uvexec_cmd_t *cmd) {
  int i;

  for (i = 0; i < 2; i++) {
    const uvexec__reader_t *r = &cmd->out[i];

    if (uvexec__has_callbacks(r) &&
        (r->kind == UVEXEC__IO_INHERIT || r->kind == UVEXEC__IO_FD ||
         r->kind == UVEXEC__IO_MERGE || r->kind == UVEXEC__IO_FILE))
      return UV_EINVAL;
  }
  return 0;
}

/* detached_why names what a daemon cannot be given, or NULL: nothing of
 * this process may stay tied to it, so no pipe, terminal, tree, death
 * signal, readiness or group of ours. */
static const char *detached_why(const uvexec_cmd_t *cmd) {
  const uvexec__writer_t *in = &cmd->in;
  int i;

  if (cmd->pty.on)
    return "it cannot have a terminal of ours";
  if (in->kind == UVEXEC__IO_PIPE || in->streaming || in->data.len > 0 ||
      in->drain_cb != NULL)
    return "its stdin may be null, a file or an fd, not a pipe";
  for (i = 0; i < 2; i++) {
    const uvexec__reader_t *r = &cmd->out[i];

    if (r->kind == UVEXEC__IO_PIPE || r->capture || uvexec__has_callbacks(r))
      return "its stdout and stderr may be null, inherited, a file or an "
             "fd, not a pipe";
  }
  if (cmd->fg.fd >= 0)
    return "it cannot hold the foreground of our terminal";
  if (cmd->contain.on)
    return "a contained command's tree ends with it";
  if (cmd->ready.ways != 0)
    return "its readiness is nobody's to wait for";
  if (cmd->setup.pdeathsig != 0)
    return "it outlives its parent by design: no death signal";
  if (cmd->set_pgid)
    return "it leads a session of its own, not a process group of ours";
  return NULL;
}

int uvexec__detached_check(uvexec_cmd_t *cmd) {
  const char *why;

  if (!cmd->detached)
    return 0;
  why = detached_why(cmd);
  if (why == NULL)
    return 0;
  uvexec__set_error(cmd, "exec: a detached command: %s", why);
  return UV_EINVAL;
}

/* ---- results -------------------------------------------------------------- */

int uvexec_pid(const uvexec_cmd_t *cmd) {
  if (cmd != NULL && cmd->forward != NULL)
    cmd = cmd->forward;
  if (cmd == NULL || cmd->pid <= 0)
    return UV_ESRCH;
  return cmd->pid;
}

int uvexec_exit_code(const uvexec_cmd_t *cmd) {
  if (cmd == NULL)
    return UV_EINVAL;
  if (!cmd->exited)
    return UV_EBUSY;
  return cmd->term_signal != 0 ? -1 : cmd->exit_code;
}

int uvexec_term_signal(const uvexec_cmd_t *cmd) {
  if (cmd == NULL)
    return UV_EINVAL;
  if (!cmd->exited)
    return UV_EBUSY;
  return cmd->term_signal;
}

static const char *captured(const uvexec_cmd_t *cmd, int which, size_t *len) {
  const uvexec__reader_t *r;

  if (len != NULL)
    *len = 0;
  if (cmd == NULL || cmd->state != UVEXEC__DONE)
    return NULL;
  r = &cmd->out[which];
  if (!r->capture)
    return NULL;
  if (len != NULL)
    *len = r->buf.len;
  return r->buf.base != NULL ? r->buf.base : "";
}

const char *uvexec_stdout_data(const uvexec_cmd_t *cmd, size_t *len) {
  return captured(cmd, 0, len);
}

const char *uvexec_stderr_data(const uvexec_cmd_t *cmd, size_t *len) {
  return captured(cmd, 1, len);
}

const char *uvexec_cmd_error(const uvexec_cmd_t *cmd) {
  return cmd != NULL ? cmd->error : NULL;
}

static uint64_t tv_usec(const struct timeval *tv) {
  return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

int uvexec_usage(const uvexec_cmd_t *cmd, uvexec_usage_t *u) {
  const struct rusage *r;

  if (cmd == NULL || u == NULL)
    return UV_EINVAL;
  r = &cmd->rusage_full;
  if (cmd->state != UVEXEC__DONE)
    return cmd->state == UVEXEC__RUNNING ? UV_EBUSY : UV_EINVAL;
  memset(u, 0, sizeof(*u));
  if (cmd->exited_ns > cmd->started_ns)
    u->wall_usec = (cmd->exited_ns - cmd->started_ns) / 1000u;
  if (cmd->have_rusage) {
    u->known |= UVEXEC_USAGE_RUSAGE;
    u->user_usec = tv_usec(&r->ru_utime);
    u->system_usec = tv_usec(&r->ru_stime);
    u->maxrss_kib = (uint64_t)r->ru_maxrss;
    u->minflt = (uint64_t)r->ru_minflt;
    u->majflt = (uint64_t)r->ru_majflt;
    u->nvcsw = (uint64_t)r->ru_nvcsw;
    u->nivcsw = (uint64_t)r->ru_nivcsw;
    u->inblock = (uint64_t)r->ru_inblock;
    u->oublock = (uint64_t)r->ru_oublock;
  }
  if (cmd->tree_cpu_known) {
    u->known |= UVEXEC_USAGE_TREE_CPU;
    u->tree_user_usec = cmd->tree_user_usec;
    u->tree_system_usec = cmd->tree_system_usec;
  }
  if (cmd->limits.measured) {
    u->known |= UVEXEC_USAGE_TREE_MEMORY | UVEXEC_USAGE_OOM;
    u->tree_memory_peak = cmd->limits.memory_peak;
    u->oom_kills = cmd->limits.oom_kills;
  }
  return 0;
}

int uvexec_rusage(const uvexec_cmd_t *cmd, uvexec_rusage_t *usage) {
  if (cmd == NULL || usage == NULL)
    return UV_EINVAL;
  if (!cmd->exited)
    return UV_EBUSY;
  if (!cmd->have_rusage)
    return UV_ENOTSUP;
  *usage = cmd->rusage;
  return 0;
}
