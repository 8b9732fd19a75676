/* A program that uses an installed uvexec: it runs `echo hi`, captures
 * its output and checks it. Exit status 0 and "consumer: ok" mean the
 * header, the library and libuv were all found and work together. */
#include <stdio.h>
#include <string.h>

#include <uvexec.h>

int main(void) {
  uvexec_cmd_t *cmd;
  const char *out;
  size_t len;
  int err;

  cmd = uvexec_command("echo", "hi", NULL);
  if (cmd == NULL) {
    fprintf(stderr, "consumer: uvexec_command failed\n");
    return 1;
  }

  err = uvexec_output(cmd);
  if (err != 0) {
    fprintf(stderr, "consumer: uvexec_output: %s\n", uvexec_strerror(err));
    uvexec_cmd_free(cmd);
    return 1;
  }

  out = uvexec_stdout_data(cmd, &len);
  if (out == NULL || len != 3 || memcmp(out, "hi\n", 3) != 0) {
    fprintf(stderr, "consumer: expected \"hi\\n\", got %zu bytes: %.*s\n",
            len, (int)len, out ? out : "");
    uvexec_cmd_free(cmd);
    return 1;
  }

  uvexec_cmd_free(cmd);
  printf("consumer: ok\n");
  return 0;
}
