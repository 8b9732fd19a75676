/* SPDX-License-Identifier: MIT */
/* pipeline — `ls -la | grep '^d' | wc -l` without a shell, and what a
 * failing pipeline reports.
 *
 * 1. The directories in a directory (the current one by default) are
 *    counted by three programs joined with kernel pipes, run through the
 *    synchronous uvexec_pipeline_output(): the bytes go from ls to grep to
 *    wc and never through this program.
 * 2. `cat MISSING | grep x | wc -l` fails twice over: each member's exit
 *    code, signal and stderr are printed (bash's PIPESTATUS, and more),
 *    then the message, which names every member that failed.
 * 3. `yes | head -n 1` succeeds: yes was killed by SIGPIPE because head
 *    stopped reading, which is not a failure (bash's pipefail says 141).
 *
 * Usage: pipeline [directory]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uvexec.h"

/* report prints one line per member, then the pipeline's outcome. */
static void report(uvexec_pipeline_t *p, const char *const labels[],
                   int status) {
  size_t i, n = uvexec_pipeline_len(p);

  for (i = 0; i < n; i++) {
    uvexec_cmd_t *cmd = uvexec_pipeline_cmd(p, i);
    const char *err = uvexec_stderr_data(cmd, NULL);
    int sig = uvexec_term_signal(cmd);

    printf("  %zu  %-22s exit %d", i + 1, labels[i], uvexec_exit_code(cmd));
    if (sig > 0)
      printf(" signal %d (%s)", sig, strsignal(sig));
    if (err != NULL && err[0] != '\0')
      printf(" stderr: %.*s", (int)strcspn(err, "\n"), err);
    printf("\n");
  }
  if (status == 0)
    printf("  => success\n");
  else
    printf("  => %s (%s)\n", uvexec_pipeline_error(p), uvexec_err_name(status));
}

/* must stops the demo when a pipeline could not be made (no memory). */
static uvexec_pipeline_t *must(uvexec_pipeline_t *p) {
  if (p == NULL) {
    fprintf(stderr, "pipeline: out of memory\n");
    exit(1);
  }
  return p;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  static const char *const count_labels[] = {"ls -la", "grep '^d'", "wc -l"};
  static const char *const fail_labels[] = {"cat /nonexistent/file", "grep x",
                                            "wc -l"};
  static const char *const yes_labels[] = {"yes", "head -n 1"};
  uvexec_pipeline_t *p;
  uvexec_cmd_t *ls;
  const char *out;
  int status, failed = 0;

  /* 1. */
  printf("1. ls -la %s | grep '^d' | wc -l\n", dir);
  ls = uvexec_command("ls", "-la", NULL);
  if (ls != NULL)
    uvexec_cmd_set_dir(ls, dir);
  p = must(uvexec_pipeline(ls, uvexec_command("grep", "^d", NULL),
                           uvexec_command("wc", "-l", NULL), NULL));
  status = uvexec_pipeline_output(p);
  if (status == 0) {
    out = uvexec_stdout_data(uvexec_pipeline_cmd(p, 2), NULL);
    printf("  directories (with . and ..): %s", out);
  } else {
    report(p, count_labels, status);
    failed = 1;
  }
  uvexec_pipeline_free(p);

  /* 2. */
  printf("\n2. cat /nonexistent/file | grep x | wc -l\n");
  p = must(uvexec_pipeline(uvexec_command("cat", "/nonexistent/file", NULL),
                           uvexec_command("grep", "x", NULL),
                           uvexec_command("wc", "-l", NULL), NULL));
  status = uvexec_pipeline_output(p);
  report(p, fail_labels, status);
  if (status != UVEXEC_EPIPELINE)
    failed = 1;
  uvexec_pipeline_free(p);

  /* 3. */
  printf("\n3. yes | head -n 1\n");
  p = must(uvexec_pipeline(uvexec_command("yes", NULL),
                           uvexec_command("head", "-n", "1", NULL), NULL));
  status = uvexec_pipeline_output(p);
  out = uvexec_stdout_data(uvexec_pipeline_cmd(p, 1), NULL);
  printf("  output: %s", out != NULL ? out : "(none)\n");
  report(p, yes_labels, status);
  if (status != 0)
    failed = 1;
  uvexec_pipeline_free(p);
  return failed;
}
