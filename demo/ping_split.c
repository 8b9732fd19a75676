/* SPDX-License-Identifier: MIT */
/* ping_split — stdout and stderr captured apart (Go's Cmd.Stdout and
 * Cmd.Stderr set to two buffers, then Cmd.Run).
 *
 * `ping -c <count> <host>` runs through uvexec_run(); each stream lands in
 * its own buffer. The default host is the loopback address, so no network
 * is needed. This demo is as much about the error path as the happy one:
 * when ping is missing, not allowed to open its socket, or gets no answer,
 * the error comes back as a code and a message in Go's words, next to what
 * the command wrote on stderr. A failure explained that way is the demo
 * doing its job, so it exits 0 then, as it does on success; it exits 1
 * only when it has nothing to explain the failure with.
 *
 * Usage: ping_split [host [count]]     (default: 127.0.0.1 3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uvexec.h"

/* show prints a captured stream after its label, ending it with a newline
 * if the command did not. */
static void show(const char *label, const char *text) {
  size_t n = text != NULL ? strlen(text) : 0;

  if (text == NULL)
    printf("%s: (none: the program never started)\n", label);
  else
    printf("%s: %s%s", label, n > 0 ? text : "(empty)",
           n > 0 && text[n - 1] == '\n' ? "" : "\n");
}

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "127.0.0.1";
  const char *count = argc > 2 ? argv[2] : "3";
  const char *out, *errout, *msg;
  uvexec_cmd_t *cmd;
  char *end;
  int err;

  if (strtol(count, &end, 10) <= 0 || *end != '\0') {
    fprintf(stderr, "usage: ping_split [host [count]]\n");
    return 2;
  }

  cmd = uvexec_command("ping", "-c", count, host, NULL);
  if (cmd == NULL) {
    fprintf(stderr, "ping_split: out of memory\n");
    return 1;
  }
  uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE);
  uvexec_cmd_stderr(cmd, UVEXEC_CAPTURE);

  err = uvexec_run(cmd); /* starts the command and waits for it */
  out = uvexec_stdout_data(cmd, NULL);
  errout = uvexec_stderr_data(cmd, NULL);

  if (err != 0) {
    msg = uvexec_cmd_error(cmd);
    printf("Error: %s (%s)\n", msg != NULL ? msg : uvexec_strerror(err),
           uvexec_err_name(err));
    /* A program that never started has no streams: errout is NULL. */
    show("Stderr", errout);
    if (out != NULL && out[0] != '\0')
      show("Stdout", out);
    uvexec_cmd_free(cmd);
    return msg != NULL ? 0 : 1;
  }

  printf("Command output:\n%s", out);
  uvexec_cmd_free(cmd);
  return 0;
}
