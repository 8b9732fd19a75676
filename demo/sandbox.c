/* SPDX-License-Identifier: MIT */
/* sandbox — run a command line with less than this program's powers: no
 * network, its own pids, write access to one directory only, and show
 * what it could and could not do.
 *
 * The child gets new pid, network, mount, IPC and UTS namespaces (and a
 * user namespace when this program is not root), its own /proc, and
 * Landlock rules: the system's directories to read and run, /proc to
 * read, /dev/null to write, and DIR to read and write; nothing else. No
 * helper program and no setuid binary: uvexec's clone engine builds it
 * all with system calls between the clone and the exec.
 *
 * Usage: sandbox [DIR [COMMAND [ARGS...]]]
 *
 *   DIR      the one directory it may write (default: a new temporary
 *            directory, removed after)
 *   COMMAND  default: a shell script that tries to list processes, see
 *            the network, and write inside DIR and outside it
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

static const char script[] =
    "echo \"I am pid $$ and I see $(ls /proc | grep -c '^[0-9]') "
    "processes\"\n"
    "echo \"network interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | "
    "tr -d ' ' | tr '\\n' ' ')\"\n"
    "if { echo hi >\"$1/note\"; } 2>/dev/null; then echo \"wrote a note in its directory\"; "
    "else echo \"could not write a note in its directory\"; fi\n"
    "if { echo hi >/tmp/uvexec-sandbox-escape; } 2>/dev/null; then echo \"wrote "
    "/tmp/uvexec-sandbox-escape\"; else echo \"could not write "
    "/tmp/uvexec-sandbox-escape\"; fi\n"
    "if ls /root >/dev/null 2>&1; then echo \"could list /root\"; else echo "
    "\"could not list /root\"; fi\n";

static int confine(uvexec_cmd_t *cmd, const char *dir) {
  static const char *const system[] = {"/usr", "/bin", "/sbin", "/lib",
                                       "/lib64", "/etc"};
  size_t i;
  int err;

  err = uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_PID | UVEXEC_NS_NET |
                                           UVEXEC_NS_MOUNT | UVEXEC_NS_IPC |
                                           UVEXEC_NS_UTS);
  for (i = 0; err == 0 && i < sizeof(system) / sizeof(system[0]); i++)
    if (access(system[i], F_OK) == 0)
      err = uvexec_cmd_allow_path(cmd, system[i],
                                  UVEXEC_FS_READ | UVEXEC_FS_EXEC);
  if (err == 0)
    err = uvexec_cmd_allow_path(cmd, "/proc", UVEXEC_FS_READ);
  if (err == 0)
    err = uvexec_cmd_allow_path(cmd, "/dev/null",
                                UVEXEC_FS_READ | UVEXEC_FS_WRITE);
  if (err == 0)
    err = uvexec_cmd_allow_path(cmd, dir, UVEXEC_FS_READ | UVEXEC_FS_WRITE);
  return err;
}

int main(int argc, char **argv) {
  char temp[] = "/tmp/uvexec-sandbox-XXXXXX", note[4200];
  const char *dir = argc > 1 ? argv[1] : NULL;
  int have = uvexec_sandbox_available(), status, made = 0;
  uvexec_cmd_t *cmd;

  if ((have & UVEXEC_SANDBOX_LANDLOCK) == 0 ||
      (geteuid() != 0 && (have & UVEXEC_SANDBOX_USERNS) == 0)) {
    printf("sandbox: cannot be had here: %s\n",
           (have & UVEXEC_SANDBOX_LANDLOCK) == 0
               ? "the kernel has no Landlock"
               : "no user namespaces for this user");
    return 1;
  }
  if (dir == NULL) {
    if (mkdtemp(temp) == NULL) {
      perror("sandbox: mkdtemp");
      return 1;
    }
    dir = temp;
    made = 1;
  }
  (void)unlink("/tmp/uvexec-sandbox-escape");
  if (argc > 2)
    cmd = uvexec_command_argv((const char *const *)argv + 2);
  else
    cmd = uvexec_command("/bin/sh", "-c", script, "sh", dir, NULL);
  if (cmd == NULL || confine(cmd, dir) != 0) {
    fprintf(stderr, "sandbox: out of memory\n");
    return 1;
  }
  uvexec_cmd_stdout(cmd, UVEXEC_INHERIT);
  uvexec_cmd_stderr(cmd, UVEXEC_INHERIT);

  printf("running it with no network, its own pids, and write access to "
         "%s only\n",
         made ? "a new temporary directory" : dir);
  fflush(stdout);
  status = uvexec_run(cmd);
  if (status != 0 && uvexec_exit_code(cmd) < 0 && uvexec_term_signal(cmd) <= 0)
    printf("sandbox: could not start: %s (%s)\n", uvexec_cmd_error(cmd),
           uvexec_err_name(status));
  else
    printf("it ended: %s\n", status == 0 ? "success" : uvexec_cmd_error(cmd));
  uvexec_cmd_free(cmd);

  snprintf(note, sizeof note, "%s/note", dir);
  printf("seen from outside: the note %s; /tmp/uvexec-sandbox-escape %s\n",
         access(note, F_OK) == 0 ? "is there" : "is not there",
         access("/tmp/uvexec-sandbox-escape", F_OK) == 0 ? "exists"
                                                         : "does not exist");
  if (made) {
    (void)unlink(note);
    (void)rmdir(temp);
  }
  return status == 0 ? 0 : 1;
}
