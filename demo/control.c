/* SPDX-License-Identifier: MIT */
/* control — stopping commands: a timeout, a graceful cancel, a whole
 * process group at once, and a whole process tree (Go's CommandContext,
 * Cmd.Cancel, Cmd.WaitDelay and SysProcAttr.Setsid; systemd's
 * KillMode=control-group).
 *
 *   1. `sleep 10` with a timeout: killed when it runs out, done status
 *      UV_ETIMEDOUT.
 *   2. A shell that traps SIGTERM, cancelled with SIGTERM as the cancel
 *      signal once it prints "ready": it says goodbye and exits on its own
 *      well within the wait delay, so no SIGKILL is needed. Done status
 *      UV_ECANCELED, exit code 0.
 *   3. `sh -c 'setsid sleep 30 & sleep 30 & wait'` with a timeout (the
 *      script also prints the two sleeps' pids, to look for them
 *      afterwards), three times: in the caller's process group, where
 *      only the shell is killed and its sleeps live on; in a new session,
 *      where the timeout kills the whole group but the sleep that made a
 *      session of its own escapes; and contained (a cgroup of its own),
 *      where the timeout ends every process of the tree. Where no cgroup
 *      v2 directory can be written, the third says why and is skipped.
 *
 * Each step prints what happened and how long it took.
 *
 * Usage: control [timeout-ms]     (default: 500)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "uvexec.h"

#define WAIT_DELAY_MS 2000

typedef struct {
  uint64_t start_ns;
  int pids[8]; /* grandchildren the script told us about */
  int npids;
} step_t;

static uv_loop_t loop;

static double ms_since(const step_t *step) {
  return (double)(uv_hrtime() - step->start_ns) / 1e6;
}

/* why words err: the cmd's own message, or the code's when it has none. */
static const char *why(const uvexec_cmd_t *cmd, int err) {
  const char *msg = uvexec_cmd_error(cmd);

  return msg != NULL ? msg : uvexec_strerror(err);
}

static void on_done(uvexec_cmd_t *cmd, int status) {
  step_t *step = uvexec_cmd_data(cmd);
  int sig = uvexec_term_signal(cmd);

  printf("  [%5.0f ms] done: %s, \"%s\"; ", ms_since(step),
         uvexec_err_name(status), status == 0 ? "no error" : why(cmd, status));
  if (sig > 0)
    printf("the child was killed by signal %d (%s)\n", sig, strsignal(sig));
  else
    printf("the child exited with code %d\n", uvexec_exit_code(cmd));
}

/* run starts cmd and runs the loop until its done callback has been
 * called. The cmd is freed by the caller once it has read what it
 * wants. */
static void run(uvexec_cmd_t *cmd, step_t *step) {
  int err;

  uvexec_cmd_set_data(cmd, step);
  step->start_ns = uv_hrtime();
  err = uvexec_start(cmd, &loop, on_done);
  if (err != 0) {
    printf("  could not start: %s (%s)\n", why(cmd, err), uvexec_err_name(err));
    return;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
}

/* ---- 2: a graceful stop ------------------------------------------------- */

static void on_graceful_line(uvexec_cmd_t *cmd, const char *line, size_t len) {
  step_t *step = uvexec_cmd_data(cmd);

  printf("  [%5.0f ms] stdout | %.*s\n", ms_since(step), (int)len, line);
  if (len == 5 && memcmp(line, "ready", 5) == 0) {
    uvexec_cancel(cmd);
    printf("  [%5.0f ms] uvexec_cancel(): SIGTERM sent, SIGKILL in %d ms "
           "unless it is gone by then\n",
           ms_since(step), WAIT_DELAY_MS);
  }
}

/* ---- 3: process groups ------------------------------------------------- */

static void on_pid_line(uvexec_cmd_t *cmd, const char *line, size_t len) {
  step_t *step = uvexec_cmd_data(cmd);
  char buf[16];

  if (len > 0 && len < sizeof(buf) && step->npids < 8) {
    memcpy(buf, line, len);
    buf[len] = '\0';
    step->pids[step->npids++] = atoi(buf);
  }
}

/* running tells whether pid is a live process (a zombie waiting to be
 * reaped by init does not count). */
static int running(int pid) {
  char path[64], state = 'X';
  FILE *f;

  if (pid <= 0 || kill(pid, 0) != 0)
    return 0;
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return 0;
  if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
    state = 'X';
  fclose(f);
  return state != 'Z' && state != 'X';
}

static int count_running(const step_t *step) {
  int i, n = 0;

  for (i = 0; i < step->npids; i++)
    n += running(step->pids[i]);
  return n;
}

typedef enum { OWN_GROUP, NEW_SESSION, CONTAINED } how_t;

static void group_step(how_t how, uint64_t timeout_ms) {
  step_t step = {0};
  uvexec_cmd_t *cmd;
  int i, left, tries;

  cmd = uvexec_command("sh", "-c",
                       "setsid sleep 30 & echo $!; sleep 30 & echo $!; wait",
                       NULL);
  uvexec_cmd_on_stdout_line(cmd, on_pid_line);
  uvexec_cmd_set_timeout(cmd, timeout_ms);
  uvexec_cmd_set_new_session(cmd, how == NEW_SESSION);
  if (how == CONTAINED)
    uvexec_cmd_set_contain(cmd, NULL); /* in this process's own cgroup */
  run(cmd, &step);
  uvexec_cmd_free(cmd);
  if (step.npids == 0)
    return; /* it could not start */

  /* A process sent SIGKILL may take a moment to be gone: when the group
   * was signalled, look again for a while before counting. (A contained
   * tree is gone before its done callback.) */
  left = count_running(&step);
  for (tries = 0; how == NEW_SESSION && left > 1 && tries < 50; tries++) {
    uv_sleep(10);
    left = count_running(&step);
  }
  printf("  background sleeps still running: %d of %d\n", left, step.npids);

  if (left > 0) {
    /* Orphans now; nothing would stop them for 30 s. */
    for (i = 0; i < step.npids; i++)
      if (running(step.pids[i]))
        kill(step.pids[i], SIGKILL);
    printf("  (killed them by hand)\n");
  }
}

int main(int argc, char **argv) {
  long timeout_ms = argc > 1 ? strtol(argv[1], NULL, 10) : 500;
  step_t step = {0};
  uvexec_cmd_t *cmd;

  if (timeout_ms <= 0) {
    fprintf(stderr, "usage: control [timeout-ms]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  uv_loop_init(&loop);

  printf("1. a timeout: `sleep 10`, stopped after %ld ms\n", timeout_ms);
  cmd = uvexec_command("sleep", "10", NULL);
  uvexec_cmd_set_timeout(cmd, (uint64_t)timeout_ms);
  run(cmd, &step);
  uvexec_cmd_free(cmd);

  printf("\n2. a graceful stop: SIGTERM as the cancel signal, a wait delay "
         "of %d ms\n",
         WAIT_DELAY_MS);
  cmd = uvexec_command("sh", "-c",
                       "trap 'echo got TERM; exit 0' TERM; echo ready; "
                       "while :; do sleep 0.1; done",
                       NULL);
  uvexec_cmd_set_cancel_signal(cmd, SIGTERM);
  uvexec_cmd_set_wait_delay(cmd, WAIT_DELAY_MS);
  uvexec_cmd_on_stdout_line(cmd, on_graceful_line);
  run(cmd, &step);
  uvexec_cmd_free(cmd);

  printf("\n3a. a tree of processes in our own process group, timeout %ld ms\n",
         timeout_ms);
  group_step(OWN_GROUP, (uint64_t)timeout_ms);

  printf("\n3b. the same tree in a new session, timeout %ld ms\n", timeout_ms);
  group_step(NEW_SESSION, (uint64_t)timeout_ms);

  printf("\n3c. the same tree contained (a cgroup of its own), timeout %ld ms\n",
         timeout_ms);
  group_step(CONTAINED, (uint64_t)timeout_ms);

  uv_run(&loop, UV_RUN_DEFAULT); /* lets the freed cmds' handles close */
  return uv_loop_close(&loop) == 0 ? 0 : 1;
}
