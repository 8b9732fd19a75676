/* The uv_spawn engine: libuv forks, execs and reaps the child, and calls
 * back with its exit. It is the engine for what posix_spawn cannot do
 * (another uid or gid) and for kernels without pidfd. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static void on_process_closed(uv_handle_t *handle) {
  uvexec__handle_closed(handle->data);
}

static void on_process_exit(uv_process_t *process, int64_t exit_status,
                            int term_signal) {
  uvexec_cmd_t *cmd = process->data;

  /* The exit was seen and libuv has reaped the child: only now may the
   * handle close without leaving a zombie behind. */
  uv_close((uv_handle_t *)process, on_process_closed);
  uvexec__on_exit(cmd, exit_status, term_signal);
}

/* runnable_format rejects what the kernel would refuse with ENOEXEC.
 * libuv execs through execvp(), which hands such a file to /bin/sh; uvexec
 * refuses it on both engines, as Go does, so a data file that happens to
 * carry an execute bit is never run as a shell script. A file that cannot
 * be read here is left to the kernel to judge. */
static int runnable_format(const char *file, const char *dir) {
  unsigned char head[4];
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
  if (n == 4 && memcmp(head, "\177ELF", 4) == 0)
    return 1;
  return 0;
}

int uvexec__engine_uv_spawn(uvexec_cmd_t *cmd,
                            const uvexec__spawn_plan_t *plan) {
  uv_stdio_container_t *stdio;
  uv_process_options_t options;
  size_t count = 3 + plan->extra_count, i;
  int err;

  if (!runnable_format(plan->file, plan->dir))
    return UVEXEC_ENOEXEC;

  stdio = calloc(count, sizeof(*stdio));
  if (stdio == NULL)
    return UV_ENOMEM;
  for (i = 0; i < count; i++) {
    int fd = i < 3 ? plan->fds[i] : plan->extra[i - 3];

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
  free(stdio);
  cmd->process.data = cmd;
  uvexec__handle_opened(cmd);
  if (err != 0) {
    /* libuv initialized the handle even though no child runs: it must be
     * closed all the same. */
    uv_close((uv_handle_t *)&cmd->process, on_process_closed);
    return err;
  }
  cmd->pid = cmd->process.pid;
  return 0;
}
