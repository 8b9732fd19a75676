/* SPDX-License-Identifier: MIT */
/* uvexec-bench-pipeline — a uvexec pipeline against a shell's and a
 * hand-built one.
 *
 * The same three programs, `head -c SIZE /dev/zero | cat | wc -c`, run
 * three ways:
 *
 *   uvexec     uvexec_pipeline() of the three cmds on a loop, wc's stdout
 *              captured
 *   sh -c      posix_spawn of `sh -c 'head -c SIZE /dev/zero | cat | wc -c'`,
 *              its stdout read from a pipe
 *   raw        two pipe2(O_CLOEXEC) and three posix_spawn with dup2 file
 *              actions, the parent's copies closed, wc's stdout read from
 *              a pipe, then waitpid for each: the floor
 *
 * The bytes never pass through the parent in any of them, so the figures
 * are the kernel's pipes and the three programs; what the parent adds is
 * its start-up and wait, and its own CPU time, which is reported per GiB
 * moved (getrusage(RUSAGE_SELF) around each run: it should be near zero).
 *
 * Rounds are interleaved: each round runs every contender once, starting
 * with a different one each round; the table shows medians over rounds,
 * and ratios are medians of the per-round ratios. The machine is noisy:
 * read the ratios.
 *
 * Usage: uvexec-bench-pipeline [--size-mib N] [--rounds R] [--quick]
 *   default 256 MiB and 5 rounds; --size-mib 1024 is the 1 GiB run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

extern char **environ;

#define MAX_ROUNDS 50
#define BENCH_NAME "uvexec-bench-pipeline"
#include "bench_util.h"

enum { C_UVEXEC, C_SH, C_RAW, C_N };

static const char *const names[C_N] = {
    "uvexec pipeline",
    "sh -c 'head | cat | wc'",
    "raw pipe2 + posix_spawn",
};

static struct {
  size_t mib;
  int rounds;
} opt = {256, 5};

static char *path_head, *path_cat, *path_wc, *path_sh;
static char size_arg[32]; /* head's -c argument */
static char want_out[32]; /* what wc -c prints */
static char sh_script[256];

static double mbs[C_N][MAX_ROUNDS];    /* MB/s */
static double cpu_ms[C_N][MAX_ROUNDS]; /* parent CPU ms per GiB */

/* ---- small helpers ------------------------------------------------------- */

/* read_all reads fd to end of file into buf (NUL-terminated). */
static void read_all(int fd, char *buf, size_t cap) {
  size_t len = 0;
  ssize_t n;

  for (;;) {
    n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      die("read: %s", strerror(errno));
    if (n == 0 || len + (size_t)n >= cap - 1)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
}

static void check_output(const char *got, const char *who) {
  if (strcmp(got, want_out) != 0)
    die("%s: wc said \"%s\", expected \"%s\"", who, got, want_out);
}

/* ---- the contenders ------------------------------------------------------ */

static pid_t spawn(char *const argv[], int in, int out) {
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int err;

  posix_spawn_file_actions_init(&fa);
  if (in >= 0)
    posix_spawn_file_actions_adddup2(&fa, in, 0);
  if (out >= 0)
    posix_spawn_file_actions_adddup2(&fa, out, 1);
  err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0)
    die("posix_spawn %s: %s", argv[0], strerror(err));
  return pid;
}

static void run_raw(void) {
  char *head[] = {path_head, "-c", size_arg, "/dev/zero", NULL};
  char *cat[] = {path_cat, NULL};
  char *wc[] = {path_wc, "-c", NULL};
  int a[2], b[2], o[2];
  pid_t p1, p2, p3;
  char out[64];

  if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC) || pipe2(o, O_CLOEXEC))
    die("pipe2: %s", strerror(errno));
  p1 = spawn(head, -1, a[1]);
  close(a[1]);
  p2 = spawn(cat, a[0], b[1]);
  close(a[0]);
  close(b[1]);
  p3 = spawn(wc, b[0], o[1]);
  close(b[0]);
  close(o[1]);
  read_all(o[0], out, sizeof(out));
  close(o[0]);
  reap(p1);
  reap(p2);
  reap(p3);
  check_output(out, names[C_RAW]);
}

static void run_sh(void) {
  char *sh[] = {path_sh, "-c", sh_script, NULL};
  char out[64];
  int o[2];
  pid_t pid;

  if (pipe2(o, O_CLOEXEC))
    die("pipe2: %s", strerror(errno));
  pid = spawn(sh, -1, o[1]);
  close(o[1]);
  read_all(o[0], out, sizeof(out));
  close(o[0]);
  reap(pid);
  check_output(out, names[C_SH]);
}

static int uv_status = -1;

static void on_done(uvexec_pipeline_t *p, int status) {
  (void)p;
  uv_status = status;
}

static void run_uvexec(void) {
  uvexec_cmd_t *head, *cat, *wc;
  uvexec_pipeline_t *p;
  uv_loop_t loop;
  const char *out;
  int err;

  head = uvexec_command(path_head, "-c", size_arg, "/dev/zero", NULL);
  cat = uvexec_command(path_cat, NULL);
  wc = uvexec_command(path_wc, "-c", NULL);
  if (head == NULL || cat == NULL || wc == NULL)
    die("uvexec_command: out of memory");
  uvexec_cmd_stdout(wc, UVEXEC_CAPTURE);
  p = uvexec_pipeline(head, cat, wc, NULL);
  if (p == NULL)
    die("uvexec_pipeline gave NULL");

  if ((err = uv_loop_init(&loop)) != 0)
    die("uv_loop_init: %s", uv_strerror(err));
  uv_status = -1;
  err = uvexec_pipeline_start(p, &loop, on_done);
  if (err != 0)
    die("uvexec_pipeline_start: %s", uvexec_pipeline_error(p));
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_status != 0)
    die("uvexec pipeline: %s", uvexec_pipeline_error(p));
  out = uvexec_stdout_data(wc, NULL);
  check_output(out != NULL ? out : "(nothing)", names[C_UVEXEC]);
  uvexec_pipeline_free(p);
  uv_run(&loop, UV_RUN_DEFAULT);
  if ((err = uv_loop_close(&loop)) != 0)
    die("uv_loop_close: %s", uv_strerror(err));
}

static void (*const runs[C_N])(void) = {run_uvexec, run_sh, run_raw};

/* ---- the run ------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f, "usage: uvexec-bench-pipeline [options]\n"
             "  --size-mib N   bytes through the pipeline, in MiB "
             "(default 256; 1024 for the 1 GiB run)\n"
             "  --rounds R     interleaved rounds (default 5)\n"
             "  --quick        64 MiB, 3 rounds\n");
}

static void parse_args(int argc, char **argv) {
  int i;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i];

    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "--quick") == 0) {
      opt.mib = 64;
      opt.rounds = 3;
    } else if (i + 1 < argc && strcmp(a, "--size-mib") == 0) {
      opt.mib = (size_t)parse_num(argv[++i], a, 1, 1 << 20);
    } else if (i + 1 < argc && strcmp(a, "--rounds") == 0) {
      opt.rounds = (int)parse_num(argv[++i], a, 1, MAX_ROUNDS);
    } else {
      usage(stderr);
      die("%s: unknown option, or its value is missing", a);
    }
  }
}

int main(int argc, char **argv) {
  double gib, r_sh, r_raw, cpu;
  int misses = 0, r, k, c;

  parse_args(argc, argv);
  path_head = find_program("head");
  path_cat = find_program("cat");
  path_wc = find_program("wc");
  path_sh = find_program("sh");
  snprintf(size_arg, sizeof(size_arg), "%zu", opt.mib * MIB);
  snprintf(want_out, sizeof(want_out), "%zu\n", opt.mib * MIB);
  snprintf(sh_script, sizeof(sh_script), "%s -c %s /dev/zero | %s | %s -c",
           path_head, size_arg, path_cat, path_wc);
  gib = (double)(opt.mib * MIB) / (double)(1024 * MIB);

  /* One run of each before measuring: page cache, dynamic loader. */
  for (c = 0; c < C_N; c++)
    runs[c]();

  for (r = 0; r < opt.rounds; r++) {
    for (k = 0; k < C_N; k++) {
      double t0, c0, wall;

      c = (r + k) % C_N;
      c0 = cpu_s(RUSAGE_SELF);
      t0 = now_s();
      runs[c]();
      wall = now_s() - t0;
      cpu_ms[c][r] = (cpu_s(RUSAGE_SELF) - c0) * 1000.0 / gib;
      mbs[c][r] = (double)(opt.mib * MIB) / 1e6 / wall;
    }
    fprintf(stderr, "round %d/%d done\n", r + 1, opt.rounds);
  }

  printf("\n== head -c %zu MiB /dev/zero | cat | wc -c, %d interleaved "
         "rounds (medians) ==\n",
         opt.mib, opt.rounds);
  printf("  %-28s %10s %14s %22s\n", "contender", "MB/s", "vs raw",
         "parent CPU ms per GiB");
  for (c = 0; c < C_N; c++)
    printf("  %-28s %10.0f %13.3fx %22.2f\n", names[c],
           median(mbs[c], opt.rounds),
           median_ratio(mbs[c], mbs[C_RAW], opt.rounds),
           median(cpu_ms[c], opt.rounds));

  r_sh = median_ratio(mbs[C_UVEXEC], mbs[C_SH], opt.rounds);
  r_raw = median_ratio(mbs[C_UVEXEC], mbs[C_RAW], opt.rounds);
  cpu = median(cpu_ms[C_UVEXEC], opt.rounds);
  printf("\n  target: %-50s %10.3fx  %s\n", "uvexec throughput >= 0.95x sh -c",
         r_sh, r_sh >= 0.95 ? "PASS" : "MISS");
  printf("  target: %-50s %10.3fx  %s\n",
         "uvexec throughput >= 0.95x raw pipe2 + posix_spawn", r_raw,
         r_raw >= 0.95 ? "PASS" : "MISS");
  /* Near zero: the parent only starts, waits and reads wc's few bytes.
   * 10 ms per GiB is well under 1% of any run here. */
  printf("  target: %-50s %8.2f ms  %s\n",
         "uvexec parent CPU <= 10 ms per GiB moved", cpu,
         cpu <= 10.0 ? "PASS" : "MISS");
  misses = (r_sh < 0.95) + (r_raw < 0.95) + (cpu > 10.0);
  printf("\n%d of 3 targets met\n", 3 - misses);
  return 0;
}
