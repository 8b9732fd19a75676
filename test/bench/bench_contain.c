/* SPDX-License-Identifier: MIT */
/* uvexec-bench-contain — what containment costs, and what it buys.
 *
 *   spawn      spawn + wait of /bin/true, one at a time on one loop: a
 *              contained cmd (a cgroup v2 directory made, entered at
 *              birth, read once at the exit and removed) against a plain
 *              one, --spawns of each per round, in rounds that take turns
 *              going first. A round's figure is the median of its spawns;
 *              the ratio is the median of the rounds' ratios.
 *              Target: contained <= 1.3x plain.
 *   stop       cancel -> done of a tree of 100 processes (a shell and 99
 *              `sleep`s that hold its stdout): contained (cgroup.kill)
 *              against the same tree in a new session (one kill of its
 *              process group), both with SIGKILL as the cancel signal, so
 *              done waits for all 100 to be gone either way.
 *   memory     RSS and fds per live cmd, --live `sleep`s running at once,
 *              contained against plain, each in a process of its own.
 *
 * The directories are made in one of the benchmark's own under this
 * process's cgroup v2 directory, removed at the end. Without a writable
 * cgroup v2 directory the benchmark says so and measures nothing.
 *
 * Options: --quick (2 rounds of 50, a live set of 100), --rounds N,
 *          --spawns N, --live N.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

#define MAX_ROUNDS 100
#define BENCH_NAME "uvexec-bench-contain"
#include "bench_util.h"

static struct {
  int rounds;
  int spawns;
  int live;
} opt = {5, 200, 500};

static char parent[4096];
static const char *path_true = "/bin/true";

/* ---- the parent directory ------------------------------------------------- */


static int make_parent(void) {
  char own[2048];

  if (own_cgroup(own, sizeof own) != 0) {
    printf("  no cgroup v2 hierarchy: nothing measured\n");
    return 0;
  }
  snprintf(parent, sizeof parent, "%s/uvexec.bench.%d", own, (int)getpid());
  if (mkdir(parent, 0755) != 0) {
    printf("  mkdir %s: %s: nothing measured\n", parent, strerror(errno));
    return 0;
  }
  return 1;
}

/* ---- spawn + wait ----------------------------------------------------------- */

static int bad;

static void on_done(uvexec_cmd_t *cmd, int status) {
  if (status != 0 && bad++ == 0)
    fprintf(stderr, "uvexec: %s\n", uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);
}

static samples_t each;

/* spawns answers the median time of n spawn + wait of true. */
static double spawns(uv_loop_t *loop, int contained, int n) {
  double a, m;
  int i;

  for (i = 0; i < n; i++) {
    uvexec_cmd_t *cmd = uvexec_command(path_true, NULL);

    if (cmd == NULL)
      die("uvexec_command");
    if (contained)
      uvexec_cmd_set_contain(cmd, parent);
    a = now_s();
    if (uvexec_start(cmd, loop, on_done) != 0)
      die("uvexec_start: %s", uvexec_cmd_error(cmd));
    uv_run(loop, UV_RUN_DEFAULT);
    samples_add(&each, now_s() - a);
  }
  if (bad)
    die("%d children failed", bad);
  m = pct(each.v, each.n, 50);
  each.n = 0;
  return m;
}

static void bench_spawn(uv_loop_t *loop) {
  double plain[MAX_ROUNDS], cont[MAX_ROUNDS], ratio;
  char got[64];
  int r;

  for (r = 0; r < opt.rounds; r++) {
    if (r % 2 == 0) {
      plain[r] = spawns(loop, 0, opt.spawns);
      cont[r] = spawns(loop, 1, opt.spawns);
    } else {
      cont[r] = spawns(loop, 1, opt.spawns);
      plain[r] = spawns(loop, 0, opt.spawns);
    }
  }
  ratio = median_ratio(cont, plain, opt.rounds);
  printf("spawn + wait of true, %d rounds of %d (medians)\n", opt.rounds,
         opt.spawns);
  printf("  plain       %8.0f us\n", median(plain, opt.rounds) * 1e6);
  printf("  contained   %8.0f us   %.2fx\n", median(cont, opt.rounds) * 1e6,
         ratio);
  snprintf(got, sizeof got, "%.2fx", ratio);
  bench_target(ratio <= 1.3, got, "contained spawn + wait <= 1.3x plain");
}

/* ---- stopping a tree of 100 -------------------------------------------------- */

typedef struct {
  int ready;
  int done;
  double cancelled_at;
  double took;
} stop_t;

static void on_tree_line(uvexec_cmd_t *cmd, const char *line, size_t len) {
  stop_t *s = uvexec_cmd_data(cmd);

  if (len == 5 && memcmp(line, "ready", 5) == 0)
    s->ready = 1;
}

static void on_tree_done(uvexec_cmd_t *cmd, int status) {
  stop_t *s = uvexec_cmd_data(cmd);

  (void)status;
  s->took = now_s() - s->cancelled_at;
  s->done = 1;
}

static double stop_tree(uv_loop_t *loop, int contained) {
  stop_t s = {0, 0, 0, 0};
  uvexec_cmd_t *cmd;

  cmd = uvexec_command("sh", "-c",
                       "i=0; while [ $i -lt 99 ]; do sleep 1000 & "
                       "i=$((i+1)); done; echo ready; wait",
                       NULL);
  if (cmd == NULL)
    die("uvexec_command");
  uvexec_cmd_set_data(cmd, &s);
  uvexec_cmd_on_stdout_line(cmd, on_tree_line);
  if (contained)
    uvexec_cmd_set_contain(cmd, parent);
  else
    uvexec_cmd_set_new_session(cmd, 1);
  if (uvexec_start(cmd, loop, on_tree_done) != 0)
    die("uvexec_start: %s", uvexec_cmd_error(cmd));
  while (!s.ready)
    uv_run(loop, UV_RUN_ONCE);
  s.cancelled_at = now_s();
  uvexec_cancel(cmd);
  while (!s.done)
    uv_run(loop, UV_RUN_ONCE);
  uvexec_cmd_free(cmd);
  uv_run(loop, UV_RUN_DEFAULT);
  return s.took;
}

static void bench_stop(uv_loop_t *loop) {
  double group[MAX_ROUNDS], cont[MAX_ROUNDS];
  int r;

  for (r = 0; r < opt.rounds; r++) {
    group[r] = stop_tree(loop, 0);
    cont[r] = stop_tree(loop, 1);
  }
  printf("cancel -> done, a tree of 100 processes (medians of %d)\n",
         opt.rounds);
  printf("  process group, kill(-pgid)   %8.2f ms\n",
         median(group, opt.rounds) * 1e3);
  printf("  contained, cgroup.kill       %8.2f ms   %.2fx\n",
         median(cont, opt.rounds) * 1e3, median_ratio(cont, group, opt.rounds));
}

/* ---- memory per live cmd ------------------------------------------------------ */

static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;

  if (d == NULL)
    return -1;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n - 3; /* ., .. and the one reading */
}

static void on_live_done(uvexec_cmd_t *cmd, int status) {
  (void)status;
  (*(int *)uvexec_cmd_data(cmd))++;
}

/* live starts opt.live sleeps at once and answers the RSS (KiB) and fds
 * they cost while they run. */
static void live(uv_loop_t *loop, int contained, double *kib, double *fds) {
  uvexec_cmd_t **cmds = calloc((size_t)opt.live, sizeof(*cmds));
  long rss0;
  int fds0, i, done = 0;

  if (cmds == NULL)
    die("no memory");
  uv_run(loop, UV_RUN_DEFAULT);
  rss0 = rss_kib();
  fds0 = open_fds();
  for (i = 0; i < opt.live; i++) {
    cmds[i] = uvexec_command("sleep", "1000", NULL);
    uvexec_cmd_set_data(cmds[i], &done);
    if (contained)
      uvexec_cmd_set_contain(cmds[i], parent);
    if (uvexec_start(cmds[i], loop, on_live_done) != 0)
      die("uvexec_start: %s", uvexec_cmd_error(cmds[i]));
  }
  uv_run(loop, UV_RUN_NOWAIT);
  *kib = (double)(rss_kib() - rss0) / opt.live;
  *fds = (double)(open_fds() - fds0) / opt.live;
  for (i = 0; i < opt.live; i++)
    uvexec_cancel(cmds[i]);
  while (done < opt.live)
    uv_run(loop, UV_RUN_ONCE);
  for (i = 0; i < opt.live; i++)
    uvexec_cmd_free(cmds[i]);
  uv_run(loop, UV_RUN_DEFAULT);
  free(cmds);
}

/* live_apart runs live() in a child process of its own, so that neither
 * contender finds the heap the other grew: what it reports is its own
 * growth. */
static void live_apart(int contained, double *kib, double *fds) {
  double got[2];
  int p[2], st;
  pid_t pid;

  if (pipe(p) != 0)
    die("pipe: %s", strerror(errno));
  pid = fork();
  if (pid < 0)
    die("fork: %s", strerror(errno));
  if (pid == 0) {
    uv_loop_t loop;

    close(p[0]);
    if (uv_loop_init(&loop) != 0)
      _exit(1);
    live(&loop, contained, &got[0], &got[1]);
    _exit(write(p[1], got, sizeof(got)) == (ssize_t)sizeof(got) ? 0 : 1);
  }
  close(p[1]);
  if (read(p[0], got, sizeof(got)) != (ssize_t)sizeof(got))
    die("the measuring child reported nothing");
  close(p[0]);
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    die("the measuring child failed");
  *kib = got[0];
  *fds = got[1];
}

static void bench_memory(void) {
  double pk, pf, ck, cf;

  live_apart(0, &pk, &pf);
  live_apart(1, &ck, &cf);
  printf("per live cmd, %d sleeps at once\n", opt.live);
  printf("  plain       %6.2f KiB RSS   %4.2f fds\n", pk, pf);
  printf("  contained   %6.2f KiB RSS   %4.2f fds\n", ck, cf);
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      opt.rounds = 2;
      opt.spawns = 50;
      opt.live = 100;
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      opt.rounds = (int)parse_num(argv[++i], "--rounds", 1, MAX_ROUNDS);
    } else if (strcmp(argv[i], "--spawns") == 0 && i + 1 < argc) {
      opt.spawns = (int)parse_num(argv[++i], "--spawns", 1, 100000);
    } else if (strcmp(argv[i], "--live") == 0 && i + 1 < argc) {
      opt.live = (int)parse_num(argv[++i], "--live", 1, 100000);
    } else {
      die("usage: %s [--quick] [--rounds N] [--spawns N] [--live N]",
          BENCH_NAME);
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!make_parent())
    return 0;
  if (uv_loop_init(&loop) != 0)
    die("uv_loop_init");
  bench_spawn(&loop);
  bench_stop(&loop);
  bench_memory();
  if (uv_loop_close(&loop) != 0)
    die("uv_loop_close");
  if (rmdir(parent) != 0)
    die("rmdir %s: %s", parent, strerror(errno));
  samples_free(&each);
  return 0;
}
