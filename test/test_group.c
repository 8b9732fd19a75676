/* SPDX-License-Identifier: MIT */
/* Groups: N commands at a time from a queue (uvexec_group_*).
 *
 * Every test registers its cmds as jobs of one fixture, F. The done
 * callback of every job checks, each time it runs, what users rely on:
 * it is never called from inside uvexec_group_add, never twice for one
 * cmd and never after the group was freed; the counts add up to the cmds
 * added; no more than max_running cmds run, by the group's count and by
 * the children this process really has (read from /proc); and the cmds
 * started so far are a prefix of the order in which they were added. The
 * same checks run in output callbacks and on a 1 ms timer while jobs run.
 * Each test ends by asserting that every job got exactly one done
 * callback (or, after a free, none at all).
 *
 * Children that must be running at a given moment say so on stdout
 * ("start", "ready"); nothing sleeps to let things settle. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

#define MAX_JOBS 400

typedef struct job_s {
  int index;
  uvexec_cmd_t *cmd; /* NULL once freed */
  int done_calls;
  int status;
  int started;      /* seen with a pid */
  int no_start;     /* expected to fail its start: outside the order check */
  int free_in_done; /* free the cmd in its done callback */
  tbuf_t out;       /* stdout seen by the job's on_stdout */
  int ready;        /* "ready" or "start" seen on stdout */
  uint64_t done_ns; /* when its done callback ran */
} job_t;

static struct {
  uvexec_group_t *g;
  size_t max; /* the group's limit; 0: none */
  job_t jobs[MAX_JOBS];
  int njobs;
  int done_total;
  int done_order[MAX_JOBS]; /* job indexes in done-callback order */
  int in_add;               /* inside uvexec_group_add */
  int cb_in_add;            /* callbacks that came from inside it: bugs */
  int freed;                /* the group was freed */
  int calls_after_free;     /* callbacks after that: bugs */
  int max_running_seen;
  int max_children_seen;
  int wait_calls;
  int wait_status;
  int wait_add_result; /* what uvexec_group_add answered in the wait cb */
  int free_group_at;   /* free the group in this job's done cb; -1 none */
  int cancel_group_at; /* cancel the group in this job's done cb; -1 none */
  int free_in_wait;    /* free the group in the wait callback */
  int chain_to;        /* each done callback adds the next job up to this */
  int add_in_skipped;  /* the first skipped callback adds one more job */
  int added_in_skipped;
  uv_timer_t sampler;
  int sampling;
  job_t *longs[2]; /* run_halt: the jobs that hold their slots */
  int nlongs;
  int release_longs; /* ... until a failure's done callback lets them go */
  int ready_count;   /* jobs that said "ready" */
  int ready_wanted;  /* wait_ready: how many */
  int ready_reached;
  void (*on_ready)(job_t *job);
} F;

static void reset(uvexec_group_t *g, size_t max) {
  memset(&F, 0, sizeof(F));
  F.g = g;
  F.max = max;
  F.free_group_at = -1;
  F.cancel_group_at = -1;
  F.chain_to = -1;
  F.wait_add_result = 1;
}

/* ---- what every callback checks ------------------------------------------ */

static int scan_children(void);

/* live_children counts the processes whose parent is this one, zombies
 * included: from /proc/self/task/TID/children (every child is started by
 * this thread, the loop's), else by scan_children. */
static int live_children(void) {
  char path[64];
  FILE *f;

  snprintf(path, sizeof(path), "/proc/self/task/%ld/children",
           (long)syscall(SYS_gettid));
  f = fopen(path, "r");
  if (f != NULL) {
    int n = 0, c, in_number = 0;

    while ((c = fgetc(f)) != EOF) {
      if (c >= '0' && c <= '9') {
        n += !in_number;
        in_number = 1;
      } else {
        in_number = 0;
      }
    }
    fclose(f);
    return n;
  }
  return scan_children();
}

/* scan_children counts them the slow way: every /proc/PID/stat. */
static int scan_children(void) {
  DIR *d = opendir("/proc");
  struct dirent *de;
  int self = (int)getpid(), n = 0;

  ck_assert_ptr_nonnull(d);
  while ((de = readdir(d)) != NULL) {
    char path[300], buf[512], *p;
    FILE *f;
    int ppid;

    if (de->d_name[0] < '0' || de->d_name[0] > '9')
      continue;
    snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
    f = fopen(path, "r");
    if (f == NULL)
      continue; /* gone meanwhile */
    p = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (p == NULL || (p = strrchr(buf, ')')) == NULL)
      continue;
    /* ") S ppid ..." */
    if (sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == self)
      n++;
  }
  closedir(d);
  return n;
}

static int count(int what) {
  int n = uvexec_group_count(F.g, what);
  ck_assert_int_ge(n, 0);
  return n;
}

static void check_invariants(void) {
  int i, gap = -1, running, children;

  if (F.freed)
    return;
  ck_assert_int_eq(count(UVEXEC_COUNT_ALL), F.njobs);
  ck_assert_int_eq(count(UVEXEC_COUNT_QUEUED) + count(UVEXEC_COUNT_RUNNING) +
                       count(UVEXEC_COUNT_SUCCEEDED) +
                       count(UVEXEC_COUNT_FAILED) + count(UVEXEC_COUNT_SKIPPED),
                   F.njobs);
  running = count(UVEXEC_COUNT_RUNNING);
  if (running > F.max_running_seen)
    F.max_running_seen = running;
  children = live_children();
  if (children > F.max_children_seen)
    F.max_children_seen = children;
  if (F.max > 0) {
    ck_assert_msg((size_t)running <= F.max, "%d running, limit %zu", running,
                  F.max);
    ck_assert_msg((size_t)children <= F.max, "%d live children, limit %zu",
                  children, F.max);
  }
  /* Starts follow the order of adds: the started jobs are a prefix. */
  for (i = 0; i < F.njobs; i++) {
    job_t *job = &F.jobs[i];

    if (job->no_start)
      continue;
    if (job->cmd != NULL && uvexec_pid(job->cmd) > 0)
      job->started = 1;
    if (!job->started && gap < 0)
      gap = i;
    ck_assert_msg(!job->started || gap < 0,
                  "job %d started before job %d, which was added first", i,
                  gap);
  }
}

static void on_sample(uv_timer_t *t) {
  (void)t;
  check_invariants();
}

static void start_sampler(void) {
  ck_assert_int_eq(uv_timer_init(test_loop, &F.sampler), 0);
  ck_assert_int_eq(uv_timer_start(&F.sampler, on_sample, 1, 1), 0);
  F.sampling = 1;
}

static void stop_sampler(void) {
  if (F.sampling) {
    uv_close((uv_handle_t *)&F.sampler, NULL);
    F.sampling = 0;
  }
}

/* ---- jobs ---------------------------------------------------------------- */

static void job_done(uvexec_cmd_t *cmd, int status);

static job_t *job_of(uvexec_cmd_t *cmd) {
  job_t *job = uvexec_cmd_data(cmd);

  ck_assert_ptr_nonnull(job);
  ck_assert_ptr_eq(job->cmd, cmd);
  return job;
}

static void job_stdout(uvexec_cmd_t *cmd, const char *data, size_t len) {
  job_t *job = job_of(cmd);

  /* Output callbacks are the cmd's own: they may come after a free of
   * the group (a cancelled child's end of file), unlike done callbacks. */
  if (F.in_add)
    F.cb_in_add++;
  check_invariants();
  if (len == 0)
    return;
  tbuf_append(&job->out, data, len);
  if (!job->ready && (strstr(job->out.data, "ready\n") != NULL ||
                      strstr(job->out.data, "start\n") != NULL)) {
    job->ready = 1;
    F.ready_count++;
    if (F.ready_wanted > 0 && F.ready_count >= F.ready_wanted)
      F.ready_reached = 1;
    if (F.on_ready != NULL)
      F.on_ready(job);
  }
}

/* register_job makes cmd the next job, watching its stdout. */
static job_t *register_job(uvexec_cmd_t *cmd) {
  job_t *job;

  ck_assert_ptr_nonnull(cmd);
  ck_assert_int_lt(F.njobs, MAX_JOBS);
  job = &F.jobs[F.njobs];
  memset(job, 0, sizeof(*job));
  job->index = F.njobs;
  job->cmd = cmd;
  uvexec_cmd_set_data(cmd, job);
  return job;
}

/* add_job queues cmd as the next job and insists that the add succeeds. */
static job_t *add_job(uvexec_cmd_t *cmd) {
  job_t *job = register_job(cmd);
  int rc;

  ck_assert_int_eq(uvexec_cmd_on_stdout(cmd, job_stdout), 0);
  F.njobs++; /* before the add: the cmd may start inside it */
  F.in_add = 1;
  rc = uvexec_group_add(F.g, cmd, job_done);
  F.in_add = 0;
  ck_assert_msg(rc == 0, "uvexec_group_add gave %s", uvexec_err_name(rc));
  return job;
}

/* wait_ready runs the loop until n jobs said "ready" or "start". */
static void wait_ready(int n) {
  F.ready_wanted = n;
  F.ready_reached = F.ready_count >= n;
  run_loop_until(test_loop, &F.ready_reached, TEST_TIMEOUT_MS);
}

static job_t *add_helper(const char *sub, const char *arg) {
  return add_job(helper_cmd(sub, arg, NULL));
}

static job_t *add_nosuch(void) {
  job_t *job = add_job(uvexec_command("uvexec-no-such-program", NULL));

  job->no_start = 1;
  return job;
}

static void job_done(uvexec_cmd_t *cmd, int status) {
  job_t *job = job_of(cmd);

  if (F.in_add)
    F.cb_in_add++;
  if (F.freed) {
    F.calls_after_free++;
    return;
  }
  job->done_calls++;
  job->status = status;
  job->done_ns = uv_hrtime();
  F.done_order[F.done_total++] = job->index;
  check_invariants();

  if (status == UVEXEC_EEXIT && F.release_longs) {
    int k;

    for (k = 0; k < F.nlongs; k++)
      ck_assert_int_eq(uvexec_close_stdin(F.longs[k]->cmd), 0);
  }
  if (status == UVEXEC_ESKIPPED && F.add_in_skipped && !F.added_in_skipped) {
    F.added_in_skipped = 1;
    add_helper("exit", "0"); /* the group stopped: skipped as well */
  }
  if (F.chain_to > job->index && job->index + 1 == F.njobs)
    add_helper("echo", "chained");
  if (job->free_in_done) {
    uvexec_cmd_free(cmd);
    job->cmd = NULL;
  }
  if (F.cancel_group_at == job->index)
    ck_assert_int_eq(uvexec_group_cancel(F.g), 0);
  if (F.free_group_at == job->index) {
    uvexec_group_free(F.g);
    F.freed = 1;
  }
}

static void on_wait(uvexec_group_t *g, int status) {
  ck_assert_ptr_eq(g, F.g);
  if (F.in_add)
    F.cb_in_add++;
  if (F.freed) {
    F.calls_after_free++;
    return;
  }
  F.wait_calls++;
  F.wait_status = status;
  check_invariants();
  ck_assert_int_eq(count(UVEXEC_COUNT_QUEUED | UVEXEC_COUNT_RUNNING), 0);
  {
    uvexec_cmd_t *late = helper_cmd("exit", "0", NULL);

    F.wait_add_result = uvexec_group_add(g, late, job_done);
    if (F.wait_add_result != 0)
      uvexec_cmd_free(late);
  }
  stop_sampler();
  if (F.free_in_wait) {
    uvexec_group_free(g);
    F.freed = 1;
  }
}

static void wait_group(void) {
  ck_assert_int_eq(uvexec_group_wait(F.g, on_wait), 0);
  run_loop_until(test_loop, &F.wait_calls, TEST_TIMEOUT_MS);
}

/* finish asserts what every test shares, then frees the group and the
 * jobs' cmds. With expect_calls 0 no job may have had a callback. */
static void finish(int expect_calls) {
  int i;

  ck_assert_int_eq(F.cb_in_add, 0);
  ck_assert_int_eq(F.calls_after_free, 0);
  for (i = 0; i < F.njobs; i++)
    ck_assert_msg(F.jobs[i].done_calls == expect_calls,
                  "job %d had %d done callbacks, not %d", i,
                  F.jobs[i].done_calls, expect_calls);
  stop_sampler();
  if (!F.freed)
    uvexec_group_free(F.g);
  F.freed = 1;
  for (i = 0; i < F.njobs; i++) {
    uvexec_cmd_free(F.jobs[i].cmd);
    tbuf_free(&F.jobs[i].out);
  }
}

/* ---- the limit and the order --------------------------------------------- */

START_TEST(test_limit_never_exceeded) {
  int i;

  reset(uvexec_group_new(test_loop, 4), 4);
  start_sampler();
  for (i = 0; i < 40; i++)
    add_helper("group-job", "10");
  ck_assert_int_eq(count(UVEXEC_COUNT_RUNNING), 4);
  ck_assert_int_eq(count(UVEXEC_COUNT_QUEUED), 36);
  wait_group();
  ck_assert_int_eq(F.wait_status, 0);
  ck_assert_int_eq(F.wait_add_result, UV_EBUSY);
  ck_assert_int_eq(count(UVEXEC_COUNT_SUCCEEDED), 40);
  ck_assert_int_eq(F.max_running_seen, 4);
  ck_assert_int_ge(F.max_children_seen, 2); /* they did overlap */
  for (i = 0; i < 40; i++) {
    ck_assert_int_eq(F.jobs[i].status, 0);
    ck_assert_str_eq(F.jobs[i].out.data, "start\nend\n");
  }
  finish(1);
}
END_TEST

START_TEST(test_one_at_a_time_in_order) {
  char arg[16];
  int i;

  reset(uvexec_group_new(test_loop, 1), 1);
  for (i = 0; i < 12; i++) {
    snprintf(arg, sizeof(arg), "%d", i);
    add_helper("echo", arg);
  }
  wait_group();
  for (i = 0; i < 12; i++) {
    snprintf(arg, sizeof(arg), "%d\n", i);
    ck_assert_int_eq(F.done_order[i], i);
    ck_assert_str_eq(F.jobs[i].out.data, arg);
  }
  ck_assert_int_eq(F.max_running_seen, 1);
  finish(1);
}
END_TEST

START_TEST(test_no_limit) {
  int i;

  reset(uvexec_group_new(test_loop, 0), 0);
  for (i = 0; i < 25; i++)
    add_helper("group-job", "50");
  /* 0 means no limit: every add started its cmd at once. */
  ck_assert_int_eq(count(UVEXEC_COUNT_RUNNING), 25);
  ck_assert_int_eq(count(UVEXEC_COUNT_QUEUED), 0);
  wait_group();
  ck_assert_int_eq(F.wait_status, 0);
  finish(1);
}
END_TEST

START_TEST(test_many_quick_jobs_freed_in_done) {
  int i;

  reset(uvexec_group_new(test_loop, 8), 8);
  for (i = 0; i < 300; i++)
    add_job(helper_cmd("exit", "0", NULL))->free_in_done = 1;
  wait_group();
  ck_assert_int_eq(F.wait_status, 0);
  ck_assert_int_eq(count(UVEXEC_COUNT_SUCCEEDED), 300);
  finish(1);
}
END_TEST

/* ---- halt policies ----------------------------------------------------- */

/* run_halt runs 7 jobs, max 3 at a time, under policy how, with the one
 * failure (`exit 3`) at position fail_at. The first two other jobs are
 * long, so they hold two slots when the failure comes, whatever the speed
 * of the machine; the rest are quick. A long job is `cat` on a stdin
 * pipe: under UVEXEC_HALT_NOW it must be cancelled, otherwise the
 * failure's done callback closes its stdin and it finishes on its own. */
static void run_halt(uvexec_halt_t how, int fail_at) {
  const int n = 7;
  int i, is_long[7] = {0};

  reset(uvexec_group_new(test_loop, 3), 3);
  ck_assert_int_eq(uvexec_group_set_halt(F.g, how), 0);
  for (i = 0; i < n; i++) {
    if (i == fail_at) {
      add_helper("exit", "3");
    } else if (F.nlongs < 2) {
      uvexec_cmd_t *cat = helper_cmd("cat", NULL);

      ck_assert_int_eq(uvexec_cmd_stdin_pipe(cat), 0);
      is_long[i] = 1;
      F.longs[F.nlongs++] = add_job(cat);
    } else {
      add_helper("exit", "0");
    }
  }
  F.release_longs = how != UVEXEC_HALT_NOW;
  wait_group();
  ck_assert_int_eq(F.wait_status, UVEXEC_EEXIT);

  for (i = 0; i < n; i++) {
    int want;

    if (i == fail_at)
      want = UVEXEC_EEXIT;
    else if (is_long[i])
      want = how == UVEXEC_HALT_NOW ? UV_ECANCELED : 0;
    else if (i < fail_at || how == UVEXEC_HALT_NEVER)
      want = 0;
    else
      want = UVEXEC_ESKIPPED;
    ck_assert_msg(F.jobs[i].status == want,
                  "halt %d, failure at %d: job %d has %s, not %s", (int)how,
                  fail_at, i, uvexec_err_name(F.jobs[i].status),
                  uvexec_err_name(want));
    if (want == UVEXEC_ESKIPPED) {
      ck_assert_int_eq(uvexec_pid(F.jobs[i].cmd), UV_ESRCH);
      ck_assert_str_eq(uvexec_cmd_error(F.jobs[i].cmd),
                       uvexec_strerror(UVEXEC_ESKIPPED));
    }
  }
  ck_assert_int_eq(count(UVEXEC_COUNT_FAILED), how == UVEXEC_HALT_NOW ? 3 : 1);
  finish(1);
}

START_TEST(test_halt_never_first) {
  run_halt(UVEXEC_HALT_NEVER, 0);
}
END_TEST
START_TEST(test_halt_never_middle) {
  run_halt(UVEXEC_HALT_NEVER, 3);
}
END_TEST
START_TEST(test_halt_never_last) {
  run_halt(UVEXEC_HALT_NEVER, 6);
}
END_TEST
START_TEST(test_halt_soon_first) {
  run_halt(UVEXEC_HALT_SOON, 0);
}
END_TEST
START_TEST(test_halt_soon_middle) {
  run_halt(UVEXEC_HALT_SOON, 3);
}
END_TEST
START_TEST(test_halt_soon_last) {
  run_halt(UVEXEC_HALT_SOON, 6);
}
END_TEST
START_TEST(test_halt_now_first) {
  run_halt(UVEXEC_HALT_NOW, 0);
}
END_TEST
START_TEST(test_halt_now_middle) {
  run_halt(UVEXEC_HALT_NOW, 3);
}
END_TEST
START_TEST(test_halt_now_last) {
  run_halt(UVEXEC_HALT_NOW, 6);
}
END_TEST

/* Under UVEXEC_HALT_NOW each running cmd is stopped its own way: one with
 * SIGTERM that it handles (exit 0 after "got TERM"), one with SIGTERM
 * that it ignores and a wait delay, after which SIGKILL comes. The
 * failing job is added once both said "ready", from the output callback. */
static uint64_t failure_added_ns;

static void add_failure_when_ready(job_t *job) {
  (void)job;
  if (F.ready_count == 2) {
    failure_added_ns = uv_hrtime();
    add_helper("exit", "1"); /* the third slot */
    add_helper("exit", "0"); /* queued behind it: skipped */
  }
}

START_TEST(test_halt_now_uses_each_cancel_signal_and_wait_delay) {
  uvexec_cmd_t *handles, *ignores;

  reset(uvexec_group_new(test_loop, 3), 3);
  ck_assert_int_eq(uvexec_group_set_halt(F.g, UVEXEC_HALT_NOW), 0);
  F.on_ready = add_failure_when_ready;

  handles = helper_cmd("handle-term", NULL);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(handles, SIGTERM), 0);
  ignores = helper_cmd("ignore-term", NULL);
  ck_assert_int_eq(uvexec_cmd_set_cancel_signal(ignores, SIGTERM), 0);
  ck_assert_int_eq(uvexec_cmd_set_wait_delay(ignores, 300), 0);
  add_job(handles);
  add_job(ignores);
  wait_ready(2); /* and the failure was added from an output callback */
  ck_assert_int_eq(F.njobs, 4);
  /* After the wait, only done callbacks may add. */
  {
    uvexec_cmd_t *late = helper_cmd("exit", "0", NULL);

    ck_assert_int_eq(uvexec_group_wait(F.g, on_wait), 0);
    ck_assert_int_eq(uvexec_group_add(F.g, late, job_done), UV_EBUSY);
    uvexec_cmd_free(late);
  }
  run_loop_until(test_loop, &F.wait_calls, TEST_TIMEOUT_MS);

  ck_assert_int_eq(F.njobs, 4);
  ck_assert_int_eq(F.wait_status, UVEXEC_EEXIT);
  ck_assert_int_eq(F.jobs[2].status, UVEXEC_EEXIT);
  ck_assert_int_eq(F.jobs[3].status, UVEXEC_ESKIPPED);
  /* handle-term got its SIGTERM and exited cleanly. */
  ck_assert_int_eq(F.jobs[0].status, UV_ECANCELED);
  ck_assert_str_eq(F.jobs[0].out.data, "ready\ngot TERM\n");
  ck_assert_int_eq(uvexec_exit_code(handles), 0);
  /* ignore-term outlived SIGTERM and was killed after its wait delay. */
  ck_assert_int_eq(F.jobs[1].status, UV_ECANCELED);
  ck_assert_int_eq(uvexec_term_signal(ignores), SIGKILL);
  ck_assert_msg(F.jobs[1].done_ns - failure_added_ns >= 250 * 1000000ull,
                "killed %.0f ms after the failure, before its wait delay",
                (double)(F.jobs[1].done_ns - failure_added_ns) / 1e6);
  finish(1);
}
END_TEST

/* ---- start failures ------------------------------------------------------ */

START_TEST(test_start_failure_frees_slot) {
  int i;

  reset(uvexec_group_new(test_loop, 1), 1);
  add_nosuch();
  /* The failed start freed the slot at once: the next add starts. */
  ck_assert_int_eq(count(UVEXEC_COUNT_FAILED), 1);
  ck_assert_int_eq(count(UVEXEC_COUNT_RUNNING), 0);
  ck_assert_int_eq(F.jobs[0].done_calls, 0); /* through the loop */
  add_helper("echo", "a");
  ck_assert_int_eq(count(UVEXEC_COUNT_RUNNING), 1);
  add_nosuch();
  add_helper("echo", "b");
  add_nosuch();
  wait_group();

  ck_assert_int_eq(F.wait_status, UV_ENOENT);
  for (i = 0; i < 5; i++) {
    if (F.jobs[i].no_start) {
      ck_assert_int_eq(F.jobs[i].status, UV_ENOENT);
      ck_assert_ptr_nonnull(
          strstr(uvexec_cmd_error(F.jobs[i].cmd), "uvexec-no-such-program"));
    } else {
      ck_assert_int_eq(F.jobs[i].status, 0);
    }
  }
  ck_assert_int_eq(count(UVEXEC_COUNT_FAILED), 3);
  ck_assert_int_eq(count(UVEXEC_COUNT_SUCCEEDED), 2);
  finish(1);
}
END_TEST

START_TEST(test_start_failure_halts_soon) {
  reset(uvexec_group_new(test_loop, 2), 2);
  ck_assert_int_eq(uvexec_group_set_halt(F.g, UVEXEC_HALT_SOON), 0);
  add_helper("group-job", "50");
  add_nosuch();
  add_helper("exit", "0"); /* added after the halt: skipped */
  ck_assert_int_eq(count(UVEXEC_COUNT_SKIPPED), 1);
  wait_group();
  ck_assert_int_eq(F.wait_status, UV_ENOENT);
  ck_assert_int_eq(F.jobs[0].status, 0);
  ck_assert_int_eq(F.jobs[1].status, UV_ENOENT);
  ck_assert_int_eq(F.jobs[2].status, UVEXEC_ESKIPPED);
  finish(1);
}
END_TEST

/* ---- adds from callbacks ----------------------------------------------- */

START_TEST(test_add_from_done_callbacks) {
  reset(uvexec_group_new(test_loop, 2), 2);
  F.chain_to = 20;
  add_helper("echo", "first");
  wait_group();
  ck_assert_int_eq(F.njobs, 21);
  ck_assert_int_eq(count(UVEXEC_COUNT_SUCCEEDED), 21);
  ck_assert_str_eq(F.jobs[20].out.data, "chained\n");
  finish(1);
}
END_TEST

START_TEST(test_add_from_skipped_callback) {
  reset(uvexec_group_new(test_loop, 1), 1);
  F.add_in_skipped = 1;
  add_helper("group-job", "10000");
  add_helper("exit", "0");
  run_loop_until(test_loop, &F.jobs[0].ready, TEST_TIMEOUT_MS);
  ck_assert_int_eq(uvexec_group_cancel(F.g), 0);
  ck_assert_int_eq(F.jobs[1].done_calls, 0); /* through the loop */
  wait_group();
  ck_assert_int_eq(F.njobs, 3);
  ck_assert_int_eq(F.wait_status, UV_ECANCELED);
  ck_assert_int_eq(F.jobs[0].status, UV_ECANCELED);
  ck_assert_int_eq(F.jobs[1].status, UVEXEC_ESKIPPED);
  ck_assert_int_eq(F.jobs[2].status, UVEXEC_ESKIPPED);
  ck_assert_int_eq(count(UVEXEC_COUNT_SKIPPED), 2);
  finish(1);
}
END_TEST

/* ---- cancel
 * ------------------------------------------------------------------ */

START_TEST(test_cancel) {
  int i;

  reset(uvexec_group_new(test_loop, 2), 2);
  for (i = 0; i < 5; i++)
    add_helper("group-job", "10000");
  wait_ready(2);
  ck_assert_int_eq(uvexec_group_cancel(F.g), 0);
  ck_assert_int_eq(count(UVEXEC_COUNT_SKIPPED), 3);
  ck_assert_int_eq(count(UVEXEC_COUNT_QUEUED), 0);
  ck_assert_int_eq(uvexec_group_cancel(F.g), 0); /* twice: harmless */
  wait_group();
  ck_assert_int_eq(F.wait_status, UV_ECANCELED);
  for (i = 0; i < 5; i++)
    ck_assert_int_eq(F.jobs[i].status, i < 2 ? UV_ECANCELED : UVEXEC_ESKIPPED);
  finish(1);
}
END_TEST

START_TEST(test_cancel_from_done_callback) {
  reset(uvexec_group_new(test_loop, 2), 2);
  add_helper("exit", "0");
  add_helper("group-job", "10000");
  add_helper("exit", "0");
  add_helper("exit", "0");
  F.cancel_group_at = 0;
  wait_group();
  /* Job 0's slot went to job 2 before job 0's callback ran; that
   * callback cancelled the group, so job 2 was cancelled (before its
   * exit was seen) and job 3 never started. */
  ck_assert_int_eq(F.jobs[0].status, 0);
  ck_assert_int_eq(F.jobs[1].status, UV_ECANCELED);
  ck_assert_int_eq(F.jobs[2].status, UV_ECANCELED);
  ck_assert_int_eq(F.jobs[3].status, UVEXEC_ESKIPPED);
  ck_assert_int_eq(F.wait_status, UV_ECANCELED);
  finish(1);
}
END_TEST

/* ---- free in every state ---------------------------------------------------
 */

START_TEST(test_free_empty) {
  uvexec_group_free(NULL);
  uvexec_group_free(uvexec_group_new(test_loop, 3));
  uvexec_group_free(uvexec_group_new(NULL, 0));
}
END_TEST

START_TEST(test_free_queued_only) {
  uvexec_group_t *again;
  int i;

  /* A private group starts nothing before uvexec_group_run. */
  reset(uvexec_group_new(NULL, 2), 2);
  for (i = 0; i < 4; i++)
    add_helper("echo", "never");
  ck_assert_int_eq(count(UVEXEC_COUNT_QUEUED), 4);
  uvexec_group_free(F.g);
  F.freed = 1;
  /* The cmds were let go of untouched: another group may take them. */
  again = uvexec_group_new(test_loop, 2);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(uvexec_pid(F.jobs[i].cmd), UV_ESRCH);
    ck_assert_int_eq(uvexec_group_add(again, F.jobs[i].cmd, NULL), 0);
  }
  uvexec_group_free(again);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  finish(0);
}
END_TEST

START_TEST(test_free_running_and_queued) {
  int i;

  reset(uvexec_group_new(test_loop, 2), 2);
  for (i = 0; i < 5; i++)
    add_helper("group-job", "10000");
  wait_ready(2);
  uvexec_group_free(F.g);
  F.freed = 1;
  /* The running children were cancelled (SIGKILL): the loop runs out of
   * work once they are reaped, and nobody hears of it. */
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(uvexec_term_signal(F.jobs[0].cmd), SIGKILL);
  ck_assert_int_eq(uvexec_pid(F.jobs[2].cmd), UV_ESRCH);
  finish(0);
}
END_TEST

START_TEST(test_free_then_free_cmds_at_once) {
  int i;

  reset(uvexec_group_new(test_loop, 3), 3);
  for (i = 0; i < 6; i++)
    add_helper("group-job", "10000");
  wait_ready(3);
  finish(0); /* the group, then every cmd, running or not */
}
END_TEST

START_TEST(test_free_in_done_callback) {
  reset(uvexec_group_new(test_loop, 2), 2);
  add_helper("exit", "0");
  add_helper("group-job", "10000");
  add_helper("group-job", "10000");
  add_helper("exit", "0");
  F.free_group_at = 0;
  ck_assert_int_eq(uvexec_group_wait(F.g, on_wait), 0);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(F.jobs[0].done_calls, 1);
  ck_assert_int_eq(F.jobs[1].done_calls, 0);
  ck_assert_int_eq(F.jobs[3].done_calls, 0);
  ck_assert_int_eq(F.wait_calls, 0);
  F.jobs[0].done_calls = 0; /* for finish(0): the rest had none */
  finish(0);
}
END_TEST

START_TEST(test_free_in_skipped_callback) {
  int i;

  reset(uvexec_group_new(test_loop, 1), 1);
  add_helper("group-job", "10000");
  for (i = 0; i < 3; i++)
    add_helper("exit", "0");
  run_loop_until(test_loop, &F.jobs[0].ready, TEST_TIMEOUT_MS);
  F.free_group_at = 1; /* the first skipped one; two more are due */
  ck_assert_int_eq(uvexec_group_cancel(F.g), 0);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(F.jobs[1].done_calls, 1);
  ck_assert_int_eq(
      F.jobs[0].done_calls + F.jobs[2].done_calls + F.jobs[3].done_calls, 0);
  F.jobs[1].done_calls = 0;
  finish(0);
}
END_TEST

START_TEST(test_free_in_wait_callback) {
  int i;

  reset(uvexec_group_new(test_loop, 2), 2);
  for (i = 0; i < 4; i++)
    add_helper("exit", "0");
  F.free_in_wait = 1;
  wait_group();
  ck_assert_int_eq(F.wait_status, 0);
  finish(1);
}
END_TEST

/* ---- waiting
 * ------------------------------------------------------------------ */

START_TEST(test_wait_when_all_done_comes_through_loop) {
  reset(uvexec_group_new(test_loop, 2), 2);
  ck_assert_int_eq(uvexec_group_wait(F.g, on_wait), 0);
  ck_assert_int_eq(F.wait_calls, 0);
  ck_assert_int_eq(uvexec_group_wait(F.g, on_wait), UV_EALREADY);
  run_loop_until(test_loop, &F.wait_calls, TEST_TIMEOUT_MS);
  ck_assert_int_eq(F.wait_status, 0);
  ck_assert_int_eq(F.wait_add_result, UV_EBUSY);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(F.wait_calls, 1);
  finish(1);
}
END_TEST

/* ---- the private loop -------------------------------------------------------
 */

static int run_in_callback_result = 1;

static void run_inside(uvexec_cmd_t *cmd, int status) {
  job_done(cmd, status);
  run_in_callback_result = uvexec_group_run(F.g);
}

START_TEST(test_private_loop) {
  uvexec_group_t *on_loop;
  int i, rc, fds = count_open_fds();

  reset(uvexec_group_new(NULL, 2), 2);
  for (i = 0; i < 6; i++)
    add_helper(i == 4 ? "exit" : "group-job", i == 4 ? "5" : "10");
  ck_assert_int_eq(count(UVEXEC_COUNT_QUEUED), 6); /* nothing started */
  ck_assert_int_eq(count(UVEXEC_COUNT_RUNNING), 0);
  ck_assert_int_eq(uvexec_group_wait(F.g, on_wait), 0);
  rc = uvexec_group_run(F.g);
  ck_assert_int_eq(rc, UVEXEC_EEXIT);
  ck_assert_int_eq(F.wait_calls, 1);
  ck_assert_int_eq(F.wait_status, UVEXEC_EEXIT);
  ck_assert_int_eq(count(UVEXEC_COUNT_SUCCEEDED), 5);
  ck_assert_int_eq(count(UVEXEC_COUNT_FAILED), 1);
  ck_assert_int_eq(F.max_running_seen, 2);
  ck_assert_int_eq(count_open_fds(), fds); /* the loop is closed again */
  assert_no_zombies();
  finish(1);

  on_loop = uvexec_group_new(test_loop, 1);
  ck_assert_int_eq(uvexec_group_run(on_loop), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_run(NULL), UV_EINVAL);
  uvexec_group_free(on_loop);
}
END_TEST

START_TEST(test_private_loop_run_again_and_inside) {
  int fds = count_open_fds();
  uvexec_cmd_t *cmd;

  reset(uvexec_group_new(NULL, 1), 1);
  add_helper("echo", "one");
  ck_assert_int_eq(uvexec_group_run(F.g), 0);
  ck_assert_int_eq(F.jobs[0].done_calls, 1);
  /* Added to and run again, on a new private loop. */
  cmd = helper_cmd("echo", "two", NULL);
  register_job(cmd);
  F.njobs++;
  ck_assert_int_eq(uvexec_group_add(F.g, cmd, run_inside), 0);
  ck_assert_int_eq(uvexec_group_run(F.g), 0);
  ck_assert_int_eq(run_in_callback_result, UV_EBUSY);
  ck_assert_int_eq(count_open_fds(), fds);
  finish(1);
}
END_TEST

START_TEST(test_private_loop_free_inside_run) {
  int i, fds = count_open_fds();

  reset(uvexec_group_new(NULL, 2), 2);
  add_helper("exit", "0");
  for (i = 0; i < 4; i++)
    add_helper("group-job", "10000");
  F.free_group_at = 0;
  /* run returns once the cancelled children are reaped. */
  uvexec_group_run(F.g);
  ck_assert_int_eq(F.jobs[0].done_calls, 1);
  ck_assert_int_eq(count_open_fds(), fds);
  assert_no_zombies();
  F.jobs[0].done_calls = 0;
  finish(0);
}
END_TEST

/* ---- misuse
 * ------------------------------------------------------------------ */

START_TEST(test_guards) {
  uvexec_group_t *g = uvexec_group_new(test_loop, 1);
  uvexec_group_t *other = uvexec_group_new(test_loop, 1);
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  uvexec_cmd_t *queued = helper_cmd("exit", "0", NULL);
  uvexec_cmd_t *started = helper_cmd("exit", "0", NULL);
  uvexec_cmd_t *tail;
  uvexec_pipeline_t *pl;
  probe_t p;
  int x;

  ck_assert_ptr_nonnull(g);
  ck_assert_int_eq(uvexec_group_add(NULL, cmd, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_add(g, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_set_halt(g, (uvexec_halt_t)7), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_set_halt(NULL, UVEXEC_HALT_NOW), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_count(NULL, UVEXEC_COUNT_ALL), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_count(g, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_count(g, 64), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_wait(g, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_wait(NULL, on_wait), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_cancel(NULL), UV_EINVAL);
  uvexec_group_set_data(g, &x);
  ck_assert_ptr_eq(uvexec_group_data(g), &x);
  ck_assert_ptr_null(uvexec_group_data(NULL));

  probe_init(&p, started);
  probe_start(&p);
  ck_assert_int_eq(uvexec_group_add(g, started, NULL), UV_EALREADY);
  probe_wait(&p);

  ck_assert_int_eq(uvexec_group_add(g, cmd, NULL), 0); /* runs */
  ck_assert_int_eq(uvexec_group_add(g, cmd, NULL), UV_EALREADY);
  ck_assert_int_eq(uvexec_group_add(g, queued, NULL), 0); /* waits */
  ck_assert_int_eq(uvexec_group_add(g, queued, NULL), UV_EBUSY);
  ck_assert_int_eq(uvexec_group_add(other, queued, NULL), UV_EBUSY);
  /* A cmd belongs to one group or one pipeline, never both. */
  tail = helper_cmd("cat", NULL);
  ck_assert_ptr_null(uvexec_pipeline(queued, tail, (uvexec_cmd_t *)NULL));
  pl = uvexec_pipeline(helper_cmd("exit", "0", NULL), tail,
                       (uvexec_cmd_t *)NULL);
  ck_assert_ptr_nonnull(pl);
  ck_assert_int_eq(uvexec_group_add(g, tail, NULL), UV_EBUSY);
  uvexec_pipeline_free(pl);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_ALL), 2);
  ck_assert_int_eq(
      uvexec_group_count(g, UVEXEC_COUNT_QUEUED | UVEXEC_COUNT_RUNNING), 2);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_SUCCEEDED), 2);

  uvexec_group_free(g);
  uvexec_group_free(other);
  uvexec_cmd_free(cmd);
  uvexec_cmd_free(queued);
  probe_free(&p);
}
END_TEST

/* ---- retries and halting after N failures ---------------------------------
 *
 * The jobs are shell scripts that append a line to a file of the test's
 * at every try, so that the file tells how many tries ran, and in which
 * order. */

static struct {
  int done_calls;
  int status;
  uvexec_cmd_t *done_cmd;
  int stream_calls_from_copy; /* on_stdout given a cmd other than ours */
  uvexec_cmd_t *ours;
  uvexec_group_t *g;
  int cancel_on_ready;
  int free_on_ready;
  int waited;
} R;

static void tries_file(char *path) {
  int fd;

  strcpy(path, "/tmp/uvexec-retries-XXXXXX");
  fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
}

/* lines_in counts the lines of path, and copies them (at most cap - 1
 * bytes) into text when it is not NULL. */
static int lines_in(const char *path, char *text, size_t cap) {
  FILE *f = fopen(path, "r");
  int n = 0, c;
  size_t at = 0;

  ck_assert_ptr_nonnull(f);
  while ((c = fgetc(f)) != EOF) {
    n += c == '\n';
    if (text != NULL && at + 1 < cap)
      text[at++] = (char)c;
  }
  if (text != NULL)
    text[at] = '\0';
  fclose(f);
  return n;
}

static uvexec_cmd_t *script_cmd(const char *script, const char *file) {
  uvexec_cmd_t *cmd = uvexec_command("sh", "-c", script, "sh", file, NULL);

  ck_assert_ptr_nonnull(cmd);
  return cmd;
}

static void on_retry_done(uvexec_cmd_t *cmd, int status) {
  R.done_calls++;
  R.status = status;
  R.done_cmd = cmd;
}

static void on_retry_wait(uvexec_group_t *g, int status) {
  (void)g;
  R.waited = 1;
  R.status = status;
}

static void on_retry_stdout(uvexec_cmd_t *cmd, const char *data, size_t len) {
  if (len > 0 && cmd != R.ours) {
    R.stream_calls_from_copy++;
    ck_assert_ptr_eq(uvexec_cmd_data(cmd), &R);
  }
  if (len > 0 && memmem(data, len, "ready", 5) != NULL) {
    if (R.cancel_on_ready)
      uvexec_group_cancel(R.g);
    if (R.free_on_ready) {
      uvexec_group_free(R.g);
      R.g = NULL;
    }
  }
}

/* A flaky job fails twice and then succeeds: with retries left it is
 * done once, with success, and reads as its last try (its output, its exit
 * code); it counts once, as succeeded. */
START_TEST(test_retries_until_success) {
  char file[64];
  uvexec_group_t *g = uvexec_group_new(NULL, 1);
  uvexec_cmd_t *cmd;
  size_t len;
  const char *out;

  memset(&R, 0, sizeof(R));
  tries_file(file);
  cmd = script_cmd("echo try >>\"$1\"; n=$(wc -l <\"$1\"); echo \"out $n\"; "
                   "echo \"err $n\" >&2; [ \"$n\" -ge 3 ]",
                   file);
  R.ours = cmd;
  uvexec_cmd_set_data(cmd, &R);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_group_set_retries(g, 5), 0);
  ck_assert_int_eq(uvexec_group_add(g, cmd, on_retry_done), 0);
  ck_assert_int_eq(uvexec_group_run(g), 0);

  ck_assert_int_eq(lines_in(file, NULL, 0), 3);
  ck_assert_int_eq(R.done_calls, 1);
  ck_assert_ptr_eq(R.done_cmd, cmd);
  ck_assert_int_eq(R.status, 0);
  ck_assert_int_eq(uvexec_exit_code(cmd), 0);
  ck_assert_ptr_null(uvexec_cmd_error(cmd));
  out = uvexec_stdout_data(cmd, &len);
  ck_assert_str_eq(out, "out 3\n");
  ck_assert_str_eq(uvexec_stderr_data(cmd, NULL), "err 3\n");
  ck_assert_int_gt(uvexec_pid(cmd), 0);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_SUCCEEDED), 1);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_FAILED), 0);
  uvexec_group_free(g);
  uvexec_cmd_free(cmd);
  unlink(file);
}
END_TEST

/* A job that always fails runs 1 + retries times, then is done once with
 * the last try's failure and counts once, as failed. Its stream callbacks
 * saw every try, the retries' through the copy, with our data pointer. */
START_TEST(test_retries_exhausted) {
  char file[64];
  uvexec_group_t *g = uvexec_group_new(NULL, 2);
  uvexec_cmd_t *cmd;

  memset(&R, 0, sizeof(R));
  tries_file(file);
  cmd = script_cmd("echo x >>\"$1\"; n=$(wc -l <\"$1\"); echo \"try $n\"; "
                   "echo \"err $n\" >&2; exit $((6 + n))",
                   file);
  R.ours = cmd;
  uvexec_cmd_set_data(cmd, &R);
  ck_assert_int_eq(uvexec_cmd_on_stdout(cmd, on_retry_stdout), 0);
  ck_assert_int_eq(uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE), 0);
  ck_assert_int_eq(uvexec_group_set_retries(g, 2), 0);
  ck_assert_int_eq(uvexec_group_add(g, cmd, on_retry_done), 0);
  ck_assert_int_eq(uvexec_group_run(g), UVEXEC_EEXIT);

  ck_assert_int_eq(lines_in(file, NULL, 0), 3);
  ck_assert_int_eq(R.done_calls, 1);
  ck_assert_ptr_eq(R.done_cmd, cmd);
  ck_assert_int_eq(R.status, UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 9);
  ck_assert_str_eq(uvexec_cmd_error(cmd), "exit status 9");
  ck_assert_str_eq(uvexec_stderr_data(cmd, NULL), "err 3\n");
  ck_assert_int_eq(R.stream_calls_from_copy, 2);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_FAILED), 1);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_ALL), 1);
  uvexec_group_free(g);
  uvexec_cmd_free(cmd);
  unlink(file);
}
END_TEST

/* A retry runs at once in the slot its failure freed, before the jobs
 * queued behind it, as GNU parallel does: one at a time, A A A B. */
START_TEST(test_retry_keeps_its_place) {
  char file[64];
  uvexec_group_t *g = uvexec_group_new(NULL, 1);
  uvexec_cmd_t *a, *b;
  char text[64];

  memset(&R, 0, sizeof(R));
  tries_file(file);
  a = script_cmd("echo A >>\"$1\"; exit 1", file);
  b = script_cmd("echo B >>\"$1\"", file);
  ck_assert_int_eq(uvexec_group_set_retries(g, 2), 0);
  ck_assert_int_eq(uvexec_group_add(g, a, NULL), 0);
  ck_assert_int_eq(uvexec_group_add(g, b, NULL), 0);
  ck_assert_int_eq(uvexec_group_run(g), UVEXEC_EEXIT);
  lines_in(file, text, sizeof(text));
  ck_assert_str_eq(text, "A\nA\nA\nB\n");
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_FAILED), 1);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_SUCCEEDED), 1);
  uvexec_group_free(g);
  uvexec_cmd_free(a);
  uvexec_cmd_free(b);
  unlink(file);
}
END_TEST

/* What is not retried: a start failure (the same start would fail
 * again), and a cmd cancelled through the group. */
START_TEST(test_no_retry_after_start_failure_or_cancel) {
  char file[64];
  uvexec_group_t *g = uvexec_group_new(test_loop, 1);
  uvexec_cmd_t *missing = uvexec_command("/nonexistent/program", NULL);
  uvexec_cmd_t *cmd;

  memset(&R, 0, sizeof(R));
  tries_file(file);
  ck_assert_int_eq(uvexec_group_set_retries(g, 3), 0);
  ck_assert_int_eq(uvexec_group_add(g, missing, on_retry_done), 0);
  run_loop_until(test_loop, &R.done_calls, TEST_TIMEOUT_MS);
  ck_assert_int_eq(R.status, UV_ENOENT);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_FAILED), 1);

  memset(&R, 0, sizeof(R));
  R.g = g;
  R.cancel_on_ready = 1;
  cmd = script_cmd("echo x >>\"$1\"; echo ready; exec sleep 30", file);
  R.ours = cmd;
  uvexec_cmd_set_data(cmd, &R);
  ck_assert_int_eq(uvexec_cmd_on_stdout(cmd, on_retry_stdout), 0);
  ck_assert_int_eq(uvexec_group_add(g, cmd, on_retry_done), 0);
  run_loop_until(test_loop, &R.done_calls, TEST_TIMEOUT_MS);
  ck_assert_int_eq(R.status, UV_ECANCELED);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(R.done_calls, 1);
  ck_assert_int_eq(lines_in(file, NULL, 0), 1);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_FAILED), 2);
  uvexec_group_free(g);
  uvexec_cmd_free(missing);
  uvexec_cmd_free(cmd);
  unlink(file);
}
END_TEST

/* Freeing the group while a retry runs kills and reaps the retry's child
 * and frees its copy (the fixture's teardown finds no child, no fd and no
 * handle left); our cmd gets no callback and is still ours to free. */
START_TEST(test_free_during_retry) {
  char file[64];
  uvexec_cmd_t *cmd;

  memset(&R, 0, sizeof(R));
  tries_file(file);
  R.g = uvexec_group_new(test_loop, 1);
  R.free_on_ready = 1;
  cmd = script_cmd("echo x >>\"$1\"; n=$(wc -l <\"$1\"); "
                   "if [ \"$n\" -ge 2 ]; then echo ready; exec sleep 30; fi; "
                   "exit 1",
                   file);
  R.ours = cmd;
  uvexec_cmd_set_data(cmd, &R);
  ck_assert_int_eq(uvexec_cmd_on_stdout(cmd, on_retry_stdout), 0);
  ck_assert_int_eq(uvexec_group_set_retries(R.g, 3), 0);
  ck_assert_int_eq(uvexec_group_add(R.g, cmd, on_retry_done), 0);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_ptr_null(R.g);
  ck_assert_int_eq(R.done_calls, 0);
  ck_assert_int_eq(R.stream_calls_from_copy, 1);
  ck_assert_int_eq(lines_in(file, NULL, 0), 2);
  assert_no_zombies();
  uvexec_cmd_free(cmd);
  unlink(file);
}
END_TEST

/* A cmd with a stdin pipe is not retried: its bytes went to the first
 * try, and a copy would wait for input that never comes. */
START_TEST(test_no_retry_with_a_stdin_pipe) {
  char file[64];
  uvexec_group_t *g = uvexec_group_new(test_loop, 1);
  uvexec_cmd_t *cmd;

  memset(&R, 0, sizeof(R));
  tries_file(file);
  cmd = script_cmd("read x; echo \"$x\" >>\"$1\"; exit 1", file);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(cmd), 0);
  ck_assert_int_eq(uvexec_group_set_retries(g, 3), 0);
  ck_assert_int_eq(uvexec_group_add(g, cmd, on_retry_done), 0);
  ck_assert_int_eq(uvexec_write(cmd, "hello\n", 6), 0);
  ck_assert_int_eq(uvexec_close_stdin(cmd), 0);
  run_loop_until(test_loop, &R.done_calls, TEST_TIMEOUT_MS);
  ck_assert_int_eq(R.status, UVEXEC_EEXIT);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(R.done_calls, 1);
  ck_assert_int_eq(lines_in(file, NULL, 0), 1);
  uvexec_group_free(g);
  uvexec_cmd_free(cmd);
  unlink(file);
}
END_TEST

/* While a retry runs, the caller's cmd answers for it: its pid is the
 * retry's, and a cancel of it ends the retry, with no further try. */
static void on_retry_line(uvexec_cmd_t *cmd, const char *data, size_t len) {
  (void)data;
  if (len > 0 && cmd != R.ours) {
    /* The second try runs: act through the caller's cmd. */
    R.stream_calls_from_copy++;
    ck_assert_int_eq(uvexec_pid(R.ours), uvexec_pid(cmd));
    ck_assert_int_eq(uvexec_cancel(R.ours), 0);
  }
}

START_TEST(test_cancel_reaches_the_retry) {
  char file[64];
  uvexec_group_t *g = uvexec_group_new(test_loop, 1);
  uvexec_cmd_t *cmd;

  memset(&R, 0, sizeof(R));
  tries_file(file);
  cmd = script_cmd("echo x >>\"$1\"; n=$(wc -l <\"$1\"); "
                   "if [ \"$n\" -ge 2 ]; then echo second; exec sleep 30; fi; "
                   "exit 1",
                   file);
  R.ours = cmd;
  uvexec_cmd_set_data(cmd, &R);
  ck_assert_int_eq(uvexec_cmd_on_stdout(cmd, on_retry_line), 0);
  ck_assert_int_eq(uvexec_group_set_retries(g, 5), 0);
  ck_assert_int_eq(uvexec_group_add(g, cmd, on_retry_done), 0);
  run_loop_until(test_loop, &R.done_calls, TEST_TIMEOUT_MS);
  ck_assert_int_eq(R.status, UV_ECANCELED);
  ck_assert_int_eq(R.stream_calls_from_copy, 1);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
  ck_assert_int_eq(R.done_calls, 1);
  ck_assert_int_eq(lines_in(file, NULL, 0), 2);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_FAILED), 1);
  uvexec_group_free(g);
  uvexec_cmd_free(cmd);
  unlink(file);
}
END_TEST

/* --halt soon,fail=2: the group stops starting cmds at its second
 * failure, not its first; what was queued then is skipped. */
START_TEST(test_halt_after_two_failures) {
  static const char *const codes[] = {"0", "1", "0", "2", "0", "0"};
  uvexec_group_t *g = uvexec_group_new(NULL, 1);
  uvexec_cmd_t *cmds[6];
  int i;

  memset(&R, 0, sizeof(R));
  ck_assert_int_eq(uvexec_group_set_halt_after(g, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_set_halt_after(NULL, 2), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_set_retries(NULL, 2), UV_EINVAL);
  ck_assert_int_eq(uvexec_group_set_halt(g, UVEXEC_HALT_SOON), 0);
  ck_assert_int_eq(uvexec_group_set_halt_after(g, 2), 0);
  for (i = 0; i < 6; i++) {
    cmds[i] = helper_cmd("exit", codes[i], NULL);
    ck_assert_int_eq(uvexec_group_add(g, cmds[i], NULL), 0);
  }
  /* The wait reports the first failure. */
  ck_assert_int_eq(uvexec_group_run(g), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_SUCCEEDED), 2);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_FAILED), 2);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_SKIPPED), 2);
  ck_assert_int_eq(uvexec_exit_code(cmds[1]), 1);
  ck_assert_int_eq(uvexec_exit_code(cmds[3]), 2);
  ck_assert_int_le(uvexec_pid(cmds[4]), 0); /* never started */
  for (i = 0; i < 6; i++)
    uvexec_cmd_free(cmds[i]);
  uvexec_group_free(g);
}
END_TEST

/* Retries come before a halt: a job that fails on every try counts as one
 * failure, and only then does --halt now,fail=1 stop the group. */
START_TEST(test_retries_before_halt) {
  char file[64];
  uvexec_group_t *g = uvexec_group_new(NULL, 1);
  uvexec_cmd_t *a, *b;

  memset(&R, 0, sizeof(R));
  tries_file(file);
  a = script_cmd("echo A >>\"$1\"; exit 3", file);
  b = script_cmd("echo B >>\"$1\"", file);
  ck_assert_int_eq(uvexec_group_set_halt(g, UVEXEC_HALT_NOW), 0);
  ck_assert_int_eq(uvexec_group_set_retries(g, 1), 0);
  ck_assert_int_eq(uvexec_group_add(g, a, NULL), 0);
  ck_assert_int_eq(uvexec_group_add(g, b, NULL), 0);
  ck_assert_int_eq(uvexec_group_wait(g, on_retry_wait), 0);
  ck_assert_int_eq(uvexec_group_run(g), UVEXEC_EEXIT);
  ck_assert_int_eq(R.waited, 1);
  ck_assert_int_eq(lines_in(file, NULL, 0), 2);
  ck_assert_int_eq(uvexec_exit_code(a), 3);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_FAILED), 1);
  ck_assert_int_eq(uvexec_group_count(g, UVEXEC_COUNT_SKIPPED), 1);
  uvexec_group_free(g);
  uvexec_cmd_free(a);
  uvexec_cmd_free(b);
  unlink(file);
}
END_TEST

int main(void) {
  Suite *s = suite_create("group");

  ADD_TEST(s, test_limit_never_exceeded);
  ADD_TEST(s, test_one_at_a_time_in_order);
  ADD_TEST(s, test_no_limit);
  ADD_TEST(s, test_many_quick_jobs_freed_in_done);
  ADD_TEST(s, test_halt_never_first);
  ADD_TEST(s, test_halt_never_middle);
  ADD_TEST(s, test_halt_never_last);
  ADD_TEST(s, test_halt_soon_first);
  ADD_TEST(s, test_halt_soon_middle);
  ADD_TEST(s, test_halt_soon_last);
  ADD_TEST(s, test_halt_now_first);
  ADD_TEST(s, test_halt_now_middle);
  ADD_TEST(s, test_halt_now_last);
  ADD_TEST(s, test_halt_now_uses_each_cancel_signal_and_wait_delay);
  ADD_TEST(s, test_start_failure_frees_slot);
  ADD_TEST(s, test_start_failure_halts_soon);
  ADD_TEST(s, test_add_from_done_callbacks);
  ADD_TEST(s, test_add_from_skipped_callback);
  ADD_TEST(s, test_cancel);
  ADD_TEST(s, test_cancel_from_done_callback);
  ADD_TEST(s, test_free_empty);
  ADD_TEST(s, test_free_queued_only);
  ADD_TEST(s, test_free_running_and_queued);
  ADD_TEST(s, test_free_then_free_cmds_at_once);
  ADD_TEST(s, test_free_in_done_callback);
  ADD_TEST(s, test_free_in_skipped_callback);
  ADD_TEST(s, test_free_in_wait_callback);
  ADD_TEST(s, test_wait_when_all_done_comes_through_loop);
  ADD_TEST(s, test_private_loop);
  ADD_TEST(s, test_private_loop_run_again_and_inside);
  ADD_TEST(s, test_private_loop_free_inside_run);
  ADD_TEST(s, test_guards);
  ADD_TEST(s, test_retries_until_success);
  ADD_TEST(s, test_retries_exhausted);
  ADD_TEST(s, test_retry_keeps_its_place);
  ADD_TEST(s, test_no_retry_after_start_failure_or_cancel);
  ADD_TEST(s, test_free_during_retry);
  ADD_TEST(s, test_halt_after_two_failures);
  ADD_TEST(s, test_retries_before_halt);
  ADD_TEST(s, test_no_retry_with_a_stdin_pipe);
  ADD_TEST(s, test_cancel_reaches_the_retry);
  return run_suite(s);
}
