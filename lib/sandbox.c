/* SPDX-License-Identifier: MIT */
/* The sandbox's kernel facts, for the clone engine's parent side: the
 * Landlock ruleset a child restricts itself with, the uid and gid maps of
 * its user namespace, and what this machine can enforce. The child's own
 * steps (namespaces at the clone, chroot, capabilities, no_new_privs,
 * Landlock, seccomp) are raw system calls in engine_clone.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#endif

/* Landlock's ABI, as far as uvexec uses it (linux/landlock.h). */
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_REMOVE_DIR (1ULL << 4)
#define LL_REMOVE_FILE (1ULL << 5)
#define LL_MAKE_CHAR (1ULL << 6)
#define LL_MAKE_DIR (1ULL << 7)
#define LL_MAKE_REG (1ULL << 8)
#define LL_MAKE_SOCK (1ULL << 9)
#define LL_MAKE_FIFO (1ULL << 10)
#define LL_MAKE_BLOCK (1ULL << 11)
#define LL_MAKE_SYM (1ULL << 12)
#define LL_REFER (1ULL << 13)     /* ABI 2 */
#define LL_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_IOCTL_DEV (1ULL << 15) /* ABI 5 */

struct ll_ruleset_attr {
  uint64_t handled_access_fs;
};

struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

/* The rights a file (not a directory) can be given. */
#define LL_FILE_RIGHTS                                                        \
  (LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV)

int uvexec__landlock_abi(void) {
  long abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
                     LL_CREATE_RULESET_VERSION);

  return abi > 0 ? (int)abi : 0;
}

/* handled answers every file system right the kernel's ABI knows. */
static uint64_t handled(int abi) {
  uint64_t all = (LL_MAKE_SYM << 1) - 1; /* ABI 1: bits 0 to 12 */

  if (abi >= 2)
    all |= LL_REFER;
  if (abi >= 3)
    all |= LL_TRUNCATE;
  if (abi >= 5)
    all |= LL_IOCTL_DEV;
  return all;
}

/* rights turns UVEXEC_FS_* into Landlock's rights, within what the
 * kernel handles. */
static uint64_t rights(int access, uint64_t all) {
  uint64_t r = 0;

  if (access & UVEXEC_FS_READ)
    r |= LL_READ_FILE | LL_READ_DIR;
  if (access & UVEXEC_FS_WRITE)
    r |= LL_WRITE_FILE | LL_REMOVE_DIR | LL_REMOVE_FILE | LL_MAKE_CHAR |
         LL_MAKE_DIR | LL_MAKE_REG | LL_MAKE_SOCK | LL_MAKE_FIFO |
         LL_MAKE_BLOCK | LL_MAKE_SYM | LL_REFER | LL_TRUNCATE;
  if (access & UVEXEC_FS_EXEC)
    r |= LL_EXECUTE;
  if (access & (UVEXEC_FS_READ | UVEXEC_FS_WRITE))
    r |= LL_IOCTL_DEV;
  return r & all;
}

int uvexec__landlock_ruleset(uvexec_cmd_t *cmd, int *fd_out,
                             uint64_t *proc_access) {
  const uvexec__setup_t *s = &cmd->setup;
  struct ll_ruleset_attr attr;
  int abi = uvexec__landlock_abi(), fd, i_fd, err;
  size_t i;

  *fd_out = -1;
  *proc_access = 0;
  if (abi == 0) {
    uvexec__set_error(cmd, "landlock: this kernel has no Landlock (or it is "
                           "disabled)");
    return UV_ENOTSUP;
  }
  attr.handled_access_fs = handled(abi);
  fd = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
  if (fd < 0) {
    err = -errno;
    uvexec__set_error(cmd, "landlock: %s", uvexec_strerror(err));
    return err;
  }
  for (i = 0; i < s->path_count; i++) {
    struct ll_path_beneath_attr rule;
    struct stat st;

    i_fd = open(s->paths[i].path, O_PATH | O_CLOEXEC);
    if (i_fd < 0 || fstat(i_fd, &st) != 0) {
      err = -errno;
      if (i_fd >= 0)
        close(i_fd);
      uvexec__set_error(cmd, "landlock: %s: %s", s->paths[i].path,
                        uvexec_strerror(err));
      close(fd);
      return err;
    }
    rule.allowed_access = rights(s->paths[i].access, attr.handled_access_fs);
    if (!S_ISDIR(st.st_mode))
      rule.allowed_access &= LL_FILE_RIGHTS;
    /* A child with its own /proc mounts a new one, which this rule does
     * not reach: the child adds the same rule for it. */
    if (strcmp(s->paths[i].path, "/proc") == 0)
      *proc_access = rule.allowed_access;
    rule.parent_fd = i_fd;
    if (syscall(__NR_landlock_add_rule, fd, LL_RULE_PATH_BENEATH, &rule, 0) !=
        0) {
      err = -errno;
      close(i_fd);
      uvexec__set_error(cmd, "landlock: %s: %s", s->paths[i].path,
                        uvexec_strerror(err));
      close(fd);
      return err;
    }
    close(i_fd);
  }
  *fd_out = uvexec__fd_move_high(fd);
  return 0;
}

/* write_proc writes text to /proc/<pid>/<file>. */
static int write_proc(pid_t pid, const char *file, const char *text) {
  char path[64];
  size_t len = strlen(text);
  ssize_t n;
  int fd, err;

  snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  n = write(fd, text, len);
  err = n < 0 ? -errno : (size_t)n == len ? 0 : UV_EIO;
  close(fd);
  return err;
}

int uvexec__sandbox_write_maps(uvexec_cmd_t *cmd, pid_t pid) {
  const uvexec__setup_t *s = &cmd->setup;
  char text[64];
  int err;

  snprintf(text, sizeof(text), "%u %u %u\n",
           s->set_uid_map ? s->uid_map[0] : (unsigned)geteuid(),
           s->set_uid_map ? s->uid_map[1] : (unsigned)geteuid(),
           s->set_uid_map ? s->uid_map[2] : 1u);
  err = write_proc(pid, "uid_map", text);
  if (err != 0) {
    uvexec__set_error(cmd, "uid_map: %s", uvexec_strerror(err));
    return err;
  }
  /* Without CAP_SETGID outside, a gid map needs setgroups denied first. */
  if (geteuid() != 0)
    (void)write_proc(pid, "setgroups", "deny");
  snprintf(text, sizeof(text), "%u %u %u\n",
           s->set_gid_map ? s->gid_map[0] : (unsigned)getegid(),
           s->set_gid_map ? s->gid_map[1] : (unsigned)getegid(),
           s->set_gid_map ? s->gid_map[2] : 1u);
  err = write_proc(pid, "gid_map", text);
  if (err != 0)
    uvexec__set_error(cmd, "gid_map: %s", uvexec_strerror(err));
  return err;
}

int uvexec_sandbox_available(void) {
  int have = 0, fd;
  char text[32];
  ssize_t n;
  char *parent = NULL;

  fd = open("/proc/sys/user/max_user_namespaces", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n > 0) {
      text[n] = '\0';
      if (atoi(text) > 0)
        have |= UVEXEC_SANDBOX_USERNS;
    }
  }
  /* Debian's switch for unprivileged user namespaces, where it exists. */
  if ((have & UVEXEC_SANDBOX_USERNS) && geteuid() != 0) {
    fd = open("/proc/sys/kernel/unprivileged_userns_clone",
              O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      n = read(fd, text, 1);
      close(fd);
      if (n == 1 && text[0] == '0')
        have &= ~UVEXEC_SANDBOX_USERNS;
    }
  }
  if (uvexec__landlock_abi() > 0)
    have |= UVEXEC_SANDBOX_LANDLOCK;
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0)
    have |= UVEXEC_SANDBOX_SECCOMP;
  if (uvexec__cgroup_parent(NULL, &parent) == 0) {
    char probe[4096];

    snprintf(probe, sizeof(probe), "%s/cgroup.procs", parent);
    if (access(parent, W_OK) == 0 && access(probe, F_OK) == 0)
      have |= UVEXEC_SANDBOX_CGROUP2;
  }
  free(parent);
  return have;
}
