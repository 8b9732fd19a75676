/* SPDX-License-Identifier: MIT */
/* System calls on pidfds, which glibc 2.36 does not all wrap.
 *
 * A pidfd names one process for as long as the fd is open, however its
 * pid is recycled: waiting through it (waitid(P_PIDFD)) can never reap
 * another child given a recycled pid, and a signal through it
 * (pidfd_send_signal) answers ESRCH for a process that is gone instead of
 * reaching whoever has its pid now. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* PIDFD_GET_INFO (Linux 6.13; the exit status from 6.15), as the kernel's
 * include/uapi/linux/pidfd.h has it: the first 64 bytes, the oldest size
 * a kernel accepts, which carry all uvexec asks. The size is part of the
 * request's number, so older and newer kernels agree on it. */
struct pidfd_info_v0 {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid;
  uint32_t ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code; /* a wait status, once someone reaped the process */
};

_Static_assert(sizeof(struct pidfd_info_v0) == 64, "PIDFD_INFO_SIZE_VER0");

#define PIDFD_GET_INFO_V0                                                     \
  ((3u << 30) | ((unsigned)sizeof(struct pidfd_info_v0) << 16) |             \
   (0xFFu << 8) | 11u)
#define INFO_CGROUPID (1ull << 2)
#define INFO_EXIT (1ull << 3)

/* get_info asks for what; ENOTSUP where the kernel has no PIDFD_GET_INFO
 * (ENOTTY from the ioctl). */
static int get_info(int pidfd, uint64_t what, struct pidfd_info_v0 *info) {
  memset(info, 0, sizeof(*info));
  info->mask = what;
  if (ioctl(pidfd, PIDFD_GET_INFO_V0, info) == 0)
    return 0;
  return errno == ENOTTY || errno == EINVAL ? UV_ENOTSUP : -errno;
}

int uvexec__pidfd_exit_status(int pidfd, int *wstatus) {
  struct pidfd_info_v0 info;
  int err = get_info(pidfd, INFO_EXIT, &info);

  if (err != 0)
    return err;
  /* Only a process someone has reaped has its status here. */
  if (!(info.mask & INFO_EXIT))
    return UV_EAGAIN;
  *wstatus = info.exit_code;
  return 0;
}

int uvexec__pidfd_cgroup(int pidfd, uint64_t *id) {
  struct pidfd_info_v0 info;
  int err = get_info(pidfd, INFO_CGROUPID, &info);

  if (err != 0)
    return err;
  if (!(info.mask & INFO_CGROUPID))
    return UV_ENOTSUP;
  *id = info.cgroupid;
  return 0;
}

int uvexec__proc_stat(pid_t pid, char *state, pid_t *ppid) {
  char path[64], text[512], *p, st = 0;
  int fd, parent = 0;
  ssize_t n;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0)
    return UV_EIO;
  text[n] = '\0';
  /* The name, in parentheses, may hold anything: the fields start after
   * the last ')'. */
  p = strrchr(text, ')');
  if (p == NULL || sscanf(p + 1, " %c %d", &st, &parent) != 2)
    return UV_EIO;
  if (state != NULL)
    *state = st;
  if (ppid != NULL)
    *ppid = (pid_t)parent;
  return 0;
}

int uvexec__pidfd_open(pid_t pid) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);

  return fd >= 0 ? fd : -errno;
}

int uvexec__have_pidfd(void) {
  static int available = -1; /* a benign race: every thread finds the same */
  int fd;

  /* Only ENOSYS says there are none (before Linux 5.3, or under valgrind,
   * which knows no pidfd_open). EMFILE and the like are this moment's
   * trouble, for the start to report, not a reason to give up pidfds for
   * good. */
  if (available < 0) {
    fd = uvexec__pidfd_open(getpid());
    if (fd == UV_ENOSYS)
      available = 0;
    else if (fd >= 0)
      available = 1;
    if (fd >= 0)
      close(fd);
    if (available < 0)
      return 1;
  }
  return available;
}

/* The system call itself, whose fifth argument gives the child's resource
 * usage (glibc's waitid has none). */
int uvexec__pidfd_waitid(int pidfd, siginfo_t *info, int options,
                         struct rusage *usage) {
  int rc;

  do
    rc = (int)syscall(SYS_waitid, P_PIDFD, pidfd, info, options, usage);
  while (rc < 0 && errno == EINTR);
  return rc < 0 ? -errno : 0;
}

/* The pidfd may be non-blocking (uv_poll_init makes it so), and waitid()
 * then answers EAGAIN instead of waiting; the pidfd also turns readable
 * a moment before the process can be reaped (while its other threads
 * still exit), so poll and try until the reap succeeds or there is
 * nothing to reap. */
void uvexec__pidfd_wait_exit(int pidfd) {
  struct pollfd pfd;
  siginfo_t info;
  int err;

  for (;;) {
    memset(&info, 0, sizeof(info));
    err = uvexec__pidfd_waitid(pidfd, &info, WEXITED | WNOHANG, NULL);
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

int uvexec__pidfd_signal(int pidfd, int signum, unsigned flags) {
  if (syscall(SYS_pidfd_send_signal, pidfd, signum, NULL, flags) == 0)
    return 0;
  return -errno;
}
