/* SPDX-License-Identifier: MIT */
/* The clone engine: the child is made with
 * clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD [| CLONE_FILES]
 * [| CLONE_INTO_CGROUP]) and runs uvexec's own code until its exec.
 *
 * CLONE_VM|CLONE_VFORK is what posix_spawn does: no page tables are
 * copied, so a start costs the same at any parent size, and the parent's
 * thread sleeps only until the child has exec'd (or died). CLONE_PIDFD
 * hands back the pidfd together with the pid, so no reaper anywhere can
 * take the child (and give its pid away) before uvexec holds it, which
 * pidfd_open() after posix_spawn cannot promise. CLONE_INTO_CGROUP puts
 * the child in its cgroup before it runs at all. CLONE_FILES, when the
 * child is to close all but its own fds (the default), spares the copy
 * of the parent's whole fd table: the child takes a copy of its lowest
 * part only (see child_main), where its sources are, so that a parent
 * holding thousands of fds (a pidfd and pipes per running child) starts
 * a child at the cost of one holding none.
 *
 * The hazards of running on the parent's memory, and how each is met:
 *
 *  - The child needs a stack of its own (the parent's is still in use
 *    by the sleeping parent frame): a fresh mapping with a guard page.
 *  - clone3 has no function argument: a few lines of assembly per
 *    architecture (x86_64, aarch64) make the call and, in the child,
 *    call child_main on the new stack and exit if it ever returns.
 *    Elsewhere, and where the kernel has no clone3, glibc's clone() with
 *    CLONE_PIDFD does the same (without CLONE_INTO_CGROUP).
 *  - The child shares everything with the parent, its thread pointer
 *    included: it may not take a lock, allocate, or touch errno (which is
 *    the parent thread's). It makes raw system calls only, on data the
 *    parent prepared, and writes nothing but its error report.
 *  - A signal handler of the application must never run on the child's
 *    stack: every signal is blocked in the parent around the clone, and
 *    the child sets every disposition to the default before it unblocks.
 *  - The exec's failure must reach uvexec_start as an error, never as an
 *    exit code: the child writes the failed step and errno into the
 *    shared context and exits; with CLONE_VFORK the parent reads it only
 *    once the child has exec'd or exited, and a successful exec leaves it
 *    untouched, so this is a close-on-exec channel without a pipe (the
 *    way glibc's posix_spawn does it). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* The kernel's struct clone_args up to its cgroup field (version 2, 88
 * bytes). A kernel that knows only a shorter version accepts it as long
 * as the fields it does not know are zero. */
struct clone_args_v2 {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};

/* The kernel's struct sigaction for rt_sigaction, all zero: SIG_DFL,
 * no flags, empty mask. */
struct ksigaction {
  unsigned long handler;
  unsigned long flags;
  unsigned long restorer;
  uint64_t mask;
};

/* What runs in the child is kept out of the sanitizers' reach (their
 * runtime would act on the parent thread's state, and a frame the exec
 * never leaves would stay poisoned) and inlined even without
 * optimization, so that no instrumented helper runs there either. */
#define CHILD_CODE                                                             \
  __attribute__((no_sanitize_address, no_sanitize("undefined")))
#define CHILD_INLINE static inline __attribute__((always_inline)) CHILD_CODE

/* ---- raw system calls ------------------------------------------------------
 *
 * glibc's syscall() stores errno on failure; in the child errno is the
 * parent thread's. These return -errno instead and touch no memory. */

#if defined(__x86_64__)
#define HAVE_TRAMPOLINE 1
CHILD_INLINE long raw6(long n, long a, long b, long c, long d, long e, long f) {
  register long rax __asm__("rax") = n;
  register long rdi __asm__("rdi") = a;
  register long rsi __asm__("rsi") = b;
  register long rdx __asm__("rdx") = c;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;

  __asm__ volatile("syscall"
                   : "+r"(rax)
                   : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return rax;
}

/* clone3_run makes the clone3 call. In the child (return value 0) it
 * clears the frame pointer, calls fn(arg) on the new stack, whose top the
 * kernel aligned for a call, and exits with fn's result. In the parent
 * it returns the child's pid or -errno. */
static long clone3_run(struct clone_args_v2 *args, int (*fn)(void *),
                       void *arg) {
  register long rax __asm__("rax") = SYS_clone3;
  register void *rdi __asm__("rdi") = args;
  register long rsi __asm__("rsi") = (long)sizeof(*args);
  register int (*r12)(void *) __asm__("r12") = fn;
  register void *r13 __asm__("r13") = arg;

  __asm__ volatile("syscall\n\t"
                   "testq %%rax, %%rax\n\t"
                   "jnz 1f\n\t"
                   "xorl %%ebp, %%ebp\n\t"
                   "movq %%r13, %%rdi\n\t"
                   "callq *%%r12\n\t"
                   "movl %%eax, %%edi\n\t"
                   "movl $231, %%eax\n\t" /* exit_group */
                   "syscall\n\t"
                   "hlt\n\t"
                   "1:\n\t"
                   : "+r"(rax)
                   : "r"(rdi), "r"(rsi), "r"(r12), "r"(r13)
                   : "rcx", "r11", "memory");
  return rax;
}
#elif defined(__aarch64__)
#define HAVE_TRAMPOLINE 1
CHILD_INLINE long raw6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;

  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
}

static long clone3_run(struct clone_args_v2 *args, int (*fn)(void *),
                       void *arg) {
  register long x8 __asm__("x8") = SYS_clone3;
  register long x0 __asm__("x0") = (long)args;
  register long x1 __asm__("x1") = (long)sizeof(*args);
  register int (*x19)(void *) __asm__("x19") = fn;
  register void *x20 __asm__("x20") = arg;

  __asm__ volatile("svc 0\n\t"
                   "cbnz x0, 1f\n\t"
                   "mov x29, xzr\n\t"
                   "mov x30, xzr\n\t"
                   "mov x0, x20\n\t"
                   "blr x19\n\t"
                   "mov x8, #94\n\t" /* exit_group */
                   "svc 0\n\t"
                   "brk #0\n\t"
                   "1:\n\t"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x19), "r"(x20)
                   : "x30", "memory");
  return x0;
}
#else
#define HAVE_TRAMPOLINE 0
/* No assembly for this machine: glibc's syscall(), which may store errno
 * (the parent's, asleep until the exec) on a failure the child then
 * reports anyway; and glibc's clone() instead of clone3. */
CHILD_INLINE long raw6(long n, long a, long b, long c, long d, long e, long f) {
  long rc = syscall(n, a, b, c, d, e, f);
  return rc < 0 ? -errno : rc;
}
#endif

#define RAW1(n, a) raw6((n), (long)(a), 0, 0, 0, 0, 0)
#define RAW2(n, a, b) raw6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define RAW3(n, a, b, c) raw6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define RAW4(n, a, b, c, d)                                                    \
  raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define RAW5(n, a, b, c, d, e)                                                 \
  raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#endif

/* ---- what the child is given -----------------------------------------------
 */

/* The steps of the child, for the error report. */
enum {
  STEP_NONE = 0,
  STEP_WAIT,
  STEP_JOIN,
  STEP_MOUNT,
  STEP_PROC,
  STEP_NET,
  STEP_ROOT,
  STEP_CAPS,
  STEP_NNP,
  STEP_LANDLOCK,
  STEP_SECCOMP,
  STEP_DETACH,
  STEP_SESSION,
  STEP_PGID,
  STEP_FOREGROUND,
  STEP_TTY,
  STEP_FDS,
  STEP_CHDIR,
  STEP_GROUPS,
  STEP_GID,
  STEP_UID,
  STEP_RLIMIT,
  STEP_NICE,
  STEP_PDEATHSIG,
  STEP_CLOSE,
  STEP_SIGNALS,
  STEP_FILE,
  STEP_EXEC
};

/* Everything the child needs, prepared by the parent; the child reads it
 * and writes only step and err. */
typedef struct {
  const char *file;
  char *const *argv;
  char *const *envp;
  const char *dir;
  int nfds;       /* the child's fds 0 .. nfds-1 */
  const int *src; /* for each: the parent's fd, always >= nfds, or
                     UVEXEC__FD_TTY for the terminal, UVEXEC__FD_NONE for
                     none (closed) */
  const char *tty; /* the terminal to open and take, or NULL */
  const char *const *path; /* files for fds 0..2 (UVEXEC__FD_FILE) */
  const int *flags;
  int new_session;
  int set_pgid;
  pid_t pgid;
  int foreground; /* the terminal whose foreground the child takes, or -1 */
  int detach;     /* run the program in a grandchild: a daemon */
  int report_fd;  /* the daemon's error report, written here, or -1 */
  const int *join; /* cgroup v1 cgroup.procs files to write "0" to */
  int njoin;
  /* The sandbox. */
  int go_fd;         /* read end: the maps are written; -1 */
  int go_write;      /* its write end, the parent's: closed here first */
  int mount_private; /* a new mount namespace: no propagation out */
  int mount_proc;    /* ... and a new pid namespace: its own /proc */
  int net_up;        /* a new network namespace: the loopback up */
  const char *root;  /* chroot, or NULL */
  const int *caps;   /* ambient capabilities */
  size_t cap_count;
  int no_new_privs;
  int ruleset; /* Landlock, or -1 */
  uint64_t proc_access; /* Landlock rights for its own /proc, or 0 */
  const struct sock_fprog *filter; /* seccomp, or NULL */
  int in_daemon;  /* set in the daemon's own copy of this */
  int set_groups; /* 1: exactly groups; 2: none, failure ignored */
  const gid_t *groups;
  size_t group_count;
  int set_gid;
  gid_t gid;
  int set_uid;
  uid_t uid;
  const uvexec__rlimit_t *rlimits;
  size_t rlimit_count;
  int set_umask;
  unsigned int umask;
  int set_nice;
  int nice;
  int pdeathsig;
  pid_t parent; /* getpid() before the clone, for a death signal only */
  int close_fds;
  int keep_below; /* > 0: the fd table is shared; copy the fds below */
  struct ksigaction dfl;
  uint64_t empty_mask;
  /* The report. */
  volatile int ran;  /* the child ran at all: a cgroup may kill it first */
  volatile int step;
  volatile int err; /* positive errno */
  volatile int which; /* STEP_FILE: the fd whose file failed */
  volatile pid_t daemon; /* the daemon's pid, from its parent */
} child_t;

CHILD_INLINE int fail(child_t *c, int step, long rc) {
  c->err = (int)-rc;
  c->step = step;
  if (c->in_daemon) {
    /* The daemon's memory is a copy: its report goes through the pipe
     * (close-on-exec, so an exec that succeeds says nothing). */
    int report[3];

    report[0] = step;
    report[1] = (int)-rc;
    report[2] = c->which;
    RAW3(SYS_write, c->report_fd, report, sizeof(report));
  }
  RAW1(SYS_exit_group, 127);
  return 127;
}

/* child_main runs in the child, on its own stack and the parent's
 * memory, from the clone to the exec: raw system calls only. */
__attribute__((noinline)) CHILD_CODE static int child_main(void *arg) {
  child_t *c = arg;
  long rc;
  int i, sig, tty = -1;
  size_t k;

  c->ran = 1;

  /* In a user namespace of its own, the child waits for the parent to
   * write its uid and gid maps: until then it is nobody there. */
  if (c->go_fd >= 0) {
    char go = 0;

    /* Its copy of the write end goes first: if the parent dies before
     * it writes, the read ends (end of file) instead of waiting for
     * ever. */
    RAW1(SYS_close, c->go_write);
    do
      rc = RAW3(SYS_read, c->go_fd, &go, 1);
    while (rc == -EINTR);
    if (rc != 1)
      return fail(c, STEP_WAIT, rc < 0 ? rc : -ECANCELED);
    RAW1(SYS_close, c->go_fd);
  }

  /* The cgroup v1 directories of its limits come first, before the child
   * does anything that a limit should count; the fd table is still the
   * parent's here, so every fd is there. */
  for (k = 0; k < (size_t)c->njoin; k++) {
    rc = RAW3(SYS_write, c->join[k], "0", 1);
    if (rc < 0)
      return fail(c, STEP_JOIN, rc);
  }

  /* The fd table is the parent's (CLONE_FILES) until the child takes a
   * copy of its own, of the fds below keep_below only: its sources and
   * what lies below them (fds.c keeps uvexec's long-lived fds higher).
   * The rest of the table is never copied, nor closed at the exec. */
  if (c->keep_below > 0) {
    rc = RAW3(SYS_close_range, c->keep_below, ~0U, CLOSE_RANGE_UNSHARE);
    if (rc == -ENOSYS || rc == -EINVAL) /* before Linux 5.9 */
      rc = RAW1(SYS_unshare, CLONE_FILES);
    if (rc < 0)
      return fail(c, STEP_CLOSE, rc);
  }

  /* A daemon is this child's child, a plain fork (a copy of the memory,
   * not a share), and this child leaves at once: the daemon is
   * reparented (to init, or to the nearest subreaper) and this process
   * never waits for it. Everything below runs in the daemon. */
  if (c->detach) {
    rc = RAW2(SYS_clone, SIGCHLD, 0);
    if (rc < 0)
      return fail(c, STEP_DETACH, rc);
    if (rc > 0) {
      c->daemon = (pid_t)rc;
      RAW1(SYS_exit_group, 0);
    }
    c->in_daemon = 1;
  }

  /* A new mount namespace starts as a copy whose mounts may still
   * propagate to the parent's (a shared root): made private first, so that
   * nothing mounted here is seen outside. (Its own /proc comes once its
   * root is set.) */
  if (c->mount_private) {
    rc = RAW5(SYS_mount, 0, "/", 0, MS_REC | MS_PRIVATE, 0);
    if (rc < 0)
      return fail(c, STEP_MOUNT, rc);
  }
  /* A new network namespace has a loopback that is down. */
  if (c->net_up) {
    struct ifreq ifr;
    long sock = RAW3(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (sock < 0)
      return fail(c, STEP_NET, sock);
    for (k = 0; k < sizeof(ifr); k++)
      ((char *)&ifr)[k] = 0;
    ifr.ifr_name[0] = 'l';
    ifr.ifr_name[1] = 'o';
    rc = RAW3(SYS_ioctl, sock, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
      ifr.ifr_flags |= IFF_UP;
      rc = RAW3(SYS_ioctl, sock, SIOCSIFFLAGS, &ifr);
    }
    RAW1(SYS_close, sock);
    if (rc < 0)
      return fail(c, STEP_NET, rc);
  }

  if (c->new_session) {
    rc = RAW1(SYS_setsid, 0);
    if (rc < 0)
      return fail(c, STEP_SESSION, rc);
  } else if (c->set_pgid) {
    rc = RAW2(SYS_setpgid, 0, c->pgid);
    if (rc < 0)
      return fail(c, STEP_PGID, rc);
  }

  /* The terminal's foreground, for the new group, before the program
   * runs: it is never a background job that a read or a change of modes
   * would stop. Every signal is still blocked, so the SIGTTOU a
   * background group is sent for this is not (the kernel then allows
   * it). */
  if (c->foreground >= 0) {
    pid_t self = (pid_t)RAW1(SYS_getpid, 0);

    rc = RAW3(SYS_ioctl, c->foreground, TIOCSPGRP, &self);
    if (rc < 0)
      return fail(c, STEP_FOREGROUND, rc);
  }

  /* The terminal, after the new session and before the fds are placed:
   * a session leader that opens a terminal without O_NOCTTY takes it as
   * its controlling terminal. It is moved above the targets, so that it
   * is no target itself, and it is close-on-exec: only its copies stay. */
  if (c->tty != NULL) {
    rc = RAW4(SYS_openat, AT_FDCWD, c->tty, O_RDWR | O_CLOEXEC, 0);
    if (rc < 0)
      return fail(c, STEP_TTY, rc);
    tty = (int)rc;
    if (tty < c->nfds) {
      rc = RAW3(SYS_fcntl, tty, F_DUPFD_CLOEXEC, c->nfds);
      if (rc < 0)
        return fail(c, STEP_TTY, rc);
      RAW1(SYS_close, tty);
      tty = (int)rc;
    }
  }

  /* Every source is above the targets (the parent made sure), so no
   * dup3 overwrites a source still to come; dup3 clears close-on-exec on
   * the copy. */
  for (i = 0; i < c->nfds; i++) {
    if (c->src[i] == UVEXEC__FD_FILE)
      continue; /* opened once the ids and the umask are the child's */
    if (c->src[i] == UVEXEC__FD_NONE) {
      RAW1(SYS_close, i); /* a gap: whatever the table held there goes */
      continue;
    }
    rc = RAW3(SYS_dup3, c->src[i] == UVEXEC__FD_TTY ? tty : c->src[i], i, 0);
    if (rc < 0)
      return fail(c, STEP_FDS, rc);
  }

  if (c->root != NULL) {
    rc = RAW1(SYS_chroot, c->root);
    if (rc < 0)
      return fail(c, STEP_ROOT, rc);
    if (c->dir == NULL) {
      rc = RAW1(SYS_chdir, "/");
      if (rc < 0)
        return fail(c, STEP_ROOT, rc);
    }
  }

  /* With its own pids, its own /proc, so that what it lists there is its
   * own: inside its root (a root without a /proc gets none). */
  if (c->mount_proc) {
    rc = RAW5(SYS_mount, "proc", "/proc", "proc",
              MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
    if (rc < 0 && !(rc == -ENOENT && c->root != NULL))
      return fail(c, STEP_PROC, rc);
    if (rc == 0 && c->ruleset >= 0 && c->proc_access != 0) {
      struct {
        uint64_t allowed_access;
        int32_t parent_fd;
      } __attribute__((packed)) rule;
      long fd = RAW4(SYS_openat, AT_FDCWD, "/proc", O_PATH | O_CLOEXEC, 0);

      if (fd < 0)
        return fail(c, STEP_LANDLOCK, fd);
      rule.allowed_access = c->proc_access;
      rule.parent_fd = (int32_t)fd;
      rc = RAW4(SYS_landlock_add_rule, c->ruleset, 1, &rule, 0);
      RAW1(SYS_close, fd);
      if (rc < 0)
        return fail(c, STEP_LANDLOCK, rc);
    }
  }

  if (c->dir != NULL) {
    rc = RAW1(SYS_chdir, c->dir);
    if (rc < 0)
      return fail(c, STEP_CHDIR, rc);
  }

  /* Ambient capabilities survive a uid change only if the permitted set
   * does: kept across it, raised after. */
  if (c->cap_count > 0 && c->set_uid) {
    rc = RAW5(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0);
    if (rc < 0)
      return fail(c, STEP_CAPS, rc);
  }

  if (c->set_groups) {
    rc = RAW2(SYS_setgroups, c->group_count, c->groups);
    if (rc < 0 && c->set_groups == 1)
      return fail(c, STEP_GROUPS, rc);
  }
  if (c->set_gid) {
    rc = RAW1(SYS_setgid, c->gid);
    if (rc < 0)
      return fail(c, STEP_GID, rc);
  }
  if (c->set_uid) {
    rc = RAW1(SYS_setuid, c->uid);
    if (rc < 0)
      return fail(c, STEP_UID, rc);
  }

  if (c->cap_count > 0) {
    struct {
      uint32_t version;
      int pid;
    } hdr = {0x20080522, 0}; /* _LINUX_CAPABILITY_VERSION_3 */
    struct {
      uint32_t effective, permitted, inheritable;
    } data[2];

    rc = RAW2(SYS_capget, &hdr, data);
    if (rc < 0)
      return fail(c, STEP_CAPS, rc);
    for (k = 0; k < c->cap_count; k++)
      data[c->caps[k] / 32].inheritable |= 1u << (c->caps[k] % 32);
    /* The effective set stays as the uid change left it (empty): the
     * ambient ones become effective at the exec, and nothing of root's
     * is in force meanwhile. */
    rc = RAW2(SYS_capset, &hdr, data);
    if (rc < 0)
      return fail(c, STEP_CAPS, rc);
    for (k = 0; k < c->cap_count; k++) {
      rc = RAW5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c->caps[k], 0,
                0);
      if (rc < 0)
        return fail(c, STEP_CAPS, rc);
    }
  }

  for (k = 0; k < c->rlimit_count; k++) {
    rc = RAW4(SYS_prlimit64, 0, c->rlimits[k].resource, &c->rlimits[k].soft, 0);
    if (rc < 0)
      return fail(c, STEP_RLIMIT, rc);
  }

  if (c->set_umask)
    RAW1(SYS_umask, c->umask);

  /* The files, as the child: in its directory, with its ids, its umask
   * (mode 0666 less it), its root. 2>&1 into a file is a copy of fd 1. */
  for (i = 0; i < 3 && i < c->nfds; i++) {
    if (c->src[i] != UVEXEC__FD_FILE)
      continue;
    if (i == 2 && c->path[2] == c->path[1]) {
      rc = RAW3(SYS_dup3, 1, 2, 0);
    } else {
      c->which = i;
      rc = RAW4(SYS_openat, AT_FDCWD, c->path[i], c->flags[i] | O_CLOEXEC | O_NOCTTY,
                0666);
      if (rc >= 0 && rc != i) {
        long fd = rc;

        rc = RAW3(SYS_dup3, fd, i, 0);
        RAW1(SYS_close, fd);
      } else if (rc == i) {
        rc = RAW3(SYS_fcntl, i, F_SETFD, 0); /* the lowest free was i */
      }
    }
    if (rc < 0)
      return fail(c, STEP_FILE, rc);
  }

  if (c->set_nice) {
    /* The system call answers 20 - nice, so that it is never negative. */
    rc = RAW2(SYS_getpriority, PRIO_PROCESS, 0);
    if (rc < 0)
      return fail(c, STEP_NICE, rc);
    rc = 20 - rc + c->nice;
    if (rc < -20)
      rc = -20;
    if (rc > 19)
      rc = 19;
    rc = RAW3(SYS_setpriority, PRIO_PROCESS, 0, rc);
    if (rc < 0)
      return fail(c, STEP_NICE, rc);
  }

  if (c->pdeathsig != 0) {
    rc = RAW2(SYS_prctl, PR_SET_PDEATHSIG, c->pdeathsig);
    if (rc < 0)
      return fail(c, STEP_PDEATHSIG, rc);
    /* The parent may have died before the prctl: then nobody will send
     * the signal, so the child sends it itself (it is delivered once the
     * mask is cleared below). */
    if (RAW1(SYS_getppid, 0) != c->parent)
      RAW2(SYS_kill, RAW1(SYS_getpid, 0), c->pdeathsig);
  }

  /* Nothing it runs gains privileges; then Landlock, which needs that
   * (or CAP_SYS_ADMIN), after the files above were opened. */
  if (c->no_new_privs) {
    rc = RAW5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (rc < 0)
      return fail(c, STEP_NNP, rc);
  }
  if (c->ruleset >= 0) {
    rc = RAW2(SYS_landlock_restrict_self, c->ruleset, 0);
    if (rc < 0)
      return fail(c, STEP_LANDLOCK, rc);
  }

  if (c->close_fds) {
    /* Marking them close-on-exec is cheaper than closing (no file is
     * released here) and has the same effect at the exec. Where they are
     * closed, a daemon's report fd is spared, until its exec. */
    rc = RAW3(SYS_close_range, c->nfds, ~0U, CLOSE_RANGE_CLOEXEC);
    if (rc == -EINVAL) { /* Linux 5.9 and 5.10: no CLOSE_RANGE_CLOEXEC */
      if (c->report_fd >= c->nfds) {
        if (c->report_fd > c->nfds)
          RAW3(SYS_close_range, c->nfds, c->report_fd - 1, 0);
        rc = RAW3(SYS_close_range, c->report_fd + 1, ~0U, 0);
      } else {
        rc = RAW3(SYS_close_range, c->nfds, ~0U, 0);
      }
    }
    if (rc == -ENOSYS) {
      /* Before Linux 5.9: one close per possible fd, up to the limit
       * (at most 65536 of them). */
      uint64_t lim[2] = {1024, 1024};

      RAW4(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, lim);
      if (lim[0] > 65536)
        lim[0] = 65536;
      for (i = c->nfds; i < (int)lim[0]; i++)
        if (i != c->report_fd)
          RAW1(SYS_close, i);
      rc = 0;
    }
    if (rc < 0)
      return fail(c, STEP_CLOSE, rc);
  }

  /* Every signal back to its default action (glibc's reserved 32 and 33
   * included), so that no handler of the parent's can run here once
   * signals are unblocked; then nothing blocked, as after uv_spawn. */
  for (sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP)
      continue;
    RAW4(SYS_rt_sigaction, sig, &c->dfl, 0, sizeof(c->dfl.mask));
  }
  rc = RAW4(SYS_rt_sigprocmask, SIG_SETMASK, &c->empty_mask, 0,
            sizeof(c->empty_mask));
  if (rc < 0)
    return fail(c, STEP_SIGNALS, rc);

  /* The filter last: after it, only what it allows, the exec included. */
  if (c->filter != NULL) {
    rc = RAW3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, c->filter);
    if (rc < 0)
      return fail(c, STEP_SECCOMP, rc);
  }

  rc = RAW3(SYS_execve, c->file, c->argv, c->envp);
  return fail(c, STEP_EXEC, rc);
}

/* ---- the parent's side ----------------------------------------------------
 */

#define STACK_SIZE (64 * 1024)

static int clone3_missing; /* clone3 answered ENOSYS once: a benign race */

/* above gives an fd at or above limit for fd: fd itself, or a
 * close-on-exec copy recorded in copies. */
static int above(int fd, int limit, int *copies, int *ncopies) {
  int copy;

  if (fd >= limit)
    return fd;
  copy = fcntl(fd, F_DUPFD_CLOEXEC, limit);
  if (copy < 0)
    return -errno;
  copies[(*ncopies)++] = copy;
  return copy;
}

/* open_cgroup opens the cgroup v2 directory for CLONE_INTO_CGROUP. */
static int open_cgroup(uvexec_cmd_t *cmd, int *fd) {
  const char *path = cmd->setup.cgroup;
  struct statfs st;
  int err;

  *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0) {
    err = -errno;
    uvexec__set_start_error(cmd, err, "cgroup", path);
    return err;
  }
  if (fstatfs(*fd, &st) != 0 || st.f_type != CGROUP2_SUPER_MAGIC) {
    close(*fd);
    *fd = -1;
    uvexec__set_error(cmd, "cgroup %s: not a cgroup v2 directory", path);
    return UV_ENOTSUP;
  }
  return 0;
}

/* child_error turns the child's report into uvexec_start's error. */
static int child_error(uvexec_cmd_t *cmd, const child_t *c) {
  int err = -c->err;

  if (c->err == ENOEXEC && c->step == STEP_EXEC)
    return UVEXEC_ENOEXEC;
  if (c->step == STEP_CHDIR)
    uvexec__set_start_error(cmd, err, "chdir", c->dir);
  else if (c->step == STEP_TTY)
    uvexec__set_start_error(cmd, err, "open", c->tty);
  else if (c->step == STEP_FILE)
    uvexec__set_start_error(cmd, err, "open", c->path[c->which]);
  else if (c->step == STEP_WAIT)
    uvexec__set_error(cmd, "uid_map: the child was not given its maps");
  else if (c->step == STEP_MOUNT)
    uvexec__set_error(cmd, "mount namespace: making / private: %s",
                      uvexec_strerror(err));
  else if (c->step == STEP_PROC)
    uvexec__set_error(cmd, "mount namespace: mount /proc: %s",
                      uvexec_strerror(err));
  else if (c->step == STEP_NET)
    uvexec__set_error(cmd, "network namespace: loopback up: %s",
                      uvexec_strerror(err));
  else if (c->step == STEP_ROOT)
    uvexec__set_start_error(cmd, err, "chroot", c->root);
  else if (c->step == STEP_CAPS)
    uvexec__set_error(cmd, "capabilities: %s", uvexec_strerror(err));
  else if (c->step == STEP_NNP)
    uvexec__set_error(cmd, "no_new_privs: %s", uvexec_strerror(err));
  else if (c->step == STEP_LANDLOCK)
    uvexec__set_error(cmd, "landlock: %s", uvexec_strerror(err));
  else if (c->step == STEP_SECCOMP)
    uvexec__set_error(cmd, "seccomp: %s", uvexec_strerror(err));
  else if (c->step == STEP_JOIN)
    uvexec__set_error(cmd, "limit: joining a cgroup v1 directory: %s",
                      uvexec_strerror(err));
  else if (c->step == STEP_FOREGROUND)
    uvexec__set_error(cmd, "exec: foreground: fd %d: %s", c->foreground,
                      uvexec_strerror(err));
  return err;
}

/* report_pipe makes the pipe a daemon reports a failure on, its write end
 * above the child's targets (nfds), both ends close-on-exec. */
static int report_pipe(int report[2], int nfds) {
  int high, err;

  if (pipe2(report, O_CLOEXEC) != 0)
    return -errno;
  if (report[1] >= nfds)
    return 0;
  high = fcntl(report[1], F_DUPFD_CLOEXEC, nfds);
  err = -errno;
  close(report[1]);
  report[1] = high;
  return high < 0 ? err : 0;
}

/* read_report reads what a child on a copy of this process's memory (a
 * daemon, a sandbox's child) reported of a failed step into c, and
 * answers 1; 0 when the pipe ended without one: the exec closed the
 * child's close-on-exec end. */
static int read_report(int report, child_t *c) {
  int got[3];
  ssize_t n;
  size_t have = 0;

  do {
    n = read(report, (char *)got + have, sizeof(got) - have);
    if (n > 0)
      have += (size_t)n;
  } while ((n > 0 && have < sizeof(got)) || (n < 0 && errno == EINTR));
  if (have != sizeof(got))
    return 0;
  c->step = got[0];
  c->err = got[1];
  c->which = got[2];
  return 1;
}

/* daemon_started waits for the daemon's exec, or its report of what
 * failed before it, and reaps its parent, the child. The daemon's copy of
 * the write end is close-on-exec, and the child's went with it. */
static int daemon_started(uvexec_cmd_t *cmd, child_t *c, int report,
                          int pidfd) {
  int failed = read_report(report, c);

  uvexec__pidfd_wait_exit(pidfd);
  close(pidfd);
  if (failed) {
    /* When this process is a subreaper, the daemon that failed is its
     * child now (it was reparented before its parent was reaped above):
     * reaped here, else nobody would. ECHILD at once otherwise. */
    if (c->daemon > 0)
      while (waitpid(c->daemon, NULL, 0) < 0 && errno == EINTR)
        ;
    return child_error(cmd, c);
  }
  if (c->daemon <= 0) {
    /* Its parent died before it forked, and said nothing: killed. */
    uvexec__set_error(cmd, "exec: the daemon's parent was killed before "
                           "the daemon was born");
    return UV_ESRCH;
  }
  cmd->pid = (int)c->daemon;
  return 0;
}

/* copy_started waits for the exec of a child that runs on a copy of this
 * process's memory (a sandbox with a user namespace), or its report of
 * what failed before it; a child that failed is reaped. */
static int copy_started(uvexec_cmd_t *cmd, child_t *c, int report,
                        int pidfd) {
  if (!read_report(report, c))
    return 0;
  uvexec__pidfd_wait_exit(pidfd);
  return child_error(cmd, c);
}

/* clone_namespaces turns UVEXEC_NS_* into clone flags; a caller that is
 * not root gets a user namespace with any other, as the kernel needs. */
static uint64_t clone_namespaces(int ns) {
  uint64_t flags = 0;

  if (ns & UVEXEC_NS_USER)
    flags |= CLONE_NEWUSER;
  if (ns & UVEXEC_NS_PID)
    flags |= CLONE_NEWPID;
  if (ns & UVEXEC_NS_NET)
    flags |= CLONE_NEWNET;
  if (ns & UVEXEC_NS_MOUNT)
    flags |= CLONE_NEWNS;
  if (ns & UVEXEC_NS_IPC)
    flags |= CLONE_NEWIPC;
  if (ns & UVEXEC_NS_UTS)
    flags |= CLONE_NEWUTS;
  if (ns & UVEXEC_NS_CGROUP)
    flags |= CLONE_NEWCGROUP;
  if (flags != 0 && geteuid() != 0)
    flags |= CLONE_NEWUSER;
  return flags;
}

/* child_stack gives this thread's stack for its children: the child has
 * exec'd or exited by the time clone returns (CLONE_VFORK), so one stack
 * serves every start of a thread, mapped at its first start and unmapped
 * when the thread ends (saving an mmap, an mprotect and an munmap per
 * start). A guard page below: an overflow faults instead of writing over
 * whatever is mapped there. */
static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;
static int stack_key_ok;

static void stack_release(void *stack) {
  munmap(stack, STACK_SIZE);
}

static void stack_key_init(void) {
  stack_key_ok = pthread_key_create(&stack_key, stack_release) == 0;
}

static char *child_stack(void) {
  char *stack;

  pthread_once(&stack_once, stack_key_init);
  if (stack_key_ok && (stack = pthread_getspecific(stack_key)) != NULL)
    return stack;
  stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return MAP_FAILED;
  (void)mprotect(stack, 4096, PROT_NONE);
  if (!stack_key_ok || pthread_setspecific(stack_key, stack) != 0) {
    /* No slot to keep it in: this start's alone. */
    munmap(stack, STACK_SIZE);
    return MAP_FAILED;
  }
  return stack;
}

/* The pidfd is the engine's reason to be: where the process has none
 * (before Linux 5.3, or under valgrind, which knows no pidfd_open and
 * turns CLONE_VM|CLONE_VFORK into a fork) it is not used. */
int uvexec__engine_clone_spawn(uvexec_cmd_t *cmd,
                               const uvexec__spawn_plan_t *plan,
                               int *pidfd_out) {
  const uvexec__setup_t *s = &cmd->setup;
  /* The cgroup: a contained cmd's own directory, else the caller's. */
  const char *cgroup = plan->cgroup_fd >= 0 ? cmd->contain.cg.path : s->cgroup;
  int nfds = (int)(3 + plan->extra_count), i;
  int *src = NULL, *copies = NULL, ncopies = 0;
  int devnull[2] = {-1, -1}, cgroup_fd = plan->cgroup_fd, pidfd = -1;
  int report[2] = {-1, -1}, go[2] = {-1, -1}, ruleset = -1;
  uint64_t ns_flags = clone_namespaces(s->ns);
  int copy_mode = (ns_flags & CLONE_NEWUSER) != 0;
  struct sock_fprog prog;
  int err = 0;
  struct clone_args_v2 args;
  uint64_t all = ~(uint64_t)0, saved;
  char *stack = MAP_FAILED;
  child_t c;
  long pid;

  *pidfd_out = -1;
  if (!uvexec__have_pidfd())
    return UV_ENOSYS;
  if (cgroup != NULL && (clone3_missing || !HAVE_TRAMPOLINE)) {
    uvexec__set_error(cmd,
                      "cgroup %s: this kernel cannot start a child into a "
                      "cgroup (no clone3)",
                      cgroup);
    return UV_ENOTSUP;
  }

  memset(&c, 0, sizeof(c));
  src = malloc((size_t)nfds * sizeof(*src));
  copies = malloc((size_t)(nfds + 4) * sizeof(*copies));
  if (src == NULL || copies == NULL) {
    err = UV_ENOMEM;
    goto out;
  }
  if (cgroup_fd < 0 && s->cgroup != NULL) {
    err = open_cgroup(cmd, &cgroup_fd);
    if (err != 0)
      goto out;
  }

  /* The fd plan: every source above the targets. /dev/null is opened
   * here, read-only for stdin and read-write otherwise, as libuv does. */
  for (i = 0; i < nfds; i++) {
    int fd = i < 3 ? plan->fds[i] : plan->extra[i - 3];

    if (fd == UVEXEC__FD_TTY || fd == UVEXEC__FD_NONE ||
        fd == UVEXEC__FD_FILE) {
      src[i] = fd; /* opened by the child, or closed there */
      continue;
    }
    if (fd < 0) {
      int *slot = &devnull[i == 0 ? 0 : 1];

      if (*slot < 0) {
        fd = open("/dev/null", (i == 0 ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd < 0) {
          err = -errno;
          goto out;
        }
        copies[ncopies++] = fd;
        *slot = above(fd, nfds, copies, &ncopies);
        if (*slot < 0) {
          err = *slot;
          goto out;
        }
      }
      fd = *slot;
    } else {
      fd = above(fd, nfds, copies, &ncopies);
      if (fd < 0) {
        err = fd;
        goto out;
      }
    }
    src[i] = fd;
  }

  if (ns_flags != 0 && plan->detach) {
    /* Its pids would end with the first child; its user namespace needs
     * the maps from a parent that is gone. */
    uvexec__set_error(cmd, "exec: a detached command cannot have "
                           "namespaces of its own");
    err = UV_EINVAL;
    goto out;
  }
  if ((ns_flags & CLONE_NEWPID) && cmd->set_pgid && cmd->pgid != 0) {
    uvexec__set_error(cmd, "exec: a command with pids of its own cannot "
                           "join process group %d, outside them",
                      (int)cmd->pgid);
    err = UV_EINVAL;
    goto out;
  }
  if (s->path_count > 0) {
    err = uvexec__landlock_ruleset(cmd, &ruleset, &c.proc_access);
    if (err != 0)
      goto out;
  }
  if (plan->detach || copy_mode) {
    err = report_pipe(report, nfds);
    if (err != 0)
      goto out;
  }
  if (copy_mode) {
    if (pipe2(go, O_CLOEXEC) != 0) {
      err = -errno;
      goto out;
    }
  }

  stack = child_stack();
  if (stack == MAP_FAILED) {
    err = UV_ENOMEM;
    goto out;
  }

  c.file = plan->file;
  c.argv = plan->argv;
  c.envp = plan->envp;
  c.dir = plan->dir;
  c.nfds = nfds;
  c.src = src;
  c.new_session = cmd->new_session || plan->tty != NULL;
  c.tty = plan->tty;
  c.path = plan->path;
  c.flags = plan->flags;
  c.set_pgid = cmd->set_pgid;
  c.pgid = cmd->pgid;
  c.foreground = plan->foreground_fd;
  if (c.foreground >= 0) {
    c.set_pgid = 1; /* a group of its own, to be the foreground */
    c.pgid = 0;
  }
  c.detach = plan->detach;
  c.report_fd = report[1];
  c.join = plan->join_fds;
  c.njoin = plan->njoin;
  c.go_fd = go[0];
  c.go_write = go[1];
  c.in_daemon = copy_mode; /* a copy of the memory: reports by the pipe */
  c.mount_private = (ns_flags & CLONE_NEWNS) != 0;
  c.mount_proc = c.mount_private && (ns_flags & CLONE_NEWPID) != 0;
  c.net_up = (ns_flags & CLONE_NEWNET) != 0;
  c.root = s->root;
  c.caps = s->caps;
  c.cap_count = s->cap_count;
  c.ruleset = ruleset;
  c.filter = NULL;
  if (s->filter_len > 0) {
    prog.len = (unsigned short)(s->filter_len / sizeof(struct sock_filter));
    prog.filter = s->filter;
    c.filter = &prog;
  }
  /* Landlock and seccomp need no_new_privs without CAP_SYS_ADMIN, which
   * even a root caller's child gives up with a uid change: set with
   * either, always, as bubblewrap does. */
  c.no_new_privs = s->no_new_privs || ruleset >= 0 || c.filter != NULL;
  if (c.detach)
    c.new_session = 1; /* a daemon leads a session of its own */
  if (s->set_groups) {
    c.set_groups = 1;
    c.groups = s->groups;
    c.group_count = s->group_count;
  } else if (cmd->set_uid || cmd->set_gid) {
    c.set_groups = 2; /* drop them where allowed, as libuv does */
  }
  c.set_gid = cmd->set_gid;
  c.gid = cmd->gid;
  c.set_uid = cmd->set_uid;
  c.uid = cmd->uid;
  c.rlimits = s->rlimits;
  c.rlimit_count = s->rlimit_count;
  c.set_umask = s->set_umask;
  c.umask = s->umask;
  c.set_nice = s->set_nice;
  c.nice = s->nice;
  c.pdeathsig = s->pdeathsig;
  c.parent = s->pdeathsig != 0 ? getpid() : 0; /* the death signal's */
  c.close_fds = !s->keep_fds;
  memset(&args, 0, sizeof(args));
  /* A user namespace's maps are written by the parent while the child
   * waits, which a vfork (the parent asleep until the exec) cannot do:
   * that child runs on a copy of the memory, and reports through the
   * report pipe. */
  args.flags = copy_mode ? CLONE_PIDFD : CLONE_VM | CLONE_VFORK | CLONE_PIDFD;
  args.flags |= ns_flags;
  if (c.close_fds && !copy_mode) {
    /* The child closes all but its own fds: it need not be given more
     * than the part of the table that holds them. */
    args.flags |= CLONE_FILES;
    c.keep_below = nfds;
    for (i = 0; i < nfds; i++)
      if (src[i] >= c.keep_below)
        c.keep_below = src[i] + 1;
    if (c.report_fd >= c.keep_below)
      c.keep_below = c.report_fd + 1;
    if (c.foreground >= c.keep_below)
      c.keep_below = c.foreground + 1;
    if (c.ruleset >= c.keep_below)
      c.keep_below = c.ruleset + 1;
  }
  args.pidfd = (uint64_t)(uintptr_t)&pidfd;
  args.exit_signal = SIGCHLD;
  args.stack = (uint64_t)(uintptr_t)stack;
  args.stack_size = STACK_SIZE;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)cgroup_fd;
  }

  /* Every signal blocked, glibc's reserved ones too (pthread_sigmask
   * would leave those), so that no handler runs in the child before it
   * has reset them. */
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, sizeof(all));
  pid = -ENOSYS;
#if HAVE_TRAMPOLINE
  if (!clone3_missing) {
    pid = clone3_run(&args, child_main, &c);
    if (pid == -ENOSYS)
      clone3_missing = 1;
  }
#endif
  if (pid == -ENOSYS && cgroup_fd < 0) {
    pid = clone(child_main, stack + STACK_SIZE,
                (int)(args.flags & ~CLONE_INTO_CGROUP) | SIGCHLD, &c, &pidfd);
    if (pid < 0)
      pid = -errno;
  }
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, NULL, sizeof(saved));
  /* The daemon has its copy, if it was born: ours would keep the report
   * open past its exec. */
  uvexec__close_fd(&report[1]);

  if (pid < 0) {
    err = (int)pid;
    if (ns_flags != 0 && cgroup_fd < 0)
      uvexec__set_error(cmd, "namespaces: %s", uvexec_strerror(err));
    if (cgroup_fd >= 0) {
      if (err == -ENOSYS || err == -E2BIG) {
        uvexec__set_error(cmd,
                          "cgroup %s: this kernel cannot start a child "
                          "into a cgroup",
                          cgroup);
        err = UV_ENOTSUP;
      } else {
        uvexec__set_start_error(cmd, err, "cgroup", cgroup);
      }
    }
    goto out;
  }
  if (pidfd < 0) {
    /* A kernel before 5.2 ignores CLONE_PIDFD: no way to watch this
     * child safely. It is ours still, as nobody else knows of it yet. */
    kill((pid_t)pid, SIGKILL);
    while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
      ;
    err = UV_ENOSYS;
    goto out;
  }
  if (copy_mode) {
    uvexec__close_fd(&go[0]);
    err = uvexec__sandbox_write_maps(cmd, (pid_t)pid);
    if (err == 0 && write(go[1], "g", 1) != 1)
      err = UV_EIO;
    uvexec__close_fd(&go[1]);
    if (err == 0)
      err = copy_started(cmd, &c, report[0], pidfd);
    else {
      (void)uvexec__pidfd_signal(pidfd, SIGKILL, 0);
      uvexec__pidfd_wait_exit(pidfd);
    }
    if (err != 0) {
      close(pidfd);
      goto out;
    }
    cmd->pid = (int)pid;
    *pidfd_out = uvexec__fd_move_high(pidfd);
    goto out;
  }
  if (c.step != STEP_NONE) {
    /* The child reported its failure and exited without exec. */
    uvexec__pidfd_wait_exit(pidfd);
    close(pidfd);
    err = child_error(cmd, &c);
    goto out;
  }
  if (!c.ran && cgroup_fd >= 0) {
    /* Killed before it ran a step: Linux kills a child started into a
     * cgroup (CLONE_INTO_CGROUP) when cgroup.kill was written to the
     * cgroup the child comes from, this process's, at any time before. */
    uvexec__pidfd_wait_exit(pidfd);
    close(pidfd);
    uvexec__set_error(cmd,
                      "cgroup %s: the child was killed as it was born (Linux "
                      "does so when this process's own cgroup has been "
                      "killed through cgroup.kill)",
                      cgroup);
    err = UV_ENOTSUP;
    goto out;
  }

  if (c.detach) {
    err = daemon_started(cmd, &c, report[0], pidfd);
    goto out;
  }

  cmd->pid = (int)pid;
  *pidfd_out = uvexec__fd_move_high(pidfd);

out:
  uvexec__close_fd(&report[0]);
  uvexec__close_fd(&report[1]);
  uvexec__close_fd(&go[0]);
  uvexec__close_fd(&go[1]);
  uvexec__close_fd(&ruleset);
  if (cgroup_fd >= 0 && cgroup_fd != plan->cgroup_fd)
    close(cgroup_fd);
  while (ncopies > 0)
    close(copies[--ncopies]);
  free(copies);
  free(src);
  return err;
}
