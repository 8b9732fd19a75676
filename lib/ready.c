/* SPDX-License-Identifier: MIT */
/* Readiness and the watchdog: when a started command is ready, and
 * whether it is still alive inside.
 *
 * Three ways to become ready, any of them enough:
 *
 *   notify  systemd's protocol: the child finds NOTIFY_SOCKET, the name
 *           of a datagram socket of this part's (abstract, so nothing is
 *           left in the filesystem), and sends "READY=1", "STATUS=...",
 *           "STOPPING=1", "WATCHDOG=1" ("WATCHDOG=trigger"), "BARRIER=1"
 *           with an fd, answered by closing it (every fd a datagram
 *           carries is closed): the stock systemd-notify waits for that
 *           answer after each message.
 *   fd      s6's notification fd: the child's fd N is a pipe's write end,
 *           and a newline on it makes it ready.
 *   line    the first stdout or stderr line matching a POSIX extended
 *           regex; the reader hands every byte over (UVEXEC__EV_OUTPUT)
 *           and the line still reaches every callback and capture.
 *
 * Only the command is heard. A datagram's sender is known by the kernel's
 * credentials and, where the kernel passes one (SO_PASSPIDFD, Linux 6.5),
 * by a pidfd: a contained command's sender must be in its tree, which the
 * kernel says through the pidfd (or /proc, checked while the pidfd's
 * process lives); another command's sender must be the child, or a
 * process whose parents lead to it (systemd-notify, started by a shell).
 * The child's pid cannot be reused while it is unreaped, so a pid equal to
 * it is it.
 *
 * Without a way set, a command is ready once started: on the next turn of
 * the loop, never inside uvexec_start. This part reports UVEXEC__EV_READY,
 * UVEXEC__EV_NOT_READY (the ready timeout ran out) and
 * UVEXEC__EV_WATCHDOG (no keep-alive in time); the lifecycle decides what
 * they mean. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76 /* Linux 6.5 */
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

#define DATAGRAM_MAX 4096
#define ANCESTRY_MAX 64 /* parents walked up from a sender */

/* ---- configuration ------------------------------------------------------- */

int uvexec_cmd_set_ready_notify(uvexec_cmd_t *cmd) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->ready.ways |= UVEXEC__READY_NOTIFY;
  return 0;
}

int uvexec_cmd_set_ready_fd(uvexec_cmd_t *cmd, int fd) {
  UVEXEC__GUARD_CONFIG(cmd);
  if (fd < 3 || fd > 1023)
    return UV_EINVAL;
  cmd->ready.ways |= UVEXEC__READY_FD;
  cmd->ready.child_fd = fd;
  return 0;
}

int uvexec__ready_compile(uvexec__ready_t *r, const char *pattern) {
  regex_t re;
  char *copy;

  if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
    return UV_EINVAL;
  copy = strdup(pattern);
  if (copy == NULL) {
    regfree(&re);
    return UV_ENOMEM;
  }
  if (r->pattern != NULL) {
    regfree(&r->regex);
    free(r->pattern);
  }
  r->regex = re;
  r->pattern = copy;
  return 0;
}

int uvexec_cmd_set_ready_line(uvexec_cmd_t *cmd, const char *regex) {
  int err;

  UVEXEC__GUARD_CONFIG(cmd);
  if (regex == NULL)
    return UV_EINVAL;
  err = uvexec__ready_compile(&cmd->ready, regex);
  if (err != 0)
    return err;
  cmd->ready.ways |= UVEXEC__READY_LINE;
  return 0;
}

int uvexec_cmd_on_ready(uvexec_cmd_t *cmd, uvexec_ready_cb cb) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->ready.on_ready = cb;
  return 0;
}

int uvexec_cmd_set_ready_timeout(uvexec_cmd_t *cmd, uint64_t ms) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->ready.timeout_ms = ms;
  return 0;
}

int uvexec_cmd_set_watchdog(uvexec_cmd_t *cmd, uint64_t ms) {
  UVEXEC__GUARD_CONFIG(cmd);
  cmd->ready.watchdog_ms = ms;
  return 0;
}

int uvexec_is_ready(const uvexec_cmd_t *cmd) {
  return cmd != NULL && cmd->ready.ready;
}

const char *uvexec_notify_status(const uvexec_cmd_t *cmd) {
  return cmd != NULL ? cmd->ready.status : NULL;
}

/* ---- a start ------------------------------------------------------------- */

static void on_timer(uv_timer_t *timer);
static void on_watchdog(uv_timer_t *timer);
static void on_datagram(uv_poll_t *handle, int status, int events);
static void on_fd(uv_poll_t *handle, int status, int events);

/* open_socket binds a datagram socket of an abstract name, and puts its
 * name and the watchdog's interval in the child's environment. */
static int open_socket(uvexec_cmd_t *cmd) {
  static unsigned long seq; /* atomically incremented */
  uvexec__ready_t *r = &cmd->ready;
  struct sockaddr_un addr;
  socklen_t len;
  char name[64];
  int fd, one = 1;

  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  snprintf(name, sizeof(name), "uvexec/%d/%lu", (int)getpid(),
           __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path + 1, name, strlen(name)); /* [0] = 0: abstract */
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
  if (bind(fd, (struct sockaddr *)&addr, len) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
    int err = -errno;

    close(fd);
    return err;
  }
  /* Where the kernel passes the sender's pidfd (6.5+), it is used. */
  (void)setsockopt(fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one));
  r->sock = uvexec__fd_move_high(fd);
  snprintf(r->env_socket, sizeof(r->env_socket), "NOTIFY_SOCKET=@%s", name);
  if (r->watchdog_ms > 0)
    snprintf(r->env_watchdog, sizeof(r->env_watchdog),
             "WATCHDOG_USEC=%" PRIu64, r->watchdog_ms * 1000);
  return 0;
}

int uvexec__ready_prepare(uvexec_cmd_t *cmd) {
  uvexec__ready_t *r = &cmd->ready;
  size_t i;
  int err, p[2];

  r->ready = 0;
  if (r->watchdog_ms > 0 && !(r->ways & UVEXEC__READY_NOTIFY)) {
    uvexec__set_error(cmd, "exec: a watchdog needs the notify protocol "
                           "(uvexec_cmd_set_ready_notify)");
    return UV_EINVAL;
  }
  if (r->ways & UVEXEC__READY_FD) {
    for (i = 0; i < cmd->extra_count; i++) {
      if ((size_t)r->child_fd == 3 + i) {
        uvexec__set_error(cmd, "exec: the notification fd %d is also an "
                               "extra fd (uvexec_cmd_add_fd)",
                          r->child_fd);
        return UV_EINVAL;
      }
    }
    if (pipe2(p, O_CLOEXEC) != 0) {
      err = -errno;
      uvexec__set_error(cmd, "exec: the notification fd: %s",
                        uvexec_strerror(err));
      return err;
    }
    r->pipe = uvexec__fd_move_high(p[0]);
    r->pipe_child = p[1];
  }
  if (r->ways & UVEXEC__READY_NOTIFY) {
    err = open_socket(cmd);
    if (err != 0) {
      uvexec__set_error(cmd, "exec: the notify socket: %s",
                        uvexec_strerror(err));
      uvexec__ready_close(cmd);
      return err;
    }
  }
  return 0;
}

void uvexec__ready_spawned(uvexec_cmd_t *cmd) {
  uvexec__close_fd(&cmd->ready.pipe_child);
}

int uvexec__ready_start(uvexec_cmd_t *cmd) {
  uvexec__ready_t *r = &cmd->ready;
  uint64_t ms = r->timeout_ms;
  int err;

  if (r->sock >= 0) {
    err = uvexec__poll_watch(cmd, &r->sock_poll, r->sock);
    if (err != 0)
      return err;
    r->sock_polling = 1;
    err = uv_poll_start(&r->sock_poll, UV_READABLE, on_datagram);
    if (err != 0)
      return err;
  }
  if (r->pipe >= 0) {
    err = uvexec__poll_watch(cmd, &r->pipe_poll, r->pipe);
    if (err != 0)
      return err;
    r->pipe_polling = 1;
    err = uv_poll_start(&r->pipe_poll, UV_READABLE, on_fd);
    if (err != 0)
      return err;
  }
  /* The timer is the ready timeout; without any way to become ready, it
   * makes the cmd ready on the next turn. */
  if (r->ways == 0)
    ms = 0;
  if (r->ways == 0 || ms > 0) {
    err = uvexec__timer_open(cmd, &r->timer, &r->timer_open);
    if (err != 0)
      return err;
    uv_update_time(cmd->loop);
    uv_timer_start(&r->timer, on_timer, ms, 0);
  }
  if (r->watchdog_ms > 0) {
    err = uvexec__timer_open(cmd, &r->watchdog, &r->watchdog_open);
    if (err != 0)
      return err;
    uv_timer_start(&r->watchdog, on_watchdog, r->watchdog_ms, 0);
  }
  return 0;
}

/* became_ready ends what only waited for readiness. */
void uvexec__ready_became(uvexec_cmd_t *cmd) {
  uvexec__ready_t *r = &cmd->ready;

  r->ready = 1;
  uvexec__timer_close(&r->timer, &r->timer_open);
  uvexec__poll_close(&r->pipe_poll, &r->pipe_polling, &r->pipe);
  uvexec__buf_free(&r->line[0]);
  uvexec__buf_free(&r->line[1]);
}

void uvexec__ready_close(uvexec_cmd_t *cmd) {
  uvexec__ready_t *r = &cmd->ready;

  uvexec__timer_close(&r->timer, &r->timer_open);
  uvexec__timer_close(&r->watchdog, &r->watchdog_open);
  uvexec__poll_close(&r->sock_poll, &r->sock_polling, &r->sock);
  uvexec__poll_close(&r->pipe_poll, &r->pipe_polling, &r->pipe);
  uvexec__close_fd(&r->pipe_child);
  uvexec__buf_free(&r->line[0]);
  uvexec__buf_free(&r->line[1]);
  r->env_socket[0] = '\0';
  r->env_watchdog[0] = '\0';
}

/* ---- the timers ---------------------------------------------------------- */

static void on_timer(uv_timer_t *timer) {
  uvexec_cmd_t *cmd = timer->data;

  uvexec__timer_close(timer, &cmd->ready.timer_open);
  uvexec__report(cmd, cmd->ready.ways == 0 ? UVEXEC__EV_READY
                                           : UVEXEC__EV_NOT_READY,
                 0);
}

static void on_watchdog(uv_timer_t *timer) {
  uvexec_cmd_t *cmd = timer->data;

  uvexec__timer_close(timer, &cmd->ready.watchdog_open);
  uvexec__report(cmd, UVEXEC__EV_WATCHDOG, 0);
}

/* ---- the notification fd ------------------------------------------------- */

static void on_fd(uv_poll_t *handle, int status, int events) {
  uvexec_cmd_t *cmd = handle->data;
  uvexec__ready_t *r = &cmd->ready;
  char buf[256];
  ssize_t n;

  (void)status;
  (void)events;
  do
    n = read(r->pipe, buf, sizeof(buf));
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (n <= 0) {
    /* Closed without a newline: it never becomes ready this way. */
    uvexec__poll_close(&r->pipe_poll, &r->pipe_polling, &r->pipe);
    return;
  }
  if (memchr(buf, '\n', (size_t)n) != NULL)
    uvexec__report(cmd, UVEXEC__EV_READY, 0);
}

/* ---- lines --------------------------------------------------------------- */

/* matches tells whether the line (len bytes, not NUL-terminated) matches
 * the regex. */
static int matches(uvexec__ready_t *r, const char *line, size_t len) {
  char small[256], *text = small;
  int hit;

  if (len >= sizeof(small)) {
    text = malloc(len + 1);
    if (text == NULL)
      return 0;
  }
  memcpy(text, line, len);
  text[len] = '\0';
  hit = regexec(&r->regex, text, 0, NULL, 0) == 0;
  if (text != small)
    free(text);
  return hit;
}

int uvexec__ready_output(uvexec_cmd_t *cmd, int which, const char *data,
                         size_t len) {
  uvexec__ready_t *r = &cmd->ready;
  uvexec__buf_t *part = &r->line[which];

  if (r->ready || !(r->ways & UVEXEC__READY_LINE))
    return 0;
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t take = nl != NULL ? (size_t)(nl - data) : len;

    if (nl == NULL) {
      /* The start of a line: kept for its end, up to a line's bound. */
      if (part->len + take <= UVEXEC_LINE_MAX)
        (void)uvexec__buf_append(part, data, take);
      return 0;
    }
    if (part->len > 0) {
      if (part->len + take <= UVEXEC_LINE_MAX &&
          uvexec__buf_append(part, data, take) == 0 &&
          matches(r, part->base, part->len))
        return 1;
      part->len = 0;
    } else if (matches(r, data, take > 0 && data[take - 1] == '\r'
                                    ? take - 1
                                    : take)) {
      return 1;
    }
    data += take + 1;
    len -= take + 1;
  }
  return 0;
}

/* ---- the notify socket --------------------------------------------------- */

/* parent_of answers the parent's pid of pid from /proc, or 0. */
static pid_t parent_of(pid_t pid) {
  pid_t ppid = 0;

  return uvexec__proc_stat(pid, NULL, &ppid) == 0 ? ppid : 0;
}

/* heard tells whether the sender of a datagram (pid, and its pidfd, or -1)
 * is the command: in its tree when contained, else the child or one of
 * its descendants. */
static int heard(uvexec_cmd_t *cmd, pid_t pid, int pidfd) {
  uint64_t id;
  int i, own = -1, ok = 0;

  if (pid <= 0 || cmd->pid <= 0)
    return 0;
  if (pidfd < 0)
    pidfd = own = uvexec__pidfd_open(pid);
  if (pidfd < 0 && (pidfd != UV_ENOSYS || cmd->contain.on))
    return 0; /* gone: whoever it was cannot be told apart */
  if (cmd->contain.on && cmd->contain.made) {
    if (uvexec__pidfd_cgroup(pidfd, &id) == 0)
      ok = id == cmd->contain.cg.id;
    else
      ok = 0; /* no way to be sure: not heard */
  } else if (!cmd->exited) {
    /* The child is unreaped, so no other process has its pid. */
    for (i = 0; i < ANCESTRY_MAX && pid > 1 && !ok; i++) {
      ok = pid == cmd->pid;
      pid = parent_of(pid);
    }
    /* The walk read /proc by pid: it spoke of the pidfd's process only if
     * that still lives. (Without pidfds at all, as under valgrind, the
     * walk is all there is.) */
    if (ok && pidfd >= 0) {
      int err = uvexec__pidfd_signal(pidfd, 0, 0);

      ok = err == 0 || err == UV_ENOSYS;
    }
  }
  if (own >= 0)
    close(own);
  return ok;
}

/* handle_message acts on one datagram's assignments. Answers whether it
 * made the cmd ready. */
static int handle_message(uvexec_cmd_t *cmd, char *text) {
  uvexec__ready_t *r = &cmd->ready;
  int ready = 0;
  char *line, *save = NULL;

  for (line = strtok_r(text, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    if (strcmp(line, "READY=1") == 0) {
      ready = 1;
    } else if (strncmp(line, "STATUS=", 7) == 0) {
      char *copy = strdup(line + 7);

      if (copy != NULL) {
        free(r->status);
        r->status = copy;
      }
    } else if (strcmp(line, "STOPPING=1") == 0) {
      r->stopping = 1;
    } else if (strcmp(line, "WATCHDOG=1") == 0 && r->watchdog_open) {
      uv_timer_start(&r->watchdog, on_watchdog, r->watchdog_ms, 0);
    } else if (strcmp(line, "WATCHDOG=trigger") == 0 && r->watchdog_open) {
      uv_timer_start(&r->watchdog, on_watchdog, 0, 0);
    }
  }
  return ready;
}

static void on_datagram(uv_poll_t *handle, int status, int events) {
  uvexec_cmd_t *cmd = handle->data;
  uvexec__ready_t *r = &cmd->ready;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int)) +
             CMSG_SPACE(sizeof(int) * 16)];
  } control;
  char text[DATAGRAM_MAX + 1];
  struct cmsghdr *c;
  struct msghdr msg;
  struct iovec iov;
  pid_t pid;
  ssize_t n;
  int pidfd, i, ready = 0;

  (void)status;
  (void)events;
  /* A few datagrams a turn: a flood cannot hold the loop. */
  for (i = 0; i < 16 && !ready; i++) {
    memset(&msg, 0, sizeof(msg));
    iov.iov_base = text;
    iov.iov_len = DATAGRAM_MAX;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    do
      n = recvmsg(r->sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
      return; /* EAGAIN: nothing more */
    pid = 0;
    pidfd = -1;
    for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET)
        continue;
      if (c->cmsg_type == SCM_CREDENTIALS) {
        struct ucred cred;

        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        pid = cred.pid;
      } else if (c->cmsg_type == SCM_PIDFD) {
        memcpy(&pidfd, CMSG_DATA(c), sizeof(pidfd));
      } else if (c->cmsg_type == SCM_RIGHTS) {
        /* A barrier's fd, or anything: closed, which answers BARRIER=1. */
        size_t k, nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

        for (k = 0; k < nfds; k++) {
          int fd;

          memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(fd));
          close(fd);
        }
      }
    }
    text[n] = '\0';
    if ((msg.msg_flags & MSG_TRUNC) == 0 && heard(cmd, pid, pidfd))
      ready = handle_message(cmd, text) && !r->ready;
    if (pidfd >= 0)
      close(pidfd);
  }
  if (ready)
    uvexec__report(cmd, UVEXEC__EV_READY, 0);
}
