/* SPDX-License-Identifier: MIT */
/* Containment (lib/contain.c, lib/cgroup.c): a contained command's whole
 * process tree — a child that leads a new session, one orphaned by a
 * double fork, a fork loop — is stopped by a cancel, a timeout, a kill
 * and a free; what the child leaves at its exit is stopped and counted;
 * the done callback waits for the tree and loses none of its output; the
 * tree can be frozen; a crashed owner's directories are swept; every
 * refusal is clear and leaves nothing.
 *
 * Each test makes its own parent directory inside the suite's, which
 * the suite makes under its own cgroup v2 directory and removes at the
 * end, killing whatever a failed test left in it. Each test proves
 * absence as the other suites do (fds, zombies, the loop) and also that
 * no directory is left and that every process of the tree is gone (a
 * pidfd of each, opened while it ran, is readable: the process exited).
 *
 * The positive cases need pidfds (the clone engine), a writable cgroup v2
 * directory with cgroup.kill, and the clone engine as the default; where
 * any is missing the suite says so and does not run them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

#define TREE_MAX 16

/* ---- the directories ------------------------------------------------------ */

static char suite_dir[PATH_MAX / 2]; /* "" without one */
static pid_t suite_owner;

/* kill_and_remove kills whatever is in dir and below, and removes it all:
 * the suite's cleanup, also after a failed test left a tree running. */
static void kill_and_remove(const char *dir) {
  char path[PATH_MAX];
  struct dirent *e;
  uvexec__cgroup_t view;
  DIR *d;

  uvexec__cgroup_init(&view);
  view.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (view.dirfd < 0)
    return;
  if (uvexec__cgroup_populated(&view) > 0) {
    (void)uvexec__cgroup_kill(&view);
    (void)uvexec__cgroup_wait_empty(&view, 5000);
  }
  close(view.dirfd);
  d = opendir(dir);
  if (d != NULL) {
    while ((e = readdir(d)) != NULL) {
      if (e->d_type != DT_DIR || e->d_name[0] == '.')
        continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      kill_and_remove(path);
    }
    closedir(d);
  }
  rmdir(dir);
}

static void remove_suite_dir(void) {
  if (suite_dir[0] != '\0' && getpid() == suite_owner) {
    kill_and_remove(suite_dir);
    suite_dir[0] = '\0';
  }
}

/* clear_stale removes the directories of earlier runs of this suite
 * whose process is gone (a run killed by ctest's timeout cannot clean up
 * after itself). */
static void clear_stale(const char *own) {
  char path[PATH_MAX];
  struct dirent *e;
  int pid;
  DIR *d = opendir(own);

  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    if (sscanf(e->d_name, "uvexec.test.%d", &pid) != 1 || pid <= 0 ||
        kill(pid, 0) == 0 || errno != ESRCH)
      continue;
    snprintf(path, sizeof path, "%s/%s", own, e->d_name);
    kill_and_remove(path);
  }
  closedir(d);
}

/* make_suite_dir makes the suite's directory under this process's own
 * cgroup v2 directory, and says why when it cannot. */
static int make_suite_dir(void) {
  char *own = NULL, probe[PATH_MAX + 32];

  if (uvexec__cgroup_parent(NULL, &own) != 0) {
    fprintf(stderr, "contain: no cgroup v2 directory of this process's\n");
    return 0;
  }
  clear_stale(own);
  snprintf(suite_dir, sizeof suite_dir, "%s/uvexec.test.%d", own, getpid());
  free(own);
  if (mkdir(suite_dir, 0755) != 0) {
    fprintf(stderr, "contain: mkdir %s: %s\n", suite_dir, strerror(errno));
    suite_dir[0] = '\0';
    return 0;
  }
  suite_owner = getpid();
  atexit(remove_suite_dir);
  snprintf(probe, sizeof probe, "%s/cgroup.kill", suite_dir);
  if (access(probe, W_OK) != 0) {
    fprintf(stderr, "contain: %s: no cgroup.kill (Linux 5.14+ needed)\n",
            probe);
    remove_suite_dir();
    return 0;
  }
  return 1;
}

/* test_parent makes a parent directory for one test. */
static const char *test_parent(void) {
  static char dir[PATH_MAX];

  snprintf(dir, sizeof dir, "%s/t%d", suite_dir, getpid());
  ck_assert_msg(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
  return dir;
}

/* subdirs counts the directories in dir. */
static int subdirs(const char *dir) {
  struct dirent *e;
  int n = 0;
  DIR *d = opendir(dir);

  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)) != NULL)
    if (e->d_type == DT_DIR && e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

/* parent_done asserts that no directory of uvexec's is left in the test's
 * parent, and removes it. */
static void parent_done(const char *dir) {
  ck_assert_int_eq(subdirs(dir), 0);
  ck_assert_int_eq(rmdir(dir), 0);
}

/* ---- the tree's processes ------------------------------------------------- */

typedef struct {
  int n;
  pid_t pid[TREE_MAX];
  int pidfd[TREE_MAX];
} tree_t;

/* tree_read takes the "pid N" lines a tree printed, and opens a pidfd of
 * each while it runs (the processes are the tree's, alive until it is
 * stopped: no pid here can have been reused). */
static void tree_read(tree_t *t, const char *out) {
  const char *p = out;

  t->n = 0;
  while ((p = strstr(p, "pid ")) != NULL && t->n < TREE_MAX) {
    t->pid[t->n] = (pid_t)atoi(p + 4);
    t->pidfd[t->n] = uvexec__pidfd_open(t->pid[t->n]);
    ck_assert_msg(t->pidfd[t->n] >= 0, "pidfd_open %d: %s", t->pid[t->n],
                  uvexec_strerror(t->pidfd[t->n]));
    t->n++;
    p += 4;
  }
}

/* tree_gone asserts that every process of the tree has exited (its pidfd
 * is readable at once), and closes the pidfds. */
static void tree_gone(tree_t *t) {
  int i;

  for (i = 0; i < t->n; i++) {
    struct pollfd pfd = {t->pidfd[i], POLLIN, 0};

    ck_assert_msg(poll(&pfd, 1, 0) == 1, "process %d of the tree still runs",
                  t->pid[i]);
    close(t->pidfd[i]);
  }
  t->n = 0;
}

/* count_lines counts the lines of out that begin with word. */
static int count_lines(const char *out, const char *word) {
  const char *p = out;
  int n = 0;

  for (; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
    if (strncmp(p, word, strlen(word)) == 0)
      n++;
  return n;
}

static void contain(probe_t *p, const char *parent) {
  ck_assert_int_eq(uvexec_cmd_set_contain(p->cmd, parent), 0);
}

/* ---- stopping the whole tree ---------------------------------------------- */

typedef enum { BY_CANCEL, BY_TIMEOUT, BY_KILL, BY_FREE } stop_how_t;

/* A tree that escapes a process group and a session: the helper, a
 * session leader, an orphan of a double fork and a plain child. Each way
 * of stopping the cmd ends all four, and the directory goes. */
static void stop_escaping_tree(stop_how_t how) {
  const char *parent = test_parent();
  tree_t t;
  probe_t p;

  probe_init(&p, helper_cmd("escape", "3", "wait", NULL));
  contain(&p, parent);
  probe_watch_stdout(&p);
  if (how == BY_TIMEOUT)
    ck_assert_int_eq(uvexec_cmd_set_timeout(p.cmd, 1000), 0);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  tree_read(&t, p.out.data);
  ck_assert_int_eq(t.n, 4);
  ck_assert_int_eq(subdirs(parent), 1);

  switch (how) {
  case BY_CANCEL:
    ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
    break;
  case BY_KILL:
    ck_assert_int_eq(uvexec_kill(p.cmd, SIGKILL), 0);
    break;
  case BY_FREE:
    /* The free kills the tree and waits for it: gone when it returns. */
    probe_drop_cmd(&p);
    tree_gone(&t);
    ck_assert_int_eq(subdirs(parent), 0);
    break;
  case BY_TIMEOUT:
    break;
  }
  if (how != BY_FREE) {
    probe_wait(&p);
    ck_assert_int_eq(p.done_calls, 1);
    if (how == BY_CANCEL)
      ck_assert_int_eq(p.status, UV_ECANCELED);
    else if (how == BY_TIMEOUT)
      ck_assert_int_eq(p.status, UV_ETIMEDOUT);
    else
      ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGKILL);
    tree_gone(&t);
  }
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}

START_TEST(test_escaping_tree_gone_after_cancel) {
  stop_escaping_tree(BY_CANCEL);
}
END_TEST

START_TEST(test_escaping_tree_gone_after_timeout) {
  stop_escaping_tree(BY_TIMEOUT);
}
END_TEST

START_TEST(test_escaping_tree_gone_after_kill) {
  stop_escaping_tree(BY_KILL);
}
END_TEST

START_TEST(test_escaping_tree_gone_after_free) {
  stop_escaping_tree(BY_FREE);
}
END_TEST

/* The cancel signal reaches every process of the tree, the session
 * leader and the orphan too: each answers SIGTERM with its own line, well
 * before the wait delay would have killed it. */
START_TEST(test_cancel_signal_reaches_every_process) {
  const char *parent = test_parent();
  char line[64];
  tree_t t;
  probe_t p;
  int i;

  probe_init(&p, helper_cmd("escape", "3", "term", NULL));
  contain(&p, parent);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(p.cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 60000), 0);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  tree_read(&t, p.out.data);
  ck_assert_int_eq(t.n, 4);
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UV_ECANCELED);
  for (i = 0; i < t.n; i++) {
    snprintf(line, sizeof line, "term %d\n", (int)t.pid[i]);
    ck_assert_msg(strstr(p.out.data, line) != NULL, "no \"%.*s\" in: %s",
                  (int)strlen(line) - 1, line, p.out.data);
  }
  tree_gone(&t);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

/* A fork loop is stopped in one go: cgroup.kill reaches the processes it
 * forks while the kill is under way. */
START_TEST(test_fork_loop_killed) {
  const char *parent = test_parent();
  probe_t p;

  probe_init(&p, helper_cmd("forkloop", "3000", NULL));
  contain(&p, parent);
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UV_ECANCELED);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

/* The output limit stops the whole tree too: the directory goes only
 * once the tree is empty, after the done callback. */
START_TEST(test_output_limit_stops_tree) {
  const char *parent = test_parent();
  probe_t p;

  probe_init(&p, helper_cmd("escape", "3", "wait", NULL));
  contain(&p, parent);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_set_output_limit(p.cmd, 8), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UV_ENOBUFS);
  ck_assert_int_eq(subdirs(parent), 0);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

typedef struct {
  int done;
  int status;
  int halted_status;
} group_seen_t;

static void on_group_member(uvexec_cmd_t *cmd, int status) {
  group_seen_t *g = uvexec_cmd_data(cmd);

  if (uvexec_exit_code(cmd) != 1)
    g->halted_status = status;
}

static void on_group_done(uvexec_group_t *group, int status) {
  group_seen_t *g = uvexec_group_data(group);

  g->done = 1;
  g->status = status;
}

/* A group's halt cancels a contained cmd: its whole tree goes. */
START_TEST(test_group_halt_stops_tree) {
  const char *parent = test_parent();
  uvexec_cmd_t *tree = helper_cmd("escape", "3", "wait", NULL);
  uvexec_cmd_t *fails = helper_cmd("die", "1", "failing on purpose", NULL);
  group_seen_t seen = {0, 0, 0};
  uvexec_group_t *g;

  ck_assert_int_eq(uvexec_cmd_set_contain(tree, parent), 0);
  uvexec_cmd_set_data(tree, &seen);
  uvexec_cmd_set_data(fails, &seen);
  g = uvexec_group_new(test_loop, 0);
  ck_assert_ptr_nonnull(g);
  uvexec_group_set_data(g, &seen);
  ck_assert_int_eq(uvexec_group_set_halt(g, UVEXEC_HALT_NOW), 0);
  ck_assert_int_eq(uvexec_group_add(g, tree, on_group_member), 0);
  ck_assert_int_eq(uvexec_group_add(g, fails, on_group_member), 0);
  ck_assert_int_eq(uvexec_group_wait(g, on_group_done), 0);
  run_loop_until(test_loop, &seen.done, TEST_TIMEOUT_MS);
  ck_assert_int_eq(seen.status, UVEXEC_EEXIT);
  ck_assert_int_eq(seen.halted_status, UV_ECANCELED);
  ck_assert_int_eq(subdirs(parent), 0);
  uvexec_group_free(g);
  uvexec_cmd_free(tree);
  uvexec_cmd_free(fails);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
}
END_TEST

/* ---- what the child leaves at its exit ------------------------------------ */

/* The child exits 0 and leaves three processes running (one of them in a
 * session of its own, one orphaned): they are stopped and counted, and
 * the run is a success. */
START_TEST(test_leftovers_stopped_and_counted) {
  const char *parent = test_parent();
  tree_t t;
  probe_t p;

  probe_init(&p, helper_cmd("escape", "3", "exit", NULL));
  contain(&p, parent);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_contain_leftovers(p.cmd), UV_EBUSY);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  tree_read(&t, p.out.data);
  ck_assert_int_eq(t.n, 3);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(uvexec_contain_leftovers(p.cmd), 3);
  tree_gone(&t);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

/* With a cancel signal and a wait delay, the leftovers get the signal
 * first, and may end by themselves: here each answers SIGTERM, so the
 * delay never runs out and the run is still a success. */
START_TEST(test_leftovers_get_the_cancel_signal) {
  const char *parent = test_parent();
  tree_t t;
  probe_t p;

  probe_init(&p, helper_cmd("escape", "3", "exit-term", NULL));
  contain(&p, parent);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(p.cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 60000), 0);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  tree_read(&t, p.out.data);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_int_eq(uvexec_contain_leftovers(p.cmd), 3);
  ck_assert_int_eq(count_lines(p.out.data, "term "), 3);
  tree_gone(&t);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

/* A grandchild holding stdout does not hold the done callback: it is one
 * of the leftovers. (Uncontained, done would wait for it.) */
START_TEST(test_grandchild_holding_stdout) {
  const char *parent = test_parent();
  const char *out;
  size_t len;
  probe_t p;

  probe_init(&p, helper_cmd("grandchild", "600000", NULL));
  contain(&p, parent);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  out = uvexec_stdout_data(p.cmd, &len);
  ck_assert_str_eq(out, "hi\n");
  ck_assert_int_eq(uvexec_contain_leftovers(p.cmd), 1);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

/* What the tree wrote before it was stopped is read to its end: the
 * streams are not cut while the tree lives. */
START_TEST(test_tree_output_never_lost) {
  const char *parent = test_parent();
  const char *out;
  size_t len, i;
  probe_t p;

  probe_init(&p, helper_cmd("tree-write", "1000000", NULL));
  contain(&p, parent);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  out = uvexec_stdout_data(p.cmd, &len);
  ck_assert_uint_eq(len, 1000000);
  for (i = 0; i < len; i++)
    if (out[i] != 'w')
      ck_abort_msg("byte %zu is 0x%02x", i, (unsigned char)out[i]);
  ck_assert_int_eq(uvexec_contain_leftovers(p.cmd), 1);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

/* A command that leaves nothing: done as usual, nothing counted. */
START_TEST(test_nothing_left) {
  const char *parent = test_parent();
  probe_t p;

  probe_init(&p, helper_cmd("echo", "hi", NULL));
  contain(&p, parent);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  ck_assert_str_eq(uvexec_stdout_data(p.cmd, NULL), "hi\n");
  ck_assert_int_eq(uvexec_contain_leftovers(p.cmd), 0);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

/* ---- suspend and resume --------------------------------------------------- */

static void on_timer_flag(uv_timer_t *t) {
  *(int *)t->data = 1;
}

static void on_closed_flag(uv_handle_t *h) {
  *(int *)h->data = 1;
}

/* run_for runs the loop for ms. */
static void run_for(uint64_t ms) {
  uv_timer_t timer;
  int fired = 0, closed = 0;

  ck_assert_int_eq(uv_timer_init(test_loop, &timer), 0);
  timer.data = &fired;
  ck_assert_int_eq(uv_timer_start(&timer, on_timer_flag, ms, 0), 0);
  run_loop_until(test_loop, &fired, TEST_TIMEOUT_MS);
  timer.data = &closed;
  uv_close((uv_handle_t *)&timer, on_closed_flag);
  run_loop_until(test_loop, &closed, TEST_TIMEOUT_MS);
}

/* stopped tells whether the process of pid is stopped (state T): a
 * SIGSTOP seen. */
static int stopped(pid_t pid) {
  char path[64], text[512], *p;
  FILE *f;
  size_t n;

  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  f = fopen(path, "re");
  if (f == NULL)
    return 0;
  n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  p = strrchr(text, ')');
  return p != NULL && p[1] == ' ' && p[2] == 'T';
}

/* frozen tells whether the cgroup the process of pid is in says it is
 * frozen (cgroup.events). */
static int frozen(pid_t pid) {
  char path[PATH_MAX], text[PATH_MAX / 4], *line, *end;
  FILE *f;
  size_t n;

  snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
  f = fopen(path, "re");
  if (f == NULL)
    return 0;
  n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  line = strstr(text, "0::");
  ck_assert_ptr_nonnull(line);
  end = strchr(line, '\n');
  if (end != NULL)
    *end = '\0';
  /* The directory is a child of the test's parent, inside the suite's. */
  snprintf(path, sizeof path, "%s/%s/cgroup.events", suite_dir,
           strstr(line, "/t") + 1);
  f = fopen(path, "re");
  if (f == NULL)
    return 0;
  n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  return strstr(text, "frozen 1") != NULL;
}

/* wait_until runs the loop in short slices until check(pid) holds. */
static void wait_until(int (*check)(pid_t), pid_t pid) {
  uint64_t waited = 0;

  while (!check(pid)) {
    ck_assert_msg(waited < TEST_TIMEOUT_MS, "the state never came");
    run_for(5);
    waited += 5;
  }
}

/* suspend_then_resume: a child that ticks every 10 ms makes no progress
 * while it is suspended (for 200 ms), and goes on once resumed. */
static void suspend_then_resume(int contained) {
  const char *parent = contained ? test_parent() : NULL;
  char next[32];
  size_t len;
  int ticks;
  probe_t p;
  pid_t pid;

  probe_init(&p, helper_cmd("tick", "10", NULL));
  if (contained)
    contain(&p, parent);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_suspend(p.cmd), UV_ESRCH); /* not started */
  probe_start(&p);
  pid = uvexec_pid(p.cmd);
  probe_wait_text(&p, "tick 2\n");
  ck_assert_int_eq(uvexec_suspend(p.cmd), 0);
  wait_until(contained ? frozen : stopped, pid);
  len = p.out.len;
  run_for(200);
  ck_assert_uint_eq(p.out.len, len);
  ticks = count_lines(p.out.data, "tick ");
  ck_assert_int_eq(uvexec_resume(p.cmd), 0);
  snprintf(next, sizeof next, "tick %d\n", ticks + 1);
  probe_wait_text(&p, next);
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(uvexec_suspend(p.cmd), UV_ESRCH); /* exited */
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  if (contained)
    parent_done(parent);
  probe_free(&p);
}

START_TEST(test_suspend_resume_contained) {
  suspend_then_resume(1);
}
END_TEST

START_TEST(test_suspend_resume_plain) {
  suspend_then_resume(0);
}
END_TEST

/* A cancel of a frozen tree thaws it, so that its processes can answer
 * their cancel signal, without waiting for the wait delay. */
START_TEST(test_cancel_thaws) {
  const char *parent = test_parent();
  probe_t p;

  probe_init(&p, helper_cmd("escape", "2", "term", NULL));
  contain(&p, parent);
  probe_watch_stdout(&p);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(p.cmd, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(p.cmd, 60000), 0);
  probe_start(&p);
  probe_wait_text(&p, "ready\n");
  ck_assert_int_eq(uvexec_suspend(p.cmd), 0);
  wait_until(frozen, uvexec_pid(p.cmd));
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UV_ECANCELED);
  ck_assert_int_eq(count_lines(p.out.data, "term "), 3);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

/* ---- sweeping what a crashed owner left ------------------------------------ */

/* A process starts a contained tree and is killed with SIGKILL, leaving
 * the tree and its directory. The sweep kills the tree and removes the
 * directory; it leaves the directory of a live owner (this one) alone. */
START_TEST(test_sweep_after_owner_killed) {
  const char *parent = test_parent();
  int sync[2], st;
  char buf[256];
  probe_t mine;
  ssize_t got;
  pid_t owner;
  tree_t t;

  ck_assert_int_eq(pipe2(sync, O_CLOEXEC), 0);
  owner = fork();
  ck_assert_int_ge(owner, 0);
  if (owner == 0) {
    uv_loop_t loop;
    probe_t p;

    close(sync[0]);
    if (uv_loop_init(&loop) != 0)
      _exit(1);
    test_loop = &loop;
    probe_init(&p, helper_cmd("escape", "2", "wait", NULL));
    contain(&p, parent);
    probe_watch_stdout(&p);
    probe_start(&p);
    probe_wait_text(&p, "ready\n");
    if (write(sync[1], p.out.data, p.out.len) < 0)
      _exit(1);
    for (;;)
      pause(); /* until killed */
  }
  close(sync[1]);
  got = read(sync[0], buf, sizeof buf - 1);
  close(sync[0]);
  ck_assert_int_gt(got, 0);
  buf[got] = '\0';
  tree_read(&t, buf);
  ck_assert_int_eq(t.n, 3);

  probe_init(&mine, helper_cmd("sleep", "60000", NULL));
  contain(&mine, parent);
  probe_start(&mine);
  ck_assert_int_eq(subdirs(parent), 2);

  ck_assert_int_eq(kill(owner, SIGKILL), 0);
  ck_assert_int_eq(waitpid(owner, &st, 0), owner);
  ck_assert_int_eq(uvexec_contain_sweep(parent), 1);
  ck_assert_int_eq(subdirs(parent), 1); /* the live owner's */
  tree_gone(&t);
  ck_assert_int_eq(uvexec_contain_sweep(parent), 0);

  ck_assert_int_eq(uvexec_cancel(mine.cmd), 0);
  probe_wait(&mine);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&mine);
}
END_TEST

START_TEST(test_sweep_errors) {
  ck_assert_int_eq(uvexec_contain_sweep("/nonexistent/uvexec"), UV_ENOENT);
}
END_TEST

/* ---- where the directory is made ------------------------------------------ */

/* cgroup_line runs `cat /proc/self/cgroup` contained and answers its
 * cgroup v2 line ("0::/..."), malloc'd. */
static char *cgroup_line(const char *parent) {
  char *line, *end;
  probe_t p;

  probe_init(&p, uvexec_command("cat", "/proc/self/cgroup", NULL));
  ck_assert_int_eq(uvexec_cmd_set_contain(p.cmd, parent), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(p.cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  line = strstr(uvexec_stdout_data(p.cmd, NULL), "0::");
  ck_assert_ptr_nonnull(line);
  line = strdup(line);
  end = strchr(line, '\n');
  if (end != NULL)
    *end = '\0';
  probe_free(&p);
  return line;
}

/* NULL is $UVEXEC_CGROUP_PARENT; the child's cgroup is a directory of
 * uvexec's there, named after this process. */
START_TEST(test_parent_from_environment) {
  const char *parent = test_parent();
  char want[64], *line;

  ck_assert_int_eq(setenv("UVEXEC_CGROUP_PARENT", parent, 1), 0);
  line = cgroup_line(NULL);
  unsetenv("UVEXEC_CGROUP_PARENT");
  snprintf(want, sizeof want, "/t%d/uvexec-%d-", (int)getpid(), (int)getpid());
  ck_assert_msg(strstr(line, want) != NULL, "%s has no %s", line, want);
  free(line);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
}
END_TEST

/* Without either, the directory is made in this process's own cgroup v2
 * directory. */
START_TEST(test_parent_own_cgroup) {
  char want[64], *line, own[PATH_MAX], text[4096], *mine;
  FILE *f;
  size_t n;

  unsetenv("UVEXEC_CGROUP_PARENT");
  f = fopen("/proc/self/cgroup", "re");
  ck_assert_ptr_nonnull(f);
  n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  mine = strstr(text, "0::");
  ck_assert_ptr_nonnull(mine);
  *strchr(mine, '\n') = '\0';
  snprintf(own, sizeof own, "%s", strcmp(mine, "0::/") == 0 ? "0::" : mine);
  line = cgroup_line(NULL);
  snprintf(want, sizeof want, "/uvexec-%d-", (int)getpid());
  ck_assert_msg(strncmp(line, own, strlen(own)) == 0 &&
                    strstr(line + strlen(own), want) == line + strlen(own),
                "%s is not a directory of uvexec's in %s", line, own);
  free(line);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
}
END_TEST

/* ---- refusals ------------------------------------------------------------- */

/* refused starts cmd and expects err, a message holding words, and
 * nothing left in parent (if any). */
static void refused(uvexec_cmd_t *cmd, int err, const char *words,
                    const char *parent) {
  const char *msg;

  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), err);
  msg = uvexec_cmd_error(cmd);
  ck_assert_ptr_nonnull(msg);
  ck_assert_msg(strstr(msg, words) != NULL, "\"%s\" has no \"%s\"", msg,
                words);
  if (parent != NULL)
    ck_assert_int_eq(subdirs(parent), 0);
  uvexec_cmd_free(cmd);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
}

START_TEST(test_refused_not_cgroup2) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);

  ck_assert_int_eq(uvexec_cmd_set_contain(cmd, "/tmp"), 0);
  refused(cmd, UV_ENOTSUP, "contain /tmp: not a cgroup v2 directory", NULL);
}
END_TEST

START_TEST(test_refused_no_parent) {
  const char *parent = test_parent();
  char missing[PATH_MAX];
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);

  snprintf(missing, sizeof missing, "%s/missing", parent);
  ck_assert_int_eq(uvexec_cmd_set_contain(cmd, missing), 0);
  refused(cmd, UV_ENOENT, missing, parent);
  parent_done(parent);
}
END_TEST

START_TEST(test_refused_with_cgroup) {
  const char *parent = test_parent();
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);

  ck_assert_int_eq(uvexec_cmd_set_contain(cmd, parent), 0);
  ck_assert_int_eq(uvexec_cmd_set_cgroup(cmd, parent), 0);
  refused(cmd, UV_EINVAL, "cgroup of its own", parent);
  parent_done(parent);
}
END_TEST

/* As another user, the parent (root's, 0755) cannot be written. */
START_TEST(test_refused_parent_not_writable) {
  const char *parent = test_parent();
  pid_t pid;
  int st;

  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    uv_loop_t loop;
    uvexec_cmd_t *cmd;
    int err;

    if (setgroups(0, NULL) != 0 || setgid(OTHER_UID) != 0 ||
        setuid(OTHER_UID) != 0 || uv_loop_init(&loop) != 0)
      _exit(10);
    cmd = uvexec_command("true", NULL);
    uvexec_cmd_set_contain(cmd, parent);
    err = uvexec_start(cmd, &loop, NULL);
    if (err != UV_EACCES || strstr(uvexec_cmd_error(cmd), parent) == NULL)
      _exit(11);
    uvexec_cmd_free(cmd);
    uv_run(&loop, UV_RUN_DEFAULT);
    _exit(uv_loop_close(&loop) == 0 ? 0 : 12);
  }
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                "as uid %d: status 0x%x", OTHER_UID, st);
  parent_done(parent);
}
END_TEST

/* The uv engine's child cannot be born in a cgroup: a clear refusal,
 * before any directory is made. */
START_TEST(test_refused_uv_engine) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);

  ck_assert_int_eq(uvexec_cmd_set_contain(cmd, "/nonexistent"), 0);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_UV), 0);
  refused(cmd, UV_ENOTSUP, "UVEXEC_ENGINE_CLONE", NULL);
}
END_TEST

/* Calls in the wrong state. */
START_TEST(test_guards) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  probe_t p;

  ck_assert_int_eq(uvexec_cmd_set_contain(NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_contain_leftovers(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_contain_leftovers(cmd), UV_EINVAL);
  ck_assert_int_eq(uvexec_suspend(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_resume(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_suspend(cmd), UV_ESRCH);
  ck_assert_int_eq(uvexec_resume(cmd), UV_ESRCH);
  uvexec_cmd_free(cmd);

  probe_init(&p, helper_cmd("exit", "0", NULL));
  probe_start(&p);
  ck_assert_int_eq(uvexec_cmd_set_contain(p.cmd, NULL), UV_EBUSY);
  probe_wait(&p);
  ck_assert_int_eq(uvexec_contain_leftovers(p.cmd), UV_EINVAL);
  probe_free(&p);
}
END_TEST

/* ---- pipelines ------------------------------------------------------------ */

typedef struct {
  int done;
  int status;
} pdone_t;

static void on_pipeline_done(uvexec_pipeline_t *pl, int status) {
  pdone_t *d = uvexec_pipeline_data(pl);

  d->done++;
  d->status = status;
}

/* contained_pipeline builds `helper escape 2 MODE | helper cat`, the last
 * member's output watched by p, contained under parent. */
static uvexec_pipeline_t *contained_pipeline(const char *mode, probe_t *p,
                                             const char *parent, pdone_t *d) {
  uvexec_cmd_t *last = helper_cmd("cat", NULL);
  uvexec_pipeline_t *pl;

  memset(p, 0, sizeof(*p));
  p->cmd = last;
  ck_assert_int_eq(uvexec_cmd_on_stdout(last, probe_stdout_cb), 0);
  pl = uvexec_pipeline(helper_cmd("escape", "2", mode, NULL), last, NULL);
  ck_assert_ptr_nonnull(pl);
  uvexec_cmd_set_data(last, p);
  uvexec_pipeline_set_data(pl, d);
  ck_assert_int_eq(uvexec_pipeline_set_contain(pl, parent), 0);
  ck_assert_int_eq(uvexec_pipeline_start(pl, test_loop, on_pipeline_done), 0);
  ck_assert_int_eq(subdirs(parent), 1); /* the pipeline's, one for all */
  return pl;
}

/* A cancel of a contained pipeline ends the tree every member started,
 * escaped or not, and the directory goes. */
START_TEST(test_pipeline_contained_cancel) {
  const char *parent = test_parent();
  uvexec_pipeline_t *pl;
  pdone_t d = {0, 0};
  tree_t t;
  probe_t p;

  pl = contained_pipeline("wait", &p, parent, &d);
  probe_wait_text(&p, "ready\n");
  tree_read(&t, p.out.data);
  ck_assert_int_eq(t.n, 3);
  ck_assert_int_eq(uvexec_pipeline_cancel(pl), 0);
  run_loop_until(test_loop, &d.done, TEST_TIMEOUT_MS);
  ck_assert_int_eq(d.status, UV_ECANCELED);
  tree_gone(&t);
  ck_assert_int_eq(subdirs(parent), 0);
  uvexec_pipeline_free(pl);
  tbuf_free(&p.out);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
}
END_TEST

/* The first member exits and leaves two processes holding the joint
 * pipe: they are stopped at its exit, so the last member sees end of file
 * and the pipeline succeeds; its done came once the tree was empty. */
START_TEST(test_pipeline_contained_leftovers) {
  const char *parent = test_parent();
  uvexec_pipeline_t *pl;
  pdone_t d = {0, 0};
  probe_t p;

  pl = contained_pipeline("exit", &p, parent, &d);
  run_loop_until(test_loop, &d.done, TEST_TIMEOUT_MS);
  ck_assert_int_eq(d.status, 0);
  ck_assert_int_eq(count_lines(p.out.data, "pid "), 2);
  ck_assert_int_eq(uvexec_contain_leftovers(uvexec_pipeline_cmd(pl, 0)), 2);
  ck_assert_int_eq(subdirs(parent), 0);
  uvexec_pipeline_free(pl);
  tbuf_free(&p.out);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
}
END_TEST

/* A member contained on its own cannot be a contained pipeline's. */
START_TEST(test_pipeline_contained_refused) {
  const char *parent = test_parent();
  uvexec_cmd_t *first = helper_cmd("echo", "x", NULL);
  uvexec_pipeline_t *pl;

  ck_assert_int_eq(uvexec_cmd_set_contain(first, parent), 0);
  pl = uvexec_pipeline(first, helper_cmd("cat", NULL), NULL);
  ck_assert_ptr_nonnull(pl);
  ck_assert_int_eq(uvexec_pipeline_set_contain(pl, parent), 0);
  ck_assert_int_eq(uvexec_pipeline_start(pl, test_loop, NULL), UV_EINVAL);
  ck_assert_ptr_nonnull(strstr(uvexec_pipeline_error(pl), "cgroup"));
  ck_assert_int_eq(subdirs(parent), 0);
  uvexec_pipeline_free(pl);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
}
END_TEST

/* ---- readiness ------------------------------------------------------------ */

static int tree_ready;

static void on_tree_ready(uvexec_cmd_t *cmd) {
  (void)cmd;
  tree_ready = 1;
  uv_stop(test_loop);
}

/* orphan_notifier is a shell whose notification comes from an orphan of
 * a double fork: not a descendant of the child any more, but in its
 * tree. */
static uvexec_cmd_t *orphan_notifier(void) {
  char script[PATH_MAX + 128];

  snprintf(script, sizeof script,
           "(%s notify READY=1 STATUS=orphan &); exec %s sleep 60000",
           helper_path(), helper_path());
  return uvexec_command("sh", "-c", script, NULL);
}

/* Contained, a notification from anywhere in the tree is the command's:
 * the orphan is heard. */
START_TEST(test_notify_from_the_tree) {
  const char *parent = test_parent();
  probe_t p;

  probe_init(&p, orphan_notifier());
  contain(&p, parent);
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_on_ready(p.cmd, on_tree_ready), 0);
  tree_ready = 0;
  probe_start(&p);
  run_loop_until(test_loop, &tree_ready, TEST_TIMEOUT_MS);
  ck_assert_str_eq(uvexec_notify_status(p.cmd), "orphan");
  ck_assert_int_eq(uvexec_cancel(p.cmd), 0);
  probe_wait(&p);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
  probe_free(&p);
}
END_TEST

/* Not contained, the orphan is nobody uvexec can tell is the command's:
 * it is not heard, and the ready timeout stops the command. */
START_TEST(test_notify_orphan_unheard) {
  probe_t p;

  probe_init(&p, orphan_notifier());
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_set_ready_timeout(p.cmd, 500), 0);
  ck_assert_int_eq(uvexec_cmd_set_new_session(p.cmd, 1), 0);
  ck_assert_int_eq(uvexec_cmd_on_ready(p.cmd, on_tree_ready), 0);
  tree_ready = 0;
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_ENOTREADY);
  ck_assert_int_eq(tree_ready, 0);
  ck_assert_ptr_null(uvexec_notify_status(p.cmd));
  probe_free(&p);
}
END_TEST

/* ---- services ------------------------------------------------------------- */

typedef struct {
  int started;
  int gone_at_start; /* at each later start, every pid of the run before
                        was gone */
  int done;
  char pids[256];
} svc_seen_t;

static void on_service(uvexec_service_t *s, uvexec_service_event_t event,
                       uvexec_cmd_t *run) {
  svc_seen_t *w = uvexec_service_data(s);

  if (event == UVEXEC_SERVICE_EXITED) {
    size_t len;
    const char *out = uvexec_stdout_data(run, &len);

    snprintf(w->pids, sizeof w->pids, "%s", out != NULL ? out : "");
  } else if (event == UVEXEC_SERVICE_STARTED) {
    const char *p = w->pids;

    /* The run before's processes: none may still run now. */
    while ((p = strstr(p, "pid ")) != NULL) {
      if (kill(atoi(p + 4), 0) == 0) {
        char path[64], text[256] = "";
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/stat", atoi(p + 4));
        f = fopen(path, "re");
        if (f != NULL) {
          if (fgets(text, sizeof text, f) == NULL)
            text[0] = '\0';
          fclose(f);
        }
        if (strstr(text, ") Z") == NULL)
          w->gone_at_start = 0; /* alive, not a zombie of init's */
      }
      p += 4;
    }
    if (++w->started == 3)
      uvexec_service_stop(s);
  } else if (event == UVEXEC_SERVICE_STOPPED) {
    w->done = 1;
    uv_stop(test_loop);
  }
}

/* A contained service's next run starts only once the run before's whole
 * tree is gone: the processes it left are never alive next to it. */
START_TEST(test_service_waits_for_the_tree) {
  const char *parent = test_parent();
  uvexec_cmd_t *cmd = helper_cmd("escape", "3", "exit", NULL);
  svc_seen_t w;
  uvexec_service_t *s;

  memset(&w, 0, sizeof w);
  w.gone_at_start = 1;
  ck_assert_int_eq(uvexec_cmd_set_contain(cmd, parent), 0);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  s = uvexec_service_new(test_loop, cmd);
  ck_assert_ptr_nonnull(s);
  uvexec_service_set_data(s, &w);
  ck_assert_int_eq(uvexec_service_on_event(s, on_service), 0);
  ck_assert_int_eq(uvexec_service_set_restart(s, UVEXEC_RESTART_ALWAYS), 0);
  ck_assert_int_eq(uvexec_service_set_backoff(s, 0, 0), 0);
  ck_assert_int_eq(uvexec_service_start(s), 0);
  run_loop_until(test_loop, &w.done, TEST_TIMEOUT_MS);
  ck_assert_int_eq(w.started, 3);
  ck_assert_int_eq(w.gone_at_start, 1);
  uvexec_service_free(s);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  parent_done(parent);
}
END_TEST

/* ---- many ---------------------------------------------------------------- */

/* 200 contained runs leave no directory and no fd. */
START_TEST(test_many_contained_runs) {
  const char *parent = test_parent();
  int i, fds = count_open_fds();

  for (i = 0; i < 200; i++) {
    uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);

    ck_assert_int_eq(uvexec_cmd_set_contain(cmd, parent), 0);
    ck_assert_int_eq(uvexec_run(cmd), 0);
    uvexec_cmd_free(cmd);
  }
  ck_assert_int_eq(count_open_fds(), fds);
  parent_done(parent);
}
END_TEST

int main(void) {
  Suite *s = suite_create("contain");
  int rc;

  ADD_TEST(s, test_guards);
  ADD_TEST(s, test_refused_uv_engine);
  if (!have_pidfd()) {
    fprintf(stderr, "contain: no pidfd in this process (valgrind?): the "
                    "contained cases are not run\n");
    return run_suite(s);
  }
  if (on_uv_engine()) {
    fprintf(stderr, "contain: the uv engine is the default here; "
                    "containment is the clone engine's: only the refusals "
                    "are run\n");
    return run_suite(s);
  }
  ADD_TEST(s, test_refused_not_cgroup2);
  ADD_TEST(s, test_sweep_errors);
  if (!make_suite_dir()) {
    fprintf(stderr, "contain: no writable cgroup v2 directory: the "
                    "contained cases are not run (not passed)\n");
    return run_suite(s);
  }
  ADD_TEST(s, test_escaping_tree_gone_after_cancel);
  ADD_TEST(s, test_escaping_tree_gone_after_timeout);
  ADD_TEST(s, test_escaping_tree_gone_after_kill);
  ADD_TEST(s, test_escaping_tree_gone_after_free);
  ADD_TEST(s, test_cancel_signal_reaches_every_process);
  ADD_TEST(s, test_fork_loop_killed);
  ADD_TEST(s, test_output_limit_stops_tree);
  ADD_TEST(s, test_group_halt_stops_tree);
  ADD_TEST(s, test_leftovers_stopped_and_counted);
  ADD_TEST(s, test_leftovers_get_the_cancel_signal);
  ADD_TEST(s, test_grandchild_holding_stdout);
  ADD_TEST(s, test_tree_output_never_lost);
  ADD_TEST(s, test_nothing_left);
  ADD_TEST(s, test_suspend_resume_contained);
  ADD_TEST(s, test_suspend_resume_plain);
  ADD_TEST(s, test_cancel_thaws);
  ADD_TEST(s, test_sweep_after_owner_killed);
  ADD_TEST(s, test_parent_from_environment);
  ADD_TEST(s, test_parent_own_cgroup);
  ADD_TEST(s, test_refused_no_parent);
  ADD_TEST(s, test_refused_with_cgroup);
  ADD_TEST(s, test_refused_parent_not_writable);
  ADD_TEST(s, test_pipeline_contained_cancel);
  ADD_TEST(s, test_pipeline_contained_leftovers);
  ADD_TEST(s, test_pipeline_contained_refused);
  ADD_TEST(s, test_service_waits_for_the_tree);
  ADD_TEST(s, test_notify_from_the_tree);
  ADD_TEST(s, test_notify_orphan_unheard);
  ADD_TEST(s, test_many_contained_runs);
  rc = run_suite(s);
  remove_suite_dir();
  return rc;
}
