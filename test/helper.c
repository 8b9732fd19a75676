/* SPDX-License-Identifier: MIT */
/* uvexec-test-helper — the one program every test suite runs as a child.
 *
 * Usage: uvexec-test-helper SUBCOMMAND [ARGS...]
 *
 * Each sub-command does one small, predictable thing. Output goes out with
 * write(2), never through stdio buffers, so what a parent reads is exactly
 * what was written and in the order it was written. A sub-command that must
 * be waited on says so with an output line ("ready"), so tests wait on
 * events rather than on time.
 *
 * Plain C11 and POSIX; no test framework. Exit status 2 means the helper was
 * called wrongly (unknown sub-command, missing argument).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dirfd, nanosleep, sigaction with -std=c11 */
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *progname = "uvexec-test-helper";

static void usage_exit(const char *why) {
  fprintf(stderr, "%s: %s\n", progname, why);
  exit(2);
}

/* write_all writes every byte of buf to fd, retrying after EINTR and short
 * writes. A write error ends the helper with status 3 (a closed pipe kills
 * it with SIGPIPE first, unless SIGPIPE is ignored). */
static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      exit(3);
    }
    p += n;
    len -= (size_t)n;
  }
}

static void write_str(int fd, const char *s) { write_all(fd, s, strlen(s)); }

/* parse_long reads a whole decimal argument or ends the helper. */
static long parse_long(const char *s, const char *what) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0')
    usage_exit(what);
  return v;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* echo ARGS...: the arguments separated by one space, then '\n'. */
static int cmd_echo(int fd, int argc, char **argv) {
  size_t total = 1;
  char *line, *p;
  int i;
  for (i = 0; i < argc; i++)
    total += strlen(argv[i]) + 1;
  line = malloc(total);
  if (line == NULL)
    return 4;
  p = line;
  for (i = 0; i < argc; i++) {
    size_t n = strlen(argv[i]);
    if (i > 0)
      *p++ = ' ';
    memcpy(p, argv[i], n);
    p += n;
  }
  *p++ = '\n';
  /* One write, so the line arrives whole even on a shared pipe. */
  write_all(fd, line, (size_t)(p - line));
  free(line);
  return 0;
}

/* cat: stdin to stdout until end of file. */
static int cmd_cat(void) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return 3;
    }
    if (n == 0)
      return 0;
    write_all(1, buf, (size_t)n);
  }
}

/* stdin-count: reads stdin to end of file and prints how many bytes came. */
static int cmd_stdin_count(void) {
  char buf[65536];
  unsigned long long total = 0;
  char line[32];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return 3;
    }
    if (n == 0)
      break;
    total += (unsigned long long)n;
  }
  snprintf(line, sizeof line, "%llu\n", total);
  write_str(1, line);
  return 0;
}

/* flood OUT ERR: OUT bytes of 'o' on stdout and ERR bytes of 'e' on
 * stderr, in alternating 4 KiB chunks with plain blocking writes. A parent
 * that drains only one stream at a time blocks this child on the other
 * pipe once its buffer is full, and the two wait on each other forever. */
static int cmd_flood(long out_bytes, long err_bytes) {
  char obuf[4096], ebuf[4096];
  memset(obuf, 'o', sizeof obuf);
  memset(ebuf, 'e', sizeof ebuf);
  while (out_bytes > 0 || err_bytes > 0) {
    if (out_bytes > 0) {
      size_t n = out_bytes < (long)sizeof obuf ? (size_t)out_bytes
                                               : sizeof obuf;
      write_all(1, obuf, n);
      out_bytes -= (long)n;
    }
    if (err_bytes > 0) {
      size_t n = err_bytes < (long)sizeof ebuf ? (size_t)err_bytes
                                               : sizeof ebuf;
      write_all(2, ebuf, n);
      err_bytes -= (long)n;
    }
  }
  return 0;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* fds: the numbers of the open fds, ascending, space-separated, '\n'. The
 * fd that reads /proc/self/fd is left out. */
static int cmd_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  struct dirent *de;
  int fds[4096];
  size_t count = 0, i;
  char line[4096 * 8];
  size_t len = 0;
  int self;

  if (dir == NULL)
    return 3;
  self = dirfd(dir);
  while ((de = readdir(dir)) != NULL) {
    long fd;
    char *end;
    if (de->d_name[0] == '.')
      continue;
    fd = strtol(de->d_name, &end, 10);
    if (*end != '\0' || fd == self)
      continue;
    if (count < sizeof fds / sizeof fds[0])
      fds[count++] = (int)fd;
  }
  closedir(dir);
  qsort(fds, count, sizeof fds[0], cmp_int);
  for (i = 0; i < count; i++)
    len += (size_t)snprintf(line + len, sizeof line - len, "%s%d",
                            i > 0 ? " " : "", fds[i]);
  line[len++] = '\n';
  write_all(1, line, len);
  return 0;
}

/* ignore-term: ignores SIGTERM, says "ready", and waits to be killed. */
static int cmd_ignore_term(void) {
  signal(SIGTERM, SIG_IGN);
  write_str(1, "ready\n");
  for (;;)
    pause();
  return 0; /* not reached */
}

static volatile sig_atomic_t got_term;

static void on_term(int sig) {
  (void)sig;
  got_term = 1;
}

/* handle-term: says "ready"; on SIGTERM says "got TERM" and exits 0.
 * SIGTERM stays blocked except inside sigsuspend(), so a signal sent right
 * after "ready" is never lost between the check and the wait. */
static int cmd_handle_term(void) {
  struct sigaction sa;
  sigset_t block, old;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &old);
  sigdelset(&old, SIGTERM);

  write_str(1, "ready\n");
  while (!got_term)
    sigsuspend(&old);
  write_str(1, "got TERM\n");
  return 0;
}

/* env: the environment, one NAME=VALUE per line. */
static int cmd_env(void) {
  char **e;
  for (e = environ; *e != NULL; e++) {
    write_str(1, *e);
    write_str(1, "\n");
  }
  return 0;
}

/* env-get NAME: the value and '\n'; exit 1 (and no output) when unset. */
static int cmd_env_get(const char *name) {
  const char *v = getenv(name);
  if (v == NULL)
    return 1;
  write_str(1, v);
  write_str(1, "\n");
  return 0;
}

static int cmd_pwd(void) {
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof buf) == NULL)
    return 3;
  write_str(1, buf);
  write_str(1, "\n");
  return 0;
}

/* interleave N: "out i\n" on stdout then "err i\n" on stderr, for i in
 * 0..N-1, one write(2) each, so a merged pipe shows the exact order. */
static int cmd_interleave(long n) {
  char line[64];
  long i;
  for (i = 0; i < n; i++) {
    snprintf(line, sizeof line, "out %ld\n", i);
    write_str(1, line);
    snprintf(line, sizeof line, "err %ld\n", i);
    write_str(2, line);
  }
  return 0;
}

/* grandchild [MS]: forks a child that keeps stdout and stderr open and
 * sleeps MS milliseconds (default 10000) or until it is killed (say with
 * its process group); the helper itself prints "hi" and exits 0 at once. */
static int cmd_grandchild(long ms) {
  pid_t pid;
  write_str(1, "hi\n");
  pid = fork();
  if (pid < 0)
    return 3;
  if (pid == 0) {
    sleep_ms(ms);
    _exit(0);
  }
  return 0;
}

/* kill-self SIG: dies by signal SIG (default disposition restored first). */
static int cmd_kill_self(int sig) {
  sigset_t set;
  signal(sig, SIG_DFL);
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  kill(getpid(), sig);
  /* Only a signal that does not kill gets here. */
  return 4;
}

/* fd-link OUT N...: for each fd N, what /proc/self/fd/N points at
 * ("/dev/null", "pipe:[1234]", or "closed"), one per line, written on fd
 * OUT. */
static int cmd_fd_link(int out, int argc, char **argv) {
  int i;
  for (i = 0; i < argc; i++) {
    char path[64], target[PATH_MAX];
    ssize_t n;
    snprintf(path, sizeof path, "/proc/self/fd/%d",
             (int)parse_long(argv[i], "fd-link: bad fd"));
    n = readlink(path, target, sizeof target - 1);
    if (n < 0) {
      write_str(out, "closed\n");
      continue;
    }
    target[n] = '\n';
    write_all(out, target, (size_t)n + 1);
  }
  return 0;
}

/* session [MS]: "pid P ppid Q sid S\n", then lives MS ms more (without
 * MS, until it is killed). */
static int cmd_session(long ms) {
  char line[96];

  snprintf(line, sizeof line, "pid %ld ppid %ld sid %ld\n", (long)getpid(),
           (long)getppid(), (long)getsid(0));
  write_str(1, line);
  if (ms >= 0) {
    sleep_ms(ms);
    return 0;
  }
  for (;;)
    pause();
}

static int cmd_pid(void) {
  char line[32];
  snprintf(line, sizeof line, "%ld\n", (long)getpid());
  write_str(1, line);
  return 0;
}

/* ---- terminals (test_pty.c) ---------------------------------------------- */

/* tty-info: the process's ids and its terminal, as
 * "pid P sid S pgid G fg F rows R cols C\n" (fg is tcgetpgrp(0), -1 and
 * rows/cols 0 when fd 0 is not a terminal). */
static int cmd_tty_info(void) {
  struct winsize ws;
  char line[160];

  memset(&ws, 0, sizeof ws);
  ioctl(0, TIOCGWINSZ, &ws);
  snprintf(line, sizeof line,
           "pid %ld sid %ld pgid %ld fg %ld rows %u cols %u\n", (long)getpid(),
           (long)getsid(0), (long)getpgrp(), (long)tcgetpgrp(0),
           (unsigned)ws.ws_row, (unsigned)ws.ws_col);
  write_str(1, line);
  return 0;
}

/* tty-raw [stay]: tty-info, then the terminal on fd 0 without echo and
 * line editing (as an editor sets it); with "stay", waits to be killed
 * in that state, else exits 0. */
static int cmd_tty_raw(int stay) {
  struct termios t;

  cmd_tty_info();
  if (tcgetattr(0, &t) != 0)
    return 3;
  t.c_lflag &= ~(tcflag_t)(ECHO | ICANON);
  if (tcsetattr(0, TCSANOW, &t) != 0)
    return 4;
  write_str(1, "raw\n");
  while (stay)
    pause();
  return 0;
}

static volatile sig_atomic_t winches;

static void on_winch(int sig) {
  (void)sig;
  winches++;
}

static void write_size(const char *what) {
  struct winsize ws;
  char line[64];

  memset(&ws, 0, sizeof ws);
  ioctl(0, TIOCGWINSZ, &ws);
  snprintf(line, sizeof line, "%s %u %u\n", what, (unsigned)ws.ws_row,
           (unsigned)ws.ws_col);
  write_str(1, line);
}

/* winch N: says "ready ROWS COLS", then for each of N SIGWINCHs says
 * "winch ROWS COLS" with the size it then finds, and exits 0. SIGWINCH is
 * blocked outside sigsuspend(), so none is lost between check and wait. */
static int cmd_winch(long n) {
  struct sigaction sa;
  sigset_t block, old;
  long seen = 0;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_winch;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGWINCH, &sa, NULL);
  sigemptyset(&block);
  sigaddset(&block, SIGWINCH);
  sigprocmask(SIG_BLOCK, &block, &old);
  sigdelset(&old, SIGWINCH);

  write_size("ready");
  while (seen < n) {
    while (winches == 0)
      sigsuspend(&old);
    winches = 0;
    seen++;
    write_size("winch");
  }
  return 0;
}

/* burst N: N bytes of "0123456789" repeated, no newline, then exit at
 * once: the bytes are still in the terminal when the exit is seen. */
static int cmd_burst(long n) {
  char *buf = malloc(n > 0 ? (size_t)n : 1);
  long i;

  if (buf == NULL)
    return 4;
  for (i = 0; i < n; i++)
    buf[i] = (char)('0' + i % 10);
  write_all(1, buf, (size_t)n);
  _exit(0);
}

/* read-chunks: turns its terminal's echo off, says "ready", then reads
 * stdin and reports each read as "read N" until end of file, then "eof"
 * (a terminal in canonical mode hands over one line, or what was typed
 * before a VEOF, per read). */
static int cmd_read_chunks(void) {
  char buf[65536], line[32];
  struct termios t;

  /* Without echo the output is only what this program says, in order. */
  if (tcgetattr(0, &t) == 0) {
    t.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(0, TCSANOW, &t);
  }
  write_str(1, "ready\n");
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return 3;
    }
    if (n == 0)
      break;
    snprintf(line, sizeof line, "read %ld\n", (long)n);
    write_str(1, line);
  }
  write_str(1, "eof\n");
  return 0;
}

/* pty-grandchild MS: forks a child that ignores SIGHUP (which the exit of
 * a session leader sends its terminal's foreground group), keeps the
 * terminal open and sleeps MS milliseconds; says "grandchild PID" and
 * exits 0 at once. */
static int cmd_pty_grandchild(long ms) {
  char line[48];
  pid_t pid;

  signal(SIGHUP, SIG_IGN);
  pid = fork();
  if (pid < 0)
    return 3;
  if (pid == 0) {
    sleep_ms(ms);
    _exit(0);
  }
  snprintf(line, sizeof line, "grandchild %ld\n", (long)pid);
  write_str(1, line);
  return 0;
}

/* pty_main runs the terminal sub-commands; -1 for any other name. */
static int pty_main(const char *sub, int argc, char **argv) {
  if (strcmp(sub, "tty-info") == 0)
    return cmd_tty_info();
  if (strcmp(sub, "tty-raw") == 0)
    return cmd_tty_raw(argc > 0 && strcmp(argv[0], "stay") == 0);
  if (strcmp(sub, "winch") == 0)
    return cmd_winch(argc > 0 ? parse_long(argv[0], "winch: bad count") : 1);
  if (strcmp(sub, "burst") == 0) {
    if (argc < 1)
      usage_exit("missing argument");
    return cmd_burst(parse_long(argv[0], "burst: bad count"));
  }
  if (strcmp(sub, "read-chunks") == 0)
    return cmd_read_chunks();
  if (strcmp(sub, "pty-grandchild") == 0)
    return cmd_pty_grandchild(
        argc > 0 ? parse_long(argv[0], "pty-grandchild: bad ms") : 10000);
  return -1;
}

/* ---- for the benchmark --------------------------------------------------- */

/* lines BYTES: BYTES bytes of 64-byte lines (63 'l' and '\n'), written in
 * 64 KiB blocks, as fast as the reader takes them. */
static int cmd_lines(long bytes) {
  static char block[65536];
  size_t i;

  for (i = 0; i < sizeof block; i++)
    block[i] = (i % 64) == 63 ? '\n' : 'l';
  while (bytes > 0) {
    size_t n = bytes < (long)sizeof block ? (size_t)bytes : sizeof block;
    write_all(1, block, n);
    bytes -= (long)n;
  }
  return 0;
}

/* echo-sleep TEXT MS: TEXT and '\n' on stdout, then live MS ms more. */
static int cmd_echo_sleep(const char *text, long ms) {
  write_str(1, text);
  write_str(1, "\n");
  sleep_ms(ms);
  return 0;
}

/* ---- for the group suite (test_group.c) ---------------------------------- */

/* group-job MS: "start" on stdout, MS milliseconds of sleep, then "end",
 * each line in one write, so a parent reading stdout sees the child alive
 * between them. */
static int cmd_group_job(long ms) {
  write_str(1, "start\n");
  sleep_ms(ms);
  write_str(1, "end\n");
  return 0;
}

/* ---- child setup: what the child was given ------------------------------- */

static void print_limit(char *buf, size_t size, rlim_t v) {
  if (v == RLIM_INFINITY)
    snprintf(buf, size, "inf");
  else
    snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* setup: one "name value..." line for each attribute child setup can
 * change: nofile SOFT HARD, cpu SOFT HARD, umask OOOO, nice N, pdeathsig N,
 * ids PID PGID SID, creds UID GID, groups G... (ascending). */
static int cmd_setup(void) {
  char line[1024], soft[32], hard[32];
  gid_t groups[256];
  struct rlimit rl;
  mode_t mask;
  int n, i, sig = 0;
  size_t len;

  getrlimit(RLIMIT_NOFILE, &rl);
  print_limit(soft, sizeof soft, rl.rlim_cur);
  print_limit(hard, sizeof hard, rl.rlim_max);
  len = (size_t)snprintf(line, sizeof line, "nofile %s %s\n", soft, hard);
  getrlimit(RLIMIT_CPU, &rl);
  print_limit(soft, sizeof soft, rl.rlim_cur);
  print_limit(hard, sizeof hard, rl.rlim_max);
  len += (size_t)snprintf(line + len, sizeof line - len, "cpu %s %s\n", soft,
                          hard);
  mask = umask(0);
  errno = 0;
  n = getpriority(PRIO_PROCESS, 0);
  prctl(PR_GET_PDEATHSIG, &sig);
  len += (size_t)snprintf(line + len, sizeof line - len,
                          "umask %04o\nnice %d\npdeathsig %d\n"
                          "ids %ld %ld %ld\ncreds %ld %ld\ngroups",
                          (unsigned)mask, n, sig, (long)getpid(),
                          (long)getpgrp(), (long)getsid(0), (long)getuid(),
                          (long)getgid());
  n = getgroups(256, groups);
  for (i = 1; i < n; i++) { /* insertion sort: the kernel keeps them so */
    gid_t g = groups[i];
    int j = i;
    while (j > 0 && groups[j - 1] > g) {
      groups[j] = groups[j - 1];
      j--;
    }
    groups[j] = g;
  }
  for (i = 0; i < n && len < sizeof line - 16; i++)
    len += (size_t)snprintf(line + len, sizeof line - len, " %ld",
                            (long)groups[i]);
  len += (size_t)snprintf(line + len, sizeof line - len, "\n");
  write_all(1, line, len);
  return 0;
}

/* wait-signal: says "ready" and waits for a signal at its default action
 * (one that kills it). */
static int cmd_wait_signal(void) {
  write_str(1, "ready\n");
  for (;;)
    pause();
  return 0;
}

#define NEED(n)                                                               \
  do {                                                                        \
    if (argc < (n))                                                           \
      usage_exit("missing argument");                                         \
  } while (0)

/* ---- pipelines ------------------------------------------------------------
 * pattern N: N bytes on stdout, byte k being k % 251 (a period that no pipe
 * or buffer size divides, so a lost, doubled or reordered chunk shows).
 * check-pattern: reads stdin to end of file and prints "ok N" when it is
 * such a pattern of N bytes, else "bad at K" and exits 1.
 * read-n N: reads N bytes of stdin (fewer at end of file), then exits 0
 * without reading more, as `head -c` does.
 * pgid-cat: prints its process group id on stderr, then cats stdin. */

static int cmd_pattern(long n) {
  unsigned char buf[65536];
  long k = 0;
  while (k < n) {
    size_t chunk = n - k < (long)sizeof buf ? (size_t)(n - k) : sizeof buf;
    size_t i;
    for (i = 0; i < chunk; i++)
      buf[i] = (unsigned char)((k + (long)i) % 251);
    write_all(1, buf, chunk);
    k += (long)chunk;
  }
  return 0;
}

static int cmd_check_pattern(void) {
  unsigned char buf[65536];
  unsigned long long k = 0;
  char line[64];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf), i;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return 3;
    }
    if (n == 0)
      break;
    for (i = 0; i < n; i++, k++)
      if (buf[i] != (unsigned char)(k % 251)) {
        snprintf(line, sizeof line, "bad at %llu\n", k);
        write_str(1, line);
        return 1;
      }
  }
  snprintf(line, sizeof line, "ok %llu\n", k);
  write_str(1, line);
  return 0;
}

static int cmd_read_n(long n) {
  char buf[4096];
  while (n > 0) {
    ssize_t got = read(0, buf, n < (long)sizeof buf ? (size_t)n : sizeof buf);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    n -= (long)got;
  }
  return 0;
}

static int cmd_pgid_cat(void) {
  char line[32];
  snprintf(line, sizeof line, "%ld\n", (long)getpgrp());
  write_str(2, line);
  return cmd_cat();
}

static int pipeline_sub(const char *sub, int argc, char **argv, int *rc) {
  if (strcmp(sub, "pattern") == 0) {
    NEED(1);
    *rc = cmd_pattern(parse_long(argv[0], "pattern: bad count"));
  } else if (strcmp(sub, "check-pattern") == 0) {
    *rc = cmd_check_pattern();
  } else if (strcmp(sub, "read-n") == 0) {
    NEED(1);
    *rc = cmd_read_n(parse_long(argv[0], "read-n: bad count"));
  } else if (strcmp(sub, "pgid-cat") == 0) {
    *rc = cmd_pgid_cat();
  } else {
    return 0;
  }
  return 1;
}

/* ---- process trees (containment) ---------------------------------------- */

/* tree_member runs one process of an escape tree: it says "pid PID", tells
 * the helper it is set (a byte on sync), and waits; with term it answers
 * SIGTERM with "term PID" and exits 0. SIGTERM stays blocked but inside
 * sigsuspend(), so a signal sent right after "ready" is never lost. */
static void tree_member(int sync, int term, int ready) {
  struct sigaction sa;
  sigset_t block, old;
  char line[64];

  if (term) {
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
  }
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &old);
  sigdelset(&old, SIGTERM);
  snprintf(line, sizeof line, "pid %ld\n", (long)getpid());
  write_str(1, line);
  if (ready)
    write_str(1, "ready\n");
  if (sync >= 0) {
    write_all(sync, "x", 1);
    close(sync);
  }
  while (!got_term)
    sigsuspend(&old);
  snprintf(line, sizeof line, "term %ld\n", (long)getpid());
  write_str(1, line);
  _exit(0);
}

/* escape N MODE: a tree that escapes a process group and a session: of N
 * descendants, the first leads a new session (setsid), the second is
 * orphaned by a double fork (its parent is init), the rest are plain
 * children. Each says "pid PID"; once all have, the helper says its own
 * "pid PID" (not when it exits) and "ready". MODE: wait (every process
 * waits to be killed), exit (the helper exits 0 once all have said their
 * pid, leaving the rest), term (every process, the helper too, answers
 * SIGTERM with "term PID" and exits 0), exit-term (the helper exits, the
 * rest answer SIGTERM). */
static int cmd_escape(long n, const char *mode) {
  int term = strcmp(mode, "term") == 0 || strcmp(mode, "exit-term") == 0;
  int leave = strncmp(mode, "exit", 4) == 0, sync[2];
  long i;
  char c;

  if (pipe(sync) != 0)
    return 3;
  for (i = 0; i < n; i++) {
    pid_t pid = fork();

    if (pid < 0)
      return 3;
    if (pid > 0)
      continue;
    close(sync[0]);
    if (i == 0) {
      setsid();
    } else if (i == 1) {
      pid = fork(); /* the grandchild is orphaned at once */
      if (pid != 0)
        _exit(pid < 0 ? 3 : 0);
    }
    tree_member(sync[1], term, 0);
  }
  close(sync[1]);
  for (i = 0; i < n; i++)
    while (read(sync[0], &c, 1) < 0 && errno == EINTR)
      ;
  close(sync[0]);
  if (leave) {
    write_str(1, "ready\n");
    return 0;
  }
  tree_member(-1, term, 1);
  return 0;
}

/* ---- what a sandbox lets it do ---------------------------------------------- */

/* sandbox_sub runs the probes of test_sandbox; 1 when sub was one. Each
 * prints one line: "<probe> ok" or "<probe> errno N". */
static int sandbox_sub(const char *sub, int argc, char **argv, int *rc) {
  int fd, err = 0;

  *rc = 0;
  if (strcmp(sub, "ids") == 0) {
    char map[128] = "";
    FILE *f = fopen("/proc/self/uid_map", "r");

    if (f != NULL) {
      if (fgets(map, sizeof map, f) == NULL)
        map[0] = '\0';
      fclose(f);
    }
    printf("uid %d gid %d pid %d map %s", (int)getuid(), (int)getgid(),
           (int)getpid(), map[0] != '\0' ? map : "-\n");
    return 1;
  }
  if (strcmp(sub, "connect") == 0 && argc >= 1) {
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(argv[0]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
      err = errno;
    if (fd >= 0)
      close(fd);
  } else if (strcmp(sub, "socket") == 0) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      err = errno;
    else
      close(fd);
  } else if (strcmp(sub, "write-file") == 0 && argc >= 1) {
    fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      err = errno;
    else
      close(fd);
  } else if (strcmp(sub, "read-dir") == 0 && argc >= 1) {
    DIR *d = opendir(argv[0]);

    if (d == NULL)
      err = errno;
    else
      closedir(d);
  } else if (strcmp(sub, "status-line") == 0 && argc >= 1) {
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");

    while (f != NULL && fgets(line, sizeof line, f) != NULL)
      if (strncmp(line, argv[0], strlen(argv[0])) == 0)
        fputs(line, stdout);
    if (f != NULL)
      fclose(f);
    return 1;
  } else {
    return 0;
  }
  if (err == 0)
    printf("%s ok\n", sub);
  else
    printf("%s errno %d\n", sub, err);
  return 1;
}

/* ---- usage and limits ------------------------------------------------------ */

/* alloc MB: allocates MB MiB and touches every page, then says
 * "allocated MB" (a process under a smaller memory limit is OOM-killed
 * before it can). */
static int cmd_alloc(long mb) {
  size_t len = (size_t)mb << 20, i;
  /* volatile: a compiler may drop an allocation nothing reads (clang
   * does), and the pages must really be touched. */
  volatile char *p = malloc(len);

  if (p == NULL) {
    fprintf(stderr, "alloc: malloc failed\n");
    return 1;
  }
  for (i = 0; i < len; i += 4096)
    p[i] = (char)i;
  printf("allocated %ld\n", mb);
  fflush(stdout);
  free((void *)p);
  return 0;
}

/* forks N: forks N children that wait (paused) to be killed, as far as
 * the kernel lets it, then says "forked K failed F errno E", kills and
 * reaps them all. */
static int cmd_forks(long n) {
  pid_t pids[1024];
  long k = 0, failed = 0, i;
  int last_errno = 0;

  if (n > 1024)
    n = 1024;
  for (i = 0; i < n; i++) {
    pid_t pid = fork();

    if (pid == 0) {
      pause();
      _exit(0);
    }
    if (pid < 0) {
      failed++;
      last_errno = errno;
      continue;
    }
    pids[k++] = pid;
  }
  printf("forked %ld failed %ld errno %d\n", k, failed, last_errno);
  fflush(stdout);
  for (i = 0; i < k; i++)
    kill(pids[i], SIGKILL);
  for (i = 0; i < k; i++)
    waitpid(pids[i], NULL, 0);
  return 0;
}

/* burn MS: burns MS milliseconds of CPU time, however long that takes. */
static int cmd_burn(long ms) {
  struct timespec now;
  volatile unsigned long x = 0;

  do {
    for (int i = 0; i < 100000; i++)
      x += (unsigned long)i;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  } while (now.tv_sec * 1000 + now.tv_nsec / 1000000 < ms);
  printf("burnt %ld (%lu)\n", ms, x & 1u);
  return 0;
}

/* spin MS: burns CPU for MS milliseconds of wall time. */
static int cmd_spin(long ms) {
  struct timespec start, now;
  volatile unsigned long x = 0;

  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    for (int i = 0; i < 100000; i++)
      x += (unsigned long)i;
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000000000L +
               (now.tv_nsec - start.tv_nsec) <
           ms * 1000000L);
  /* The sum is printed (as its parity) so that the loop is not idle. */
  printf("spun %ld (%lu)\n", ms, x & 1u);
  return 0;
}

/* forkloop MAX: forks children that wait to be killed, as fast as it can,
 * says "ready" after the first 50, and stops at MAX (a bound, so that a
 * test gone wrong cannot take the machine's pids). */
static int cmd_forkloop(long max) {
  long i;

  for (i = 0; i < max; i++) {
    pid_t pid = fork();

    if (pid == 0) {
      for (;;)
        pause();
    }
    if (i == 50)
      write_str(1, "ready\n");
  }
  for (;;)
    pause();
  return 0;
}

/* tick MS: "tick N" every MS milliseconds, N from 1, until killed. */
static int cmd_tick(long ms) {
  char line[64];
  long n;

  for (n = 1;; n++) {
    sleep_ms(ms);
    snprintf(line, sizeof line, "tick %ld\n", n);
    write_str(1, line);
  }
  return 0;
}

/* ---- readiness ------------------------------------------------------------ */

/* notify_send sends text to $NOTIFY_SOCKET ("@name": abstract), as
 * sd_notify(3) does; 0, or -1 when there is no socket to send to. */
static int notify_send(const char *text) {
  const char *name = getenv("NOTIFY_SOCKET");
  struct sockaddr_un addr;
  socklen_t len;
  int fd, rc;

  if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof addr.sun_path)
    return -1;
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, name, strlen(name));
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
  rc = sendto(fd, text, strlen(text), 0, (struct sockaddr *)&addr, len) < 0
           ? -1
           : 0;
  close(fd);
  return rc;
}

/* notify LINE... : sends the lines as one message to $NOTIFY_SOCKET, says
 * "sent", and waits to be killed; exit 3 when there is no socket. */
static int cmd_notify(int argc, char **argv) {
  char text[4096] = "";
  int i;

  for (i = 0; i < argc; i++) {
    strncat(text, argv[i], sizeof text - strlen(text) - 2);
    strcat(text, "\n");
  }
  if (notify_send(text) != 0)
    return 3;
  write_str(1, "sent\n");
  for (;;)
    pause();
  return 0;
}

/* notify-stamp MS: after MS ms, sends "STATUS=<CLOCK_MONOTONIC in ns>" and
 * "READY=1" in one message, then waits to be killed: the benchmark's
 * measure of a notification's way to the ready callback. */
static int cmd_notify_stamp(long ms) {
  struct timespec ts;
  char text[96];

  sleep_ms(ms);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  snprintf(text, sizeof text, "STATUS=%lld\nREADY=1\n",
           (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  if (notify_send(text) != 0)
    return 3;
  for (;;)
    pause();
  return 0;
}

/* notify-after-stdin: says $NOTIFY_SOCKET, waits for a line on stdin, then
 * sends "STATUS=real" and "READY=1" and waits to be killed. */
static int cmd_notify_after_stdin(void) {
  const char *name = getenv("NOTIFY_SOCKET");
  char c;

  write_str(1, name != NULL ? name : "(none)");
  write_str(1, "\n");
  while (read(0, &c, 1) == 1 && c != '\n')
    ;
  if (notify_send("STATUS=real\nREADY=1\n") != 0)
    return 3;
  for (;;)
    pause();
  return 0;
}

/* watchdog-pings N MS: sends WATCHDOG=1 N times, MS apart, says "quiet",
 * then waits (to be stopped by the watchdog); prints $WATCHDOG_USEC
 * first. */
static int cmd_watchdog_pings(long n, long ms) {
  const char *usec = getenv("WATCHDOG_USEC");
  long i;

  write_str(1, usec != NULL ? usec : "(none)");
  write_str(1, "\n");
  for (i = 0; i < n; i++) {
    if (notify_send("WATCHDOG=1\n") != 0)
      return 3;
    sleep_ms(ms);
  }
  write_str(1, "quiet\n");
  for (;;)
    pause();
  return 0;
}

/* notify-fd FD ready|close: writes "\n" on fd FD (ready), or closes it
 * without one (close), then waits to be killed. */
static int cmd_notify_fd(int fd, const char *mode) {
  if (strcmp(mode, "ready") == 0)
    write_all(fd, "\n", 1);
  close(fd);
  write_str(1, "done\n");
  for (;;)
    pause();
  return 0;
}

/* sequence BYTES: BYTES bytes on stdout where byte i is 'a' + (i * 7 +
 * i / 26) % 26, which a test computes for any position: where a bounded
 * capture's head and tail come from shows. */
static int cmd_sequence(long bytes) {
  char buf[4099];
  long i = 0;

  while (i < bytes) {
    size_t n = 0;

    while (n < sizeof buf && i < bytes) {
      buf[n++] = (char)('a' + (i * 7 + i / 26) % 26);
      i++;
    }
    write_all(1, buf, n);
  }
  return 0;
}

/* tree-write BYTES: a child writes BYTES bytes of 'w' to stdout and then
 * waits to be killed; the helper exits 0 once the child has written them
 * all, leaving it in the tree. */
static int cmd_tree_write(long bytes) {
  char buf[4096], c;
  int sync[2];
  pid_t pid;

  if (pipe(sync) != 0)
    return 3;
  pid = fork();
  if (pid < 0)
    return 3;
  if (pid == 0) {
    close(sync[0]);
    memset(buf, 'w', sizeof buf);
    while (bytes > 0) {
      size_t n = bytes < (long)sizeof buf ? (size_t)bytes : sizeof buf;
      write_all(1, buf, n);
      bytes -= (long)n;
    }
    write_all(sync[1], "x", 1);
    for (;;)
      pause();
  }
  close(sync[1]);
  while (read(sync[0], &c, 1) < 0 && errno == EINTR)
    ;
  return 0;
}

int main(int argc, char **argv) {
  const char *sub;

  if (argc > 0 && argv[0] != NULL)
    progname = argv[0];
  if (argc < 2)
    usage_exit("usage: uvexec-test-helper SUBCOMMAND [ARGS...]");
  sub = argv[1];
  argc -= 2;
  argv += 2;

  if (strcmp(sub, "echo") == 0)
    return cmd_echo(1, argc, argv);
  if (strcmp(sub, "echo-err") == 0) /* echo, on stderr */
    return cmd_echo(2, argc, argv);
  if (strcmp(sub, "cat") == 0)
    return cmd_cat();
  if (strcmp(sub, "exit") == 0) {
    NEED(1);
    return (int)parse_long(argv[0], "exit: bad status");
  }
  if (strcmp(sub, "die") == 0) { /* die CODE MESSAGE: MESSAGE on stderr */
    NEED(2);
    write_str(2, argv[1]);
    write_str(2, "\n");
    return (int)parse_long(argv[0], "die: bad status");
  }
  if (strcmp(sub, "flood") == 0) {
    NEED(2);
    return cmd_flood(parse_long(argv[0], "flood: bad count"),
                     parse_long(argv[1], "flood: bad count"));
  }
  if (strcmp(sub, "fds") == 0)
    return cmd_fds();
  if (strcmp(sub, "lines") == 0) {
    NEED(1);
    return cmd_lines(parse_long(argv[0], "lines: bad count"));
  }
  if (strcmp(sub, "echo-sleep") == 0) {
    NEED(2);
    return cmd_echo_sleep(argv[0], parse_long(argv[1], "echo-sleep: bad ms"));
  }
  if (strcmp(sub, "ignore-term") == 0)
    return cmd_ignore_term();
  if (strcmp(sub, "handle-term") == 0)
    return cmd_handle_term();
  if (strcmp(sub, "sleep") == 0) {
    NEED(1);
    sleep_ms(parse_long(argv[0], "sleep: bad duration"));
    return 0;
  }
  if (strcmp(sub, "env") == 0)
    return cmd_env();
  if (strcmp(sub, "env-get") == 0) {
    NEED(1);
    return cmd_env_get(argv[0]);
  }
  if (strcmp(sub, "pwd") == 0)
    return cmd_pwd();
  if (strcmp(sub, "interleave") == 0) {
    NEED(1);
    return cmd_interleave(parse_long(argv[0], "interleave: bad count"));
  }
  if (strcmp(sub, "close-stdin-exit") == 0) {
    close(0);
    return 0;
  }
  if (strcmp(sub, "grandchild") == 0)
    return cmd_grandchild(argc > 0 ? parse_long(argv[0], "grandchild: bad ms")
                                   : 10000);
  if (strcmp(sub, "kill-self") == 0) {
    NEED(1);
    return cmd_kill_self((int)parse_long(argv[0], "kill-self: bad signal"));
  }
  if (strcmp(sub, "pid") == 0)
    return cmd_pid();
  if (strcmp(sub, "session") == 0)
    return cmd_session(argc > 0 ? parse_long(argv[0], "session: bad ms") : -1);
  if (strcmp(sub, "fd-link") == 0) {
    NEED(1);
    return cmd_fd_link((int)parse_long(argv[0], "fd-link: bad fd"), argc - 1,
                       argv + 1);
  }
  if (strcmp(sub, "stdin-count") == 0)
    return cmd_stdin_count();
  {
    int rc = pty_main(sub, argc, argv); /* terminals */
    if (rc >= 0)
      return rc;
  }
  if (strcmp(sub, "group-job") == 0) {
    NEED(1);
    return cmd_group_job(parse_long(argv[0], "group-job: bad duration"));
  }
  {
    int rc;
    if (pipeline_sub(sub, argc, argv, &rc))
      return rc;
  }

  /* Process trees. */
  if (strcmp(sub, "escape") == 0) {
    NEED(2);
    return cmd_escape(parse_long(argv[0], "escape: bad count"), argv[1]);
  }
  if (strcmp(sub, "forkloop") == 0) {
    NEED(1);
    return cmd_forkloop(parse_long(argv[0], "forkloop: bad count"));
  }
  {
    int rc;

    if (sandbox_sub(sub, argc, argv, &rc))
      return rc;
  }
  if (strcmp(sub, "alloc") == 0) {
    NEED(1);
    return cmd_alloc(parse_long(argv[0], "alloc: bad size"));
  }
  if (strcmp(sub, "forks") == 0) {
    NEED(1);
    return cmd_forks(parse_long(argv[0], "forks: bad count"));
  }
  if (strcmp(sub, "burn") == 0) {
    NEED(1);
    return cmd_burn(parse_long(argv[0], "burn: bad ms"));
  }
  if (strcmp(sub, "spin") == 0) {
    NEED(1);
    return cmd_spin(parse_long(argv[0], "spin: bad ms"));
  }
  if (strcmp(sub, "tick") == 0) {
    NEED(1);
    return cmd_tick(parse_long(argv[0], "tick: bad ms"));
  }
  if (strcmp(sub, "notify") == 0)
    return cmd_notify(argc, argv);
  if (strcmp(sub, "notify-stamp") == 0) {
    NEED(1);
    return cmd_notify_stamp(parse_long(argv[0], "notify-stamp: bad ms"));
  }
  if (strcmp(sub, "notify-after-stdin") == 0)
    return cmd_notify_after_stdin();
  if (strcmp(sub, "watchdog-pings") == 0) {
    NEED(2);
    return cmd_watchdog_pings(parse_long(argv[0], "watchdog-pings: bad n"),
                              parse_long(argv[1], "watchdog-pings: bad ms"));
  }
  if (strcmp(sub, "notify-fd") == 0) {
    NEED(2);
    return cmd_notify_fd((int)parse_long(argv[0], "notify-fd: bad fd"),
                         argv[1]);
  }
  if (strcmp(sub, "sequence") == 0) {
    NEED(1);
    return cmd_sequence(parse_long(argv[0], "sequence: bad count"));
  }
  if (strcmp(sub, "tree-write") == 0) {
    NEED(1);
    return cmd_tree_write(parse_long(argv[0], "tree-write: bad count"));
  }

  /* Child setup. */
  if (strcmp(sub, "setup") == 0)
    return cmd_setup();
  if (strcmp(sub, "wait-signal") == 0)
    return cmd_wait_signal();

  usage_exit("unknown sub-command");
  return 2;
}
