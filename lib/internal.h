/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of lib/. Nothing here is part
 * of the API: names are uvexec__*, and the cmd's layout may change.
 *
 * The files stand in layers, each calling only those below it, except
 * for the lifecycle, which the parts report to (see lifecycle.c):
 *
 *   facade, pipelines, groups,  sync.c pipeline.c group.c exec.c
 *   services, supervisors       service.c supervisor.c
 *   the lifecycle               lifecycle.c: state, done, stop, release
 *   the parts of a run          read.c (+ lines.c, bounds.c) write.c
 *                               reap.c timers.c pty.c contain.c ready.c
 *                               foreground.c engine_uv.c engine_clone.c
 *   a start's preparation       spawn.c stdio.c
 *   configuration and results   cmd.c setup.c env.c lookpath.c
 *   leaves                      handles.c pidfd.c cgroup.c fds.c buffer.c
 *                               unmap.c errors.c version.c
 *
 * A part owns its resources and reports what happened to the lifecycle
 * through uvexec__lifecycle_event(); it never calls another part. */
#ifndef UVEXEC_INTERNAL_H
#define UVEXEC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <termios.h>

#include "uvexec.h"

#define UVEXEC__CONTAINER_OF(ptr, type, field)                                \
  ((type *)((char *)(ptr) - offsetof(type, field)))

/* Where a cmd is in its one life. Every entry point checks it first. */
typedef enum {
  UVEXEC__CONFIGURING = 0, /* created, setters allowed */
  UVEXEC__RUNNING,         /* started; the done callback is still ahead */
  UVEXEC__DONE,            /* the done callback was called (or is due) */
  UVEXEC__FAILED           /* uvexec_start failed; terminal */
} uvexec__state_t;

/* ---- growable byte buffer (buffer.c) ----------------------------------- */

/* A byte buffer that keeps a NUL after its data. base is NULL until the
 * first byte arrives. */
typedef struct {
  char *base;
  size_t len;
  size_t cap; /* bytes allocated at base, the NUL included */
  int mapped; /* base is a mapping of its own (large buffers) */
} uvexec__buf_t;

int uvexec__buf_append(uvexec__buf_t *buf, const void *data, size_t len);
/* Makes room for at least want more bytes; returns the free tail. */
char *uvexec__buf_reserve(uvexec__buf_t *buf, size_t want, size_t *avail);
/* Records n bytes written into the tail handed out by reserve. */
void uvexec__buf_commit(uvexec__buf_t *buf, size_t n);
void uvexec__buf_consume(uvexec__buf_t *buf, size_t n);
/* Gives back the capacity beyond the data (and its NUL). */
void uvexec__buf_shrink(uvexec__buf_t *buf);
void uvexec__buf_free(uvexec__buf_t *buf);

/* ---- unmapping (unmap.c) ------------------------------------------------ */

/* Unmaps [addr, addr + len), a mapping of its own: a large one later, on
 * uvexec's unmapper thread, so the caller does not wait for it. */
void uvexec__unmap(void *addr, size_t len);

/* ---- where uvexec's own fds live (fds.c) ------------------------------- */

/* uvexec__fd_move_high moves fd, one uvexec keeps while a child runs, up
 * the fd table (close-on-exec), and returns its new number: fd itself
 * when it is high already or there is no room above. */
int uvexec__fd_move_high(int fd);
/* uvexec__fd_dup_high answers a close-on-exec copy of fd, up the table
 * where there is room (else above fd 2), or -1 with errno set. */
int uvexec__fd_dup_high(int fd);
/* uvexec__close_fd closes *fd unless it is -1, and makes it -1. */
void uvexec__close_fd(int *fd);
/* uvexec__open_in opens path, relative to dir when it is relative and
 * dir is set, close-on-exec, with mode 0666 (less the umask) if flags
 * create it; it answers the fd or a negative errno. */
int uvexec__open_in(const char *dir, const char *path, int flags);

/* ---- handles (handles.c) ------------------------------------------------ */

/* A cmd's libuv handles: how many are open, and those someone else closed
 * (a uv_walk() shutdown) that libuv is not done with yet. */
typedef struct {
  unsigned open; /* handles not yet through their close callback */
  uv_handle_t *foreign[16];
  unsigned nforeign;
  uv_timer_t sweeper; /* waits for the foreign closes, when it must */
  int sweeping;
  void (*all_closed)(uvexec_cmd_t *cmd); /* NULL: nobody waits */
} uvexec__handles_t;

/* uvexec__handle_open counts handle, just initialized on the cmd's loop,
 * among cmd's handles, and points its data at cmd. */
void uvexec__handle_open(uvexec_cmd_t *cmd, uv_handle_t *handle);
/* uvexec__handle_close closes one of a cmd's handles (its data is the
 * cmd), or, when someone else closed it already, takes note so that the
 * count waits until libuv is done with it. Every handle of a cmd is
 * closed through here. */
void uvexec__handle_close(uv_handle_t *handle);
/* uvexec__handle_usable tells whether a handle of cmd may be started:
 * not closed by someone else. */
static inline int uvexec__handle_usable(const void *handle) {
  return !uv_is_closing((const uv_handle_t *)handle);
}
/* uvexec__handles_when_closed calls cb(cmd) once every handle of cmd is
 * through its close callback: at once when none is open. */
void uvexec__handles_when_closed(uvexec_cmd_t *cmd,
                                 void (*cb)(uvexec_cmd_t *cmd));
/* uvexec__poll_watch makes poll a watcher of fd on cmd's loop, counted
 * among cmd's handles (not started). */
int uvexec__poll_watch(uvexec_cmd_t *cmd, uv_poll_t *poll, int fd);
/* uvexec__poll_close closes the watcher, if *polling (libuv takes the fd
 * out of epoll at once), then the fd, if open. */
void uvexec__poll_close(uv_poll_t *poll, int *polling, int *fd);
/* uvexec__timer_open makes timer a timer on cmd's loop, counted among
 * its handles, unless *open says it is already; uvexec__timer_close
 * closes it if *open. */
int uvexec__timer_open(uvexec_cmd_t *cmd, uv_timer_t *timer, int *open);
void uvexec__timer_close(uv_timer_t *timer, int *open);

/* ---- pidfds (pidfd.c) --------------------------------------------------- */

/* uvexec__have_pidfd tells whether this process can have pidfds (Linux
 * 5.3 and later, not under valgrind). */
int uvexec__have_pidfd(void);
int uvexec__pidfd_open(pid_t pid);
/* uvexec__proc_stat reads a process's state letter and parent's pid from
 * /proc/PID/stat (either pointer may be NULL); 0 or an error. */
int uvexec__proc_stat(pid_t pid, char *state, pid_t *ppid);
/* uvexec__pidfd_waitid is waitid(P_PIDFD) with the child's resource
 * usage; 0 or -errno. */
int uvexec__pidfd_waitid(int pidfd, siginfo_t *info, int options,
                         struct rusage *usage);
/* uvexec__pidfd_wait_exit blocks until the process of pidfd has exited,
 * and reaps it. */
void uvexec__pidfd_wait_exit(int pidfd);
/* uvexec__pidfd_signal is pidfd_send_signal(); 0 or -errno. */
int uvexec__pidfd_signal(int pidfd, int signum, unsigned flags);
/* uvexec__pidfd_exit_status gives the wait status of the pidfd's process
 * once someone (anyone) has reaped it (Linux 6.15+): UV_EAGAIN before,
 * UV_ENOTSUP on kernels that do not keep it. */
int uvexec__pidfd_exit_status(int pidfd, int *wstatus);
/* uvexec__pidfd_cgroup gives the id (the directory's inode) of the cgroup
 * v2 the pidfd's process is in (Linux 6.13+; else UV_ENOTSUP). */
int uvexec__pidfd_cgroup(int pidfd, uint64_t *id);

/* ---- the sandbox's kernel facts (sandbox.c) ------------------------------ */

/* uvexec__landlock_abi answers the kernel's Landlock ABI version, 0 for
 * none. uvexec__landlock_ruleset builds the ruleset of cmd's allowed
 * paths (a close-on-exec fd, moved high), with a message naming what
 * failed. uvexec__sandbox_write_maps writes the uid and gid maps of a
 * child's user namespace (the caller's ids to themselves by default). */
int uvexec__landlock_abi(void);
int uvexec__landlock_ruleset(uvexec_cmd_t *cmd, int *fd_out,
                             uint64_t *proc_access);
int uvexec__sandbox_write_maps(uvexec_cmd_t *cmd, pid_t pid);

/* ---- cgroup v2 directories (cgroup.c) ----------------------------------- */

/* A cgroup v2 directory uvexec made, for one run. */
typedef struct {
  int dirfd; /* the directory (CLONE_INTO_CGROUP's fd); -1: none */
  char name[64];
  char *path;  /* parent/name, owned: how it is named and removed */
  uint64_t id; /* the cgroup's id: the directory's inode */
} uvexec__cgroup_t;

void uvexec__cgroup_init(uvexec__cgroup_t *cg);
/* uvexec__cgroup_parent resolves where directories are made: parent, else
 * $UVEXEC_CGROUP_PARENT, else this process's own cgroup v2 directory. */
int uvexec__cgroup_parent(const char *parent, char **path);
/* uvexec__cgroup_make makes a new directory under parent. On failure *why
 * is the message (malloc'd, or NULL without memory) and nothing is left:
 * UV_ENOTSUP where parent is no cgroup v2 directory or the kernel has no
 * cgroup.kill, UV_EACCES where parent cannot be written, ... */
int uvexec__cgroup_make(const char *parent, uvexec__cgroup_t *cg, char **why);
/* uvexec__cgroup_v1_parent answers this process's directory in the cgroup
 * v1 hierarchy of controller (malloc'd); UV_ENOTSUP where no v1 hierarchy
 * has it. uvexec__cgroup_make_v1 makes a directory there, as
 * uvexec__cgroup_make does under a v2 parent (no cgroup.kill in v1). */
int uvexec__cgroup_v1_parent(const char *controller, char **path);
int uvexec__cgroup_make_v1(const char *parent, uvexec__cgroup_t *cg,
                           char **why);
/* Small files of a cgroup directory: write text to file; read a number,
 * the whole file or the value of "key N" lines (cpu.stat, memory.events);
 * tell whether a space-separated list (cgroup.controllers) has word (1, 0,
 * or -errno). */
int uvexec__cgroup_write(int dirfd, const char *file, const char *text);
int uvexec__cgroup_read(int dirfd, const char *file, const char *key,
                        uint64_t *value);
int uvexec__cgroup_has(int dirfd, const char *file, const char *word);
/* 1 when a process is in the tree, 0 when it is empty, or -errno. */
int uvexec__cgroup_populated(const uvexec__cgroup_t *cg);
/* How many processes the tree holds, or -errno. */
int uvexec__cgroup_count(const uvexec__cgroup_t *cg);
/* uvexec__cgroup_watch answers an fd of cgroup.events that turns POLLPRI
 * (UV_PRIORITIZED) when the file changes after its last read, and in
 * *populated what that read found; uvexec__cgroup_watch_read reads it
 * again, answering populated and arming it for the next change. */
int uvexec__cgroup_watch(const uvexec__cgroup_t *cg, int *populated);
int uvexec__cgroup_watch_read(int watch);
/* uvexec__cgroup_signal sends signum to every process of the tree
 * (SIGKILL: cgroup.kill); UV_ESRCH when there was none. */
int uvexec__cgroup_signal(const uvexec__cgroup_t *cg, int signum);
int uvexec__cgroup_kill(const uvexec__cgroup_t *cg);
int uvexec__cgroup_freeze(const uvexec__cgroup_t *cg, int on);
/* uvexec__cgroup_wait_empty blocks until the tree is empty, at most ms
 * (UV_ETIMEDOUT). */
int uvexec__cgroup_wait_empty(const uvexec__cgroup_t *cg, unsigned ms);
/* uvexec__cgroup_remove removes the directory (and any the tree made
 * below it) and closes its fds; the tree must be empty. */
int uvexec__cgroup_remove(uvexec__cgroup_t *cg);

/* ---- child stdio ---------------------------------------------------------- */

/* How one of the child's fds 0, 1 and 2 is set up. */
typedef enum {
  UVEXEC__IO_NULL = 0, /* /dev/null */
  UVEXEC__IO_INHERIT,  /* the parent's own fd of the same number */
  UVEXEC__IO_PIPE,     /* a pipe driven by uvexec */
  UVEXEC__IO_MERGE,    /* stderr: whatever stdout is */
  UVEXEC__IO_FD,       /* a caller's fd */
  UVEXEC__IO_FILE      /* a path, opened at the start */
} uvexec__io_kind_t;

typedef struct uvexec__loop_share_s uvexec__loop_share_t;

/* A bounded capture's middle and tail (bounds.c). */
typedef struct {
  char *ring; /* the last bytes, capture_tail of them; owned */
  size_t at;  /* where the next byte goes in ring */
  size_t filled;
  uint64_t seen;    /* bytes offered to the capture in all */
  uint64_t omitted; /* bytes neither in the head nor in the ring */
} uvexec__bounds_t;

/* A stream the parent reads (the child's stdout or stderr). */
typedef struct {
  uvexec__io_kind_t kind;
  int capture;            /* keep the bytes in buf */
  int caller_fd;          /* for UVEXEC__IO_FD */
  char *path;             /* for UVEXEC__IO_FILE, owned */
  int append;             /* ... >> rather than > */
  uvexec_data_cb data_cb; /* optional */
  uvexec_data_cb line_cb; /* optional */
  uvexec__buf_t buf;      /* captured bytes, owned */
  uvexec__buf_t line;     /* the incomplete line for line_cb, owned */
  uvexec__bounds_t bounds; /* with capture bounds (bounds.c) */
  int piece_ended;        /* the last bytes fed ended a full-bound piece */
  int capture_full;       /* the output limit was reached */
  int busy;               /* a fast producer: read straight into buf */
  uint64_t ticket;        /* busy: when it last had its turn (read.c) */
  uint64_t turn;          /* the loop turn it was last reported in */
  size_t faulted;         /* buf's pages are faulted in up to here */
  uvexec__loop_share_t *share; /* what the loop's streams share (read.c) */
  int fd;                 /* parent's end of the pipe, -1 when closed */
  uv_poll_t poll;
  int polling; /* poll is initialized and not yet closed */
  int eof;     /* end of file reached, or abandoned */
  int tty;     /* fd is a pty master: EIO from read() is end of file */
} uvexec__reader_t;

/* uvexec__has_callbacks tells whether the caller reads the stream through
 * a data or line callback. */
static inline int uvexec__has_callbacks(const uvexec__reader_t *r) {
  return r->data_cb != NULL || r->line_cb != NULL;
}

/* The child's stdin as the parent writes it. */
typedef struct {
  uvexec__io_kind_t kind; /* NULL, FD, FILE or PIPE */
  int caller_fd;
  char *path; /* for UVEXEC__IO_FILE, owned */
  int streaming;         /* uvexec_cmd_stdin_pipe */
  int close_requested;   /* end of file once queue is empty */
  uvexec__buf_t data;    /* uvexec_cmd_set_stdin's bytes, owned: the
                            configuration, queued at each start */
  uvexec__buf_t queue;   /* bytes queued, owned; those before sent are out */
  size_t sent;
  uvexec_drain_cb drain_cb;
  int error; /* UV_EPIPE once the child stopped reading, ... */
  int line_started; /* terminals: bytes typed since a newline or VEOF */
  int fd;    /* parent's end, -1 when closed */
  uv_poll_t poll;
  int polling;
} uvexec__writer_t;

/* ---- terminals (pty.c) ------------------------------------------------ */

/* A cmd's pseudo-terminal. The parent holds only the master: it is the
 * stdout reader's fd, and a close-on-exec copy of it is the stdin writer's
 * (two uv_poll_t cannot watch one fd). The child opens the slave itself,
 * by path, so no slave fd ever exists in the parent. */
typedef struct {
  int on;              /* uvexec_cmd_set_pty was called */
  unsigned short rows; /* the size the terminal starts with */
  unsigned short cols;
  char path[64]; /* the slave's path, "/dev/pts/N", once opened */
} uvexec__pty_t;

/* ---- the terminal's foreground (foreground.c) --------------------------- */

/* A cmd run in the foreground of the caller's terminal: what is given
 * back when it is done. */
typedef struct {
  int fd;              /* the terminal, the caller's; -1: not asked */
  int taken;           /* the child may hold the foreground now */
  pid_t pgrp;          /* the foreground group before the start */
  struct termios modes; /* the terminal's modes before the start */
} uvexec__foreground_t;

/* ---- child setup (setup.c, engine_clone.c) ----------------------------- */

/* One resource limit. soft and hard come first and in this order: they
 * are the kernel's struct rlimit64, handed to prlimit64 as they are. */
typedef struct {
  uint64_t soft;
  uint64_t hard;
  int resource;
} uvexec__rlimit_t;

/* What uvexec_cmd_set_pdeathsig and friends asked for. All zero is the
 * default: nothing changed, and fds closed in the child. */
/* A Landlock rule: a path and the UVEXEC_FS_* access beneath it. */
typedef struct {
  char *path; /* owned */
  int access;
} uvexec__path_rule_t;

typedef struct {
  int pdeathsig;              /* 0: none */
  uvexec__rlimit_t *rlimits;  /* owned */
  size_t rlimit_count;
  int set_umask;
  unsigned int umask;
  int set_nice;
  int nice;
  int set_groups;
  uv_gid_t *groups; /* owned; NULL when group_count is 0 */
  size_t group_count;
  char *cgroup;  /* owned; NULL: the parent's */
  int keep_fds;  /* uvexec_cmd_set_close_fds(cmd, 0) */
  /* The sandbox (uvexec_cmd_set_namespaces ...). */
  int ns; /* UVEXEC_NS_* */
  int set_uid_map, set_gid_map;
  uint32_t uid_map[3], gid_map[3]; /* inside, outside, count */
  char *root;                      /* owned; NULL: none */
  uvexec__path_rule_t *paths;      /* owned */
  size_t path_count;
  int no_new_privs;
  void *filter; /* owned: struct sock_filter[] */
  size_t filter_len;
  int *caps; /* owned */
  size_t cap_count;
} uvexec__setup_t;

/* ---- containment (contain.c) --------------------------------------------- */

typedef struct {
  int on;             /* uvexec_cmd_set_contain was called */
  char *parent;       /* owned; NULL: the default */
  uvexec__cgroup_t cg; /* the run's directory */
  int made;           /* cg is made and not yet removed */
  int empty;          /* the tree was seen empty after the child's exit */
  int watch;          /* cgroup.events, watched for a change; -1 */
  uv_poll_t poll;
  int polling;
} uvexec__contain_t;

/* ---- limits of the tree (limits.c) ---------------------------------------- */

/* The controllers a limit uses, in this order: memory, pids, cpu. */
#define UVEXEC__LIMITS 3

typedef struct {
  uint64_t value[UVEXEC__LIMITS]; /* configuration; 0: none */
  /* The run. */
  int v2[UVEXEC__LIMITS];             /* set on the contained v2 directory */
  uvexec__cgroup_t v1[UVEXEC__LIMITS]; /* else a v1 directory of its own */
  int join[UVEXEC__LIMITS]; /* its cgroup.procs, for the child; -1 */
  int v2_dirfd;             /* the contained directory (contain.c's), -1 */
  int measured;             /* the usage below was read */
  uint64_t memory_peak;
  uint64_t oom_kills;
} uvexec__limits_t;

/* ---- readiness and the watchdog (ready.c) ------------------------------- */

#define UVEXEC__READY_NOTIFY 1 /* systemd's notify protocol */
#define UVEXEC__READY_FD 2     /* s6's notification fd */
#define UVEXEC__READY_LINE 4   /* a line matching a regex */

typedef struct {
  /* Configuration. */
  unsigned ways;   /* UVEXEC__READY_*: any of them makes it ready */
  int child_fd;    /* UVEXEC__READY_FD: the child's fd number */
  regex_t regex;   /* UVEXEC__READY_LINE, compiled from pattern */
  char *pattern;   /* owned; NULL: no regex */
  uint64_t timeout_ms;
  uint64_t watchdog_ms;
  uvexec_ready_cb on_ready;
  /* The run. */
  int ready;
  char *status; /* the last STATUS=, owned */
  int stopping; /* STOPPING=1 was heard */
  int sock;     /* the notify socket, -1 */
  uv_poll_t sock_poll;
  int sock_polling;
  int pipe;       /* the notification fd's read end, -1 */
  int pipe_child; /* ... its write end, for the child, -1 */
  uv_poll_t pipe_poll;
  int pipe_polling;
  uv_timer_t timer; /* the ready timeout, or ready on the next turn */
  int timer_open;
  uv_timer_t watchdog;
  int watchdog_open;
  uvexec__buf_t line[2]; /* a line begun on stdout, stderr */
  char env_socket[96];   /* "NOTIFY_SOCKET=@...", or "" */
  char env_watchdog[48]; /* "WATCHDOG_USEC=...", or "" */
} uvexec__ready_t;

/* ---- the run's timers (timers.c) --------------------------------------- */

typedef struct {
  uv_timer_t timeout; /* the timeout */
  int timeout_open;
  uv_timer_t delay; /* the wait delay, after a stop or the exit */
  int delay_open;
} uvexec__timers_t;

/* ---- the command ------------------------------------------------------- */

/* Every message a cmd was given, newest first, kept until the cmd is
 * freed (errors.c). */
typedef struct uvexec__message_s {
  struct uvexec__message_s *older;
  char text[];
} uvexec__message_t;

typedef struct {
  char *name;  /* owned */
  char *value; /* owned; NULL: unset */
} uvexec__env_entry_t;

struct uvexec_cmd_s {
  /* Where the cmd is in its life: changed by lifecycle.c alone. */
  uvexec__state_t state;
  int freed; /* uvexec_cmd_free was called */
  void *data; /* the caller's */

  /* Configuration (cmd.c, setup.c, env.c, pty.c): owned copies. */
  char **argv; /* NULL-terminated */
  char *argv0; /* owned; NULL: argv[0] */
  char *dir;
  int env_cleared;
  uvexec__env_entry_t *env;
  size_t env_count;
  int *extra_fds; /* the caller's, not owned */
  size_t extra_count;
  int new_session;
  int detached; /* uvexec_cmd_set_detached: a daemon, never our child */
  int set_pgid; /* uvexec_cmd_set_pgid was called */
  pid_t pgid;   /* 0: lead a new group */
  int set_uid, set_gid;
  uv_uid_t uid;
  uv_gid_t gid;
  uint64_t timeout_ms;
  uint64_t wait_delay_ms;
  int cancel_signal;
  size_t output_limit;
  int pipe_size;       /* F_SETPIPE_SZ for uvexec's pipes; 0: the kernel's */
  size_t capture_head; /* uvexec_cmd_set_capture_bounds; both 0: none */
  size_t capture_tail;
  uvexec_engine_t engine;
  uvexec__setup_t setup;

  /* The run, as the lifecycle decides it (lifecycle.c). */
  uv_loop_t *loop;
  uvexec_done_cb done_cb;
  char *path; /* resolved program path, owned (lookpath.c) */
  int pid;    /* set by the engine that started the child */
  int exited; /* the exit was seen: the pid is no longer ours */
  int exit_code;
  int term_signal;
  int stop_reason; /* 0, UV_ETIMEDOUT, UV_ECANCELED, UV_ENOBUFS */
  int status;      /* what the done callback was given */
  int waitdelay_expired;
  int io_error;    /* a read failure or lost output */
  int write_error; /* writing stdin failed */
  int wait_error;  /* the exit status could not be had (UV_ECHILD) */
  int have_rusage;
  uvexec_rusage_t rusage;
  struct rusage rusage_full; /* all of it, when have_rusage */
  uint64_t started_ns, exited_ns; /* uv_hrtime() at the start, at the exit */
  int tree_cpu_known;
  uint64_t tree_user_usec, tree_system_usec;
  char *error;      /* the last message, in messages; NULL: none now */
  uvexec__message_t *messages; /* owned */
  uvexec__handles_t handles;   /* handles.c */

  /* The parts of a run, each owned by its file. */
  uvexec__writer_t in;     /* write.c */
  uvexec__reader_t out[2]; /* read.c: [0] stdout, [1] stderr */
  uvexec__pty_t pty;       /* pty.c */
  uvexec__foreground_t fg; /* foreground.c */
  uvexec__timers_t timers; /* timers.c */
  uvexec__contain_t contain; /* contain.c */
  uvexec__limits_t limits;   /* limits.c */
  uvexec__ready_t ready;     /* ready.c */
  int leftovers; /* processes of the tree left at the exit, and stopped */
  int suspended; /* uvexec_suspend: frozen or SIGSTOPped */
  /* The uv engine (engine_uv.c). */
  uv_process_t process;
  int process_open;    /* the handle is open: libuv reaps the child */
  int engine_reaps_uv; /* the uv engine: libuv reaps too */
  /* The child's pidfd (reap.c), on every engine where the kernel has
   * them: how the exit is seen and how signals reach only our child. */
  int pidfd;
  uv_poll_t pidfd_poll;
  int pidfd_polling;
  uv_timer_t lost_timer; /* reports a child reaped before it was watched, or
                            asks again for a foreign reap's status */
  int lost_timer_open;
  int lost_tries;

  /* Groups (group.c) and pipelines (pipeline.c), which drive the cmd
   * through its interface; the cmd's own code never reads these. */
  void *group_node; /* the group entry of this cmd; NULL otherwise */
  void *pipeline;   /* the pipeline that owns this cmd; NULL otherwise */
  void *service;    /* the service whose template or run this cmd is */
  /* A later run that stands for this one while it runs (a group's retry,
   * set and cleared by group.c): what uvexec_cancel, uvexec_kill,
   * uvexec_suspend, uvexec_resume and uvexec_pid act on meanwhile. */
  uvexec_cmd_t *forward;
};

/* UVEXEC__GUARD_CONFIG begins every setter of a cmd: a NULL cmd is
 * UV_EINVAL, a cmd that has been started is UV_EBUSY. */
#define UVEXEC__GUARD_CONFIG(cmd)                                             \
  do {                                                                        \
    if ((cmd) == NULL)                                                        \
      return UV_EINVAL;                                                       \
    if ((cmd)->state != UVEXEC__CONFIGURING)                                  \
      return UV_EBUSY;                                                        \
  } while (0)

/* uvexec__bounded tells whether cmd's captures keep only their ends. */
static inline int uvexec__bounded(const uvexec_cmd_t *cmd) {
  return cmd->capture_head > 0 || cmd->capture_tail > 0;
}

/* uvexec__leads_group tells whether the child leads a process group of
 * its own, which signals then reach as a whole. */
static inline int uvexec__leads_group(const uvexec_cmd_t *cmd) {
  return cmd->new_session || (cmd->set_pgid && cmd->pgid == 0) ||
         cmd->pty.on || cmd->fg.fd >= 0;
}

/* ---- the lifecycle (lifecycle.c) ---------------------------------------- */

/* What a part reports. */
typedef enum {
  /* These may end the run, and with it call the done callback, which may
   * free the cmd: a part reports them last, and touches the cmd no more. */
  UVEXEC__EV_EXITED,     /* the child was reaped: exit_status, term_signal,
                            rusage (NULL: not measured) */
  UVEXEC__EV_LOST,       /* someone else reaped the child */
  UVEXEC__EV_EOF,        /* a stream uvexec reads ended by itself (err: a
                            read error, or 0); its callbacks had their end */
  UVEXEC__EV_DELAY_OVER, /* the wait delay ran out */
  UVEXEC__EV_TREE_EMPTY, /* the contained tree is empty, after the exit */
  UVEXEC__EV_READY,      /* the command said it is ready */
  UVEXEC__EV_OUTPUT,     /* bytes read (data, len, which), for the ready
                            line: report them before the callbacks get them */
  /* These never call into the application: the part may go on. */
  UVEXEC__EV_IO_ERROR,     /* output was lost (err); the stream goes on */
  UVEXEC__EV_LIMIT,        /* a capture passed the output limit */
  UVEXEC__EV_WRITE_FAILED, /* writing the child's stdin failed (err) */
  UVEXEC__EV_TIMEOUT,      /* the timeout ran out */
  UVEXEC__EV_NOT_READY,    /* the ready timeout ran out */
  UVEXEC__EV_WATCHDOG      /* no keep-alive within the watchdog's time */
} uvexec__event_type_t;

typedef struct {
  uvexec__event_type_t type;
  int err;
  int64_t exit_status;
  int term_signal;
  const struct rusage *rusage;
  const char *data; /* UVEXEC__EV_OUTPUT */
  size_t len;
  int which; /* 0 stdout, 1 stderr */
} uvexec__event_t;

/* uvexec__lifecycle_event is the one entry through which the parts of a
 * run report what happened. */
void uvexec__lifecycle_event(uvexec_cmd_t *cmd, const uvexec__event_t *ev);

/* uvexec__report reports an event that carries at most an error. */
static inline void uvexec__report(uvexec_cmd_t *cmd,
                                  uvexec__event_type_t type, int err) {
  uvexec__event_t ev = {.type = type, .err = err};

  uvexec__lifecycle_event(cmd, &ev);
}

/* uvexec__lifecycle_stop cuts the run short for reason, sending signum
 * first (0: nothing, for a child the caller has signalled already, as a
 * pipeline does for its group). It never calls into the application:
 * whatever must follow goes through the loop, so it is safe from inside
 * any callback. */
void uvexec__lifecycle_stop(uvexec_cmd_t *cmd, int reason, int signum);

/* uvexec__lifecycle_adopt gives cmd, done, the outcome of from, a later
 * run of a copy of it that is done too (a group's retry): the status, the
 * exit, the usage, the pid, the message and the captured bytes, so that
 * cmd reads as if it had run that way. from keeps cmd's earlier captures,
 * which go when from is freed. */
void uvexec__lifecycle_adopt(uvexec_cmd_t *cmd, uvexec_cmd_t *from);

/* ---- errors.c ----------------------------------------------------------- */

int uvexec__set_error(uvexec_cmd_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void uvexec__clear_error(uvexec_cmd_t *cmd);
void uvexec__free_messages(uvexec_cmd_t *cmd);
void uvexec__set_start_error(uvexec_cmd_t *cmd, int err, const char *op,
                             const char *file);
void uvexec__set_exit_error(uvexec_cmd_t *cmd);
const char *uvexec__signal_text(int signum);
/* The answer to a second start, with Go's words. */
int uvexec__already_started(uvexec_cmd_t *cmd);

/* ---- the synchronous facade (sync.c) ------------------------------------ */

/* uvexec__run_private runs start(what, loop) on a loop of its own, and
 * the loop until everything started is closed, then closes the loop: the
 * synchronous facade (sync.c), for cmds and pipelines. While it runs, any
 * of fds 0 to 2 the program has closed holds /dev/null, so that none of
 * the loop's fds lands there. Answers start's error, else the loop's. */
int uvexec__run_private(int (*start)(void *what, uv_loop_t *loop),
                        void *what);
/* What an Output call does to a cmd before it runs: its stdout captured
 * (UV_EINVAL, "exec: Stdout already set", when it goes elsewhere), and
 * its stderr too when nobody else wanted it, as Go keeps it in
 * ExitError.Stderr. */
int uvexec__capture_stdout(uvexec_cmd_t *cmd);
void uvexec__keep_stderr(uvexec_cmd_t *cmd);

/* ---- configuration (cmd.c, setup.c, env.c, lookpath.c) ------------------ */

int uvexec__check_config(const uvexec_cmd_t *cmd);
/* uvexec__detached_check rejects, with a message, what a detached cmd
 * cannot be given. */
int uvexec__detached_check(uvexec_cmd_t *cmd);
/* uvexec__child_argv answers the argv the child sees: cmd's, with argv0
 * in its first place when one is set (*owned: free the array, not its
 * strings). NULL without memory. */
char **uvexec__child_argv(const uvexec_cmd_t *cmd, int *owned);
/* uvexec__cmd_release frees cmd and everything it owns; its handles must
 * all be closed. */
void uvexec__cmd_release(uvexec_cmd_t *cmd);

/* setup.c: whether cmd asks for what only the clone engine can do (the
 * uid and gid, which libuv can do too, are not counted), and the release
 * of what the setters keep. */
int uvexec__setup_needs_clone(const uvexec_cmd_t *cmd);
void uvexec__setup_release(uvexec_cmd_t *cmd);
/* uvexec__setup_copy gives to (fresh) from's setup and containment; on
 * failure what it copied is to's, for uvexec__setup_release. */
int uvexec__setup_copy(uvexec_cmd_t *to, const uvexec_cmd_t *from);
/* uvexec__setup_sandboxed tells whether any sandbox setter was used. */
int uvexec__setup_sandboxed(const uvexec_cmd_t *cmd);

/* env.c: the child's environment as a NULL-terminated "K=V" array
 * (malloc'd as a whole, one free), and the PATH it holds. */
int uvexec__env_build(const uvexec_cmd_t *cmd, char ***envp);
const char *uvexec__env_lookup(char *const *envp, const char *name);

/* lookpath.c */
int uvexec__resolve(uvexec_cmd_t *cmd, const char *pathenv);

/* ---- a start's preparation (spawn.c, stdio.c) --------------------------- */

/* What an engine is asked to start. */
typedef struct {
  const char *file; /* resolved path */
  char **argv;
  char **envp;
  const char *dir;
  int fds[3];      /* child's 0, 1, 2: an fd, or -1 for /dev/null */
  const int *extra; /* child's 3, 4, ... */
  size_t extra_count;
  /* Terminals: non-NULL, the child leads a new session and opens this
   * terminal by path as its fd 0 (fds[0] is UVEXEC__FD_TTY), which makes
   * it the controlling terminal; fds[1]/fds[2] given as UVEXEC__FD_TTY are
   * copies of it. An engine that cannot do this answers UV_ENOTSUP. */
  const char *tty;
  /* The cgroup v2 directory the child is born in (a contained cmd's), or
   * -1. */
  int cgroup_fd;
  /* Files: fds[i] is UVEXEC__FD_FILE, and the child opens path[i] with
   * flags[i] (and mode 0666, less its umask) where the engine can, after
   * its directory, ids and umask are set; else the engine opens it. A
   * stderr merged into a file stdout has the same path pointer, and is a
   * copy of the same open file. */
  const char *path[3];
  int flags[3];
  /* The terminal whose foreground the child takes, or -1. */
  int foreground_fd;
  /* The child is a daemon: it runs as a grandchild, whose parent leaves
   * at once, and is never this process's (clone engine only). */
  int detach;
  /* cgroup.procs files of cgroup v1 directories the child joins, by
   * writing "0", before anything else (clone engine only). */
  int join_fds[UVEXEC__LIMITS];
  int njoin;
} uvexec__spawn_plan_t;

/* The child's fd is the terminal of uvexec__spawn_plan_t.tty. */
#define UVEXEC__FD_TTY (-2)
/* The child's fd (in extra) is closed: a gap before a higher fd. */
#define UVEXEC__FD_NONE (-3)
/* The child's fd is the file of uvexec__spawn_plan_t.path. */
#define UVEXEC__FD_FILE (-4)

/* uvexec__preflight does the checks of a start that create nothing: the
 * child's environment, the program looked up in the PATH it holds, the
 * directory. On failure the cmd's error names the file, and *envp is
 * NULL; on success *envp is the environment to spawn with (one free). */
int uvexec__preflight(uvexec_cmd_t *cmd, char ***envp);
/* uvexec__choose_engine settles which engine starts cmd. */
uvexec_engine_t uvexec__choose_engine(const uvexec_cmd_t *cmd);
int uvexec__engine_can_group(const uvexec_cmd_t *cmd);

/* stdio.c: the pipes of a start. child_fds are the child's 0, 1 and 2
 * (an fd, -1 for /dev/null, or UVEXEC__FD_TTY), owned[i] says the parent
 * must close child_fds[i] once the child has its copy; the parent's ends
 * go to the reader and the writer. Streams a terminal took already are
 * left as they are. */
int uvexec__stdio_prepare(uvexec_cmd_t *cmd, int child_fds[3], int owned[3]);
/* uvexec__stdio_abort closes the parent's ends of a start that failed. */
void uvexec__stdio_abort(uvexec_cmd_t *cmd);

/* ---- the parts of a run -------------------------------------------------- */

/* read.c: reading the child's stdout and stderr. */
int uvexec__reader_start(uvexec_cmd_t *cmd, uvexec__reader_t *r);
/* uvexec__reader_abandon closes the stream without a word to anyone. */
void uvexec__reader_abandon(uvexec__reader_t *r);
/* uvexec__reader_end closes the stream, keeping what was read: the last
 * partial line and the end-of-file call go to the callbacks. Non-zero
 * when a callback freed cmd. */
int uvexec__reader_end(uvexec_cmd_t *cmd, uvexec__reader_t *r);
int uvexec__readers_open(const uvexec_cmd_t *cmd);
/* bounds.c, the reader's bounded captures: keep len new bytes, and at
 * the end make the capture (head, marker, tail); 0 or UV_ENOMEM. */
int uvexec__bounds_keep(const uvexec_cmd_t *cmd, uvexec__reader_t *r,
                        const char *data, size_t len);
int uvexec__bounds_finish(const uvexec_cmd_t *cmd, uvexec__reader_t *r);
void uvexec__bounds_free(uvexec__reader_t *r);
/* lines.c, the reader's line callbacks. */
void uvexec__lines_feed(uvexec_cmd_t *cmd, uvexec__reader_t *r,
                        const char *data, size_t len);
void uvexec__lines_flush(uvexec_cmd_t *cmd, uvexec__reader_t *r);

/* write.c: writing the child's stdin. */
void uvexec__writer_start(uvexec_cmd_t *cmd);
void uvexec__writer_close(uvexec_cmd_t *cmd);

/* reap.c: the child's exit and signals, through its pidfd. */
/* uvexec__reap_watch watches an already open pidfd (taken over), or with
 * -1 reports on the next turn that the child was reaped elsewhere. On
 * failure it leaves nothing set, and the pidfd is still the caller's. */
int uvexec__reap_watch(uvexec_cmd_t *cmd, int pidfd);
/* uvexec__reap_adopt watches cmd->pid, just started by the uv engine
 * (libuv reaps it too): opens its pidfd, or carries on without one where
 * none can be had. */
int uvexec__reap_adopt(uvexec_cmd_t *cmd);
/* uvexec__reap_now kills the child and reaps it before returning, and
 * closes the watch: for uvexec_cmd_free. */
void uvexec__reap_now(uvexec_cmd_t *cmd);
void uvexec__reap_close(uvexec_cmd_t *cmd);
int uvexec__reap_signal(uvexec_cmd_t *cmd, int signum);
/* uvexec__reap_stopped tells whether the child is stopped (job control:
 * ^Z, SIGTSTP, SIGSTOP), from /proc while it is not reaped. */
int uvexec__reap_stopped(const uvexec_cmd_t *cmd);

/* timers.c: the timeout and the wait delay. */
int uvexec__timeout_start(uvexec_cmd_t *cmd);
void uvexec__timeout_close(uvexec_cmd_t *cmd);
/* uvexec__delay_start starts the wait delay unless it already runs; with
 * cut, it also cuts a running delay short to ms. */
void uvexec__delay_start(uvexec_cmd_t *cmd, uint64_t ms, int cut);
void uvexec__timers_close(uvexec_cmd_t *cmd);

/* pty.c: what a start asks of a terminal. */
int uvexec__pty_check(uvexec_cmd_t *cmd);
/* uvexec__pty_open opens the terminal: the master becomes stdout's
 * reader, a copy of it stdin's writer, and the child's fds 0 and 1 the
 * slave (UVEXEC__FD_TTY). What it opened goes with uvexec__stdio_abort
 * on failure. */
int uvexec__pty_open(uvexec_cmd_t *cmd, int child_fds[3]);

/* foreground.c: the terminal's foreground for the child. */
/* uvexec__foreground_check rejects, at the start, what the foreground
 * cannot be combined with, and words it. */
int uvexec__foreground_check(uvexec_cmd_t *cmd);
/* uvexec__foreground_open saves, before the child, who holds the
 * terminal and its modes (the child takes it: see engine_clone.c). */
int uvexec__foreground_open(uvexec_cmd_t *cmd);
/* uvexec__foreground_close gives the terminal back to the group that had
 * it, with the modes it had; once. */
void uvexec__foreground_close(uvexec_cmd_t *cmd);

/* contain.c: the tree of a contained cmd. */
/* uvexec__contain_open makes the run's directory, before the child. */
int uvexec__contain_open(uvexec_cmd_t *cmd);
/* uvexec__contain_signal signals every process of the tree (SIGKILL:
 * cgroup.kill); UV_ESRCH when nothing is left. */
int uvexec__contain_signal(uvexec_cmd_t *cmd, int signum);
int uvexec__contain_freeze(uvexec_cmd_t *cmd, int on);
/* uvexec__contain_left, after the child's exit, answers how many processes
 * its tree still holds; with any, the tree is watched, and its emptying
 * reported (UVEXEC__EV_TREE_EMPTY). */
int uvexec__contain_left(uvexec_cmd_t *cmd);
/* uvexec__contain_empty tells whether nothing of the tree is left (also
 * for a cmd that is not contained). */
int uvexec__contain_empty(const uvexec_cmd_t *cmd);
/* uvexec__contain_close removes the directory, killing and waiting for
 * what is left in it first (a free). */
void uvexec__contain_close(uvexec_cmd_t *cmd);
/* uvexec__contain_measure reads the tree's CPU (cpu.stat), once the tree
 * is gone and before the directory is removed. */
int uvexec__contain_measure(const uvexec_cmd_t *cmd, uint64_t *user,
                            uint64_t *system);

/* limits.c: limits of the tree (memory, pids, cpu), on the contained v2
 * directory or in v1 directories of their own. open after the v2
 * directory is made (-1: none), with an error message on failure and
 * nothing left; join_fds gives the cgroup.procs fds the child writes "0"
 * to before anything else (at most UVEXEC__LIMITS), closed by spawned once
 * it has; measure reads the memory peak and OOM kills before close
 * removes the directories. */
int uvexec__limits_any(const uvexec_cmd_t *cmd);
int uvexec__limits_open(uvexec_cmd_t *cmd, int v2_dirfd);
int uvexec__limits_join_fds(const uvexec_cmd_t *cmd, int fds[]);
void uvexec__limits_spawned(uvexec_cmd_t *cmd);
void uvexec__limits_measure(uvexec_cmd_t *cmd);
void uvexec__limits_close(uvexec_cmd_t *cmd);
/* uvexec__limits_write_v2 writes limit i (0 memory, 1 pids, 2 cpu) into
 * the files of a cgroup v2 directory: memory.max (and memory.swap.max 0),
 * pids.max, cpu.max as "quota period". */
int uvexec__limits_write_v2(int dirfd, int i, uint64_t value);

/* ready.c: readiness and the watchdog. */
/* uvexec__ready_prepare makes, before the child, the notify socket and
 * the notification fd's pipe (plan: ready.pipe_child at the child's
 * ready.child_fd), and the environment they need. */
int uvexec__ready_prepare(uvexec_cmd_t *cmd);
/* uvexec__ready_spawned closes what only the child needed. */
void uvexec__ready_spawned(uvexec_cmd_t *cmd);
/* uvexec__ready_start watches, once the child runs. */
int uvexec__ready_start(uvexec_cmd_t *cmd);
/* uvexec__ready_output scans read bytes for the ready line: 1 when a line
 * matched. */
int uvexec__ready_output(uvexec_cmd_t *cmd, int which, const char *data,
                         size_t len);
/* uvexec__ready_became ends what only waited for readiness. */
void uvexec__ready_became(uvexec_cmd_t *cmd);
void uvexec__ready_close(uvexec_cmd_t *cmd);
int uvexec__ready_compile(uvexec__ready_t *r, const char *pattern);

/* engine_uv.c: starts the child through uv_spawn; libuv reaps it. */
int uvexec__engine_uv_spawn(uvexec_cmd_t *cmd,
                            const uvexec__spawn_plan_t *plan);
/* uvexec__engine_uv_close closes the process handle, once the exit was
 * seen (by libuv or through the pidfd) or the child was reaped. */
void uvexec__engine_uv_close(uvexec_cmd_t *cmd);

/* engine_clone.c: starts the child with clone3; *pidfd is its pidfd. */
int uvexec__engine_clone_spawn(uvexec_cmd_t *cmd,
                               const uvexec__spawn_plan_t *plan, int *pidfd);

/* ---- services (service.c), for supervisors (supervisor.c) -------------- */

typedef void (*uvexec__service_observer_t)(uvexec_service_t *s,
                                           uvexec_service_event_t event,
                                           uvexec_cmd_t *run, void *arg);
/* uvexec__service_observe has observer told of each of s's events before
 * its event callback (not once started; UV_EBUSY when it has one). */
int uvexec__service_observe(uvexec_service_t *s,
                            uvexec__service_observer_t observer, void *arg);

#endif /* UVEXEC_INTERNAL_H */
