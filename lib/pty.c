/* SPDX-License-Identifier: MIT */
/* Terminals: a child on a pseudo-terminal instead of pipes.
 *
 * The parent opens the master (posix_openpt, close-on-exec) and gives it
 * the termios and the size a terminal emulator would, before the child
 * runs; the child opens the slave itself, by path, right after the
 * clone engine's setsid() (engine_clone.c), which makes it the
 * controlling terminal of the child's new session. So the parent never
 * holds a slave fd: when the child and whatever it left behind have
 * closed theirs, the master reads EIO, which on Linux is the end of a
 * terminal's output (the bytes written before are all read first), and
 * the reader (read.c) takes it for end of file.
 *
 * The master is the stdout reader's fd; the stdin writer gets a copy of
 * it, since two uv_poll_t cannot watch one fd. Both are closed by the
 * reader and the writer as pipes are, so the terminal lives exactly as
 * long as uvexec reads it, and a failed start closes both with the pipes
 * (stdio.c). How end of file is typed is the writer's (write.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* ptsname_r */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "internal.h"

#define CONTROL(c) ((c)&0x1f)

static int valid_size(int rows, int cols) {
  return rows >= 1 && rows <= 65535 && cols >= 1 && cols <= 65535;
}

int uvexec_cmd_set_pty(uvexec_cmd_t *cmd, int rows, int cols) {
  if (cmd == NULL || !valid_size(rows, cols))
    return UV_EINVAL;
  if (cmd->state != UVEXEC__CONFIGURING)
    return UV_EBUSY;
  cmd->pty.on = 1;
  cmd->pty.rows = (unsigned short)rows;
  cmd->pty.cols = (unsigned short)cols;
  /* stdin is the terminal, typed into with uvexec_write(), unless
   * uvexec_cmd_set_stdin() already gave it bytes to type. */
  if (cmd->in.kind != UVEXEC__IO_PIPE) {
    cmd->in.kind = UVEXEC__IO_PIPE;
    cmd->in.streaming = 1;
  }
  /* stderr left at its default shows on the terminal: "whatever stdout
   * is". Set later, it goes elsewhere. */
  if (cmd->out[1].kind == UVEXEC__IO_NULL &&
      !uvexec__has_callbacks(&cmd->out[1]))
    cmd->out[1].kind = UVEXEC__IO_MERGE;
  return 0;
}

/* default_termios is what a terminal emulator's terminal starts with:
 * `stty sane` plus IUTF8, 8 bits, and the usual control characters. */
static void default_termios(struct termios *t) {
  memset(t, 0, sizeof(*t));
  t->c_iflag = BRKINT | ICRNL | IXON | IMAXBEL | IUTF8;
  t->c_oflag = OPOST | ONLCR;
  t->c_cflag = CREAD | CS8 | HUPCL;
  t->c_lflag = ISIG | ICANON | IEXTEN | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE;
  t->c_cc[VINTR] = CONTROL('C');
  t->c_cc[VQUIT] = CONTROL('\\');
  t->c_cc[VERASE] = 0x7f;
  t->c_cc[VKILL] = CONTROL('U');
  t->c_cc[VEOF] = CONTROL('D');
  t->c_cc[VEOL] = _POSIX_VDISABLE;
  t->c_cc[VEOL2] = _POSIX_VDISABLE;
  t->c_cc[VSTART] = CONTROL('Q');
  t->c_cc[VSTOP] = CONTROL('S');
  t->c_cc[VSUSP] = CONTROL('Z');
  t->c_cc[VREPRINT] = CONTROL('R');
  t->c_cc[VWERASE] = CONTROL('W');
  t->c_cc[VLNEXT] = CONTROL('V');
  t->c_cc[VDISCARD] = CONTROL('O');
  t->c_cc[VMIN] = 1;
  t->c_cc[VTIME] = 0;
  cfsetispeed(t, B38400);
  cfsetospeed(t, B38400);
}

static int set_size(int fd, unsigned short rows, unsigned short cols) {
  struct winsize ws;

  memset(&ws, 0, sizeof(ws));
  ws.ws_row = rows;
  ws.ws_col = cols;
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0)
    return -errno;
  return 0;
}

/* uvexec__pty_check rejects, at the start, what a terminal cannot be
 * combined with, and words it. A stderr callback on a stderr that shows on
 * the terminal sets stderr apart: it gets a pipe of its own. */
int uvexec__pty_check(uvexec_cmd_t *cmd) {
  uvexec__reader_t *out = &cmd->out[0], *err = &cmd->out[1];
  const char *why = NULL;

  if (!cmd->pty.on)
    return 0;
  if (cmd->in.kind != UVEXEC__IO_PIPE)
    why = "stdin is the terminal; it cannot also be a caller's fd";
  else if (out->kind != UVEXEC__IO_NULL && out->kind != UVEXEC__IO_PIPE)
    why = "stdout is the terminal; it cannot also be inherited or a "
          "caller's fd";
  else if (cmd->set_pgid)
    why = "a terminal needs a session of its own, not another process "
          "group";
  if (why != NULL) {
    uvexec__set_error(cmd, "exec: %s", why);
    return UV_EINVAL;
  }
  if (err->kind == UVEXEC__IO_MERGE && uvexec__has_callbacks(err))
    err->kind = UVEXEC__IO_NULL; /* a pipe read by uvexec */
  return 0;
}

/* uvexec__pty_open opens the terminal before the child runs. */
int uvexec__pty_open(uvexec_cmd_t *cmd, int child_fds[3]) {
  struct termios t;
  int master, err;

  master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return -errno;
  master = uvexec__fd_move_high(master);
  cmd->out[0].fd = master;
  cmd->out[0].tty = 1;
  if (grantpt(master) != 0 || unlockpt(master) != 0)
    return -errno;
  err = ptsname_r(master, cmd->pty.path, sizeof(cmd->pty.path));
  if (err != 0)
    return -err;
  /* On Linux a master's termios and size are its slave's: set now, they
   * are what the child finds when it opens the slave. */
  default_termios(&t);
  if (tcsetattr(master, TCSANOW, &t) != 0)
    return -errno;
  err = set_size(master, cmd->pty.rows, cmd->pty.cols);
  if (err != 0)
    return err;
  cmd->in.fd = uvexec__fd_dup_high(master);
  if (cmd->in.fd < 0)
    return -errno;
  child_fds[0] = UVEXEC__FD_TTY;
  child_fds[1] = UVEXEC__FD_TTY;
  return 0;
}

int uvexec_resize(uvexec_cmd_t *cmd, int rows, int cols) {
  uvexec__reader_t *r;

  if (cmd == NULL || !cmd->pty.on || !valid_size(rows, cols))
    return UV_EINVAL;
  r = &cmd->out[0];
  if (cmd->state != UVEXEC__RUNNING || r->fd < 0 || r->eof)
    return UV_ESRCH;
  return set_size(r->fd, (unsigned short)rows, (unsigned short)cols);
}
