/* SPDX-License-Identifier: MIT */
/* uvexec-bench-sandbox — what a sandbox costs a start.
 *
 *   start   spawn + wait of /bin/true, one at a time on one loop, in rounds
 *           that take turns going first, --spawns of each per round:
 *             plain      a uvexec start, no sandbox
 *             sandbox    user, pid, net, mount, ipc and uts namespaces,
 *                        Landlock (read and run the system, nothing
 *                        else) and a seccomp filter, all in one start
 *             bwrap      uvexec starting `bwrap --ro-bind / /
 *                        --unshare-all --die-with-parent /bin/true`, the
 *                        same namespaces from bubblewrap
 *             posix      raw posix_spawn + waitpid, for the plain start
 *           A round's figure is the median of its spawns; ratios are
 *           medians of the rounds' ratios.
 *           Targets: sandbox <= 0.5x bwrap; plain <= 1.02x posix_spawn.
 *
 * Without bwrap (Debian: bubblewrap) its row says so; without Landlock
 * or user namespaces, nothing is measured.
 *
 * Options: --quick (2 rounds of 30), --rounds N, --spawns N.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

#define MAX_ROUNDS 100
#define BENCH_NAME "uvexec-bench-sandbox"
#include "bench_util.h"

extern char **environ;

static struct {
  int rounds;
  int spawns;
} opt = {5, 100};

static const char *bwrap_path = "/usr/bin/bwrap";
static int have_bwrap;

/* A filter that refuses ptrace() and allows the rest. */
static const struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static int bad;

static void on_done(uvexec_cmd_t *cmd, int status) {
  if (status != 0 && bad++ == 0)
    fprintf(stderr, "uvexec: %s\n", uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);
}

static void sandbox(uvexec_cmd_t *cmd) {
  static const char *const system[] = {"/usr", "/bin", "/lib", "/lib64",
                                       "/etc"};
  size_t i;

  uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_USER | UVEXEC_NS_PID |
                                     UVEXEC_NS_NET | UVEXEC_NS_MOUNT |
                                     UVEXEC_NS_IPC | UVEXEC_NS_UTS);
  for (i = 0; i < sizeof(system) / sizeof(system[0]); i++)
    if (access(system[i], F_OK) == 0)
      uvexec_cmd_allow_path(cmd, system[i], UVEXEC_FS_READ | UVEXEC_FS_EXEC);
  uvexec_cmd_set_seccomp(cmd, filter, sizeof filter);
}

static samples_t each;

/* kind 0 plain, 1 sandbox, 2 bwrap, 3 posix_spawn */
static double spawns(uv_loop_t *loop, int kind, int n) {
  double a, m;
  int i;

  for (i = 0; i < n; i++) {
    a = now_s();
    if (kind == 3) {
      char *argv[] = {"/bin/true", NULL};
      pid_t pid;
      int st;

      if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
        die("posix_spawn");
      waitpid(pid, &st, 0);
    } else {
      uvexec_cmd_t *cmd =
          kind == 2 ? uvexec_command(bwrap_path, "--ro-bind", "/", "/",
                                     "--unshare-all", "--die-with-parent",
                                     "/bin/true", NULL)
                    : uvexec_command("/bin/true", NULL);

      if (cmd == NULL)
        die("uvexec_command");
      if (kind == 1)
        sandbox(cmd);
      if (uvexec_start(cmd, loop, on_done) != 0)
        die("uvexec_start: %s", uvexec_cmd_error(cmd));
      uv_run(loop, UV_RUN_DEFAULT);
    }
    samples_add(&each, now_s() - a);
  }
  if (bad)
    die("%d children failed", bad);
  m = pct(each.v, each.n, 50);
  each.n = 0;
  return m;
}

int main(int argc, char **argv) {
  double fig[4][MAX_ROUNDS], r_bwrap = 0, r_plain;
  const char *name[4] = {"plain uvexec", "uvexec sandbox", "bwrap",
                         "posix_spawn"};
  uv_loop_t loop;
  char got[32];
  int i, k, r, kinds;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      opt.rounds = 2;
      opt.spawns = 30;
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      opt.rounds = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--spawns") == 0 && i + 1 < argc) {
      opt.spawns = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s [--quick] [--rounds N] [--spawns N]\n",
              BENCH_NAME);
      return 2;
    }
  }
  if (opt.rounds < 1 || opt.rounds > MAX_ROUNDS || opt.spawns < 1)
    die("bad --rounds or --spawns");
  if ((uvexec_sandbox_available() &
       (UVEXEC_SANDBOX_USERNS | UVEXEC_SANDBOX_LANDLOCK)) !=
      (UVEXEC_SANDBOX_USERNS | UVEXEC_SANDBOX_LANDLOCK)) {
    printf("  no user namespaces or no Landlock here: nothing measured\n");
    return 0;
  }
  have_bwrap = access(bwrap_path, X_OK) == 0;
  uv_loop_init(&loop);
  kinds = 4;
  for (r = 0; r < opt.rounds; r++)
    for (k = 0; k < kinds; k++) {
      int kind = (k + r) % kinds;

      if (kind == 2 && !have_bwrap)
        continue;
      fig[kind][r] = spawns(&loop, kind, opt.spawns);
    }
  printf("spawn + wait of /bin/true, %d rounds of %d (medians)\n", opt.rounds,
         opt.spawns);
  for (k = 0; k < kinds; k++) {
    if (k == 2 && !have_bwrap) {
      printf("  %-16s  not installed (Debian: bubblewrap)\n", name[k]);
      continue;
    }
    printf("  %-16s %8.0f us\n", name[k], median(fig[k], opt.rounds) * 1e6);
  }
  if (have_bwrap) {
    r_bwrap = median_ratio(fig[1], fig[2], opt.rounds);
    snprintf(got, sizeof got, "%.2fx", r_bwrap);
    bench_target(r_bwrap <= 0.5, got, "sandbox <= 0.5x bwrap");
  }
  r_plain = median_ratio(fig[0], fig[3], opt.rounds);
  printf("  sandbox against plain: %.2fx\n",
         median_ratio(fig[1], fig[0], opt.rounds));
  snprintf(got, sizeof got, "%.2fx", r_plain);
  bench_target(r_plain <= 1.02, got, "plain uvexec <= 1.02x posix_spawn");
  uv_loop_close(&loop);
  return 0;
}
