/* parallel — several commands at once on one loop, each reported the
 * moment it is over, then a summary.
 *
 * Every command is started with uvexec_start() on the same loop, which
 * then runs them side by side: a slow one, a fast one, one that exits
 * with status 3, one killed by a signal, and one that does not exist
 * (which fails in uvexec_start itself, so it is reported right away and
 * its done callback never runs). stdout and stderr are captured apart.
 *
 * Usage: parallel [shell-command...]     (default: the five above)
 */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "uvexec.h"

#define MAX_JOBS 16

typedef struct {
  char label[24];
  const char *argv[4];
  uvexec_cmd_t *cmd;
  int started; /* uvexec_start succeeded */
  int status;  /* the done status, or the start error */
  double ms;   /* from the start to the done callback */
} job_t;

static job_t jobs[MAX_JOBS];
static size_t njobs;
static uint64_t start_ns;

static double ms_since_start(void) {
  return (double)(uv_hrtime() - start_ns) / 1e6;
}

static void add_job(const char *label, const char *a0, const char *a1,
                    const char *a2) {
  job_t *job = &jobs[njobs++];

  snprintf(job->label, sizeof(job->label), "%s", label);
  job->argv[0] = a0;
  job->argv[1] = a1;
  job->argv[2] = a1 != NULL ? a2 : NULL;
  job->argv[3] = NULL;
}

static const char *message(const job_t *job) {
  const char *msg = uvexec_cmd_error(job->cmd);

  if (job->status == 0)
    return "ok";
  return msg != NULL ? msg : uvexec_strerror(job->status);
}

/* show prints a captured stream on one line, without its last newline. */
static void show(const char *name, const char *text) {
  size_t n = text != NULL ? strlen(text) : 0;

  if (n > 0 && text[n - 1] == '\n')
    n--;
  if (n > 0)
    printf("  %s: %.*s\n", name, (int)n, text);
}

static void on_done(uvexec_cmd_t *cmd, int status) {
  job_t *job = uvexec_cmd_data(cmd);

  job->status = status;
  job->ms = ms_since_start();
  printf("[%4.0f ms] %-8s finished: %s", job->ms, job->label, message(job));
  if (status != 0)
    printf(" (%s)", uvexec_err_name(status));
  printf(", exit code %d\n", uvexec_exit_code(cmd));
  show("stdout", uvexec_stdout_data(cmd, NULL));
  show("stderr", uvexec_stderr_data(cmd, NULL));
  /* The cmd is kept for the summary; it is freed at the end. */
}

int main(int argc, char **argv) {
  size_t i, ok = 0;
  uv_loop_t loop;
  int a;

  if (argc > 1) {
    for (a = 1; a < argc && njobs < MAX_JOBS; a++) {
      char label[24];

      snprintf(label, sizeof(label), "#%d", a);
      add_job(label, "sh", "-c", argv[a]);
    }
  } else {
    add_job("slow", "sh", "-c", "sleep 0.3; echo a");
    add_job("fast", "echo", "b", NULL);
    add_job("exit-3", "sh", "-c", "echo about to fail >&2; exit 3");
    add_job("signal", "sh", "-c", "kill -TERM $$");
    add_job("missing", "nosuch-program", NULL, NULL);
  }

  setvbuf(stdout, NULL, _IOLBF, 0);
  uv_loop_init(&loop);
  start_ns = uv_hrtime();

  for (i = 0; i < njobs; i++) {
    job_t *job = &jobs[i];

    job->cmd = uvexec_command_argv(job->argv);
    if (job->cmd == NULL) {
      fprintf(stderr, "parallel: out of memory\n");
      return 1;
    }
    uvexec_cmd_set_data(job->cmd, job);
    uvexec_cmd_stdout(job->cmd, UVEXEC_CAPTURE);
    uvexec_cmd_stderr(job->cmd, UVEXEC_CAPTURE);
    job->status = uvexec_start(job->cmd, &loop, on_done);
    job->started = job->status == 0;
    if (job->started) {
      printf("[%4.0f ms] %-8s started, pid %d\n", ms_since_start(), job->label,
             uvexec_pid(job->cmd));
    } else {
      job->ms = ms_since_start();
      printf("[%4.0f ms] %-8s not started: %s (%s)\n", job->ms, job->label,
             message(job), uvexec_err_name(job->status));
    }
  }

  uv_run(&loop, UV_RUN_DEFAULT); /* until every command is done */

  for (i = 0; i < njobs; i++)
    ok += jobs[i].status == 0;
  printf("\nsummary: %zu commands, %zu succeeded, %zu failed, %.0f ms in all\n",
         njobs, ok, njobs - ok, ms_since_start());
  for (i = 0; i < njobs; i++) {
    printf("  %-8s %5.0f ms  %s%s\n", jobs[i].label, jobs[i].ms,
           message(&jobs[i]), jobs[i].started ? "" : " (not started)");
    uvexec_cmd_free(jobs[i].cmd);
  }

  uv_run(&loop, UV_RUN_DEFAULT); /* lets the freed cmds' handles close */
  uv_loop_close(&loop);
  return 0;
}
