/* SPDX-License-Identifier: MIT */
/* exec_replace — replace this process with another program (Go's
 * exec.LookPath followed by syscall.Exec).
 *
 * uvexec_lookpath() finds `ls` the way the replacement will find it, then
 * uvexec_exec() turns this process into `ls -l`: same pid, the same open
 * stdout, nothing of this program left once it succeeds. It flushes stdio
 * first, so the line printed before it is not lost. It returns only on
 * failure, and then this program carries on as it was.
 *
 * Usage: exec_replace [program [args...]]     (default: ls -l)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "uvexec.h"

/* why words err: the cmd's own message, or the code's when it has none. */
static const char *why(const uvexec_cmd_t *cmd, int err) {
  const char *msg = uvexec_cmd_error(cmd);

  return msg != NULL ? msg : uvexec_strerror(err);
}

int main(int argc, char **argv) {
  static const char *const ls[] = {"ls", "-l", NULL};
  const char *const *args = argc > 1 ? (const char *const *)argv + 1 : ls;
  uvexec_cmd_t *cmd;
  char *path;
  int err;

  err = uvexec_lookpath(args[0], &path);
  if (err != 0) {
    printf("lookpath %s: %s (%s)\n", args[0], uvexec_strerror(err),
           uvexec_err_name(err));
    free(path); /* set even on UVEXEC_EDOT */
    return 1;
  }
  printf("found %s at %s; pid %d becomes it now\n", args[0], path,
         (int)getpid());
  fflush(stdout);
  free(path);

  cmd = uvexec_command_argv(args);
  if (cmd == NULL) {
    fprintf(stderr, "exec_replace: out of memory\n");
    return 1;
  }
  err = uvexec_exec(cmd);

  /* Only reached when the replacement failed. */
  printf("exec failed: %s (%s)\n", why(cmd, err), uvexec_err_name(err));
  uvexec_cmd_free(cmd);
  return 1;
}
