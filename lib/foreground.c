/* SPDX-License-Identifier: MIT */
/* The terminal's foreground, lent to a child: `$EDITOR` run from a
 * program that has the terminal.
 *
 * A child started from a program on a terminal is in the program's
 * process group, or in a new one in the background: there, reading the
 * terminal stops it with SIGTTIN, and changing its modes with SIGTTOU.
 * A shell lends its foreground to the job it runs and takes it back when
 * the job ends; this part does the same for one cmd.
 *
 *   the start   the terminal's foreground group and modes are saved here;
 *               the child leads a new group and makes it the foreground
 *               itself, before it runs the program (engine_clone.c), so
 *               there is no moment in which it could be stopped;
 *   the end     when the run is done (or the cmd freed, or the start
 *               failed after the child took it), the group that had the
 *               terminal gets it back, and the modes saved are restored:
 *               an editor killed in raw mode leaves no raw terminal.
 *
 * A process outside the foreground that sets the foreground group is sent
 * SIGTTOU, unless it blocks or ignores it: it is blocked around the call.
 * It reports nothing to the lifecycle. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include "internal.h"

int uvexec__foreground_check(uvexec_cmd_t *cmd) {
  const char *why = NULL;

  if (cmd->fg.fd < 0)
    return 0;
  if (cmd->pty.on)
    why = "a command on a terminal of its own cannot also have the "
          "foreground of another";
  else if (cmd->new_session)
    why = "a command in a new session has no terminal to be in the "
          "foreground of";
  else if (cmd->set_pgid && cmd->pgid != 0)
    why = "a command in the foreground leads a process group of its own, "
          "not another";
  if (why != NULL) {
    uvexec__set_error(cmd, "exec: %s", why);
    return UV_EINVAL;
  }
  return 0;
}

int uvexec__foreground_open(uvexec_cmd_t *cmd) {
  uvexec__foreground_t *fg = &cmd->fg;
  int err;

  fg->taken = 0;
  if (fg->fd < 0)
    return 0;
  fg->pgrp = tcgetpgrp(fg->fd);
  if (fg->pgrp < 0 || tcgetattr(fg->fd, &fg->modes) != 0) {
    err = -errno;
    uvexec__set_error(cmd, "exec: foreground: fd %d: %s", fg->fd,
                      uvexec_strerror(err));
    return err;
  }
  fg->taken = 1;
  return 0;
}

void uvexec__foreground_close(uvexec_cmd_t *cmd) {
  uvexec__foreground_t *fg = &cmd->fg;
  sigset_t block, old;

  if (!fg->taken)
    return;
  fg->taken = 0;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  /* The group that had the terminal, the caller's as a rule; if it is
   * gone, the caller's own. */
  if (tcsetpgrp(fg->fd, fg->pgrp) != 0)
    (void)tcsetpgrp(fg->fd, getpgrp());
  /* TCSANOW: draining first could block the loop on a terminal whose
   * output nobody reads. */
  (void)tcsetattr(fg->fd, TCSANOW, &fg->modes);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}
