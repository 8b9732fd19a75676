/* SPDX-License-Identifier: MIT */
/* cgroup v2 directories of uvexec's own: made, watched, signalled, killed,
 * frozen and removed. What a contained cmd (contain.c) and a contained
 * pipeline (pipeline.c) stand on; nothing here knows of either. Also the
 * cgroup v1 directories a limit needs on a hybrid host (limits.c), made
 * and removed the same way, and the small files of both.
 *
 * A directory is named uvexec-<pid>-<start>-<seq>: the pid of the process
 * that made it, that process's start time (field 22 of /proc/<pid>/stat,
 * which tells a reused pid apart) and a sequence number. A sweep reads
 * the owner back from the name, and removes only what a process that is
 * gone left behind.
 *
 * The kernel facts this rests on, measured on Linux 6.18:
 *
 *  - A child enters its directory at birth (clone3 with CLONE_INTO_CGROUP
 *    and the directory's fd), so nothing it starts can be outside it.
 *  - One write of "1" to cgroup.kill sends SIGKILL to every process of
 *    the directory and of those below it, forks racing with it included.
 *    After that write, a child cloned into the directory from outside is
 *    killed at birth (the kernel compares kill counts), so a directory is
 *    used for one run only.
 *  - "populated 0" in cgroup.events says the tree is empty; a zombie does
 *    not count, so it is already 0 when the last process's exit is seen.
 *    An open cgroup.events turns POLLPRI when its content changes after
 *    the last read of it, at most once per 3 jiffies (a change may come
 *    up to 12 ms late); the loop watches that, nothing polls on a timer.
 *    (inotify would report it too, but closing an inotify instance waits
 *    for an RCU grace period: 20 ms of a blocked loop, measured.) Every
 *    blocking wait has a bound, since the removal of a directory is never
 *    reported on its cgroup.events.
 *  - Signalling every process one by one goes through a pidfd of each,
 *    signalled only once the kernel confirms, through that same pidfd,
 *    that the process is in the directory: a pid read from cgroup.procs
 *    and reused meanwhile is never signalled. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

#define NAME_PREFIX "uvexec-"
#define PASSES_MAX 64   /* signalling rounds before a fork loop is killed */
#define SUBTREE_MAX 16  /* how deep a tree's own cgroups are followed */

/* ---- small files --------------------------------------------------------- */

/* read_small reads a small file of dirfd into buf, NUL-terminated; its
 * length, or -errno. */
static int read_small(int dirfd, const char *path, char *buf, size_t len) {
  size_t n = 0;
  ssize_t r;
  int fd, err;

  fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  for (;;) {
    if (n + 1 >= len) {
      close(fd);
      return -EOVERFLOW;
    }
    r = read(fd, buf + n, len - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      err = -errno;
      close(fd);
      return err;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  return (int)n;
}

static int write_one(int dirfd, const char *path, const char *text) {
  size_t len = strlen(text);
  ssize_t n;
  int fd, err;

  fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  do
    n = write(fd, text, len);
  while (n < 0 && errno == EINTR);
  err = n < 0 ? -errno : (size_t)n == len ? 0 : UV_EIO;
  close(fd);
  return err;
}

/* ---- where the hierarchy is ----------------------------------------------- */

/* unescape undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s) {
  char *d = s;

  while (*s != '\0') {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
        s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
      *d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
      s += 4;
    } else {
      *d++ = *s++;
    }
  }
  *d = '\0';
}

/* has_word tells whether the comma-separated list (ended by a blank, a
 * newline or a colon) holds word. */
static int has_word(const char *list, const char *word) {
  size_t n = strlen(word);

  while (*list != '\0' && *list != ' ' && *list != '\n' && *list != ':') {
    const char *end = list + strcspn(list, ", \n:");

    if ((size_t)(end - list) == n && strncmp(list, word, n) == 0)
      return 1;
    list = *end == ',' ? end + 1 : end;
  }
  return 0;
}

/* mount_point finds the first cgroup2 mount in /proc/self/mountinfo, or
 * with a controller, the cgroup v1 mount of that controller. */
static int mount_point(const char *controller, char *buf, size_t len) {
  char *line = NULL, *sep, *field, *save = NULL;
  size_t cap = 0;
  int err = UV_ENOTSUP, i;
  FILE *f;

  f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL)
    return -errno;
  while (getline(&line, &cap, f) > 0) {
    /* id parent major:minor root mountpoint options ... - type source
     * super-options */
    sep = strstr(line, " - ");
    if (sep == NULL)
      continue;
    if (controller == NULL) {
      if (strncmp(sep + 3, "cgroup2 ", 8) != 0)
        continue;
    } else {
      const char *super;

      if (strncmp(sep + 3, "cgroup ", 7) != 0)
        continue;
      super = strchr(sep + 10, ' '); /* past the source */
      if (super == NULL || !has_word(super + 1, controller))
        continue;
    }
    field = strtok_r(line, " ", &save);
    for (i = 0; field != NULL && i < 4; i++)
      field = strtok_r(NULL, " ", &save);
    if (field == NULL)
      continue;
    unescape(field);
    err = strlen(field) < len ? 0 : UV_ENAMETOOLONG;
    if (err == 0)
      strcpy(buf, field);
    break;
  }
  free(line);
  fclose(f);
  return err;
}

/* own_dir answers this process's own cgroup v2 directory (controller
 * NULL): the mount joined with the "0::" line of /proc/self/cgroup; or its
 * directory in the v1 hierarchy of controller, from the line that names
 * it ("4:memory:/a/b"). */
static int own_dir(const char *controller, char *buf, size_t len) {
  char mount[PATH_MAX], text[4096];
  const char *rel, *end;
  size_t rlen;
  int n;

  n = mount_point(controller, mount, sizeof(mount));
  if (n < 0)
    return n;
  n = read_small(AT_FDCWD, "/proc/self/cgroup", text, sizeof(text));
  if (n < 0)
    return n;
  for (rel = text; rel != NULL && *rel != '\0';
       rel = strchr(rel, '\n'), rel = rel != NULL ? rel + 1 : NULL) {
    const char *names = strchr(rel, ':');

    if (names == NULL)
      continue;
    names++;
    if (controller == NULL ? strncmp(rel, "0::", 3) == 0
                           : *names != ':' && has_word(names, controller))
      break;
  }
  if (rel == NULL || *rel == '\0')
    return UV_ENOTSUP;
  rel = strchr(strchr(rel, ':') + 1, ':') + 1;
  end = strchr(rel, '\n');
  rlen = end != NULL ? (size_t)(end - rel) : strlen(rel);
  if (rlen == 1 && rel[0] == '/')
    rlen = 0; /* the root */
  n = snprintf(buf, len, "%s%.*s", mount, (int)rlen, rel);
  return n > 0 && (size_t)n < len ? 0 : UV_ENAMETOOLONG;
}

int uvexec__cgroup_parent(const char *parent, char **path) {
  char own[PATH_MAX];
  const char *env;
  int err;

  *path = NULL;
  if (parent == NULL || parent[0] == '\0') {
    env = getenv("UVEXEC_CGROUP_PARENT");
    parent = env != NULL && env[0] != '\0' ? env : NULL;
  }
  if (parent == NULL) {
    err = own_dir(NULL, own, sizeof(own));
    if (err != 0)
      return err;
    parent = own;
  }
  *path = strdup(parent);
  return *path != NULL ? 0 : UV_ENOMEM;
}

int uvexec__cgroup_v1_parent(const char *controller, char **path) {
  char own[PATH_MAX];
  int err;

  *path = NULL;
  err = own_dir(controller, own, sizeof(own));
  if (err != 0)
    return err;
  *path = strdup(own);
  return *path != NULL ? 0 : UV_ENOMEM;
}

/* ---- who made a directory --------------------------------------------------- */

/* start_time reads field 22 of /proc/<pid>/stat (and the state, field 3),
 * which comes after the command's name in parentheses, itself free to
 * hold spaces and parentheses. */
static int start_time(pid_t pid, unsigned long long *start, char *state) {
  char path[64], text[1024], *p, *field, *save = NULL;
  int n, i;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  n = read_small(AT_FDCWD, path, text, sizeof(text));
  if (n < 0)
    return n;
  p = strrchr(text, ')');
  if (p == NULL)
    return UV_EINVAL;
  field = strtok_r(p + 1, " ", &save);
  for (i = 3; field != NULL; i++, field = strtok_r(NULL, " ", &save)) {
    if (i == 3 && state != NULL)
      *state = field[0];
    if (i == 22) {
      *start = strtoull(field, NULL, 10);
      return 0;
    }
  }
  return UV_EINVAL;
}

/* owner_gone tells whether the process named by pid and start is gone:
 * no such pid, another process with that pid, or one that has exited. */
static int owner_gone(pid_t pid, unsigned long long start) {
  unsigned long long now;
  char state = 0;
  int err;

  if (pid == getpid())
    return 0; /* this process's own start time is not read back */
  err = start_time(pid, &now, &state);
  if (err == UV_ENOENT || err == UV_ESRCH)
    return 1;
  if (err != 0)
    return 0; /* unknown: left alone */
  return now != start || state == 'Z' || state == 'X';
}

static int parse_name(const char *name, pid_t *pid,
                      unsigned long long *start) {
  unsigned long long seq;
  int ipid, used = 0;

  if (strncmp(name, NAME_PREFIX, strlen(NAME_PREFIX)) != 0)
    return 0;
  if (sscanf(name + strlen(NAME_PREFIX), "%d-%llu-%llu%n", &ipid, start, &seq,
             &used) != 3 ||
      name[strlen(NAME_PREFIX) + (size_t)used] != '\0' || ipid <= 0)
    return 0;
  *pid = ipid;
  return 1;
}

/* ---- making one ------------------------------------------------------------ */

/* describe words err about path into *why (malloc'd; NULL without memory). */
static void describe(char **why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void describe(char **why, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  if (vasprintf(why, fmt, ap) < 0)
    *why = NULL;
  va_end(ap);
}

void uvexec__cgroup_init(uvexec__cgroup_t *cg) {
  cg->dirfd = -1;
  cg->name[0] = '\0';
  cg->path = NULL;
  cg->id = 0;
}

/* make_dir makes a directory of uvexec's under parent, a cgroup v2
 * directory, or with v1 one of a v1 hierarchy. */
static int make_dir(const char *parent, uvexec__cgroup_t *cg, char **why,
                    int v1) {
  static unsigned long seq; /* atomically incremented */
  static unsigned long long own_start;
  static pid_t own_pid;     /* whose own_start it is: a fork has another */
  struct statfs fs;
  struct stat st;
  pid_t pid = getpid();
  int err, tries, parentfd;

  *why = NULL;
  uvexec__cgroup_init(cg);
  if (own_pid != pid) {
    err = start_time(pid, &own_start, NULL);
    if (err != 0) {
      describe(why, "contain: reading /proc/self/stat: %s",
               uvexec_strerror(err));
      return err;
    }
    own_pid = pid; /* a benign race: every thread reads the same */
  }

  parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parentfd < 0) {
    err = -errno;
    describe(why, "contain %s: %s", parent, uvexec_strerror(err));
    return err;
  }
  if (fstatfs(parentfd, &fs) != 0 ||
      fs.f_type != (v1 ? CGROUP_SUPER_MAGIC : CGROUP2_SUPER_MAGIC)) {
    describe(why, "contain %s: not a cgroup %s directory", parent,
             v1 ? "v1" : "v2");
    err = UV_ENOTSUP;
    goto fail;
  }

  for (tries = 0;; tries++) {
    snprintf(cg->name, sizeof(cg->name), NAME_PREFIX "%d-%llu-%lu", (int)pid,
             own_start, __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
    if (mkdirat(parentfd, cg->name, 0755) == 0)
      break;
    err = -errno;
    if (err != UV_EEXIST || tries == 100) {
      describe(why, "contain %s: %s", parent, uvexec_strerror(err));
      cg->name[0] = '\0';
      goto fail;
    }
  }
  describe(&cg->path, "%s/%s", parent, cg->name);
  if (cg->path == NULL) {
    err = UV_ENOMEM;
    goto fail;
  }
  cg->dirfd = openat(parentfd, cg->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg->dirfd < 0 || fstat(cg->dirfd, &st) != 0) {
    err = -errno;
    describe(why, "contain %s/%s: %s", parent, cg->name, uvexec_strerror(err));
    goto fail;
  }
  cg->id = (uint64_t)st.st_ino; /* the cgroup's id */
  if (!v1 && faccessat(cg->dirfd, "cgroup.kill", W_OK, 0) != 0) {
    err = errno == ENOENT ? UV_ENOTSUP : -errno;
    describe(why, "contain %s: %s", parent,
             err == UV_ENOTSUP ? "no cgroup.kill (Linux 5.14 or later is "
                                 "needed)"
                               : uvexec_strerror(err));
    goto fail;
  }
  cg->dirfd = uvexec__fd_move_high(cg->dirfd);
  close(parentfd);
  return 0;

fail:
  if (cg->name[0] != '\0')
    (void)unlinkat(parentfd, cg->name, AT_REMOVEDIR);
  close(parentfd);
  uvexec__close_fd(&cg->dirfd);
  free(cg->path);
  uvexec__cgroup_init(cg);
  return err;
}

int uvexec__cgroup_make(const char *parent, uvexec__cgroup_t *cg, char **why) {
  return make_dir(parent, cg, why, 0);
}

int uvexec__cgroup_make_v1(const char *parent, uvexec__cgroup_t *cg,
                           char **why) {
  return make_dir(parent, cg, why, 1);
}

/* ---- its files ---------------------------------------------------------- */

int uvexec__cgroup_write(int dirfd, const char *file, const char *text) {
  return write_one(dirfd, file, text);
}

int uvexec__cgroup_read(int dirfd, const char *file, const char *key,
                        uint64_t *value) {
  char text[4096], *p, *end;
  size_t klen = key != NULL ? strlen(key) : 0;
  int n;

  n = read_small(dirfd, file, text, sizeof(text));
  if (n < 0)
    return n;
  for (p = text; key != NULL; p = strchr(p, '\n'), p = p != NULL ? p + 1 : p) {
    if (p == NULL || *p == '\0')
      return UV_ENOENT;
    if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
      p += klen + 1;
      break;
    }
  }
  errno = 0;
  *value = strtoull(p, &end, 10);
  if (end == p || errno != 0)
    return UV_EINVAL;
  return 0;
}

int uvexec__cgroup_has(int dirfd, const char *file, const char *word) {
  char text[1024], *p, *save = NULL;
  size_t n = strlen(word);
  int len;

  len = read_small(dirfd, file, text, sizeof(text));
  if (len < 0)
    return len;
  for (p = strtok_r(text, " \n", &save); p != NULL;
       p = strtok_r(NULL, " \n", &save))
    if (strlen(p) == n && strcmp(p, word) == 0)
      return 1;
  return 0;
}

/* ---- what is in it ------------------------------------------------------- */

/* events_key reads one key of cgroup.events: its value, or -errno. */
static int events_key(int dirfd, const char *key) {
  char text[256], *p;
  size_t klen = strlen(key);
  int n;

  n = read_small(dirfd, "cgroup.events", text, sizeof(text));
  if (n < 0)
    return n;
  for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
    if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
      return atoi(p + klen + 1);
  return UV_ENOENT;
}

int uvexec__cgroup_populated(const uvexec__cgroup_t *cg) {
  return events_key(cg->dirfd, "populated");
}

int uvexec__cgroup_watch(const uvexec__cgroup_t *cg, int *populated) {
  int fd, n;

  fd = openat(cg->dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  n = uvexec__cgroup_watch_read(fd);
  if (n < 0) {
    close(fd);
    return n;
  }
  *populated = n;
  return uvexec__fd_move_high(fd);
}

int uvexec__cgroup_watch_read(int watch) {
  char text[256], *p;
  ssize_t n;

  /* Reading the file from its start is what lets the next change be
   * reported. */
  do
    n = pread(watch, text, sizeof(text) - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  text[n] = '\0';
  p = strstr(text, "populated ");
  return p != NULL ? atoi(p + strlen("populated ")) : UV_EINVAL;
}

/* for_each_proc calls fn on every pid in cgroup.procs of dirfd and of the
 * directories below it (a tree may make cgroups of its own), with the id
 * of the directory that lists it. Answers the count of pids seen, or
 * -errno. */
static int for_each_proc(int dir_fd, int depth,
                         void (*fn)(pid_t pid, uint64_t id, void *arg),
                         void *arg) {
  struct dirent *entry;
  struct stat st;
  int fd, count = 0, n, p;
  uint64_t id;
  DIR *dir;
  FILE *f;

  if (fstat(dir_fd, &st) != 0)
    return -errno;
  id = (uint64_t)st.st_ino;
  fd = openat(dir_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  f = fdopen(fd, "r");
  if (f == NULL) {
    close(fd);
    return UV_ENOMEM;
  }
  while (fscanf(f, "%d", &p) == 1) {
    count++;
    if (fn != NULL)
      fn(p, id, arg);
  }
  fclose(f);
  if (depth >= SUBTREE_MAX)
    return count;

  fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return count;
  dir = fdopendir(fd);
  if (dir == NULL) {
    close(fd);
    return count;
  }
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
      continue;
    fd = openat(dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      continue;
    n = for_each_proc(fd, depth + 1, fn, arg);
    close(fd);
    if (n > 0)
      count += n;
  }
  closedir(dir);
  return count;
}

int uvexec__cgroup_count(const uvexec__cgroup_t *cg) {
  return for_each_proc(cg->dirfd, 0, NULL, NULL);
}

/* ---- signals ---------------------------------------------------------------- */

/* One round of signalling: what was signalled already (a pidfd's inode
 * names one process for good on Linux 6.9+; on older kernels the pid
 * alone is the key), and what is new this round. */
typedef struct {
  const uvexec__cgroup_t *cg;
  int signum;
  struct {
    pid_t pid;
    uint64_t ino;
  } * seen;
  size_t nseen, cap;
  unsigned fresh;
  int err;
} round_t;

/* in_tree tells whether the process of pidfd is in the directory of id
 * (which listed pid): asked of the kernel through the pidfd itself where
 * it can say (Linux 6.13+), else through /proc, which speaks of the
 * pidfd's process as long as that is still alive when it is signalled
 * (pidfd_send_signal fails otherwise). */
static int in_tree(const uvexec__cgroup_t *cg, int pidfd, pid_t pid,
                   uint64_t id) {
  char path[64], text[4096], *line;
  uint64_t now;
  int err;

  err = uvexec__pidfd_cgroup(pidfd, &now);
  if (err == 0)
    return now == id;
  if (err != UV_ENOTSUP)
    return 0;
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
  if (read_small(AT_FDCWD, path, text, sizeof(text)) < 0)
    return 0;
  line = strstr(text, "0::");
  return line != NULL && strstr(line, cg->name) != NULL;
}

static void signal_one(pid_t pid, uint64_t id, void *arg) {
  round_t *r = arg;
  struct stat st;
  uint64_t ino;
  size_t i;
  int pidfd;

  pidfd = uvexec__pidfd_open(pid);
  if (pidfd < 0)
    return; /* gone already */
  ino = fstat(pidfd, &st) == 0 ? (uint64_t)st.st_ino : 0;
  for (i = 0; i < r->nseen; i++)
    if (r->seen[i].pid == pid && r->seen[i].ino == ino)
      break;
  if (i < r->nseen) {
    close(pidfd);
    return;
  }
  if (r->nseen == r->cap) {
    size_t cap = r->cap > 0 ? r->cap * 2 : 64;
    void *grown = realloc(r->seen, cap * sizeof(*r->seen));

    if (grown == NULL) {
      r->err = UV_ENOMEM;
      close(pidfd);
      return;
    }
    r->seen = grown;
    r->cap = cap;
  }
  r->seen[r->nseen].pid = pid;
  r->seen[r->nseen].ino = ino;
  r->nseen++;
  r->fresh++;
  if (in_tree(r->cg, pidfd, pid, id))
    (void)uvexec__pidfd_signal(pidfd, r->signum, 0);
  close(pidfd);
}

int uvexec__cgroup_signal(const uvexec__cgroup_t *cg, int signum) {
  round_t r;
  int passes, n;

  if (signum == SIGKILL)
    return uvexec__cgroup_kill(cg);
  memset(&r, 0, sizeof(r));
  r.cg = cg;
  r.signum = signum;
  /* Rounds until one finds nobody new: a process forked while a round
   * read cgroup.procs is found by the next. A tree that forks faster than
   * it can be signalled gets the rest from cgroup.kill. */
  for (passes = 0; passes < PASSES_MAX; passes++) {
    r.fresh = 0;
    n = for_each_proc(cg->dirfd, 0, signal_one, &r);
    if (n < 0 || r.err != 0 || r.fresh == 0)
      break;
  }
  free(r.seen);
  if (r.err != 0)
    return r.err;
  if (n < 0)
    return n;
  if (passes == PASSES_MAX)
    return uvexec__cgroup_kill(cg);
  return r.nseen > 0 ? 0 : UV_ESRCH;
}

int uvexec__cgroup_kill(const uvexec__cgroup_t *cg) {
  return write_one(cg->dirfd, "cgroup.kill", "1");
}

int uvexec__cgroup_freeze(const uvexec__cgroup_t *cg, int on) {
  return write_one(cg->dirfd, "cgroup.freeze", on ? "1" : "0");
}

/* ---- waiting and removal ------------------------------------------------------ */

static uint64_t now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* wait_empty blocks until the tree of dirfd is empty, at most ms: the
 * watch is armed by the read that finds it populated, so no change after
 * that read is missed. */
static int wait_empty(int dirfd, unsigned ms) {
  uvexec__cgroup_t view;
  uint64_t deadline = now_ms() + ms, now;
  struct pollfd pfd;
  int watch, n = 0;

  uvexec__cgroup_init(&view);
  view.dirfd = dirfd;
  watch = uvexec__cgroup_watch(&view, &n);
  if (watch < 0)
    return watch == UV_ENOENT ? 0 : watch; /* gone: empty */
  while (n > 0) {
    now = now_ms();
    if (now >= deadline) {
      n = UV_ETIMEDOUT;
      break;
    }
    pfd.fd = watch;
    pfd.events = POLLPRI;
    pfd.revents = 0;
    if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR) {
      n = -errno;
      break;
    }
    n = uvexec__cgroup_watch_read(watch);
  }
  close(watch);
  return n < 0 ? n : 0;
}

int uvexec__cgroup_wait_empty(const uvexec__cgroup_t *cg, unsigned ms) {
  return wait_empty(cg->dirfd, ms);
}

/* remove_dir removes name under parentfd, and the cgroups the tree made
 * below it, deepest first. */
static int remove_dir(int parentfd, const char *name, int depth) {
  struct dirent *entry;
  int fd, err;
  DIR *dir;

  if (unlinkat(parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
    return 0;
  err = -errno;
  if ((err != UV_EBUSY && err != UV_ENOTEMPTY) || depth >= SUBTREE_MAX)
    return err;
  fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  dir = fdopendir(fd);
  if (dir == NULL) {
    close(fd);
    return err;
  }
  while ((entry = readdir(dir)) != NULL)
    if (entry->d_type == DT_DIR && entry->d_name[0] != '.')
      (void)remove_dir(dirfd(dir), entry->d_name, depth + 1);
  closedir(dir);
  if (unlinkat(parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
    return 0;
  return -errno;
}

int uvexec__cgroup_remove(uvexec__cgroup_t *cg) {
  int err = 0;

  if (cg->path != NULL)
    err = remove_dir(AT_FDCWD, cg->path, 0);
  uvexec__close_fd(&cg->dirfd);
  free(cg->path);
  uvexec__cgroup_init(cg);
  return err;
}

/* ---- what a crashed run left ------------------------------------------------ */

#define SWEEP_WAIT_MS 2000

/* sweep_v1 removes the v1 directories of dead owners beside this
 * process's own in each hierarchy a limit uses. Their processes were in
 * the owners' v2 directories too, which the sweep killed first; a
 * directory that still holds one stays (EBUSY). Adds to *swept and *err. */
static void sweep_v1(int *swept, int *err) {
  static const char *const controllers[] = {"memory", "pids", "cpu"};
  unsigned long long start;
  struct dirent *entry;
  char *path;
  size_t i;
  pid_t pid;
  DIR *dir;
  int n;

  for (i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++) {
    if (uvexec__cgroup_v1_parent(controllers[i], &path) != 0)
      continue;
    dir = opendir(path);
    free(path);
    if (dir == NULL)
      continue;
    while ((entry = readdir(dir)) != NULL) {
      if (entry->d_type != DT_DIR ||
          !parse_name(entry->d_name, &pid, &start) || !owner_gone(pid, start))
        continue;
      n = unlinkat(dirfd(dir), entry->d_name, AT_REMOVEDIR) == 0 ? 0 : -errno;
      if (n == 0)
        (*swept)++;
      else if (*err == 0)
        *err = n;
    }
    closedir(dir);
  }
}

int uvexec_contain_sweep(const char *parent) {
  unsigned long long start;
  struct dirent *entry;
  char *path = NULL;
  int fd, dir_fd, swept = 0, err, n;
  pid_t pid;
  DIR *dir;

  err = uvexec__cgroup_parent(parent, &path);
  if (err != 0)
    return err;
  fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(path);
  if (fd < 0)
    return -errno;
  dir = fdopendir(fd);
  if (dir == NULL) {
    close(fd);
    return UV_ENOMEM;
  }
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_type != DT_DIR || !parse_name(entry->d_name, &pid, &start) ||
        !owner_gone(pid, start))
      continue;
    dir_fd = openat(fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
      continue;
    if (write_one(dir_fd, "cgroup.kill", "1") == 0)
      (void)wait_empty(dir_fd, SWEEP_WAIT_MS);
    close(dir_fd);
    n = remove_dir(fd, entry->d_name, 0);
    if (n == 0)
      swept++;
    else if (err == 0)
      err = n;
  }
  closedir(dir);
  sweep_v1(&swept, &err);
  return swept > 0 || err == 0 ? swept : err;
}
