/* SPDX-License-Identifier: MIT */
/* uvexec-bench-pty — output read through a terminal against a pipe.
 *
 * `head -c SIZE /dev/zero` is read to its end and discarded, four ways,
 * interleaved: each round runs every contender once (the first one
 * rotates from round to round), and the table gives the median over the
 * rounds; ratios are medians of the per-round ratios, so a slow patch of
 * the machine hits both sides of a ratio alike.
 *
 *   raw pipe     posix_spawn, a pipe, a blocking 64 KiB read() loop
 *   raw pty      posix_spawn, a pty (slave opened by the parent, closed
 *                after the spawn), the same read() loop up to EIO
 *   uvexec pipe  uvexec_start with an on_stdout callback that counts
 *   uvexec pty   the same with uvexec_cmd_set_pty
 *
 * There is no target: the table reports what a terminal costs against a
 * pipe (the kernel's line discipline hands over at most a few KiB per
 * read), for uvexec and for a raw loop alike.
 *
 * Options: --size MIB (default 64; the figure is 512), --rounds N
 * (default 5).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

extern char **environ;

#define MAX_ROUNDS 100
#define BENCH_NAME "uvexec-bench-pty"
#include "bench_util.h"
#define RAW_CHUNK (64 * 1024)

enum { RAW_PIPE, RAW_PTY, UVX_PIPE, UVX_PTY, NCONTENDERS };

static const char *const names[NCONTENDERS] = {
    "raw pipe, 64 KiB read loop", "raw pty, 64 KiB read loop",
    "uvexec pipe, on_stdout", "uvexec pty, on_stdout"};

static size_t size_mib = 64;
static int rounds = 5;
static char *head_path;
static char size_arg[32];

/* spawn_head starts head with stdout on fd out. */
static pid_t spawn_head(int out) {
  char *argv[] = {head_path, "-c", size_arg, "/dev/zero", NULL};
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int err;

  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out, 1);
  err = posix_spawn(&pid, head_path, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0)
    die("posix_spawn: %s", strerror(err));
  return pid;
}

/* drain reads fd to its end (0, or EIO for a pty) and counts. */
static size_t drain(int fd) {
  static char buf[RAW_CHUNK];
  size_t total = 0;

  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);

    if (n > 0) {
      total += (size_t)n;
    } else if (n == 0 || errno == EIO) {
      return total;
    } else if (errno != EINTR) {
      die("read: %s", strerror(errno));
    }
  }
}

static size_t raw_pipe(void) {
  int p[2];
  size_t got;
  pid_t pid;

  if (pipe2(p, O_CLOEXEC) != 0)
    die("pipe2: %s", strerror(errno));
  pid = spawn_head(p[1]);
  close(p[1]);
  got = drain(p[0]);
  close(p[0]);
  reap(pid);
  return got;
}

static size_t raw_pty(void) {
  struct termios t;
  char path[64];
  int master, slave;
  size_t got;
  pid_t pid;

  master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 ||
      ptsname_r(master, path, sizeof path) != 0)
    die("posix_openpt: %s", strerror(errno));
  /* The same output processing uvexec's terminal has. */
  if (tcgetattr(master, &t) == 0) {
    t.c_oflag |= OPOST | ONLCR;
    tcsetattr(master, TCSANOW, &t);
  }
  slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    die("%s: %s", path, strerror(errno));
  pid = spawn_head(slave);
  close(slave);
  got = drain(master);
  close(master);
  reap(pid);
  return got;
}

static size_t counted;

static void on_out(uvexec_cmd_t *cmd, const char *data, size_t len) {
  (void)cmd;
  (void)data;
  counted += len;
}

static size_t with_uvexec(int pty) {
  uvexec_cmd_t *cmd =
      uvexec_command(head_path, "-c", size_arg, "/dev/zero", NULL);
  uv_loop_t loop;
  int err;

  if (cmd == NULL)
    die("uvexec_command: %s", strerror(ENOMEM));
  uv_loop_init(&loop);
  uvexec_cmd_on_stdout(cmd, on_out);
  if (pty)
    uvexec_cmd_set_pty(cmd, 24, 80);
  counted = 0;
  err = uvexec_start(cmd, &loop, NULL);
  if (err != 0) {
    fprintf(stderr, "uvexec-bench-pty: start: %s\n", uvexec_cmd_error(cmd));
    exit(2);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uvexec_cmd_error(cmd) != NULL) {
    fprintf(stderr, "uvexec-bench-pty: %s\n", uvexec_cmd_error(cmd));
    exit(2);
  }
  uvexec_cmd_free(cmd);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return counted;
}

static size_t run(int which) {
  switch (which) {
    case RAW_PIPE:
      return raw_pipe();
    case RAW_PTY:
      return raw_pty();
    case UVX_PIPE:
      return with_uvexec(0);
    default:
      return with_uvexec(1);
  }
}

int main(int argc, char **argv) {
  static double mbs[NCONTENDERS][MAX_ROUNDS];
  size_t want;
  int i, r, c;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      size_mib = 8;
      rounds = 2;
    } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
      size_mib = (size_t)parse_num(argv[++i], "--size", 1, 1 << 20);
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = (int)parse_num(argv[++i], "--rounds", 1, MAX_ROUNDS);
    } else {
      die("usage: uvexec-bench-pty [--quick] [--size MIB] [--rounds N]");
    }
  }
  head_path = find_program("head");
  want = size_mib * MIB;
  snprintf(size_arg, sizeof size_arg, "%zu", want);

  printf("pty throughput: head -c %zu MiB /dev/zero, read and discarded; "
         "%d rounds, contenders rotating each round\n",
         size_mib, rounds);
  for (r = 0; r < rounds; r++) {
    for (i = 0; i < NCONTENDERS; i++) {
      double t0, dt;
      size_t got;

      c = (r + i) % NCONTENDERS;
      t0 = now_s();
      got = run(c);
      dt = now_s() - t0;
      if (got != want) {
        fprintf(stderr, "uvexec-bench-pty: %s read %zu bytes of %zu\n",
                names[c], got, want);
        return 1;
      }
      mbs[c][r] = (double)want / 1e6 / dt;
    }
    fprintf(stderr, ".");
  }
  fprintf(stderr, "\n");

  printf("  %-30s %10s %16s\n", "contender", "MB/s", "vs raw pipe");
  for (c = 0; c < NCONTENDERS; c++)
    printf("  %-30s %10.0f %16.3f\n", names[c], median(mbs[c], rounds),
           median_ratio(mbs[c], mbs[RAW_PIPE], rounds));
  printf("  pty / pipe, uvexec: %.3f   raw: %.3f   uvexec pty / raw pty: "
         "%.3f\n",
         median_ratio(mbs[UVX_PTY], mbs[UVX_PIPE], rounds),
         median_ratio(mbs[RAW_PTY], mbs[RAW_PIPE], rounds),
         median_ratio(mbs[UVX_PTY], mbs[RAW_PTY], rounds));
  free(head_path);
  return 0;
}
