/* SPDX-License-Identifier: MIT */
/* Usage and limits of a whole tree (lib/limits.c, uvexec_usage): a memory
 * limit that OOM-kills (UVEXEC_EOOM, counted) and one that is enough; a
 * pids limit that stops a fork loop; a CPU limit that bounds a busy loop;
 * the usage of a plain cmd (its rusage only) and of a contained tree
 * whose orphan burned more CPU than the child; the refusals; and after
 * every case, no directory left in the v2 parent nor in any v1 hierarchy.
 *
 * Each limit goes where this machine has its controller: cgroup v2, or
 * the controller's v1 hierarchy (a hybrid host); the suite prints which.
 * Where neither is there, or no cgroup v2 directory can be made, or the
 * clone engine cannot run (valgrind has no pidfds), the cases that need it
 * are not registered and the suite says so: they are not counted as
 * passed. The v2 file writes are also tested against a directory the test
 * lays out, so they are checked on a host whose v2 has no controllers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

#define MIB (1024u * 1024u)

static char suite_dir[PATH_MAX / 2]; /* the v2 parent of every case */
static pid_t suite_owner;
static const char *const controllers[] = {"memory", "pids", "cpu"};

/* remove_suite_dir removes the suite's v2 directory, and with the sweep
 * whatever a failed case's dead fork left there and in the v1
 * hierarchies. */
static void remove_suite_dir(void) {
  if (suite_dir[0] != '\0' && getpid() == suite_owner) {
    (void)uvexec_contain_sweep(suite_dir);
    rmdir(suite_dir);
  }
}

/* where answers where a limit of controller would go here: "cgroup v2",
 * "cgroup v1", or NULL. */
static const char *where(const char *controller) {
  char *path = NULL;
  int fd, has;

  fd = open(suite_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  has = fd >= 0 ? uvexec__cgroup_has(fd, "cgroup.controllers", controller) : 0;
  if (fd >= 0)
    close(fd);
  if (has > 0)
    return "cgroup v2";
  if (uvexec__cgroup_v1_parent(controller, &path) == 0) {
    free(path);
    return "cgroup v1";
  }
  return NULL;
}

/* made_by counts the directories process pid made (uvexec-<pid>-...) in
 * the v2 parent and in this process's v1 directory of each controller. */
static int made_by(pid_t pid, int say) {
  char prefix[32], *dirs[4] = {NULL, NULL, NULL, NULL};
  struct dirent *e;
  int n = 0, i;

  snprintf(prefix, sizeof prefix, "uvexec-%d-", (int)pid);
  dirs[0] = strdup(suite_dir);
  for (i = 0; i < 3; i++)
    (void)uvexec__cgroup_v1_parent(controllers[i], &dirs[i + 1]);
  for (i = 0; i < 4; i++) {
    DIR *d = dirs[i] != NULL ? opendir(dirs[i]) : NULL;

    while (d != NULL && (e = readdir(d)) != NULL)
      if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
        if (say)
          fprintf(stderr, "left behind: %s/%s\n", dirs[i], e->d_name);
        n++;
      }
    if (d != NULL)
      closedir(d);
    free(dirs[i]);
  }
  return n;
}

static int leftovers(void) {
  return made_by(getpid(), 1);
}

static uvexec_cmd_t *limited(const char *sub, const char *arg, int what,
                             uint64_t value) {
  uvexec_cmd_t *cmd = helper_cmd(sub, arg, NULL);

  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_contain(cmd, suite_dir), 0);
  if (what != 0)
    ck_assert_int_eq(uvexec_cmd_set_limit(cmd, what, value), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  return cmd;
}

/* ---- memory --------------------------------------------------------------- */

/* 200 MiB under 64 MiB: the OOM killer ends it, and the run says so. */
START_TEST(test_memory_limit_oom) {
  uvexec_cmd_t *cmd = limited("alloc", "200", UVEXEC_LIMIT_MEMORY, 64 * MIB);
  uvexec_usage_t u;

  ck_assert_int_eq(uvexec_run(cmd), UVEXEC_EOOM);
  ck_assert_str_eq(uvexec_cmd_error(cmd),
                   "killed: out of memory (limit 67108864 bytes)");
  ck_assert_int_eq(uvexec_term_signal(cmd), 9);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "");
  ck_assert_int_eq(uvexec_usage(cmd, &u), 0);
  ck_assert_uint_eq(u.known & UVEXEC_USAGE_OOM, UVEXEC_USAGE_OOM);
  ck_assert_uint_eq(u.known & UVEXEC_USAGE_TREE_MEMORY,
                    UVEXEC_USAGE_TREE_MEMORY);
  ck_assert_uint_ge(u.oom_kills, 1);
  ck_assert_uint_gt(u.tree_memory_peak, 32 * MIB);
  ck_assert_uint_le(u.tree_memory_peak, 64 * MIB);
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(leftovers(), 0);
}
END_TEST

/* 16 MiB under 64 MiB: it runs, and its peak is measured. */
START_TEST(test_memory_limit_enough) {
  uvexec_cmd_t *cmd = limited("alloc", "16", UVEXEC_LIMIT_MEMORY, 64 * MIB);
  uvexec_usage_t u;

  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "allocated 16\n");
  ck_assert_int_eq(uvexec_usage(cmd, &u), 0);
  ck_assert_uint_eq(u.known & UVEXEC_USAGE_OOM, UVEXEC_USAGE_OOM);
  ck_assert_uint_eq(u.oom_kills, 0);
  ck_assert_uint_ge(u.tree_memory_peak, 16 * MIB);
  ck_assert_uint_le(u.tree_memory_peak, 64 * MIB);
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(leftovers(), 0);
}
END_TEST

/* ---- processes ------------------------------------------------------------ */

/* A fork loop under a limit of 8 processes: the helper is one, so at
 * most 7 forks succeed, and the rest fail with EAGAIN. */
START_TEST(test_pids_limit) {
  uvexec_cmd_t *cmd = limited("forks", "30", UVEXEC_LIMIT_PIDS, 8);
  long forked = -1, failed = -1;
  int err = -1;

  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_int_eq(sscanf(uvexec_stdout_data(cmd, NULL),
                          "forked %ld failed %ld errno %d", &forked, &failed,
                          &err),
                   3);
  ck_assert_int_le(forked, 7);
  ck_assert_int_eq(forked + failed, 30);
  ck_assert_int_eq(err, EAGAIN);
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(leftovers(), 0);
}
END_TEST

/* ---- CPU ------------------------------------------------------------------ */

/* A busy loop of 1 s wall time under a fifth of a CPU uses about 0.2 s
 * of CPU; the bound is loose (0.45 s) for a noisy machine. */
START_TEST(test_cpu_limit) {
  uvexec_cmd_t *cmd = limited("spin", "1000", UVEXEC_LIMIT_CPU, 200);
  uvexec_usage_t u;

  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_int_eq(uvexec_usage(cmd, &u), 0);
  ck_assert_uint_eq(u.known & UVEXEC_USAGE_TREE_CPU, UVEXEC_USAGE_TREE_CPU);
  ck_assert_uint_ge(u.wall_usec, 1000000);
  ck_assert_uint_le(u.tree_user_usec + u.tree_system_usec, 450000);
  ck_assert_uint_gt(u.tree_user_usec + u.tree_system_usec, 50000);
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(leftovers(), 0);
}
END_TEST

/* ---- usage ---------------------------------------------------------------- */

/* A plain cmd: the wall time, and its rusage where the clone engine
 * reaped it; nothing of a tree is claimed. */
START_TEST(test_usage_plain) {
  uvexec_cmd_t *cmd = helper_cmd("spin", "50", NULL);
  uvexec_usage_t u;

  ck_assert_int_eq(uvexec_usage(cmd, &u), UV_EINVAL); /* never ran */
  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_int_eq(uvexec_usage(cmd, &u), 0);
  ck_assert_uint_ge(u.wall_usec, 50000);
  ck_assert_uint_eq(u.known & (UVEXEC_USAGE_TREE_CPU |
                               UVEXEC_USAGE_TREE_MEMORY | UVEXEC_USAGE_OOM),
                    0);
  ck_assert_uint_eq(u.tree_user_usec + u.tree_memory_peak + u.oom_kills, 0);
  if (on_uv_engine() || !have_pidfd()) { /* the uv engine reaped it */
    ck_assert_uint_eq(u.known, 0);
  } else {
    ck_assert_uint_eq(u.known, UVEXEC_USAGE_RUSAGE);
    ck_assert_uint_ge(u.user_usec + u.system_usec, 20000);
    ck_assert_uint_gt(u.maxrss_kib, 0);
    ck_assert_uint_gt(u.minflt, 0);
  }
  uvexec_cmd_free(cmd);
}
END_TEST

/* An orphan of the contained tree burns 0.4 s of CPU that the child never
 * waited for (the shell watches its pid end with kill -0): the child's
 * rusage misses it, the tree's CPU has it. */
START_TEST(test_usage_tree_cpu_of_an_orphan) {
  char script[2 * PATH_MAX + 200], pidfile[] = "/tmp/uvexec-orphan-XXXXXX";
  uvexec_cmd_t *cmd;
  uvexec_usage_t u;
  int fd = mkstemp(pidfile);

  ck_assert_int_ge(fd, 0);
  close(fd);
  snprintf(script, sizeof script,
           "(\"%s\" burn 400 >/dev/null & echo $! >%s); "
           "while kill -0 \"$(cat %s)\" 2>/dev/null; do sleep 0.05; done",
           helper_path(), pidfile, pidfile);
  cmd = uvexec_command("sh", "-c", script, NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_contain(cmd, suite_dir), 0);
  ck_assert_int_eq(uvexec_run(cmd), 0);
  ck_assert_int_eq(uvexec_usage(cmd, &u), 0);
  ck_assert_uint_eq(u.known, UVEXEC_USAGE_RUSAGE | UVEXEC_USAGE_TREE_CPU);
  ck_assert_uint_ge(u.tree_user_usec + u.tree_system_usec, 400000);
  ck_assert_uint_lt(u.user_usec + u.system_usec, 200000);
  uvexec_cmd_free(cmd);
  unlink(pidfile);
  ck_assert_int_eq(leftovers(), 0);
}
END_TEST

/* ---- after a crash ---------------------------------------------------------- */

/* An owner SIGKILLed while its limited cmd ran leaves a v2 directory and
 * a v1 directory per limit; uvexec_contain_sweep removes them all, and
 * the tree with them. */
START_TEST(test_sweep_after_a_crash) {
  int sync[2], st;
  char ready;
  pid_t owner;

  ck_assert_int_eq(pipe2(sync, O_CLOEXEC), 0);
  owner = fork();
  ck_assert_int_ge(owner, 0);
  if (owner == 0) {
    uvexec_cmd_t *cmd = uvexec_command("sleep", "60", NULL);
    uv_loop_t loop;

    close(sync[0]);
    if (cmd == NULL || uv_loop_init(&loop) != 0 ||
        uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE) != 0 ||
        uvexec_cmd_set_contain(cmd, suite_dir) != 0 ||
        uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_MEMORY, 64 * MIB) != 0 ||
        uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_PIDS, 16) != 0 ||
        uvexec_start(cmd, &loop, NULL) != 0)
      _exit(1);
    if (write(sync[1], "r", 1) != 1)
      _exit(1);
    for (;;)
      pause(); /* until killed */
  }
  close(sync[1]);
  ck_assert_int_eq(read(sync[0], &ready, 1), 1);
  close(sync[0]);
  ck_assert_int_eq(made_by(owner, 0), 3); /* v2, v1 memory, v1 pids */
  ck_assert_int_eq(kill(owner, SIGKILL), 0);
  ck_assert_int_eq(waitpid(owner, &st, 0), owner);
  /* At least these 3: the v1 directories are shared with whatever else
   * runs (the suite's other engine run may sweep at the same time, and
   * remove some of these first). */
  (void)uvexec_contain_sweep(suite_dir);
  ck_assert_int_eq(made_by(owner, 1), 0);
}
END_TEST

/* ---- refusals ------------------------------------------------------------- */

START_TEST(test_refusals) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  uvexec_usage_t u;
  int fds = count_open_fds();

  ck_assert_int_eq(uvexec_cmd_set_limit(NULL, UVEXEC_LIMIT_PIDS, 1),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_limit(cmd, 0, 1), UV_EINVAL);
  ck_assert_int_eq(
      uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_PIDS | UVEXEC_LIMIT_CPU, 1),
      UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_MEMORY, 0),
                   UV_EINVAL);
  /* Values whose quota or count the kernel's files cannot hold. */
  ck_assert_int_eq(uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_CPU, 184467440737096),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_CPU, 1000000001),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_PIDS, 4194305),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_usage(NULL, &u), UV_EINVAL);
  ck_assert_int_eq(uvexec_usage(cmd, NULL), UV_EINVAL);
  /* A limit implies containment, which the uv engine cannot give. */
  ck_assert_int_eq(uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_PIDS, 10), 0);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_UV), 0);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOTSUP);
  ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(cmd), "cannot contain"));
  ck_assert_int_eq(uvexec_cmd_set_limit(cmd, UVEXEC_LIMIT_PIDS, 10),
                   UV_EBUSY);
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(count_open_fds(), fds);
}
END_TEST

/* The v2 files, written into a directory laid out as a cgroup's. */
START_TEST(test_v2_files) {
  static const char *const files[] = {"memory.max", "memory.swap.max",
                                      "pids.max", "cpu.max"};
  char dir[] = "/tmp/uvexec-limits-XXXXXX", path[128], text[64];
  int dirfd, i;
  FILE *f;

  ck_assert_ptr_nonnull(mkdtemp(dir));
  for (i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
  }
  dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ck_assert_int_ge(dirfd, 0);
  ck_assert_int_eq(uvexec__limits_write_v2(dirfd, 0, 64 * MIB), 0);
  ck_assert_int_eq(uvexec__limits_write_v2(dirfd, 1, 32), 0);
  ck_assert_int_eq(uvexec__limits_write_v2(dirfd, 2, 250), 0);
  for (i = 0; i < 4; i++) {
    static const char *const want[] = {"67108864", "0", "32",
                                       "25000 100000"};

    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(text, sizeof text, f));
    fclose(f);
    ck_assert_str_eq(text, want[i]);
    unlink(path);
  }
  /* The readers, on files laid out the same way. */
  snprintf(path, sizeof path, "%s/cpu.stat", dir);
  f = fopen(path, "w");
  fputs("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n", f);
  fclose(f);
  {
    uint64_t v = 0;

    ck_assert_int_eq(uvexec__cgroup_read(dirfd, "cpu.stat", "user_usec", &v),
                     0);
    ck_assert_uint_eq(v, 1000);
    ck_assert_int_eq(
        uvexec__cgroup_read(dirfd, "cpu.stat", "system_usec", &v), 0);
    ck_assert_uint_eq(v, 500);
    ck_assert_int_eq(uvexec__cgroup_read(dirfd, "cpu.stat", "usage", &v),
                     UV_ENOENT);
  }
  unlink(path);
  close(dirfd);
  ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("limits");
  char *own = NULL;
  int contained = 0;

  ADD_TEST(s, test_refusals);
  ADD_TEST(s, test_v2_files);
  ADD_TEST(s, test_usage_plain);

  if (!have_pidfd()) {
    fprintf(stderr, "limits: no pidfds (valgrind?): the clone engine cannot "
                    "run; the contained cases are not run\n");
  } else if (uvexec__cgroup_parent(NULL, &own) != 0) {
    fprintf(stderr, "limits: no cgroup v2 directory of this process's: the "
                    "contained cases are not run\n");
  } else {
    snprintf(suite_dir, sizeof suite_dir, "%s/uvexec.limits.%d", own,
             (int)getpid());
    if (mkdir(suite_dir, 0755) != 0) {
      fprintf(stderr, "limits: mkdir %s: %s: the contained cases are not "
                      "run\n",
              suite_dir, strerror(errno));
      suite_dir[0] = '\0';
    } else {
      suite_owner = getpid();
      atexit(remove_suite_dir);
      contained = 1;
    }
  }
  free(own);
  if (contained) {
    const char *memory = where("memory"), *pids = where("pids"),
               *cpu = where("cpu");

    fprintf(stderr, "limits: memory in %s, pids in %s, cpu in %s\n",
            memory ? memory : "nothing", pids ? pids : "nothing",
            cpu ? cpu : "nothing");
    if ((memory == NULL || strcmp(memory, "cgroup v2") != 0) &&
        (pids == NULL || strcmp(pids, "cgroup v2") != 0) &&
        (cpu == NULL || strcmp(cpu, "cgroup v2") != 0))
      fprintf(stderr, "limits: no controller in cgroup v2 here: the v2 "
                      "path of a limit is not run, only its file writes "
                      "(test_v2_files)\n");
    ADD_TEST(s, test_usage_tree_cpu_of_an_orphan);
    if (memory != NULL && pids != NULL)
      ADD_TEST(s, test_sweep_after_a_crash);
    if (memory != NULL) {
      ADD_TEST(s, test_memory_limit_oom);
      ADD_TEST(s, test_memory_limit_enough);
    } else {
      fprintf(stderr, "limits: no memory controller: 2 cases not run\n");
    }
    if (pids != NULL)
      ADD_TEST(s, test_pids_limit);
    else
      fprintf(stderr, "limits: no pids controller: 1 case not run\n");
    if (cpu != NULL)
      ADD_TEST(s, test_cpu_limit);
    else
      fprintf(stderr, "limits: no cpu controller: 1 case not run\n");
  }
  return run_suite(s);
}
