/* SPDX-License-Identifier: MIT */
/* The uv_spawn engine: libuv forks, execs and reaps the child, and calls
 * back with its exit, which this part reports. It is the engine where the
 * process has no pidfd (and so no clone engine): old kernels, valgrind. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static void on_process_exit(uv_process_t *process, int64_t exit_status,
                            int term_signal) {
  uvexec_cmd_t *cmd = process->data;
  uvexec__event_t ev = {.type = UVEXEC__EV_EXITED};

  /* The exit was seen and libuv has reaped the child: only now may the
   * handle close without leaving a zombie behind. */
  uvexec__engine_uv_close(cmd);
  ev.exit_status = exit_status;
  ev.term_signal = term_signal;
  uvexec__lifecycle_event(cmd, &ev);
}

/* The ELF machine this library was built for: a program for another
 * CPU is ENOEXEC to the kernel. */
#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#elif defined(__i386__)
#define NATIVE_MACHINE EM_386
#elif defined(__arm__)
#define NATIVE_MACHINE EM_ARM
#elif defined(__riscv)
#define NATIVE_MACHINE EM_RISCV
#endif

/* elf_loadable checks the header fields the kernel checks first: class,
 * byte order, type and machine. A file damaged past its header still gets
 * through here (and to /bin/sh, which refuses binary input). */
static int elf_loadable(const unsigned char *head, size_t n) {
  Elf64_Half type, machine;

  if (n < sizeof(Elf32_Ehdr) || memcmp(head, ELFMAG, SELFMAG) != 0)
    return 0;
  if (head[EI_CLASS] != ELFCLASS32 && head[EI_CLASS] != ELFCLASS64)
    return 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (head[EI_DATA] != ELFDATA2LSB)
    return 0;
#else
  if (head[EI_DATA] != ELFDATA2MSB)
    return 0;
#endif
  /* e_type and e_machine sit at the same offsets in both classes. */
  memcpy(&type, head + offsetof(Elf64_Ehdr, e_type), sizeof(type));
  memcpy(&machine, head + offsetof(Elf64_Ehdr, e_machine), sizeof(machine));
  if (type != ET_EXEC && type != ET_DYN)
    return 0;
#ifdef NATIVE_MACHINE
  if (machine != NATIVE_MACHINE &&
      !(NATIVE_MACHINE == EM_X86_64 && machine == EM_386))
    return 0;
#else
  (void)machine;
#endif
  return 1;
}

/* runnable_format rejects what the kernel would refuse with ENOEXEC.
 * libuv execs through execvp(), which hands such a file to /bin/sh; uvexec
 * refuses it on both engines, as Go does, so a data file that happens to
 * carry an execute bit is never run as a shell script. A file that cannot
 * be read here is left to the kernel to judge. */
static int runnable_format(const char *file, const char *dir) {
  unsigned char head[sizeof(Elf64_Ehdr)];
  ssize_t n;
  int fd, dirfd = AT_FDCWD;

  /* A relative path is run from the child's directory. */
  if (file[0] != '/' && dir != NULL) {
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
      return 1;
  }
  fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
  if (dirfd != AT_FDCWD)
    close(dirfd);
  if (fd < 0)
    return 1;
  n = read(fd, head, sizeof(head));
  close(fd);
  if (n >= 2 && head[0] == '#' && head[1] == '!')
    return 1;
  return n > 0 && elf_loadable(head, (size_t)n);
}

/* A child reaped by someone else, or through its pidfd, never reaches
 * libuv's exit callback; its handle is closed here instead (there is no
 * zombie to leave). */
void uvexec__engine_uv_close(uvexec_cmd_t *cmd) {
  if (cmd->process_open) {
    uvexec__handle_close((uv_handle_t *)&cmd->process);
    cmd->process_open = 0;
  }
}

int uvexec__engine_uv_spawn(uvexec_cmd_t *cmd,
                            const uvexec__spawn_plan_t *plan) {
  uv_stdio_container_t *stdio = NULL;
  uv_process_options_t options;
  size_t count = 3 + plan->extra_count, i, ncopies = 0;
  int err = 0, devnull = -1, *copies = NULL;

  if (uvexec__setup_needs_clone(cmd)) {
    /* libuv's child runs no code of ours. */
    uvexec__set_error(cmd, "exec: the uv engine cannot apply child setup "
                           "(death signal, limits, umask, nice, groups, "
                           "cgroup, sandbox): use UVEXEC_ENGINE_CLONE");
    return UV_ENOTSUP;
  }
  if (cmd->set_pgid) {
    /* libuv has setsid (UV_PROCESS_DETACHED), not setpgid. */
    uvexec__set_error(cmd, "exec: the uv engine cannot put the child in a "
                           "process group: use UVEXEC_ENGINE_CLONE");
    return UV_ENOTSUP;
  }
  if (plan->tty != NULL) {
    /* libuv's child can setsid() but not open a terminal after it, and a
     * terminal opened before the fork could not become its controlling
     * terminal. */
    uvexec__set_error(cmd, "exec: the uv engine cannot give the child a "
                           "controlling terminal: use UVEXEC_ENGINE_CLONE");
    return UV_ENOTSUP;
  }
  if (!runnable_format(plan->file, plan->dir))
    return UVEXEC_ENOEXEC;

  stdio = calloc(count, sizeof(*stdio));
  copies = calloc(2 * count + 1, sizeof(*copies));
  if (stdio == NULL || copies == NULL) {
    err = UV_ENOMEM;
    goto out;
  }
  for (i = 0; i < count; i++) {
    int fd = i < 3 ? plan->fds[i] : plan->extra[i - 3];

    if (fd == UVEXEC__FD_NONE && devnull < 0) {
      /* A gap below a higher fd: libuv cannot close it in the child, so
       * it holds /dev/null rather than whatever this process has there. */
      devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (devnull < 0) {
        err = -errno;
        goto out;
      }
      copies[ncopies++] = devnull;
    }
    if (fd == UVEXEC__FD_NONE)
      fd = devnull;
    if (fd == UVEXEC__FD_FILE && i == 2 && plan->path[2] == plan->path[1]) {
      fd = stdio[1].data.fd; /* 2>&1 into the file: the same open file */
    } else if (fd == UVEXEC__FD_FILE) {
      /* libuv's child runs no code of ours: the file is opened here, as
       * this process, in the child's directory. */
      fd = uvexec__open_in(plan->dir, plan->path[i], plan->flags[i]);
      if (fd < 0) {
        err = fd;
        uvexec__set_start_error(cmd, err, "open", plan->path[i]);
        goto out;
      }
      copies[ncopies++] = fd;
    }
    if (fd >= 0 && fd < (int)count) {
      /* libuv 1.44 moves a source below stdio_count out of the way with
       * F_DUPFD, without close-on-exec, and the copy leaks into the
       * program: sources start above the targets instead. */
      fd = fcntl(fd, F_DUPFD_CLOEXEC, (int)count);
      if (fd < 0) {
        err = -errno;
        goto out;
      }
      copies[ncopies++] = fd;
    }
    if (fd < 0) {
      stdio[i].flags = UV_IGNORE; /* libuv opens /dev/null for 0..2 */
    } else {
      stdio[i].flags = UV_INHERIT_FD;
      stdio[i].data.fd = fd;
    }
  }

  memset(&options, 0, sizeof(options));
  options.exit_cb = on_process_exit;
  options.file = plan->file;
  options.args = plan->argv;
  options.env = plan->envp;
  options.cwd = plan->dir;
  options.stdio = stdio;
  options.stdio_count = (int)count;
  /* DETACHED is setsid() in the child; the handle stays referenced, so
   * the loop still waits for the child. */
  if (cmd->new_session)
    options.flags |= UV_PROCESS_DETACHED;
  if (cmd->set_uid) {
    options.flags |= UV_PROCESS_SETUID;
    options.uid = cmd->uid;
  }
  if (cmd->set_gid) {
    options.flags |= UV_PROCESS_SETGID;
    options.gid = cmd->gid;
  }

  err = uv_spawn(cmd->loop, &cmd->process, &options);
  uvexec__handle_open(cmd, (uv_handle_t *)&cmd->process);
  cmd->process_open = 1;
  if (err != 0) {
    /* libuv initialized the handle even though no child runs: it must be
     * closed all the same. */
    uvexec__engine_uv_close(cmd);
    goto out;
  }
  cmd->pid = cmd->process.pid;
  cmd->engine_reaps_uv = 1;

out:
  while (copies != NULL && ncopies > 0)
    close(copies[--ncopies]);
  free(copies);
  free(stdio);
  return err;
}
