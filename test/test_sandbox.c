/* SPDX-License-Identifier: MIT */
/* The sandbox (uvexec_cmd_set_namespaces and the setters beside it): each
 * layer is seen from inside the child by a probe of the helper (its ids
 * and uid map, its pid, a TCP connect, a mount, its hostname, a write
 * and a read through Landlock, a socket() under a seccomp filter, its
 * NoNewPrivs and CapAmb lines, a chroot), and its absence from outside;
 * every refusal and failing step is a start error that names it and
 * leaves no child, fd or zombie (the fixture's teardown); and all layers
 * at once in one start.
 *
 * The cases run as root on the clone engine (the suite's `.uv` run sets
 * it explicitly). Where the machine lacks a layer (no pidfds under
 * valgrind, no user namespaces, no Landlock, no seccomp), the suite says
 * which and does not register those cases: they are not counted as
 * passed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* probe runs the helper's sub-command with the sandbox set by setup, and
 * answers its stdout (static). */
static const char *probe(void (*setup)(uvexec_cmd_t *, void *), void *arg,
                         const char *sub, const char *a1) {
  static char out[1024];
  uvexec_cmd_t *cmd = helper_cmd(sub, a1, NULL);
  const char *data;
  size_t len = 0;
  int err;

  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  if (setup != NULL)
    setup(cmd, arg);
  err = uvexec_output(cmd);
  ck_assert_msg(err == 0, "%s: %s (%s)", sub, uvexec_err_name(err),
                uvexec_cmd_error(cmd) ? uvexec_cmd_error(cmd) : "-");
  data = uvexec_stdout_data(cmd, &len);
  snprintf(out, sizeof out, "%.*s", (int)len, data != NULL ? data : "");
  uvexec_cmd_free(cmd);
  return out;
}

static void with_ns(uvexec_cmd_t *cmd, void *arg) {
  ck_assert_int_eq(uvexec_cmd_set_namespaces(cmd, *(int *)arg), 0);
}

/* ---- namespaces ------------------------------------------------------------- */

/* A user namespace maps the caller's ids to themselves by default. */
START_TEST(test_user_ns_default_map) {
  int ns = UVEXEC_NS_USER;
  unsigned in, outside, count;
  int uid;
  const char *out = probe(with_ns, &ns, "ids", NULL);

  ck_assert_msg(sscanf(out, "uid %d gid %*d pid %*d map %u %u %u", &uid, &in,
                       &outside, &count) == 4,
                "%s", out);
  ck_assert_int_eq(uid, (int)geteuid());
  ck_assert_uint_eq(in, geteuid());
  ck_assert_uint_eq(outside, geteuid());
  ck_assert_uint_eq(count, 1);
}
END_TEST

static void with_nobody_map(uvexec_cmd_t *cmd, void *arg) {
  (void)arg;
  ck_assert_int_eq(uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_USER), 0);
  ck_assert_int_eq(uvexec_cmd_set_uid_map(cmd, 0, 65534, 1), 0);
  ck_assert_int_eq(uvexec_cmd_set_gid_map(cmd, 0, 65534, 1), 0);
  /* As in Go, the child becomes an id of the map with its credentials. */
  ck_assert_int_eq(uvexec_cmd_set_uid(cmd, 0), 0);
  ck_assert_int_eq(uvexec_cmd_set_gid(cmd, 0), 0);
}

/* Root inside, nobody outside: the map the parent wrote is the child's,
 * and the ids set are inside ones. Nobody outside, it runs the copy of
 * the helper nobody can reach. */
START_TEST(test_user_ns_map) {
  unsigned in, outside, count;
  int uid;
  uvexec_cmd_t *cmd = shared_helper_cmd("ids", NULL);
  char out[256];

  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  with_nobody_map(cmd, NULL);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  snprintf(out, sizeof out, "%s", uvexec_stdout_data(cmd, NULL));
  uvexec_cmd_free(cmd);

  ck_assert_msg(sscanf(out, "uid %d gid %*d pid %*d map %u %u %u", &uid, &in,
                       &outside, &count) == 4,
                "%s", out);
  ck_assert_int_eq(uid, 0);
  ck_assert_uint_eq(in, 0);
  ck_assert_uint_eq(outside, 65534);
  ck_assert_uint_eq(count, 1);
}
END_TEST

/* Its own pids: the child is pid 1. */
START_TEST(test_pid_ns) {
  int ns = UVEXEC_NS_PID | UVEXEC_NS_MOUNT;
  int pid = 0;

  ck_assert_int_eq(sscanf(probe(with_ns, &ns, "ids", NULL),
                          "uid %*d gid %*d pid %d", &pid),
                   1);
  ck_assert_int_eq(pid, 1);
}
END_TEST

/* Its own network: a port this process listens on is not reachable from
 * inside (connection refused on its own loopback), and is from outside. */
START_TEST(test_net_ns) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  char port[16], want[32];
  int ns = UVEXEC_NS_NET;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  ck_assert_int_ge(fd, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(fd, 4), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  snprintf(port, sizeof port, "%d", ntohs(sa.sin_port));

  ck_assert_str_eq(probe(NULL, NULL, "connect", port), "connect ok\n");
  snprintf(want, sizeof want, "connect errno %d\n", ECONNREFUSED);
  ck_assert_str_eq(probe(with_ns, &ns, "connect", port), want);
  close(fd);
}
END_TEST

/* Its own mounts: a tmpfs mounted inside is not seen outside. */
START_TEST(test_mount_ns) {
  char dir[] = "/tmp/uvexec-mnt-XXXXXX", script[256], path[128];
  uvexec_cmd_t *cmd;

  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(script, sizeof script,
           "mount -t tmpfs none %s && touch %s/inside && ls %s", dir, dir,
           dir);
  cmd = uvexec_command("sh", "-c", script, NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_MOUNT), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "inside\n");
  uvexec_cmd_free(cmd);
  snprintf(path, sizeof path, "%s/inside", dir);
  ck_assert_int_ne(access(path, F_OK), 0);
  ck_assert_int_eq(rmdir(dir), 0); /* empty, and no mount left on it */
}
END_TEST

/* Its own hostname: set inside only. */
START_TEST(test_uts_ns) {
  char before[256], after[256];
  uvexec_cmd_t *cmd =
      uvexec_command("sh", "-c", "hostname uvexec-sandbox && hostname", NULL);

  ck_assert_int_eq(gethostname(before, sizeof before), 0);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_UTS), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "uvexec-sandbox\n");
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(gethostname(after, sizeof after), 0);
  ck_assert_str_eq(after, before);
}
END_TEST

/* ---- Landlock ---------------------------------------------------------------- */

static char allowed[64], denied[64];

static void with_landlock(uvexec_cmd_t *cmd, void *arg) {
  static const char *const system[] = {"/usr", "/lib", "/lib64", "/bin",
                                       "/etc"};
  char helper_dir[PATH_MAX];
  size_t i;

  (void)arg;
  for (i = 0; i < sizeof(system) / sizeof(system[0]); i++)
    if (access(system[i], F_OK) == 0)
      ck_assert_int_eq(uvexec_cmd_allow_path(cmd, system[i],
                                             UVEXEC_FS_READ | UVEXEC_FS_EXEC),
                       0);
  snprintf(helper_dir, sizeof helper_dir, "%s", helper_path());
  *strrchr(helper_dir, '/') = '\0';
  ck_assert_int_eq(uvexec_cmd_allow_path(cmd, helper_dir,
                                         UVEXEC_FS_READ | UVEXEC_FS_EXEC),
                   0);
  ck_assert_int_eq(
      uvexec_cmd_allow_path(cmd, allowed, UVEXEC_FS_READ | UVEXEC_FS_WRITE),
      0);
  /* A sanitized helper's runtime reads /proc/self/maps at its start. */
  ck_assert_int_eq(uvexec_cmd_allow_path(cmd, "/proc", UVEXEC_FS_READ), 0);
}

/* A write where it is allowed; none outside, nor a read of another
 * directory. */
START_TEST(test_landlock) {
  char path[128], want[64];

  strcpy(allowed, "/tmp/uvexec-ll-a-XXXXXX");
  strcpy(denied, "/tmp/uvexec-ll-b-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(allowed));
  ck_assert_ptr_nonnull(mkdtemp(denied));

  snprintf(path, sizeof path, "%s/f", allowed);
  ck_assert_str_eq(probe(with_landlock, NULL, "write-file", path),
                   "write-file ok\n");
  ck_assert_int_eq(unlink(path), 0);
  snprintf(path, sizeof path, "%s/f", denied);
  snprintf(want, sizeof want, "write-file errno %d\n", EACCES);
  ck_assert_str_eq(probe(with_landlock, NULL, "write-file", path), want);
  ck_assert_int_ne(access(path, F_OK), 0);
  snprintf(want, sizeof want, "read-dir errno %d\n", EACCES);
  ck_assert_str_eq(probe(with_landlock, NULL, "read-dir", denied), want);
  ck_assert_str_eq(probe(NULL, NULL, "read-dir", denied), "read-dir ok\n");
  ck_assert_int_eq(rmdir(allowed), 0);
  ck_assert_int_eq(rmdir(denied), 0);
}
END_TEST

/* ---- seccomp, no_new_privs, capabilities, chroot ---------------------------- */

/* socket() answers EPERM; everything else is allowed. Written for the
 * architecture this suite is built for (its syscall numbers). */
static const struct sock_filter no_socket[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static void with_seccomp(uvexec_cmd_t *cmd, void *arg) {
  (void)arg;
  ck_assert_int_eq(uvexec_cmd_set_seccomp(cmd, no_socket, sizeof no_socket),
                   0);
}

START_TEST(test_seccomp) {
  char want[32];
  uvexec_cmd_t *cmd;

  snprintf(want, sizeof want, "socket errno %d\n", EPERM);
  ck_assert_str_eq(probe(with_seccomp, NULL, "socket", NULL), want);
  ck_assert_str_eq(probe(NULL, NULL, "socket", NULL), "socket ok\n");
  /* The rest works under it. */
  ck_assert_int_eq(strncmp(probe(with_seccomp, NULL, "ids", NULL), "uid ", 4),
                   0);
  /* Root gives up CAP_SYS_ADMIN with a uid change before the filter is
   * loaded: no_new_privs is what lets it load then. */
  if (share_helper("sandbox")) {
    cmd = shared_helper_cmd("socket", NULL);
    ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
    ck_assert_int_eq(uvexec_cmd_set_uid(cmd, OTHER_UID), 0);
    ck_assert_int_eq(uvexec_cmd_set_gid(cmd, OTHER_UID), 0);
    with_seccomp(cmd, NULL);
    ck_assert_msg(uvexec_output(cmd) == 0, "%s", uvexec_cmd_error(cmd));
    ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), want);
    uvexec_cmd_free(cmd);
  }
}
END_TEST

static void with_nnp(uvexec_cmd_t *cmd, void *arg) {
  (void)arg;
  ck_assert_int_eq(uvexec_cmd_set_no_new_privs(cmd, 1), 0);
}

START_TEST(test_no_new_privs) {
  ck_assert_str_eq(probe(with_nnp, NULL, "status-line", "NoNewPrivs"),
                   "NoNewPrivs:\t1\n");
  ck_assert_str_eq(probe(NULL, NULL, "status-line", "NoNewPrivs"),
                   "NoNewPrivs:\t0\n");
}
END_TEST

static void with_ambient(uvexec_cmd_t *cmd, void *arg) {
  static const int caps[] = {10}; /* CAP_NET_BIND_SERVICE */

  (void)arg;
  ck_assert_int_eq(uvexec_cmd_set_uid(cmd, OTHER_UID), 0);
  ck_assert_int_eq(uvexec_cmd_set_gid(cmd, OTHER_UID), 0);
  ck_assert_int_eq(uvexec_cmd_set_ambient_caps(cmd, caps, 1), 0);
}

/* Run as nobody, and still holding CAP_NET_BIND_SERVICE. */
START_TEST(test_ambient_caps) {
  uvexec_cmd_t *cmd = shared_helper_cmd("status-line", "CapAmb", NULL);

  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  with_ambient(cmd, NULL);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL),
                   "CapAmb:\t0000000000000400\n");
  uvexec_cmd_free(cmd);

  /* Between its uid change and its exec the child holds none of root's
   * other capabilities: a file in a directory only root may enter cannot
   * be its stdout. */
  {
    char dir[] = "/tmp/uvexec-rootonly-XXXXXX", path[64];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/out", dir);
    cmd = shared_helper_cmd("echo", "x", NULL);
    ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
    with_ambient(cmd, NULL);
    ck_assert_int_eq(uvexec_cmd_stdout_file(cmd, path, 0), 0);
    ck_assert_int_eq(uvexec_run(cmd), UV_EACCES);
    uvexec_cmd_free(cmd);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(rmdir(dir), 0);
  }
}
END_TEST

/* A root with ls, its loader and its libraries copied in (ls, not the
 * helper, which a sanitizer's runtime would want /proc for): inside,
 * /lib is there and /etc is not. */
START_TEST(test_chroot) {
  char root[] = "/tmp/uvexec-root-XXXXXX", script[2 * PATH_MAX];
  const char *ls = access("/usr/bin/ls", X_OK) == 0 ? "/usr/bin/ls" : "/bin/ls";
  uvexec_cmd_t *cmd;

  ck_assert_ptr_nonnull(mkdtemp(root));
  snprintf(script, sizeof script,
           "set -e; for f in $(ldd '%s' | grep -o '/[^ ]*'); do "
           "cp --parents \"$f\" '%s'; done; cp '%s' '%s/ls'",
           ls, root, ls, root);
  ck_assert_int_eq(system(script), 0);

  cmd = uvexec_command("/ls", "-d", "/lib", NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_root(cmd, root), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "/lib\n");
  uvexec_cmd_free(cmd);

  cmd = uvexec_command("/ls", "-d", "/etc", NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_root(cmd, root), 0);
  ck_assert_int_eq(uvexec_output(cmd), UVEXEC_EEXIT);
  ck_assert_int_eq(uvexec_exit_code(cmd), 2); /* cannot access '/etc' */
  uvexec_cmd_free(cmd);

  /* With its own pids and mounts, its own /proc is inside the root: pid
   * 1 there is the child itself. */
  snprintf(script, sizeof script, "%s/proc", root);
  ck_assert_int_eq(mkdir(script, 0755), 0);
  cmd = uvexec_command("/ls", "-d", "/proc/1", NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_root(cmd, root), 0);
  ck_assert_int_eq(
      uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_PID | UVEXEC_NS_MOUNT), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "/proc/1\n");
  uvexec_cmd_free(cmd);

  snprintf(script, sizeof script, "rm -rf '%s'", root);
  ck_assert_int_eq(system(script), 0);
}
END_TEST

/* ---- everything at once ------------------------------------------------------ */

static void with_everything(uvexec_cmd_t *cmd, void *arg) {
  with_ns(cmd, arg);
  with_landlock(cmd, NULL);
  with_seccomp(cmd, NULL);
  with_nnp(cmd, NULL);
}

START_TEST(test_everything_at_once) {
  int ns = UVEXEC_NS_USER | UVEXEC_NS_PID | UVEXEC_NS_NET | UVEXEC_NS_MOUNT |
           UVEXEC_NS_IPC | UVEXEC_NS_UTS | UVEXEC_NS_CGROUP;
  char path[128], want[64];
  int pid = 0;

  strcpy(allowed, "/tmp/uvexec-ll-a-XXXXXX");
  strcpy(denied, "/tmp/uvexec-ll-b-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(allowed));
  ck_assert_ptr_nonnull(mkdtemp(denied));
  ck_assert_int_eq(sscanf(probe(with_everything, &ns, "ids", NULL),
                          "uid %*d gid %*d pid %d", &pid),
                   1);
  ck_assert_int_eq(pid, 1);
  snprintf(want, sizeof want, "socket errno %d\n", EPERM);
  ck_assert_str_eq(probe(with_everything, &ns, "socket", NULL), want);
  snprintf(path, sizeof path, "%s/f", denied);
  snprintf(want, sizeof want, "write-file errno %d\n", EACCES);
  ck_assert_str_eq(probe(with_everything, &ns, "write-file", path), want);
  snprintf(path, sizeof path, "%s/f", allowed);
  ck_assert_str_eq(probe(with_everything, &ns, "write-file", path),
                   "write-file ok\n");
  unlink(path);
  ck_assert_int_eq(rmdir(allowed), 0);
  ck_assert_int_eq(rmdir(denied), 0);
}
END_TEST

/* ---- refusals and failing steps --------------------------------------------- */

static void expect_start_error(uvexec_cmd_t *cmd, int want, const char *msg) {
  int err;

  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  err = uvexec_start(cmd, test_loop, NULL);
  ck_assert_msg(err == want, "%s, not %s: %s", uvexec_err_name(err),
                uvexec_err_name(want),
                uvexec_cmd_error(cmd) ? uvexec_cmd_error(cmd) : "-");
  ck_assert_str_eq(uvexec_cmd_error(cmd), msg);
  ck_assert_int_eq(uvexec_pid(cmd), UV_ESRCH);
  uvexec_cmd_free(cmd);
}

START_TEST(test_failing_steps) {
  static const struct sock_filter bad[] = {
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 5), /* past the end */
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  uvexec_cmd_t *cmd;

  cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(
      uvexec_cmd_allow_path(cmd, "/nonexistent-uvexec", UVEXEC_FS_READ), 0);
  if (uvexec_sandbox_available() & UVEXEC_SANDBOX_LANDLOCK)
    expect_start_error(cmd, UV_ENOENT,
                       "landlock: /nonexistent-uvexec: no such file or "
                       "directory");
  else
    uvexec_cmd_free(cmd);

  cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_cmd_set_seccomp(cmd, bad, sizeof bad), 0);
  expect_start_error(cmd, UV_EINVAL, "seccomp: invalid argument");

  cmd = uvexec_command("/helper", NULL);
  ck_assert_int_eq(uvexec_cmd_set_root(cmd, "/nonexistent-uvexec"), 0);
  expect_start_error(cmd, UV_ENOENT,
                     "chroot /nonexistent-uvexec: no such file or directory");

  cmd = uvexec_command("helper", NULL);
  ck_assert_int_eq(uvexec_cmd_set_root(cmd, "/"), 0);
  expect_start_error(cmd, UV_EINVAL,
                     "exec: helper: with a root, name the program by its "
                     "path inside the root");

}
END_TEST

/* A map the kernel refuses: a caller that is not root may map only its
 * own id. Run in a fork turned nobody; the start fails naming uid_map, and
 * the child it had cloned is gone (the fork has no child left). */
START_TEST(test_uid_map_refused) {
  int status;
  pid_t pid = fork();

  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    uvexec_cmd_t *cmd = uvexec_command("/bin/true", NULL);
    uv_loop_t loop;
    int err;

    /* Dumpable again after the uid change, as a process started as
     * nobody is: else its /proc files, and its children's, are root's. */
    if (cmd == NULL || uv_loop_init(&loop) != 0 || setgid(OTHER_UID) != 0 ||
        setuid(OTHER_UID) != 0 || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
      _exit(10);
    uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE);
    uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_USER);
    uvexec_cmd_set_uid_map(cmd, 0, 0, 1);
    err = uvexec_start(cmd, &loop, NULL);
    if (err != UV_EPERM)
      _exit(11);
    if (strcmp(uvexec_cmd_error(cmd), "uid_map: operation not permitted") !=
        0)
      _exit(12);
    uvexec_cmd_free(cmd);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0 || waitpid(-1, NULL, WNOHANG) != -1)
      _exit(13);
    _exit(0);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the fork ended with status 0x%x", status);
}
END_TEST

/* Not root: a pid and a network namespace come with a user namespace of
 * their own, the caller's ids mapped to themselves, and seccomp gets
 * no_new_privs. Run in a fork turned nobody (dumpable, as a process
 * started as nobody is), with the copy of the helper nobody can reach. */
START_TEST(test_unprivileged) {
  int status;
  pid_t pid;

  fflush(NULL);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    uvexec_cmd_t *cmd = shared_helper_cmd("ids", NULL);
    const char *out;
    unsigned in, outside, count;
    int p = 0;

    if (setgid(OTHER_UID) != 0 || setuid(OTHER_UID) != 0 ||
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
      _exit(10);
    uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE);
    uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_PID | UVEXEC_NS_NET);
    uvexec_cmd_set_seccomp(cmd, no_socket, sizeof no_socket);
    if (uvexec_output(cmd) != 0)
      _exit(11);
    out = uvexec_stdout_data(cmd, NULL);
    if (sscanf(out, "uid %*d gid %*d pid %d map %u %u %u", &p, &in, &outside,
               &count) != 4 ||
        p != 1 || in != OTHER_UID || outside != OTHER_UID || count != 1)
      _exit(12);
    uvexec_cmd_free(cmd);
    _exit(0);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the fork ended with status 0x%x", status);
}
END_TEST

START_TEST(test_refusals) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  int fds = count_open_fds();

  ck_assert_int_eq(uvexec_cmd_set_namespaces(cmd, 128), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_seccomp(cmd, no_socket, 7), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_seccomp(cmd, NULL, 8), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_allow_path(cmd, "/tmp", 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_allow_path(cmd, "", UVEXEC_FS_READ), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_uid_map(cmd, 0, 0, 0), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_ambient_caps(cmd, (const int[]){64}, 1),
                   UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_namespaces(NULL, 0), UV_EINVAL);
  /* The uv engine builds no sandbox. */
  ck_assert_int_eq(uvexec_cmd_set_no_new_privs(cmd, 1), 0);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_UV), 0);
  ck_assert_int_eq(uvexec_run(cmd), UV_ENOTSUP);
  ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(cmd), "sandbox"));
  ck_assert_int_eq(uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_NET), UV_EBUSY);
  uvexec_cmd_free(cmd);
  /* A daemon with namespaces of its own; a group outside its own pids. */
  cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_detached(cmd, 1), 0);
  ck_assert_int_eq(uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_PID), 0);
  if (have_pidfd()) {
    ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
    ck_assert_str_eq(uvexec_cmd_error(cmd), "exec: a detached command "
                                            "cannot have namespaces of its "
                                            "own");
  }
  uvexec_cmd_free(cmd);
  cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_cmd_set_engine(cmd, UVEXEC_ENGINE_CLONE), 0);
  ck_assert_int_eq(uvexec_cmd_set_pgid(cmd, getpgrp()), 0);
  ck_assert_int_eq(uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_PID), 0);
  if (have_pidfd()) {
    ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
    ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(cmd), "cannot join"));
  }
  uvexec_cmd_free(cmd);
  /* Nor does an exec. */
  cmd = uvexec_command("/bin/true", NULL);
  ck_assert_int_eq(uvexec_cmd_set_namespaces(cmd, UVEXEC_NS_NET), 0);
  ck_assert_int_eq(uvexec_exec(cmd), UV_EINVAL);
  uvexec_cmd_free(cmd);
  ck_assert_int_eq(count_open_fds(), fds);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sandbox");
  int have = uvexec_sandbox_available();

  ADD_TEST(s, test_refusals);
  if (!have_pidfd() || geteuid() != 0) {
    fprintf(stderr, "sandbox: %s: the sandbox cases are not run\n",
            !have_pidfd() ? "no pidfds (valgrind?)" : "not root");
    return run_suite(s);
  }
  fprintf(stderr, "sandbox: user namespaces %s, Landlock %s, seccomp %s\n",
          have & UVEXEC_SANDBOX_USERNS ? "yes" : "NO",
          have & UVEXEC_SANDBOX_LANDLOCK ? "yes" : "NO",
          have & UVEXEC_SANDBOX_SECCOMP ? "yes" : "NO");
  ADD_TEST(s, test_pid_ns);
  ADD_TEST(s, test_net_ns);
  ADD_TEST(s, test_mount_ns);
  ADD_TEST(s, test_uts_ns);
  ADD_TEST(s, test_no_new_privs);
  ADD_TEST(s, test_chroot);
  if (share_helper("sandbox")) {
    ADD_TEST(s, test_ambient_caps);
    if ((have & (UVEXEC_SANDBOX_USERNS | UVEXEC_SANDBOX_SECCOMP)) ==
        (UVEXEC_SANDBOX_USERNS | UVEXEC_SANDBOX_SECCOMP))
      ADD_TEST(s, test_unprivileged);
  } else {
    fprintf(stderr, "sandbox: ambient capabilities, unprivileged: not "
                    "run\n");
  }
  if (have & UVEXEC_SANDBOX_USERNS) {
    ADD_TEST(s, test_user_ns_default_map);
    if (share_helper("sandbox"))
      ADD_TEST(s, test_user_ns_map);
    else
      fprintf(stderr, "sandbox: a nobody map: not run\n");
    ADD_TEST(s, test_uid_map_refused);
  } else {
    fprintf(stderr, "sandbox: no user namespaces: 2 cases not run\n");
  }
  if (have & UVEXEC_SANDBOX_LANDLOCK)
    ADD_TEST(s, test_landlock);
  else
    fprintf(stderr, "sandbox: no Landlock: 1 case not run\n");
  if (have & UVEXEC_SANDBOX_SECCOMP)
    ADD_TEST(s, test_seccomp);
  else
    fprintf(stderr, "sandbox: no seccomp: 1 case not run\n");
  if (have == (UVEXEC_SANDBOX_USERNS | UVEXEC_SANDBOX_LANDLOCK |
               UVEXEC_SANDBOX_SECCOMP) ||
      (have & 7) == 7)
    ADD_TEST(s, test_everything_at_once);
  else
    fprintf(stderr, "sandbox: all layers at once: not run\n");
  ADD_TEST(s, test_failing_steps);
  return run_suite(s);
}
