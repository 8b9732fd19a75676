/* SPDX-License-Identifier: MIT */
/* A program that uses an installed uvexec: it runs `echo hi`, captures
 * its output and checks it. Exit status 0 and "consumer: ok" mean the
 * header, the library and libuv were all found and work together, and that
 * the library's version is the header's (and the package's, when the build
 * passes it as UVEXEC_CONSUMER_EXPECT_VERSION). */
#include <stdio.h>
#include <string.h>

#include <uvexec.h>

int main(void) {
  uvexec_cmd_t *cmd;
  const char *out;
  size_t len;
  int err;

  if (uvexec_version() != UVEXEC_VERSION_HEX ||
      strcmp(uvexec_version_string(), UVEXEC_VERSION_STRING) != 0) {
    fprintf(stderr, "consumer: library %s (0x%06x), header %s\n",
            uvexec_version_string(), uvexec_version(), UVEXEC_VERSION_STRING);
    return 1;
  }
#ifdef UVEXEC_CONSUMER_EXPECT_VERSION
  if (strcmp(uvexec_version_string(), UVEXEC_CONSUMER_EXPECT_VERSION) != 0) {
    fprintf(stderr, "consumer: library %s, package %s\n",
            uvexec_version_string(), UVEXEC_CONSUMER_EXPECT_VERSION);
    return 1;
  }
#endif

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
    fprintf(stderr, "consumer: expected \"hi\\n\", got %zu bytes: %.*s\n", len,
            (int)len, out ? out : "");
    uvexec_cmd_free(cmd);
    return 1;
  }

  uvexec_cmd_free(cmd);
  printf("consumer: ok (uvexec %s)\n", uvexec_version_string());
  return 0;
}
