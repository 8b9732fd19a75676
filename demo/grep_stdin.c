/* SPDX-License-Identifier: MIT */
/* grep_stdin — feed a command its input from memory (Go's Cmd.Stdin).
 *
 * `grep hello` reads two lines handed over with uvexec_cmd_set_stdin(),
 * which copies them and closes the child's stdin once they are written;
 * uvexec_output() collects the lines grep kept. grep exits with status 1
 * when nothing matches, which comes back as UVEXEC_EEXIT, "exit status 1".
 *
 * Usage: grep_stdin [pattern]     (default: hello)
 */
#include <stdio.h>
#include <string.h>

#include "uvexec.h"

int main(int argc, char **argv) {
  static const char input[] = "hello world\ngoodbye world";
  const char *pattern = argc > 1 ? argv[1] : "hello";
  const char *msg;
  uvexec_cmd_t *cmd;
  int err;

  cmd = uvexec_command("grep", pattern, NULL);
  if (cmd == NULL) {
    fprintf(stderr, "grep_stdin: out of memory\n");
    return 1;
  }
  err = uvexec_cmd_set_stdin(cmd, input, strlen(input));
  if (err == 0)
    err = uvexec_output(cmd);
  if (err != 0) {
    msg = uvexec_cmd_error(cmd);
    printf("Error: %s\n", msg != NULL ? msg : uvexec_strerror(err));
    uvexec_cmd_free(cmd);
    return 1;
  }

  printf("grep found: %s", uvexec_stdout_data(cmd, NULL));
  uvexec_cmd_free(cmd);
  return 0;
}
