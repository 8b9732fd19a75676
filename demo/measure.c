/* SPDX-License-Identifier: MIT */
/* measure — run a command line contained, optionally with limits, and
 * report what its whole process tree used, as systemd-run's summary or
 * isolate's meta file would.
 *
 * The command runs in a cgroup of its own (uvexec_cmd_set_contain), so
 * nothing it starts outlives it and the tree's CPU is counted even for
 * processes the command never waited for. --memory, --pids and --cpu set
 * limits (uvexec_cmd_set_limit), on cgroup v2 or, on a hybrid host, on
 * the controller's cgroup v1 hierarchy. A tree that passes its memory
 * limit is OOM-killed, and the report says so. Every figure is read once
 * the tree is gone, never sampled; a figure that could not be measured is
 * shown as "-", never as 0.
 *
 * Usage: measure [--memory SIZE] [--pids N] [--cpu MILLI] [--meta]
 *                -- COMMAND [ARGS...]
 *
 *   --memory  bytes, or with K, M, G
 *   --pids    processes and threads at once
 *   --cpu     thousandths of a CPU (500: half of one)
 *   --meta    isolate's "key:value" lines instead of the summary
 *
 * Exit status: the command's (128 + N for a signal), 1 when it could not
 * start, 2 for bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "uvexec.h"

static void usage(void) {
  fprintf(stderr, "usage: measure [--memory SIZE] [--pids N] [--cpu MILLI] "
                  "[--meta] -- COMMAND [ARGS...]\n");
  exit(2);
}

static uint64_t size_arg(const char *s) {
  char *end;
  uint64_t v = strtoull(s, &end, 10);

  if (end == s)
    usage();
  if (*end == 'K' || *end == 'k')
    v <<= 10, end++;
  else if (*end == 'M' || *end == 'm')
    v <<= 20, end++;
  else if (*end == 'G' || *end == 'g')
    v <<= 30, end++;
  if (*end != '\0' || v == 0)
    usage();
  return v;
}

/* The figures, "-" where not measured. */
static void secs(char *buf, size_t len, int known, uint64_t usec) {
  if (known)
    snprintf(buf, len, "%.3fs", (double)usec / 1e6);
  else
    snprintf(buf, len, "-");
}

static void mib(char *buf, size_t len, int known, uint64_t bytes) {
  if (known)
    snprintf(buf, len, "%.1fM", (double)bytes / (1024.0 * 1024.0));
  else
    snprintf(buf, len, "-");
}

static void summary(uvexec_cmd_t *cmd, int status, const uvexec_usage_t *u) {
  int ru = (u->known & UVEXEC_USAGE_RUSAGE) != 0;
  int tree = (u->known & UVEXEC_USAGE_TREE_CPU) != 0;
  int mem = (u->known & UVEXEC_USAGE_TREE_MEMORY) != 0;
  int oom = (u->known & UVEXEC_USAGE_OOM) != 0;
  char a[32], b[32];

  printf("Finished: %s\n", status == 0 ? "success" : uvexec_cmd_error(cmd));
  printf("Wall time: %.3fs\n", (double)u->wall_usec / 1e6);
  secs(a, sizeof a, ru, u->user_usec + u->system_usec);
  secs(b, sizeof b, tree, u->tree_user_usec + u->tree_system_usec);
  printf("CPU time consumed: %s (the command), %s (its whole tree)\n", a, b);
  mib(a, sizeof a, ru, u->maxrss_kib * 1024);
  mib(b, sizeof b, mem, u->tree_memory_peak);
  printf("Memory peak: %s (largest process), %s (its whole tree)\n", a, b);
  if (oom)
    printf("OOM kills: %" PRIu64 "\n", u->oom_kills);
  else
    printf("OOM kills: - (no memory limit)\n");
  if (ru)
    printf("Context switches: %" PRIu64 " voluntary, %" PRIu64
           " forced; page faults: %" PRIu64 " minor, %" PRIu64 " major\n",
           u->nvcsw, u->nivcsw, u->minflt, u->majflt);
}

static void meta(uvexec_cmd_t *cmd, int status, const uvexec_usage_t *u) {
  printf("time:%.3f\n", (double)(u->user_usec + u->system_usec) / 1e6);
  printf("time-wall:%.3f\n", (double)u->wall_usec / 1e6);
  if (u->known & UVEXEC_USAGE_TREE_CPU)
    printf("cg-time:%.3f\n",
           (double)(u->tree_user_usec + u->tree_system_usec) / 1e6);
  if (u->known & UVEXEC_USAGE_RUSAGE) {
    printf("max-rss:%" PRIu64 "\n", u->maxrss_kib);
    printf("csw-voluntary:%" PRIu64 "\n", u->nvcsw);
    printf("csw-forced:%" PRIu64 "\n", u->nivcsw);
  }
  if (u->known & UVEXEC_USAGE_TREE_MEMORY)
    printf("cg-mem:%" PRIu64 "\n", u->tree_memory_peak / 1024);
  if (u->known & UVEXEC_USAGE_OOM)
    printf("cg-oom-killed:%" PRIu64 "\n", u->oom_kills);
  if (uvexec_exit_code(cmd) >= 0)
    printf("exitcode:%d\n", uvexec_exit_code(cmd));
  if (uvexec_term_signal(cmd) > 0) {
    printf("exitsig:%d\n", uvexec_term_signal(cmd));
    printf("killed:1\n");
  }
  if (status != 0)
    printf("message:%s\n", uvexec_cmd_error(cmd));
}

int main(int argc, char **argv) {
  uint64_t memory = 0, pids = 0, cpu = 0;
  int as_meta = 0, a, status, rc;
  uvexec_cmd_t *cmd;
  uvexec_usage_t u;

  for (a = 1; a < argc && strcmp(argv[a], "--") != 0; a++) {
    if (strcmp(argv[a], "--memory") == 0 && a + 1 < argc)
      memory = size_arg(argv[++a]);
    else if (strcmp(argv[a], "--pids") == 0 && a + 1 < argc)
      pids = size_arg(argv[++a]);
    else if (strcmp(argv[a], "--cpu") == 0 && a + 1 < argc)
      cpu = size_arg(argv[++a]);
    else if (strcmp(argv[a], "--meta") == 0)
      as_meta = 1;
    else
      usage();
  }
  if (a + 1 >= argc)
    usage();

  cmd = uvexec_command_argv((const char *const *)argv + a + 1);
  if (cmd == NULL) {
    fprintf(stderr, "measure: out of memory\n");
    return 1;
  }
  uvexec_cmd_stdout(cmd, UVEXEC_INHERIT);
  uvexec_cmd_stderr(cmd, UVEXEC_INHERIT);
  uvexec_cmd_set_contain(cmd, NULL);
  if ((memory && uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_MEMORY, memory)) ||
      (pids && uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_PIDS, pids)) ||
      (cpu && uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_CPU, cpu)))
    usage();

  status = uvexec_run(cmd);
  if (uvexec_usage(cmd, &u) != 0) {
    /* It never ran: the start failed. */
    printf("measure: could not start: %s (%s)\n", uvexec_cmd_error(cmd),
           uvexec_err_name(status));
    uvexec_cmd_free(cmd);
    return 1;
  }
  fflush(stdout);
  printf("--\n");
  if (as_meta)
    meta(cmd, status, &u);
  else
    summary(cmd, status, &u);
  rc = uvexec_term_signal(cmd) > 0 ? 128 + uvexec_term_signal(cmd)
                                   : uvexec_exit_code(cmd);
  uvexec_cmd_free(cmd);
  return rc < 0 ? 1 : rc;
}
