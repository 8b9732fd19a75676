/* SPDX-License-Identifier: MIT */
/* Where uvexec's own fds live in the process's fd table.
 *
 * A running child costs its parent fds that live as long as it does: the
 * pidfd, and the parent's ends of its pipes. A start makes short-lived
 * ones too: the child's ends of its pipes, /dev/null. The clone engine
 * (engine_clone.c) hands the child only the part of the fd table below
 * its highest short-lived fd, so a start costs the same with 5,000
 * children running as with none, provided the short-lived fds are low
 * and the long-lived ones above them.
 *
 * New fds always take the lowest free number, so the long-lived ones are
 * moved up, from FDS_HIGH on, where the application's own fds seldom
 * reach; fds at the bottom of the table stay free for the application
 * and for the next start. Where the limit on open fds leaves no room up
 * there, an fd stays where it is: only a start's cost is at stake. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

#define FDS_HIGH 256

/* dup_from answers a close-on-exec copy of fd numbered from min up. */
static int dup_from(int fd, int min) {
  int copy;

  do
    copy = fcntl(fd, F_DUPFD_CLOEXEC, min);
  while (copy < 0 && errno == EINTR);
  return copy;
}

int uvexec__fd_move_high(int fd) {
  int high;

  if (fd < 0 || fd >= FDS_HIGH)
    return fd;
  high = dup_from(fd, FDS_HIGH);
  if (high < 0)
    return fd; /* EMFILE, or a limit below FDS_HIGH (EINVAL) */
  close(fd);
  return high;
}

int uvexec__fd_dup_high(int fd) {
  int copy = dup_from(fd, FDS_HIGH);

  /* No room up there: anywhere above the standard fds. */
  return copy >= 0 ? copy : dup_from(fd, 3);
}

void uvexec__close_fd(int *fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

int uvexec__open_in(const char *dir, const char *path, int flags) {
  int at = AT_FDCWD, fd, err;

  if (dir != NULL && dir[0] != '\0' && path[0] != '/') {
    at = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (at < 0)
      return -errno;
  }
  do
    fd = openat(at, path, flags | O_CLOEXEC | O_NOCTTY, 0666);
  while (fd < 0 && errno == EINTR);
  err = fd < 0 ? -errno : fd;
  if (at != AT_FDCWD)
    close(at);
  return err;
}
