/* SPDX-License-Identifier: MIT */
/* ls_output — run a command and collect what it printed (Go's Cmd.Output).
 *
 * `ls -la` runs in the given directory (Cmd.Dir; the current one by
 * default) through the synchronous uvexec_output(), which needs no event
 * loop of the caller's. On failure the message reads as Go words it, and
 * whatever the command said on stderr is shown too.
 *
 * Usage: ls_output [directory]
 */
#include <stdio.h>
#include <stdlib.h>

#include "uvexec.h"

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : NULL;
  const char *out, *msg, *errout;
  uvexec_cmd_t *cmd;
  int err;

  cmd = uvexec_command("ls", "-la", NULL);
  if (cmd == NULL) {
    fprintf(stderr, "ls_output: out of memory\n");
    return 1;
  }
  if (dir != NULL && (err = uvexec_cmd_set_dir(cmd, dir)) != 0) {
    fprintf(stderr, "ls_output: %s\n", uvexec_strerror(err));
    uvexec_cmd_free(cmd);
    return 1;
  }

  err = uvexec_output(cmd);
  if (err != 0) {
    msg = uvexec_cmd_error(cmd);
    errout = uvexec_stderr_data(cmd, NULL);
    printf("Command failed: %s (%s)\n",
           msg != NULL ? msg : uvexec_strerror(err), uvexec_err_name(err));
    if (errout != NULL && errout[0] != '\0')
      printf("Its stderr:\n%s", errout);
    uvexec_cmd_free(cmd);
    return 1;
  }

  out = uvexec_stdout_data(cmd, NULL);
  printf("Command output:\n%s", out);
  uvexec_cmd_free(cmd);
  return 0;
}
