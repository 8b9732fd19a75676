/* SPDX-License-Identifier: MIT */
/* One error table, many outputs: uvexec's codes (UVEXEC_ERRNO_MAP) and
 * libuv's (UV_ERRNO_MAP) give the names and messages, and the messages a
 * cmd keeps about its last error are worded as Go's os/exec words them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A uvexec code equal to a libuv code would be two case labels with one
 * value below: the build fails instead of the codes colliding. */
static const char *own_message(int err) {
  switch (err) {
#define XX(name, value, msg)                                                  \
  case UVEXEC_##name:                                                         \
    return msg;
    UVEXEC_ERRNO_MAP(XX)
#undef XX
#define XX(code, _)                                                           \
  case UV_##code:                                                             \
    return NULL;
    UV_ERRNO_MAP(XX)
#undef XX
  default:
    return NULL;
  }
}

static const char *own_name(int err) {
  switch (err) {
#define XX(name, value, msg)                                                  \
  case UVEXEC_##name:                                                         \
    return "UVEXEC_" #name;
    UVEXEC_ERRNO_MAP(XX)
#undef XX
  default:
    return NULL;
  }
}

/* libuv's uv_strerror() and uv_err_name() allocate (and leak) a string for
 * a code they do not know, so only known codes are passed on. */
static int libuv_knows(int err) {
  switch (err) {
#define XX(code, _)                                                           \
  case UV_##code:                                                             \
    return 1;
    UV_ERRNO_MAP(XX)
#undef XX
  default:
    return 0;
  }
}

const char *uvexec_strerror(int err) {
  const char *msg = own_message(err);

  if (err == 0)
    return "success";
  if (msg != NULL)
    return msg;
  if (libuv_knows(err))
    return uv_strerror(err);
  return "unknown error";
}

const char *uvexec_err_name(int err) {
  const char *name = own_name(err);

  if (err == 0)
    return "OK";
  if (name != NULL)
    return name;
  if (libuv_knows(err))
    return uv_err_name(err);
  return "UNKNOWN";
}

/* Go prints signals by description ("signal: killed"); these are the words
 * of its table for Linux, signal by signal. Real-time signals have none
 * and are printed by number, as Go prints them. */
const char *uvexec__signal_text(int signum) {
  switch (signum) {
  case SIGHUP: return "hangup";
  case SIGINT: return "interrupt";
  case SIGQUIT: return "quit";
  case SIGILL: return "illegal instruction";
  case SIGTRAP: return "trace/breakpoint trap";
  case SIGABRT: return "aborted";
  case SIGBUS: return "bus error";
  case SIGFPE: return "floating point exception";
  case SIGKILL: return "killed";
  case SIGUSR1: return "user defined signal 1";
  case SIGSEGV: return "segmentation fault";
  case SIGUSR2: return "user defined signal 2";
  case SIGPIPE: return "broken pipe";
  case SIGALRM: return "alarm clock";
  case SIGTERM: return "terminated";
#ifdef SIGSTKFLT
  case SIGSTKFLT: return "stack fault";
#endif
  case SIGCHLD: return "child exited";
  case SIGCONT: return "continued";
  case SIGSTOP: return "stopped (signal)";
  case SIGTSTP: return "stopped";
  case SIGTTIN: return "stopped (tty input)";
  case SIGTTOU: return "stopped (tty output)";
  case SIGURG: return "urgent I/O condition";
  case SIGXCPU: return "CPU time limit exceeded";
  case SIGXFSZ: return "file size limit exceeded";
  case SIGVTALRM: return "virtual timer expired";
  case SIGPROF: return "profiling timer expired";
  case SIGWINCH: return "window changed";
  case SIGIO: return "I/O possible";
#if defined(SIGPWR) && SIGPWR != SIGIO
  case SIGPWR: return "power failure";
#endif
  case SIGSYS: return "bad system call";
  default: return NULL;
  }
}

int uvexec__set_error(uvexec_cmd_t *cmd, const char *fmt, ...) {
  uvexec__message_t *msg;
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return UV_EINVAL;
  msg = malloc(sizeof(*msg) + (size_t)n + 1);
  if (msg == NULL)
    return UV_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(msg->text, (size_t)n + 1, fmt, ap);
  va_end(ap);
  /* Earlier messages stay: a pointer the caller took from
   * uvexec_cmd_error() is good until uvexec_cmd_free(), as documented. */
  msg->older = cmd->messages;
  cmd->messages = msg;
  cmd->error = msg->text;
  return 0;
}

void uvexec__clear_error(uvexec_cmd_t *cmd) {
  cmd->error = NULL;
}

void uvexec__free_messages(uvexec_cmd_t *cmd) {
  while (cmd->messages != NULL) {
    uvexec__message_t *older = cmd->messages->older;

    free(cmd->messages);
    cmd->messages = older;
  }
  cmd->error = NULL;
}

void uvexec__set_start_error(uvexec_cmd_t *cmd, int err, const char *op,
                             const char *file) {
  uvexec__set_error(cmd, "%s %s: %s", op, file, uvexec_strerror(err));
}

void uvexec__set_exit_error(uvexec_cmd_t *cmd) {
  const char *text;

  if (cmd->term_signal != 0) {
    text = uvexec__signal_text(cmd->term_signal);
    if (text != NULL)
      uvexec__set_error(cmd, "signal: %s", text);
    else
      uvexec__set_error(cmd, "signal: signal %d", cmd->term_signal);
  } else {
    uvexec__set_error(cmd, "exit status %d", cmd->exit_code);
  }
}

int uvexec__already_started(uvexec_cmd_t *cmd) {
  uvexec__set_error(cmd, "exec: already started");
  return UV_EALREADY;
}
