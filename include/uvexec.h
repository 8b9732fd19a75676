/* SPDX-License-Identifier: MIT */
/** uvexec — Go's os/exec for C programs that live on a libuv event loop.
 *
 * A command (uvexec_cmd_t) is configured, started on a loop with
 * uvexec_start(), and reported through one done callback, while the loop
 * keeps running everything else. uvexec_run(), uvexec_output() and
 * uvexec_combined_output() do the same on a private loop for programs that
 * have none; uvexec_lookpath() finds programs the way the child will, and
 * uvexec_exec() replaces the current process.
 *
 * Conventions, for every function below:
 *
 *   - Functions that return int answer 0 on success or a negative error
 *     code: libuv's (UV_ENOENT, UV_EINVAL, UV_EBUSY, ...) or uvexec's own
 *     UVEXEC_E* codes, which never collide with libuv's. uvexec_strerror()
 *     and uvexec_err_name() describe both.
 *   - Strings and buffers passed in are copied; the caller keeps them.
 *   - Pointers handed back by a getter are borrowed from the cmd and stay
 *     valid until uvexec_cmd_free(). What comes back through an out
 *     parameter (char **) belongs to the caller, who frees it with free().
 *   - File descriptors passed in are never taken over: the caller closes
 *     them when it likes (after uvexec_start() returns, the child has its
 *     own copy).
 *   - A cmd belongs to the thread that runs its loop. Different cmds may be
 *     used from different threads at once.
 *
 * @file
 */
#ifndef UVEXEC_H
#define UVEXEC_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(UVEXEC_BUILDING) && defined(__GNUC__)
#define UVEXEC_EXTERN __attribute__((visibility("default")))
#else
#define UVEXEC_EXTERN /* nothing */
#endif

/* ------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_versions Version
 * @{ */

/** UVEXEC_VERSION_MAJOR, UVEXEC_VERSION_MINOR and UVEXEC_VERSION_PATCH are
 * the version of this header, and the one place the version is set: the
 * build reads them from here. While the major is 0, a new minor may change
 * the ABI, so the library's SONAME carries major.minor (libuvexec.so.0.1);
 * a new patch never does. */
#define UVEXEC_VERSION_MAJOR 0 /**< major: 0 while the API settles */
#define UVEXEC_VERSION_MINOR 1 /**< minor: may change the ABI in 0.x */
#define UVEXEC_VERSION_PATCH 0 /**< patch: never changes the ABI */

/** UVEXEC_VERSION_HEX is the header's version in one number,
 * (major << 16) | (minor << 8) | patch, as libuv's UV_VERSION_HEX: 0.1.0 is
 * 0x000100. Compare it to test for a version at compile time. */
#define UVEXEC_VERSION_HEX                                                    \
  ((UVEXEC_VERSION_MAJOR << 16) | (UVEXEC_VERSION_MINOR << 8) |               \
   UVEXEC_VERSION_PATCH)

#define UVEXEC__STRINGIFY(x) #x
#define UVEXEC__TOSTRING(x) UVEXEC__STRINGIFY(x)

/** UVEXEC_VERSION_STRING is the header's version as a string literal,
 * "major.minor.patch": "0.1.0". */
#define UVEXEC_VERSION_STRING                                                 \
  UVEXEC__TOSTRING(UVEXEC_VERSION_MAJOR) "."                                  \
  UVEXEC__TOSTRING(UVEXEC_VERSION_MINOR) "."                                  \
  UVEXEC__TOSTRING(UVEXEC_VERSION_PATCH)

/** uvexec_version returns the version of the library the program runs
 * with, coded as UVEXEC_VERSION_HEX. It can differ from the header the
 * program was compiled with only where the SONAME allows: in the patch
 * while the major is 0, in the minor and patch from 1.0 on. */
UVEXEC_EXTERN unsigned int uvexec_version(void);

/** uvexec_version_string returns the version of the library the program
 * runs with, as UVEXEC_VERSION_STRING spells it: "0.1.0". Static. */
UVEXEC_EXTERN const char *uvexec_version_string(void);

/** @} */

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_errors Errors
 * @{ */

/** UVEXEC_ERRNO_MAP lists uvexec's own error codes: name, value, message.
 * The values sit in a block far below libuv's (libuv uses -1 .. -4096 and
 * its -3000 block for getaddrinfo); the build rejects any collision. */
#define UVEXEC_ERRNO_MAP(XX)                                                  \
  XX(EEXIT, -30001, "exit status")                                            \
  XX(ESIGNALED, -30002, "terminated by a signal")                             \
  XX(EWAITDELAY, -30003, "exec: WaitDelay expired before I/O complete")       \
  XX(EDOT, -30004,                                                            \
     "cannot run executable found relative to current directory")             \
  XX(ENOEXEC, -30005, "exec format error")                                    \
  XX(ECHILD, -30006, "no child processes")                                    \
  XX(ESKIPPED, -30007, "skipped: the group stopped before it could start")    \
  XX(EPIPELINE, -30008, "pipeline failed")                                    \
  XX(ERESTARTLIMIT, -30009, "restart limit reached")                         \
  XX(ENOTREADY, -30010, "not ready in time")                                  \
  XX(EWATCHDOG, -30011, "watchdog: no keep-alive in time")                    \
  XX(EOOM, -30012, "killed: out of memory")

/** @{ */
/** uvexec_errno_t names each code of UVEXEC_ERRNO_MAP: UVEXEC_EEXIT,
 * UVEXEC_ESIGNALED, ... */
typedef enum {
#define UVEXEC__ERR_ENUM(name, value, msg) UVEXEC_##name = (value),
  UVEXEC_ERRNO_MAP(UVEXEC__ERR_ENUM)
#undef UVEXEC__ERR_ENUM
  UVEXEC_ERRNO_MAX_ = -30000
} uvexec_errno_t;
/** @} */

/** uvexec_strerror returns a static message for err, which may be a libuv
 * code or a uvexec code; 0 gives "success". An unknown code gives
 * "unknown error"; it never allocates (unlike uv_strerror() for codes
 * libuv does not know). */
UVEXEC_EXTERN const char *uvexec_strerror(int err);

/** uvexec_err_name returns the static name of err: "ENOENT" for libuv's
 * UV_ENOENT (as uv_err_name() does), "UVEXEC_EEXIT" for uvexec's codes,
 * "OK" for 0, "UNKNOWN" for anything else. */
UVEXEC_EXTERN const char *uvexec_err_name(int err);

/** @} */

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_commands Commands
 * @{ */

/** uvexec_cmd_t is one command and one run of it (Go's exec.Cmd). It is
 * opaque: configure it with the setters below, start it once, read its
 * results, free it. It cannot be started a second time. */
typedef struct uvexec_cmd_s uvexec_cmd_t;

/** uvexec_done_cb is called exactly once for a cmd whose uvexec_start()
 * returned 0: after the process has exited and after every stream uvexec
 * reads has reached end of file, so no output is ever lost (Go's Wait).
 * status is 0 for a successful exit, UVEXEC_EEXIT for a non-zero exit,
 * UVEXEC_ESIGNALED for death by a signal, UV_ETIMEDOUT / UV_ECANCELED after
 * a timeout / uvexec_cancel(), UV_ENOBUFS when the output limit stopped
 * the child, UVEXEC_EWAITDELAY when the child succeeded but a pipe stayed
 * open past the wait delay, UVEXEC_ECHILD ("wait: no child processes")
 * when someone else reaped the child (a waitpid(-1) elsewhere in the
 * program, or SIGCHLD set to SIG_IGN) so its status is lost.
 * uvexec_cmd_error() gives the message, in Go's words where Go has them:
 * "exit status 2", "signal: killed", "context deadline exceeded",
 * "context canceled". The callback may free cmd. */
typedef void (*uvexec_done_cb)(uvexec_cmd_t *cmd, int status);

/** uvexec_data_cb receives output as it arrives: len > 0 bytes at data,
 * borrowed for the duration of the call; then exactly one call with
 * len == 0 at end of file, before the done callback. The callback may free
 * or cancel cmd. */
typedef void (*uvexec_data_cb)(uvexec_cmd_t *cmd, const char *data,
                               size_t len);

/** uvexec_command returns a new cmd that will run name with the arguments
 * that follow, up to a NULL: uvexec_command("ls", "-la", NULL). name
 * becomes argv[0]. A name without a slash is looked up in the PATH the
 * child will get (see uvexec_lookpath) when the cmd starts. Returns NULL
 * for a NULL or empty name, or when memory runs out. Free with
 * uvexec_cmd_free(). */
UVEXEC_EXTERN uvexec_cmd_t *uvexec_command(const char *name, ...);

/** uvexec_command_argv is uvexec_command with the arguments in a
 * NULL-terminated array; argv[0] is the name. Returns NULL for a NULL or
 * empty argv, an empty name, or no memory. */
UVEXEC_EXTERN uvexec_cmd_t *uvexec_command_argv(const char *const argv[]);

/** uvexec_cmd_string returns cmd's command line as text (Go's
 * Cmd.String), each word quoted as a POSIX shell needs to read it back as
 * the same word: `grep -e 'a b' 'it'\''s'`. malloc'd: free() it. NULL for
 * NULL or no memory. */
UVEXEC_EXTERN char *uvexec_cmd_string(const uvexec_cmd_t *cmd);

/** uvexec_cmd_environ returns the environment cmd's child would get if it
 * were started now (Go's Cmd.Environ): this process's, unless cleared,
 * with the cmd's settings applied, each name once, PWD following the
 * directory; as a NULL-terminated array of "NAME=value" strings, malloc'd
 * as one block: one free() releases it all. What uvexec adds only for a
 * run (NOTIFY_SOCKET, WATCHDOG_USEC) is not in it. NULL for NULL or no
 * memory. */
UVEXEC_EXTERN char **uvexec_cmd_environ(const uvexec_cmd_t *cmd);

/** uvexec_cmd_copy returns a new, unstarted cmd with cmd's configuration:
 * the arguments, the environment's changes, the directory, where each
 * stream goes and how it is captured, the bytes given to
 * uvexec_cmd_set_stdin() (also once cmd has run), the callbacks, the data
 * pointer, the timeout, the cancel signal and wait delay, the limits, the
 * child setup, the terminal and the containment. What belongs to a run is
 * not copied: its output, its status, a stdin stream's close. cmd may be in
 * any state: "run it again" is a copy started. Free the copy with
 * uvexec_cmd_free(). NULL for NULL, a freed cmd, or no memory. */
UVEXEC_EXTERN uvexec_cmd_t *uvexec_cmd_copy(const uvexec_cmd_t *cmd);

/** uvexec_cmd_free releases cmd in any state; NULL is a no-op. A running
 * child is killed (SIGKILL, to its whole group when it leads one) and
 * reaped before the call returns, which SIGKILL makes short; no callback
 * of cmd fires after this call. Memory returns once the loop has closed
 * cmd's handles, so the loop must run on for that (uvexec_run and friends
 * already did). A captured output of 1 MiB or more is unmapped by a
 * thread of uvexec's own soon after, so that freeing it never holds up
 * the caller's loop.
 *
 * An application may shut its loop down the usual libuv way, with
 * uv_walk() closing every handle, while cmds run: that is safe, before or
 * after uvexec_cmd_free(). The cmds' done callbacks then never fire (the
 * loop can no longer report anything), their children live on until
 * uvexec_cmd_free() kills and reaps them, and no memory is lost once the
 * loop has run its close callbacks. The cmd's other calls answer as usual
 * meanwhile, without touching the closed handles. */
UVEXEC_EXTERN void uvexec_cmd_free(uvexec_cmd_t *cmd);

/** @{ */
/** uvexec_cmd_set_data / uvexec_cmd_data keep a pointer for the caller, as
 * libuv's data field does. uvexec never touches it. */
UVEXEC_EXTERN void uvexec_cmd_set_data(uvexec_cmd_t *cmd, void *data);
UVEXEC_EXTERN void *uvexec_cmd_data(const uvexec_cmd_t *cmd);
/** @} */

/* The setters below answer UV_EINVAL for a NULL cmd or a bad argument and
 * UV_EBUSY once the cmd has been started. */

/** uvexec_cmd_set_dir sets the child's working directory (Go's Cmd.Dir).
 * NULL or "" means the parent's. A directory that does not exist makes the
 * start fail with UV_ENOENT and a message naming it. When the child
 * inherits the parent's environment, its PWD becomes dir made absolute
 * (as Go sets it since 1.19), unless the cmd sets or unsets PWD itself. */
UVEXEC_EXTERN int uvexec_cmd_set_dir(uvexec_cmd_t *cmd, const char *dir);

/** uvexec_cmd_setenv sets name=value in the child's environment, which is
 * the parent's (as it is at start) unless uvexec_cmd_clearenv() was called.
 * The last setting of a name wins and no name reaches the child twice.
 * UV_EINVAL for an empty name, a name containing '=', or a NULL value. */
UVEXEC_EXTERN int uvexec_cmd_setenv(uvexec_cmd_t *cmd, const char *name,
                                    const char *value);

/** uvexec_cmd_unsetenv removes name from the child's environment. */
UVEXEC_EXTERN int uvexec_cmd_unsetenv(uvexec_cmd_t *cmd, const char *name);

/** uvexec_cmd_clearenv starts the child's environment empty: only names
 * set afterwards with uvexec_cmd_setenv() reach it. A bare program name is
 * then looked up in the PATH set on the cmd (none: not found). */
UVEXEC_EXTERN int uvexec_cmd_clearenv(uvexec_cmd_t *cmd);

/** How a child's stdout or stderr is connected. */
typedef enum {
  /** /dev/null: the default, as in Go. */
  UVEXEC_NULL = 0,
  /** The parent's own fd 1 or 2. */
  UVEXEC_INHERIT = 1,
  /** A pipe read by uvexec; the bytes are kept for uvexec_stdout_data() /
   * uvexec_stderr_data() and also handed to the data callback, if any. */
  UVEXEC_CAPTURE = 2,
  /** stderr only: the same file as stdout (2>&1), so when stdout is
   * captured both land in one buffer in the order they were written. */
  UVEXEC_MERGE = 3
} uvexec_stdio_t;

/** @{ */
/** uvexec_cmd_stdout / uvexec_cmd_stderr choose how the stream is
 * connected. UV_EINVAL for UVEXEC_MERGE on stdout or an unknown value. */
UVEXEC_EXTERN int uvexec_cmd_stdout(uvexec_cmd_t *cmd, uvexec_stdio_t how);
UVEXEC_EXTERN int uvexec_cmd_stderr(uvexec_cmd_t *cmd, uvexec_stdio_t how);
/** @} */

/** @{ */
/** uvexec_cmd_stdin_fd / _stdout_fd / _stderr_fd give the child a copy of
 * the caller's fd as its stdin / stdout / stderr. The caller keeps fd.
 * UV_EBADF for a negative fd. */
UVEXEC_EXTERN int uvexec_cmd_stdin_fd(uvexec_cmd_t *cmd, int fd);
UVEXEC_EXTERN int uvexec_cmd_stdout_fd(uvexec_cmd_t *cmd, int fd);
UVEXEC_EXTERN int uvexec_cmd_stderr_fd(uvexec_cmd_t *cmd, int fd);
/** @} */

/** @{ */
/** uvexec_cmd_stdin_file / _stdout_file / _stderr_file connect the stream
 * to a file, as a shell's `< path`, `> path` and `>> path` (append != 0):
 * no pipe, no copying by the parent. A relative path is taken from the
 * command's directory. A created file has mode 0666 less the umask. With
 * UVEXEC_ENGINE_CLONE the child opens it after its directory, ids and
 * umask are set, so a command run as another user creates the file as
 * that user and cannot write where it may not; with the uv engine (and
 * uvexec_exec) this process opens it, as itself. stderr set to
 * UVEXEC_MERGE after a file stdout is `> path 2>&1`: one open file, one
 * offset. A file that cannot be opened fails the start with "open PATH:
 * reason" and leaves nothing behind. The stream then takes no callbacks
 * (UV_EINVAL at the start). UV_EINVAL for a NULL or empty path. */
UVEXEC_EXTERN int uvexec_cmd_stdin_file(uvexec_cmd_t *cmd, const char *path);
UVEXEC_EXTERN int uvexec_cmd_stdout_file(uvexec_cmd_t *cmd, const char *path,
                                         int append);
UVEXEC_EXTERN int uvexec_cmd_stderr_file(uvexec_cmd_t *cmd, const char *path,
                                         int append);
/** @} */

/** @{ */
/** uvexec_cmd_on_stdout / uvexec_cmd_on_stderr set a callback that receives
 * the stream as it arrives (Go's StdoutPipe read loop). A stream left at
 * its default becomes a pipe read by uvexec (nothing is kept unless it is
 * also UVEXEC_CAPTURE). With the stream set to UVEXEC_INHERIT or a caller's
 * fd, uvexec_start() answers UV_EINVAL. NULL removes the callback. */
UVEXEC_EXTERN int uvexec_cmd_on_stdout(uvexec_cmd_t *cmd, uvexec_data_cb cb);
UVEXEC_EXTERN int uvexec_cmd_on_stderr(uvexec_cmd_t *cmd, uvexec_data_cb cb);
/** @} */

/** @{ */
/** uvexec_cmd_on_stdout_line / uvexec_cmd_on_stderr_line call cb once per
 * line (bufio.Scanner over the pipe with ScanLines). A line ends at a
 * newline; data is the line without that newline and without a carriage
 * return just before it (CR LF is a line ending too, as every line from a
 * terminal ends), and len may be 0 for an empty line. A carriage return
 * elsewhere is part of the line. A last line without a newline is
 * delivered at end of file (without a final carriage return). A line that
 * cannot be kept for want of memory is dropped and the done status is
 * then UV_ENOMEM. A line longer than UVEXEC_LINE_MAX bytes is delivered in
 * pieces of UVEXEC_LINE_MAX, so memory stays bounded. Line callbacks are
 * not called with the end-of-file marker; the done callback follows the
 * last line. They combine with the data callback and UVEXEC_CAPTURE. */
#define UVEXEC_LINE_MAX 65536
UVEXEC_EXTERN int uvexec_cmd_on_stdout_line(uvexec_cmd_t *cmd,
                                            uvexec_data_cb cb);
UVEXEC_EXTERN int uvexec_cmd_on_stderr_line(uvexec_cmd_t *cmd,
                                            uvexec_data_cb cb);
/** @} */

/** uvexec_cmd_set_stdin gives the child len bytes of data (copied) on its
 * stdin, followed by end of file (Go's Cmd.Stdin from a buffer). A child
 * that exits without reading them all is not an error. */
UVEXEC_EXTERN int uvexec_cmd_set_stdin(uvexec_cmd_t *cmd, const void *data,
                                       size_t len);

/** uvexec_cmd_stdin_pipe makes the child's stdin a pipe the caller writes
 * with uvexec_write() and ends with uvexec_close_stdin() (Go's
 * StdinPipe). */
UVEXEC_EXTERN int uvexec_cmd_stdin_pipe(uvexec_cmd_t *cmd);

/** uvexec_write queues len bytes of data (copied) for the child's stdin
 * pipe, before or after the start; they are written as the child reads.
 * uvexec_stdin_pending() tells how many bytes are still queued: that is
 * the back-pressure, and the drain callback says when it is back to 0.
 * UV_EINVAL without uvexec_cmd_stdin_pipe(), UV_EPIPE once stdin was
 * closed or the child stopped reading (the parent never gets SIGPIPE). */
UVEXEC_EXTERN int uvexec_write(uvexec_cmd_t *cmd, const void *data,
                               size_t len);

/** uvexec_stdin_pending returns the number of bytes queued by uvexec_write
 * that the child has not yet taken. */
UVEXEC_EXTERN size_t uvexec_stdin_pending(const uvexec_cmd_t *cmd);

/** uvexec_drain_cb is called when everything queued on stdin has been
 * written (status 0) or can no longer be (status UV_EPIPE or another
 * write error). */
typedef void (*uvexec_drain_cb)(uvexec_cmd_t *cmd, int status);

/** uvexec_cmd_on_stdin_drain sets the callback for stdin becoming empty. */
UVEXEC_EXTERN int uvexec_cmd_on_stdin_drain(uvexec_cmd_t *cmd,
                                            uvexec_drain_cb cb);

/** uvexec_close_stdin closes the child's stdin once the queued bytes are
 * written, so the child sees end of file. Closing twice is a no-op.
 * A terminal (uvexec_cmd_set_pty) cannot be half-closed: there it types
 * the terminal's VEOF character (^D), which ends a program's input at the
 * start of a line, and types it twice when a line was begun and not
 * ended, so the child first reads that line as typed (no newline is
 * added) and then end of file, as ^D ^D does on a real terminal. A child
 * that put its terminal in raw mode reads those as plain bytes. */
UVEXEC_EXTERN int uvexec_close_stdin(uvexec_cmd_t *cmd);

/** uvexec_cmd_add_fd gives the child a copy of the caller's fd as its fd 3,
 * then 4, ... in the order of the calls (Go's ExtraFiles). The caller
 * keeps fd. */
UVEXEC_EXTERN int uvexec_cmd_add_fd(uvexec_cmd_t *cmd, int fd);

/** uvexec_cmd_set_new_session starts the child in a new session and
 * process group (Go's SysProcAttr.Setsid). uvexec_kill(), uvexec_cancel(),
 * the timeout, the output limit and uvexec_cmd_free() then signal the whole
 * group, which is how to stop a tree such as `sh -c '... & ...'`. */
UVEXEC_EXTERN int uvexec_cmd_set_new_session(uvexec_cmd_t *cmd, int on);

/** uvexec_cmd_set_pgid puts the child in process group pgid, or makes it
 * the leader of a new group when pgid is 0 (Go's SysProcAttr.Setpgid and
 * Pgid), without a new session. As the leader of a new group, uvexec_kill(),
 * uvexec_cancel(), the timeout and uvexec_cmd_free() signal the whole
 * group. A group that does not exist (or is in another session) makes the
 * start fail with UV_EPERM. UV_EINVAL for a negative pgid. */
UVEXEC_EXTERN int uvexec_cmd_set_pgid(uvexec_cmd_t *cmd, int pgid);

/** uvexec_cmd_set_detached makes the child a daemon (Node's `detached`
 * with `unref()`, done right): it leads a new session (its pid is its
 * session id) and is never this process's child, nor its zombie. It is
 * born as the grandchild of a short-lived child that leaves at once, so
 * that it is reparented to init, or to the nearest subreaper (when this
 * process is one, PR_SET_CHILD_SUBREAPER, the daemon comes back to it and
 * is its child to reap after all). uvexec_start() returns once the daemon
 * has exec'd the program, or with the error of what failed before that,
 * as for any cmd. The run is then over: done comes on the next loop turn
 * with 0, uvexec_pid() answers the daemon's pid (a number for the
 * caller's records: once the daemon ends the kernel may give it to
 * another process), uvexec_kill() answers UV_ESRCH, and uvexec_cmd_free()
 * never kills it. Its stdin may be null, a file or an fd, its stdout and
 * stderr null, inherited, a file or an fd: with a pipe, a capture, a
 * callback, a terminal (uvexec_cmd_set_pty(), uvexec_cmd_set_foreground()),
 * a contained tree, readiness, a death signal or uvexec_cmd_set_pgid()
 * the start fails with UV_EINVAL and a message that names the conflict.
 * It needs UVEXEC_ENGINE_CLONE (the default where the kernel has pidfds;
 * the uv engine answers UV_ENOTSUP). uvexec_exec() refuses it. */
UVEXEC_EXTERN int uvexec_cmd_set_detached(uvexec_cmd_t *cmd, int on);

/** uvexec_cmd_set_foreground runs the child in the foreground of the
 * terminal tty_fd, one of the caller's (Go's SysProcAttr.Foreground with
 * Ctty): how a program on a terminal runs `$EDITOR`. The child leads a new
 * process group, which becomes the terminal's foreground group before the
 * program runs, so that it is never stopped by SIGTTIN or SIGTTOU for
 * reading the terminal or changing its modes. As soon as the child's exit
 * is seen (also when it was killed, the start failed after the child took
 * the terminal, or the cmd is freed), before done, which may wait longer
 * for the streams, the group that had the terminal at the start gets it
 * back (SIGTTOU is blocked around the call, so the caller is
 * not stopped for taking it) and the terminal's modes saved at the start
 * are restored: an editor killed in raw mode leaves no raw terminal.
 * Signals from uvexec_kill(), uvexec_cancel() and the timeout reach the
 * child's whole group. A child stopped from the terminal (^Z, SIGTSTP)
 * stays stopped and keeps the foreground: uvexec sees no exit, done does
 * not come, and the caller, which the shell still waits for, decides:
 * uvexec_resume() (SIGCONT) lets it go on, uvexec_cancel() ends it (a
 * catchable cancel signal is followed by SIGCONT when the child is
 * stopped, so that its group receives it; the same holds for every stop
 * of every cmd).
 * tty_fd must be a terminal whose session is the caller's: else the start
 * fails with the error (UV_ENOTTY, ...) and "exec: foreground: fd N:
 * reason". UV_EBADF for a negative fd; UV_EINVAL at the start together
 * with uvexec_cmd_set_pty(), uvexec_cmd_set_new_session(),
 * uvexec_cmd_set_pgid() of another group, or uvexec_cmd_set_detached().
 * It needs UVEXEC_ENGINE_CLONE (the uv engine answers UV_ENOTSUP). */
UVEXEC_EXTERN int uvexec_cmd_set_foreground(uvexec_cmd_t *cmd, int tty_fd);

/** @{ */
/** uvexec_cmd_set_uid / uvexec_cmd_set_gid run the child as another user or
 * group. Not allowed to: the start fails with UV_EPERM. */
UVEXEC_EXTERN int uvexec_cmd_set_uid(uvexec_cmd_t *cmd, uv_uid_t uid);
UVEXEC_EXTERN int uvexec_cmd_set_gid(uvexec_cmd_t *cmd, uv_gid_t gid);
/** @} */

/** uvexec_cmd_set_timeout stops the child ms milliseconds after the start
 * (Go's CommandContext with a deadline): the cancel signal, then SIGKILL
 * after the wait delay. The done status is UV_ETIMEDOUT. 0 (the default)
 * means no timeout. */
UVEXEC_EXTERN int uvexec_cmd_set_timeout(uvexec_cmd_t *cmd, uint64_t ms);

/** uvexec_cmd_set_cancel_signal chooses the signal a cancel or a timeout
 * sends first (Go's Cmd.Cancel). The default is SIGKILL, as in Go; with
 * SIGTERM a child gets the chance to shut down cleanly before the wait
 * delay runs out. */
UVEXEC_EXTERN int uvexec_cmd_set_cancel_signal(uvexec_cmd_t *cmd, int signum);

/** uvexec_cmd_set_wait_delay bounds the wait after a cancel and after the
 * exit (Go's WaitDelay). After a cancel or a timeout, a child still alive
 * ms later gets SIGKILL. After the exit, pipes still open ms later (a
 * grandchild holds them) are closed; if the child had succeeded the status
 * is UVEXEC_EWAITDELAY, and the output read so far is kept. Without a wait
 * delay (0, the default) uvexec waits for end of file as long as it
 * takes, except after a cancel or timeout, where the pipes are closed as
 * soon as the child is gone: nothing is waited on without bound. */
UVEXEC_EXTERN int uvexec_cmd_set_wait_delay(uvexec_cmd_t *cmd, uint64_t ms);

/** uvexec_cmd_set_output_limit caps what a captured stream may hold: a
 * stream past bytes stops the child through the cancel path, the done
 * status is UV_ENOBUFS and at most bytes are kept per stream. 0 (the
 * default) means no limit. */
UVEXEC_EXTERN int uvexec_cmd_set_output_limit(uvexec_cmd_t *cmd,
                                              size_t bytes);

/** uvexec_cmd_set_argv0 gives the child name as its argv[0] (Go's
 * Cmd.Args[0] apart from Cmd.Path, Node's argv0): the program run is
 * still the one the cmd names and uvexec looked up, so that a login shell
 * can be "-sh", or a multi-call binary be told which tool to be. Copied;
 * "" is allowed; UV_EINVAL for NULL. uvexec_exec() uses it too. */
UVEXEC_EXTERN int uvexec_cmd_set_argv0(uvexec_cmd_t *cmd, const char *name);

/** uvexec_cmd_set_pipe_size sets the size of every pipe uvexec makes for
 * cmd (stdin, stdout, stderr; F_SETPIPE_SZ, rounded up by the kernel to
 * a power of two pages): larger pipes mean fewer wake-ups for a fast
 * producer, smaller ones less memory per child. A size the kernel refuses
 * (beyond /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE: UV_EPERM)
 * makes the start fail, never silently ignored. 0 (the default): the
 * kernel's size, grown by uvexec for a stream that stays full. UV_EINVAL
 * beyond INT_MAX. */
UVEXEC_EXTERN int uvexec_cmd_set_pipe_size(uvexec_cmd_t *cmd, size_t bytes);

/** uvexec_cmd_set_capture_bounds makes every captured stream of cmd keep
 * only its first head and its last tail bytes, with
 * "\n... omitting N bytes ...\n" between them when anything was left out
 * (Go keeps a failed command's stderr so): the child runs on, however
 * much it writes, and the capture explains its start and its end. Data
 * and line callbacks still see every byte. With an output limit too, the
 * limit counts every byte captured. 0 and 0 (the default): the whole
 * stream is kept. */
UVEXEC_EXTERN int uvexec_cmd_set_capture_bounds(uvexec_cmd_t *cmd,
                                                size_t head, size_t tail);

/** Which machinery starts the child. */
typedef enum {
  /** The default: the clone engine on Linux, uv_spawn where the process
   * has no pidfd (there a cmd with child setup options or a process
   * group fails with UV_ENOSYS, while uid/gid still work through
   * uv_spawn). */
  UVEXEC_ENGINE_AUTO = 0,
  /** libuv's uv_spawn (fork + exec), with libuv reaping the child. */
  UVEXEC_ENGINE_UV = 1,
  /** The name of the engine that used glibc's posix_spawn, which the clone
   * engine replaced: it starts children the same way at the same cost and
   * can do more. Kept so that code that chose it still builds; it now
   * means UVEXEC_ENGINE_CLONE. */
  UVEXEC_ENGINE_POSIX_SPAWN = 2,
  /** clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) and uvexec's own child code
   * (Linux): the cost of posix_spawn, the pidfd taken atomically at birth,
   * and every child setup option below. The default on Linux. Where the
   * kernel has no clone3 it uses glibc's clone() with CLONE_PIDFD (no
   * cgroup then); where the process has no pidfd at all (kernels before
   * 5.3, valgrind) starting fails with UV_ENOSYS. */
  UVEXEC_ENGINE_CLONE = 3
} uvexec_engine_t;

/** uvexec_cmd_set_engine chooses the engine for this cmd. The environment
 * variable UVEXEC_ENGINE ("clone" or "uv"; "posix_spawn" means "clone")
 * changes the default for the whole process, as if every cmd had chosen
 * it, which is how the test suite runs against each. An engine that
 * cannot apply an option of the cmd makes the start fail with
 * UV_ENOTSUP. */
UVEXEC_EXTERN int uvexec_cmd_set_engine(uvexec_cmd_t *cmd,
                                        uvexec_engine_t engine);

/** @} */

/* ------------------------------------------------------------------------
 * Child setup
 *
 * What the child is given before it runs its program, applied in the
 * child between the clone and the exec, in this order: session or process
 * group, stdin/stdout/stderr and extra fds, directory, groups, gid, uid,
 * resource limits, umask, nice, death signal, closing of every other fd,
 * default signal dispositions and an empty mask, exec. Any step that
 * fails makes uvexec_start() fail with that step's error (never an exit
 * code), and nothing is left running.
 *
 * The options that only the clone engine (UVEXEC_ENGINE_CLONE) can apply
 * are the death signal, resource limits, umask, nice, groups and cgroup;
 * the clone engine is the default, and an explicit UVEXEC_ENGINE_UV
 * answers UV_ENOTSUP at start. uid and gid also work on the uv engine.
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_setup Child setup
 * @{ */

/** uvexec_cmd_set_pdeathsig makes the child receive signal sig when the
 * thread that started it ends (Go's SysProcAttr.Pdeathsig; with a loop,
 * start the cmd from the loop's thread). When the parent died before the
 * child got to exec, the child sends itself sig at once. 0 (the default)
 * means none. UV_EINVAL for an invalid signal. The death signal is cleared
 * by the kernel when the child runs a set-user-ID program. */
UVEXEC_EXTERN int uvexec_cmd_set_pdeathsig(uvexec_cmd_t *cmd, int sig);

/** uvexec_cmd_set_rlimit sets the child's limit for resource (RLIMIT_NOFILE,
 * RLIMIT_AS, RLIMIT_CPU, ... from <sys/resource.h>) to soft and hard
 * (RLIM_INFINITY for none), as setrlimit() would in the child. Several
 * resources may be set; setting one again replaces its values. UV_EINVAL
 * for an unknown resource or soft above hard; raising a hard limit without
 * the privilege makes the start fail with UV_EPERM. */
UVEXEC_EXTERN int uvexec_cmd_set_rlimit(uvexec_cmd_t *cmd, int resource,
                                        uint64_t soft, uint64_t hard);

/** uvexec_cmd_set_umask sets the child's file mode creation mask (as
 * umask(mask) in the child). By default the child inherits the parent's.
 * UV_EINVAL for bits beyond 0777. */
UVEXEC_EXTERN int uvexec_cmd_set_umask(uvexec_cmd_t *cmd, unsigned int mask);

/** uvexec_cmd_set_nice adds inc to the child's nice value (as nice(inc) in
 * the child: the result is kept within -20 .. 19). A negative inc needs
 * the privilege to raise priority: without it the start fails with
 * UV_EACCES or UV_EPERM. */
UVEXEC_EXTERN int uvexec_cmd_set_nice(uvexec_cmd_t *cmd, int inc);

/** uvexec_cmd_set_groups sets the child's supplementary groups to the n
 * gids (copied; n 0 means none), with uvexec_cmd_set_gid() and
 * uvexec_cmd_set_uid() for the rest of its identity (Go's
 * SysProcAttr.Credential). Without this call a child whose uid or gid is
 * set keeps no supplementary groups where the privilege allows dropping
 * them, as libuv does. Not allowed to: the start fails with UV_EPERM.
 * UV_EINVAL for gids NULL with n > 0. */
UVEXEC_EXTERN int uvexec_cmd_set_groups(uvexec_cmd_t *cmd,
                                        const uv_gid_t *gids, size_t n);

/** uvexec_cmd_set_cgroup starts the child inside the cgroup v2 directory
 * path (copied; NULL or "" for the parent's cgroup), atomically through
 * CLONE_INTO_CGROUP: it never runs a moment outside it. Where path is not
 * a cgroup v2 directory, or this kernel cannot start a child into one,
 * the start fails with UV_ENOTSUP and a message naming path; errors of the
 * cgroup itself (UV_ENOENT, UV_EACCES, UV_EBUSY for a cgroup that has
 * controllers enabled for its children) are given as they come. Never a
 * silent no-op. */
UVEXEC_EXTERN int uvexec_cmd_set_cgroup(uvexec_cmd_t *cmd, const char *path);

/** uvexec_cmd_set_close_fds decides whether the child gets only its fds 0,
 * 1, 2 and those given with uvexec_cmd_add_fd() (on, the default, as
 * Python's close_fds), or also every other fd the application opened
 * without O_CLOEXEC (off). The clone engine closes them in the child;
 * the uv engine runs no code of uvexec's in its child and
 * cannot: there such fds still reach the child whatever this says. fds
 * uvexec opens itself never reach a child on any engine. The fds uvexec
 * keeps while a child runs (its pidfd, the parent's ends of its pipes)
 * are numbered from 256 up where the fd limit allows, leaving the low
 * numbers to the application; with this on, the clone engine then hands
 * the child only the low part of the fd table, so a start costs the same
 * with thousands of children running. */
UVEXEC_EXTERN int uvexec_cmd_set_close_fds(uvexec_cmd_t *cmd, int on);

/** @} */

/* ------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_running Running
 * @{ */

/** uvexec_start starts cmd on loop (Go's Cmd.Start); done_cb (may be NULL)
 * is called once it is over. On failure nothing was started, done_cb will
 * never be called, and nothing is left open; the error is UV_ENOENT for a
 * program or directory that does not exist, UV_EACCES for one that is not
 * executable (or a directory), UVEXEC_EDOT, UVEXEC_ENOEXEC, UV_EINVAL for
 * a bad configuration, UV_EALREADY ("exec: already started") when cmd
 * was started before. uvexec_cmd_error() names the file.
 *
 * One exception to "nothing is left open", on the uv engine only: when
 * uv_spawn() itself fails after uvexec's own checks passed (the program
 * or its directory changed in between, a noexec mount, no memory or fds
 * in libuv's fork), libuv has already registered its process handle on
 * loop, and the handle finishes closing on the loop's next turn: run
 * the loop once (uv_run(loop, UV_RUN_NOWAIT)) before uv_loop_close().
 * uvexec_run() does that itself. */
UVEXEC_EXTERN int uvexec_start(uvexec_cmd_t *cmd, uv_loop_t *loop,
                               uvexec_done_cb done_cb);

/** uvexec_run starts cmd on a private loop and waits for it (Go's
 * Cmd.Run). It returns the done status, or the start error. Callable from
 * any thread; it never touches the caller's loops. A program running with
 * fd 0, 1 or 2 closed may call it: for the duration of the call
 * /dev/null fills the hole (so the loop's own fds stay above 2), and it
 * is closed again before the call returns. */
UVEXEC_EXTERN int uvexec_run(uvexec_cmd_t *cmd);

/** uvexec_output is uvexec_run with stdout captured (Go's Cmd.Output).
 * When stderr was left at its default it is captured too, for the caller
 * to read with uvexec_stderr_data() after a failure. */
UVEXEC_EXTERN int uvexec_output(uvexec_cmd_t *cmd);

/** uvexec_combined_output is uvexec_run with stdout and stderr captured into
 * one buffer in the order they were written (Go's CombinedOutput); read it
 * with uvexec_stdout_data(). */
UVEXEC_EXTERN int uvexec_combined_output(uvexec_cmd_t *cmd);

/** uvexec_cancel stops a started cmd (Go's Cmd.Cancel through a context):
 * the cancel signal now, SIGKILL once the wait delay runs out; the done
 * status becomes UV_ECANCELED. Called after the exit while a pipe is still
 * open (a grandchild holds it), it closes the pipes on the next loop turn,
 * keeping what was read. Safe from any callback of cmd; a second call, or
 * one after the done callback, is a no-op that answers 0. UV_EINVAL before
 * the start. */
UVEXEC_EXTERN int uvexec_cancel(uvexec_cmd_t *cmd);

/** uvexec_kill sends signum to the child (to its group after
 * uvexec_cmd_set_new_session). UV_ESRCH before the start and once the exit
 * was seen: nothing is signalled then, as the pid may belong to another
 * process by now. */
UVEXEC_EXTERN int uvexec_kill(uvexec_cmd_t *cmd, int signum);

/** @} */

/* ------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_results Results
 * @{ */

/** uvexec_pid returns the child's pid once started, UV_ESRCH before. */
UVEXEC_EXTERN int uvexec_pid(const uvexec_cmd_t *cmd);

/** uvexec_exit_code returns the exit code once the exit was seen, -1 when
 * the child was killed by a signal (as Go's ExitCode), UV_EBUSY before. */
UVEXEC_EXTERN int uvexec_exit_code(const uvexec_cmd_t *cmd);

/** uvexec_term_signal returns the signal that killed the child, 0 if it
 * exited normally, UV_EBUSY before the exit was seen. */
UVEXEC_EXTERN int uvexec_term_signal(const uvexec_cmd_t *cmd);

/** @{ */
/** uvexec_stdout_data / uvexec_stderr_data return the bytes captured on the
 * stream, NUL-terminated for convenience (the output may hold NULs of its
 * own: trust *len). Borrowed from cmd. NULL (and *len 0) when the stream
 * was not captured or the cmd is not done yet. len may be NULL. */
UVEXEC_EXTERN const char *uvexec_stdout_data(const uvexec_cmd_t *cmd,
                                             size_t *len);
UVEXEC_EXTERN const char *uvexec_stderr_data(const uvexec_cmd_t *cmd,
                                             size_t *len);
/** @} */

/** uvexec_cmd_error returns the message of the cmd's last error, in Go's
 * words: "exit status 2", "signal: killed",
 * `exec: "nosuch": executable file not found in $PATH`,
 * "fork/exec ./x: permission denied", "chdir /nope: no such file or
 * directory", "exec: already started". Borrowed from cmd: every message
 * it returned stays valid until uvexec_cmd_free(), also after a later
 * error replaced it. NULL when there is no error. */
UVEXEC_EXTERN const char *uvexec_cmd_error(const uvexec_cmd_t *cmd);

/** uvexec_rusage_t is what the kernel accounted for the child. */
typedef struct {
  uint64_t user_usec;   /**< user CPU time, microseconds */
  uint64_t system_usec; /**< system CPU time, microseconds */
  uint64_t maxrss_kib;  /**< peak resident set size, KiB */
} uvexec_rusage_t;

/** uvexec_rusage fills *usage for a child reaped by the clone engine.
 * UV_EBUSY before the exit was seen, UV_ENOTSUP with the uv engine, which
 * does not report it. */
UVEXEC_EXTERN int uvexec_rusage(const uvexec_cmd_t *cmd,
                                uvexec_rusage_t *usage);

/** @} */

/* ------------------------------------------------------------------------
 * Finding and replacing programs
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_programs Finding and replacing programs
 * @{ */

/** uvexec_lookpath finds file the way Go's exec.LookPath does on Unix, in
 * the PATH of this process. A name containing '/' is not searched, only
 * checked. Otherwise each PATH entry is tried in order (an empty entry
 * means "."; an empty PATH has no entries), skipping directories and files
 * without an execute bit.
 * On success *path is a malloc'd path the caller frees. UV_ENOENT when
 * nothing is found (and always for "", "." and ".."), UV_EACCES for a
 * named file that cannot run (no execute permission, or a directory, as
 * uvexec_start answers), UVEXEC_EDOT when the match was reached through a
 * relative PATH entry ("", ".", "../bin"): *path is still set then, and
 * the caller decides. On any other error *path is NULL. */
UVEXEC_EXTERN int uvexec_lookpath(const char *file, char **path);

/** uvexec_lookpath_in is uvexec_lookpath against the given PATH value
 * (NULL: nothing is found for a bare name). */
UVEXEC_EXTERN int uvexec_lookpath_in(const char *file, const char *pathenv,
                                     char **path);

/** uvexec_exec replaces the current process with cmd (Go's syscall.Exec
 * after exec.LookPath): a bare name is looked up as uvexec_lookpath does,
 * in the PATH the cmd gives the program, and cmd's argv, environment, dir
 * and the stdin/stdout/stderr fds set with the *_fd setters are applied
 * (UVEXEC_MERGE as 2>&1; streams left at their default stay the
 * caller's). Before the exec it flushes stdio and gives the new program
 * default signal dispositions and an empty signal mask, as a child of
 * uv_spawn would have. It returns
 * only on failure, with the error, and the caller's process is then as it
 * was before the call (environment, directory, dispositions, mask). A file
 * without "#!" that the kernel cannot run is UVEXEC_ENOEXEC: it is not
 * handed to /bin/sh. */
UVEXEC_EXTERN int uvexec_exec(uvexec_cmd_t *cmd);

/** @} */

/* ------------------------------------------------------------------------
 * Terminals
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_terminals Terminals
 * @{ */

/** uvexec_cmd_set_pty runs the child on a new pseudo-terminal of rows x
 * cols: its stdin, stdout and stderr are the terminal, it leads a new
 * session and process group with the terminal as its controlling terminal
 * (isatty() is true, `tty` names a /dev/pts/N), and its first
 * TIOCGWINSZ already sees the size. The terminal starts as a terminal
 * emulator's does: canonical mode with echo, ICRNL, ONLCR, IXON, IUTF8,
 * ISIG and the usual control characters (^C, ^\, ^Z, ^D, DEL, ^U, ^W).
 * TERM is not set: the child gets the environment's.
 *
 * What the terminal shows arrives as stdout, through everything stdout has:
 * UVEXEC_CAPTURE, uvexec_cmd_on_stdout(), uvexec_cmd_on_stdout_line() (a
 * terminal's lines end in CR LF, delivered without it), the output limit.
 * Echoed input is part of it, as on a screen. uvexec_write() types into
 * the terminal without uvexec_cmd_stdin_pipe(); uvexec_cmd_set_stdin()
 * types its bytes and then end of file; uvexec_close_stdin() types end of
 * file (see there). A caller's fd as stdin, or stdout inherited or given a
 * caller's fd, makes the start fail with UV_EINVAL.
 *
 * stderr is the terminal too, unless set apart after this call: a stderr
 * callback or UVEXEC_CAPTURE gives it a pipe of its own, UVEXEC_NULL,
 * UVEXEC_INHERIT and uvexec_cmd_stderr_fd() work as without a terminal.
 * uvexec_output() captures what the terminal shows (uvexec_combined_output()
 * answers UV_EINVAL: the terminal already combines both streams).
 *
 * uvexec_kill(), uvexec_cancel(), the timeout and uvexec_cmd_free() signal
 * the child's process group, as after uvexec_cmd_set_new_session(); a
 * shell's jobs that it moved into groups of their own are not in it.
 * uvexec sends no SIGHUP of its own: make SIGHUP the cancel signal
 * (uvexec_cmd_set_cancel_signal) for the stop that closing a terminal
 * window gives. When uvexec stops reading the terminal (its output ended,
 * the wait delay ran out, the cmd was freed) it closes the master, which
 * hangs the terminal up for whatever still holds it.
 *
 * The done callback comes after the exit and after the terminal was read
 * to its end: everything the child wrote before it exited is delivered,
 * however fast it exited. Linux reports the end of a terminal's output as
 * EIO; uvexec takes that for end of file, never an error. A grandchild
 * that keeps the terminal open holds the done callback back as it would
 * hold a pipe: uvexec_cmd_set_wait_delay() bounds that.
 *
 * Only the clone engine can make a controlling terminal: the start fails
 * with UV_ENOTSUP on the uv_spawn engine (UVEXEC_ENGINE=uv, or a kernel
 * without pidfds), and with UV_EINVAL together with uvexec_cmd_set_pgid(). rows
 * and cols are 1 to 65535, else UV_EINVAL. uvexec_exec() of a cmd with a
 * terminal answers UV_EINVAL. */
UVEXEC_EXTERN int uvexec_cmd_set_pty(uvexec_cmd_t *cmd, int rows, int cols);

/** uvexec_resize gives a running cmd's terminal a new size; the kernel then
 * sends SIGWINCH to the terminal's foreground process group (a
 * terminal emulator's window resized). It works until the terminal is
 * closed, also after the exit while a grandchild keeps the terminal open.
 * UV_EINVAL for a cmd without uvexec_cmd_set_pty() or a size outside 1 to
 * 65535; UV_ESRCH when there is no terminal: before the start, after a
 * failed start, once the terminal's output ended or the done callback
 * came. */
UVEXEC_EXTERN int uvexec_resize(uvexec_cmd_t *cmd, int rows, int cols);

/** @} */

/* ------------------------------------------------------------------------
 * Readiness and the watchdog
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_readiness Readiness
 * @{ */

/** uvexec_ready_cb is called once, when a started cmd becomes ready. */
typedef void (*uvexec_ready_cb)(uvexec_cmd_t *cmd);

/** uvexec_cmd_set_ready_notify makes cmd ready when it says so in
 * systemd's notify protocol (sd_notify(3), `systemd-notify --ready`): the
 * child finds NOTIFY_SOCKET, the name of a socket of uvexec's, in its
 * environment. READY=1 makes it ready, STATUS= sets uvexec_notify_status(),
 * WATCHDOG=1 is a keep-alive (uvexec_cmd_set_watchdog()), STOPPING=1 is
 * noted, BARRIER=1 is answered at once (every fd a message carries is
 * closed). Only the command is heard: the child or its descendants, or,
 * contained, its tree, as the kernel's credentials of each message and
 * the sender's pidfd (Linux 6.5+) tell; any other sender is ignored. */
UVEXEC_EXTERN int uvexec_cmd_set_ready_notify(uvexec_cmd_t *cmd);

/** uvexec_cmd_set_ready_fd makes cmd ready when it writes a newline on its
 * fd number fd (s6's notification-fd), which uvexec gives it as the write
 * end of a pipe. A child that closes it without a newline never becomes
 * ready this way. fd is 3 to 1023 and not one of uvexec_cmd_add_fd()'s
 * (that is UV_EINVAL at the start). */
UVEXEC_EXTERN int uvexec_cmd_set_ready_fd(uvexec_cmd_t *cmd, int fd);

/** uvexec_cmd_set_ready_line makes cmd ready at the first line of its
 * stdout or stderr that matches regex, a POSIX extended regular
 * expression (regcomp(3); copied). The streams must be read by uvexec
 * (captured, or given a callback); the line still reaches every callback
 * and capture. UV_EINVAL for a regex that does not compile. */
UVEXEC_EXTERN int uvexec_cmd_set_ready_line(uvexec_cmd_t *cmd,
                                            const char *regex);

/** uvexec_cmd_on_ready sets the callback called once, when cmd becomes
 * ready: by any of the ways set above, or, with none set, once started
 * (on the next turn of the loop, never inside uvexec_start()). */
UVEXEC_EXTERN int uvexec_cmd_on_ready(uvexec_cmd_t *cmd, uvexec_ready_cb cb);

/** uvexec_cmd_set_ready_timeout stops a cmd that is not ready ms after its
 * start, as a timeout does (its cancel signal, the wait delay); the done
 * status is UVEXEC_ENOTREADY, "not ready after N ms". 0: no bound. */
UVEXEC_EXTERN int uvexec_cmd_set_ready_timeout(uvexec_cmd_t *cmd,
                                               uint64_t ms);

/** uvexec_cmd_set_watchdog, with the notify protocol, gives the child
 * WATCHDOG_USEC and stops it when no WATCHDOG=1 came for ms (from the
 * start, then from the last one; WATCHDOG=trigger at once): SIGABRT, then
 * SIGKILL after the wait delay; the done status is UVEXEC_EWATCHDOG,
 * "watchdog: no keep-alive for N ms". Without the notify protocol the
 * start fails with UV_EINVAL. 0: no watchdog. */
UVEXEC_EXTERN int uvexec_cmd_set_watchdog(uvexec_cmd_t *cmd, uint64_t ms);

/** uvexec_is_ready answers 1 once cmd became ready, else 0. */
UVEXEC_EXTERN int uvexec_is_ready(const uvexec_cmd_t *cmd);

/** uvexec_notify_status answers the last STATUS= text the command sent,
 * borrowed until uvexec_cmd_free(); NULL before any. */
UVEXEC_EXTERN const char *uvexec_notify_status(const uvexec_cmd_t *cmd);

/** @} */

/* ------------------------------------------------------------------------
 * Containment: the whole process tree is the unit
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_containment Containment
 * @{ */

/** uvexec_cmd_set_contain runs the child and everything it starts in a
 * cgroup v2 directory of its own, which uvexec makes under parent (copied;
 * NULL or "": $UVEXEC_CGROUP_PARENT, else this process's own cgroup v2
 * directory) at the start, enters at the child's birth
 * (CLONE_INTO_CGROUP: no process of the tree is ever outside it, setsid()
 * and double forks included) and removes once the run is done. On a
 * contained cmd:
 *
 *  - the cancel, the timeout, the output limit, a group's halt, a
 *    pipeline's stop and uvexec_cmd_free() reach every process of the
 *    tree: the cancel signal to each, then SIGKILL to all at once
 *    (cgroup.kill) when the wait delay runs out; a cancel signal of
 *    SIGKILL is cgroup.kill at once;
 *  - when the child exits, whatever it left running in its tree is
 *    stopped the same way (systemd's KillMode=control-group), with the
 *    wait delay as its grace and none without one: nothing a contained
 *    command started outlives it (see uvexec_contain_leftovers());
 *  - the done callback comes after the exit, end of file on every stream
 *    and the tree empty; the streams are never cut while the tree lives,
 *    so what the tree wrote before it ended is never lost;
 *  - uvexec_kill() signals every process of the tree, uvexec_suspend()
 *    freezes it.
 *
 * The clone engine only. The start fails with UV_ENOTSUP (and a message
 * naming the path) where there is no cgroup v2 directory to make it in,
 * the kernel has no cgroup.kill (before Linux 5.14), or the engine is the
 * uv one; with UV_EACCES where parent cannot be written; with UV_EINVAL
 * together with uvexec_cmd_set_cgroup(). Nothing is left behind by a
 * failed start. Each directory is named uvexec-PID-START-N after the
 * process that made it (its pid and start time; see
 * uvexec_contain_sweep()). */
UVEXEC_EXTERN int uvexec_cmd_set_contain(uvexec_cmd_t *cmd,
                                         const char *parent);

/** uvexec_contain_leftovers answers how many processes of a contained
 * cmd's tree were still running when its child exited, and were stopped.
 * UV_EBUSY before the done callback; UV_EINVAL for a cmd that is not
 * contained. */
UVEXEC_EXTERN int uvexec_contain_leftovers(const uvexec_cmd_t *cmd);

/** uvexec_suspend stops a running cmd without ending it, until
 * uvexec_resume(): a contained tree is frozen as a whole
 * (cgroup.freeze, which its processes cannot notice or resist); any other
 * child gets SIGSTOP and SIGCONT (its group when it leads one). A stop
 * (cancel, timeout, ...) resumes a suspended cmd, so that its cancel
 * signal can be handled. UV_ESRCH before the start and once the exit was
 * seen; UV_EINVAL for NULL. */
UVEXEC_EXTERN int uvexec_suspend(uvexec_cmd_t *cmd);

/** uvexec_resume lets a cmd that uvexec_suspend() stopped go on: the tree
 * thawed, or SIGCONT. The same errors as uvexec_suspend(). */
UVEXEC_EXTERN int uvexec_resume(uvexec_cmd_t *cmd);

/** uvexec_contain_sweep removes what a crashed earlier run left under
 * parent (as uvexec_cmd_set_contain() resolves it): every directory
 * uvexec made there whose owning process is gone (no such pid, or a pid
 * reused by another process) has its processes killed and is removed.
 * Directories of a live owner, this process's own included, are left
 * alone. The directories of such owners' limits in this process's cgroup
 * v1 directories (memory, pids, cpu; see uvexec_cmd_set_limit()) go too.
 * Answers how many were removed, or an error (UV_ENOENT, UV_EACCES, ...
 * for parent) when none could be. */
UVEXEC_EXTERN int uvexec_contain_sweep(const char *parent);

/** @} */

/* ------------------------------------------------------------------------
 * Usage and limits of a whole process tree
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_usage_limits Usage and limits
 * @{ */

/** uvexec_usage_t is what a run used, read once it is done (never
 * sampled). Only the fields whose bit is in known were measured; the
 * others are 0 and mean nothing. */
typedef struct {
  uint64_t wall_usec;   /**< from the start to the exit seen; always */
  uint64_t user_usec;   /**< the child's user CPU (RUSAGE) */
  uint64_t system_usec; /**< the child's system CPU (RUSAGE) */
  /** The contained tree's user CPU, every process of it, from its
   * cgroup's cpu.stat (TREE_CPU). */
  uint64_t tree_user_usec;
  uint64_t tree_system_usec; /**< ... and its system CPU (TREE_CPU) */
  /** The largest resident set of the child and the descendants it waited
   * for, KiB (RUSAGE). */
  uint64_t maxrss_kib;
  /** Bytes, the contained tree's memory peak: memory.peak (v2) or
   * memory.max_usage_in_bytes (v1); with a memory limit (TREE_MEMORY). */
  uint64_t tree_memory_peak;
  uint64_t minflt;  /**< minor page faults of the child (RUSAGE) */
  uint64_t majflt;  /**< major page faults (RUSAGE) */
  uint64_t nvcsw;   /**< voluntary context switches (RUSAGE) */
  uint64_t nivcsw;  /**< involuntary context switches (RUSAGE) */
  uint64_t inblock; /**< blocks read from a file system (RUSAGE) */
  uint64_t oublock; /**< blocks written (RUSAGE) */
  uint64_t oom_kills; /**< processes of the tree the OOM killer killed:
                           memory.events or memory.oom_control (OOM) */
  unsigned known;     /**< UVEXEC_USAGE_* bits */
} uvexec_usage_t;

/** The bits of uvexec_usage_t.known. */
enum {
  UVEXEC_USAGE_RUSAGE = 1,      /**< the child's rusage (clone engine) */
  UVEXEC_USAGE_TREE_CPU = 2,    /**< a contained tree's CPU */
  UVEXEC_USAGE_TREE_MEMORY = 4, /**< a contained tree's memory peak */
  UVEXEC_USAGE_OOM = 8          /**< the OOM kill count */
};

/** uvexec_usage fills *u with what cmd's run used, once it is done (from
 * the done callback on): the wall time always; the child's rusage where
 * the clone engine reaped it; for a contained cmd the tree's CPU from its
 * cgroup's cpu.stat; with a memory limit the tree's memory peak and OOM
 * kills, read before its cgroups were removed. UV_EBUSY before done,
 * UV_EINVAL for NULL or a cmd that never ran. uvexec_rusage() stays as it
 * is. */
UVEXEC_EXTERN int uvexec_usage(const uvexec_cmd_t *cmd, uvexec_usage_t *u);

/** What uvexec_cmd_set_limit bounds. */
typedef enum {
  UVEXEC_LIMIT_MEMORY = 1, /**< bytes of memory of the whole tree */
  UVEXEC_LIMIT_PIDS = 2,   /**< processes and threads of the tree at once */
  UVEXEC_LIMIT_CPU = 4     /**< CPU, in thousandths of one CPU: 500 is half
                                of one, 2000 two */
} uvexec_limit_t;

/** uvexec_cmd_set_limit bounds what cmd's whole tree may use (one of
 * uvexec_limit_t per call; value > 0). It implies uvexec_cmd_set_contain()
 * (with the default parent unless it was called), and so the clone engine.
 * Each limit is a cgroup controller: cgroup v2's where the parent directory
 * has it (uvexec enables it in the parent's cgroup.subtree_control where
 * that is allowed), else the controller's cgroup v1 hierarchy (a hybrid
 * host), in a directory of its own that the child enters before it runs
 * (never moved after it started) and that is removed after done. Where
 * neither can be had the start fails with UV_ENOTSUP, "limit: no memory
 * controller: ...". A tree that reaches its memory limit has a process
 * killed by the kernel's OOM killer; the run's done status is then
 * UVEXEC_EOOM, "killed: out of memory (limit N bytes)". A tree at its
 * pids limit gets EAGAIN from fork(); at its CPU limit it is throttled.
 * UV_EINVAL for an unknown what or a value of 0, UV_EBUSY once started. */
UVEXEC_EXTERN int uvexec_cmd_set_limit(uvexec_cmd_t *cmd, int what,
                                       uint64_t value);

/** @} */

/* ------------------------------------------------------------------------
 * Sandbox: what the child may do
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_sandbox Sandbox
 *
 * A child with less than the caller's powers, set up by the clone
 * engine's child with raw system calls only, in this order: namespaces
 * at the clone; the uid and gid maps, written by the parent while the
 * child waits; a private mount propagation (UVEXEC_NS_MOUNT); the
 * loopback up (UVEXEC_NS_NET); the session; the root (chroot), its own
 * /proc there (UVEXEC_NS_PID with UVEXEC_NS_MOUNT), and the directory;
 * the capabilities kept across a uid change; groups, gid, uid; the ambient capabilities; limits, umask,
 * files; no_new_privs; Landlock; the signals; seccomp; exec. A step that
 * fails is a start error that names it ("landlock: ...", "uid_map: ...")
 * and leaves no child. The uv engine refuses every setter here with
 * UV_ENOTSUP at the start.
 * @{ */

/** Namespaces for uvexec_cmd_set_namespaces; or-ed. */
enum {
  UVEXEC_NS_USER = 1,   /**< its own users: the caller's ids map to
                             themselves unless uvexec_cmd_set_uid_map() */
  UVEXEC_NS_PID = 2,    /**< its own pids: the child is pid 1 */
  UVEXEC_NS_NET = 4,    /**< its own network: a loopback only, up */
  UVEXEC_NS_MOUNT = 8,  /**< a private copy of the mounts (and, with
                             UVEXEC_NS_PID, its own /proc) */
  UVEXEC_NS_IPC = 16,   /**< its own System V IPC and POSIX queues */
  UVEXEC_NS_UTS = 32,   /**< its own hostname */
  UVEXEC_NS_CGROUP = 64 /**< its own view of the cgroup tree */
};

/** uvexec_cmd_set_namespaces gives the child new namespaces (UVEXEC_NS_*
 * or-ed; 0: none). A caller that is not root gets UVEXEC_NS_USER with any
 * other, as the kernel requires. UV_EINVAL for an unknown bit. */
UVEXEC_EXTERN int uvexec_cmd_set_namespaces(uvexec_cmd_t *cmd, int flags);

/** uvexec_cmd_set_uid_map / uvexec_cmd_set_gid_map map count ids from
 * inside the child's user namespace to outside (one range each), written
 * by the parent before the child runs. Without them the caller's euid and
 * egid map to themselves. Mapping anything else needs root. A map the
 * kernel refuses fails the start: "uid_map: operation not permitted". As
 * with Go's UidMappings, the child keeps its ids (shown inside as the
 * overflow id when they are not mapped): uvexec_cmd_set_uid() and
 * uvexec_cmd_set_gid() with ids of the inside switch to them. */
UVEXEC_EXTERN int uvexec_cmd_set_uid_map(uvexec_cmd_t *cmd, uint32_t inside,
                                         uint32_t outside, uint32_t count);
/** See uvexec_cmd_set_uid_map. */
UVEXEC_EXTERN int uvexec_cmd_set_gid_map(uvexec_cmd_t *cmd, uint32_t inside,
                                         uint32_t outside, uint32_t count);

/** uvexec_cmd_set_root makes dir the child's root directory (chroot, Go's
 * Chroot) before its directory is entered (uvexec_cmd_set_dir() is then
 * inside it; without one, "/"). The program is looked up and run inside
 * the new root. */
UVEXEC_EXTERN int uvexec_cmd_set_root(uvexec_cmd_t *cmd, const char *dir);

/** Access for uvexec_cmd_allow_path; or-ed. */
enum {
  UVEXEC_FS_READ = 1,  /**< read files, list directories */
  UVEXEC_FS_WRITE = 2, /**< write, create, remove, rename beneath it */
  UVEXEC_FS_EXEC = 4   /**< execute files */
};

/** uvexec_cmd_allow_path lets the child reach path (a file, or a
 * directory and everything beneath it) with access (UVEXEC_FS_*). Once a
 * path is given, the child reaches the file system only through the paths
 * given (Landlock): the program, its libraries and whatever it reads must
 * be among them. A child with its own /proc (UVEXEC_NS_PID and
 * UVEXEC_NS_MOUNT) gets the access given for "/proc" on that one. Where
 * the kernel has no Landlock the start fails with UV_ENOTSUP; a path
 * that cannot be opened fails it naming the path. */
UVEXEC_EXTERN int uvexec_cmd_allow_path(uvexec_cmd_t *cmd, const char *path,
                                        int access);

/** uvexec_cmd_set_no_new_privs sets PR_SET_NO_NEW_PRIVS in the child:
 * nothing it runs gains privileges (setuid bits, file capabilities). A
 * seccomp filter or Landlock always sets it too, as bubblewrap does: the
 * kernel requires it without CAP_SYS_ADMIN, which a root caller's child
 * gives up with a uid change. */
UVEXEC_EXTERN int uvexec_cmd_set_no_new_privs(uvexec_cmd_t *cmd, int on);

/** uvexec_cmd_set_seccomp loads a classic BPF program (struct
 * sock_filter entries, len bytes, copied; a multiple of 8) as the child's
 * seccomp filter, last before exec: the exec itself must be allowed by
 * it. uvexec brings no filter compiler. UV_EINVAL for an empty or
 * misaligned program. */
UVEXEC_EXTERN int uvexec_cmd_set_seccomp(uvexec_cmd_t *cmd,
                                         const void *filter, size_t len);

/** uvexec_cmd_set_ambient_caps keeps the capabilities caps[0..n-1]
 * (CAP_NET_BIND_SERVICE, ...) in the child across its uid change, as
 * ambient capabilities (Go's AmbientCaps): a program run as another user
 * may still, say, bind port 80. The caller must have them. */
UVEXEC_EXTERN int uvexec_cmd_set_ambient_caps(uvexec_cmd_t *cmd,
                                              const int *caps, size_t n);

/** What uvexec_sandbox_available answers; or-ed. */
enum {
  UVEXEC_SANDBOX_USERNS = 1,   /**< user namespaces for this process */
  UVEXEC_SANDBOX_LANDLOCK = 2, /**< Landlock */
  UVEXEC_SANDBOX_SECCOMP = 4,  /**< seccomp filters */
  UVEXEC_SANDBOX_CGROUP2 = 8   /**< a cgroup v2 directory to contain in */
};

/** uvexec_sandbox_available answers which layers this machine can
 * enforce for this process (UVEXEC_SANDBOX_* or-ed). */
UVEXEC_EXTERN int uvexec_sandbox_available(void);

/** @} */

/* ------------------------------------------------------------------------
 * Groups: N commands at a time from a queue
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_groups Groups
 * @{ */

/** uvexec_group_t is a queue of commands that run at most max_running at a
 * time on one loop, in the order they were added (GNU parallel's --jobs,
 * xargs -P). It is opaque; it does not own the cmds added to it.
 *
 * Every cmd added gets exactly one done callback, also one that never
 * started (status UVEXEC_ESKIPPED), so nothing is ever left waiting. A
 * cmd's slot frees only when it is wholly done (exit and end of file, as
 * for uvexec_start); a cmd that cannot start counts as failed, gets its
 * start error as its done status, and frees its slot at once. Counts are
 * brought up to date, and the next queued cmd is started, before a done
 * callback runs. The group may be used (added to, cancelled, freed) from
 * inside any of its callbacks and of its cmds' callbacks. A group belongs
 * to the thread of its loop. */
typedef struct uvexec_group_s uvexec_group_t;

/** What a group does after its first failure (GNU parallel's --halt). */
typedef enum {
  /** Run everything anyway. The default. */
  UVEXEC_HALT_NEVER = 0,
  /** Start nothing new, let the running finish, skip the queued
   * (--halt soon,fail=1). */
  UVEXEC_HALT_SOON = 1,
  /** Also cancel the running, each with its own cancel signal and wait
   * delay, as uvexec_cancel() does: SIGTERM then SIGKILL is
   * uvexec_cmd_set_cancel_signal(cmd, SIGTERM) with a wait delay
   * (--halt now,fail=1). */
  UVEXEC_HALT_NOW = 2
} uvexec_halt_t;

/** What uvexec_group_count counts; the flags may be or-ed together. */
typedef enum {
  UVEXEC_COUNT_QUEUED = 1,    /* added, not yet started */
  UVEXEC_COUNT_RUNNING = 2,   /* started, done callback not yet due */
  UVEXEC_COUNT_SUCCEEDED = 4, /* done with status 0 */
  UVEXEC_COUNT_FAILED = 8,    /* done with another status, or not started */
  UVEXEC_COUNT_SKIPPED = 16,  /* never started: the group stopped first */
  UVEXEC_COUNT_ALL = 31       /* every cmd ever added */
} uvexec_count_t;

/** uvexec_group_cb is the callback of uvexec_group_wait: status is 0 when
 * every cmd succeeded, else the status of the first failure (UV_ECANCELED
 * after uvexec_group_cancel if nothing had failed before). It may free
 * the group. */
typedef void (*uvexec_group_cb)(uvexec_group_t *g, int status);

/** uvexec_group_new returns a group that runs at most max_running cmds at
 * once (0: no limit) on loop. With loop NULL the group has a private loop
 * of its own and runs only inside uvexec_group_run(): nothing starts and
 * no callback fires before. NULL when memory runs out. Free with
 * uvexec_group_free(). The first callback the group delivers through the
 * loop (a start error, a skip, a wait with nothing left) opens a handle on
 * it that keeps the loop alive only while it has work; it closes after
 * uvexec_group_free(), so run the loop once more before uv_loop_close(). */
UVEXEC_EXTERN uvexec_group_t *uvexec_group_new(uv_loop_t *loop,
                                               size_t max_running);

/** @{ */
/** uvexec_group_set_data / uvexec_group_data keep a pointer for the caller;
 * uvexec never touches it. */
UVEXEC_EXTERN void uvexec_group_set_data(uvexec_group_t *g, void *data);
UVEXEC_EXTERN void *uvexec_group_data(const uvexec_group_t *g);
/** @} */

/** uvexec_group_add queues cmd, configured and not started, to run with
 * done_cb (may be NULL) as its done callback. It starts at once when a
 * slot is free, in this call. The caller keeps cmd, and its data pointer:
 * it may free cmd in done_cb or after the group was freed, never before
 * (the group still holds it). A cmd in a pipeline, or in a group already,
 * is refused with UV_EBUSY. A
 * start error is never reported from inside this call: the cmd
 * counts as failed at once, and done_cb gets the error on the next turn
 * of the loop, with uvexec_cmd_error() naming the file. After the group
 * stopped (a halt policy, uvexec_group_cancel) a cmd added is skipped: its
 * done_cb gets UVEXEC_ESKIPPED on the next turn of the loop.
 * Once uvexec_group_wait() was called, cmds may be added only from inside
 * the done callbacks of the group's cmds (the wait then covers them too),
 * and not at all after the wait callback ran.
 * UV_EINVAL for a NULL or freed argument, UV_EALREADY for a cmd that was
 * started, UV_EBUSY for a cmd already in a group and for an add that the
 * wait forbids, UV_ENOMEM. On error nothing was queued and done_cb will
 * not be called. */
UVEXEC_EXTERN int uvexec_group_add(uvexec_group_t *g, uvexec_cmd_t *cmd,
                                   uvexec_done_cb done_cb);

/** uvexec_group_set_halt chooses what the group does after a failure
 * (UVEXEC_HALT_NEVER by default); it applies from the next failure on.
 * UV_EINVAL for an unknown policy. */
UVEXEC_EXTERN int uvexec_group_set_halt(uvexec_group_t *g, uvexec_halt_t how);

/** uvexec_group_set_halt_after makes the halt policy wait for that many
 * failures (GNU parallel's `--halt soon,fail=N`): with UVEXEC_HALT_SOON
 * and 3, the group stops starting cmds at its third failure; 1, the
 * default, is the first. A cmd being retried has not failed yet. The
 * wait callback still gets the first failure's status. UV_EINVAL for 0. */
UVEXEC_EXTERN int uvexec_group_set_halt_after(uvexec_group_t *g,
                                              unsigned failures);

/** uvexec_group_set_retries lets a cmd that fails run again, up to n more
 * times, before its failure counts (0, the default: no retry). GNU
 * parallel's `--retries N` counts every try: it is n = N - 1 here.
 *
 * A try after the first is a copy of the cmd (uvexec_cmd_copy), started
 * at once in the slot the failed try held, so a retried cmd keeps its
 * place in the order. The cmd's stream callbacks see every try; for a
 * retry they are given the copy, which has the cmd's data pointer. The
 * done callback comes once, with the cmd you added, when its last try is
 * done: then the cmd reads as that try ran (its status, exit code,
 * signal, usage, pid, message and captured output), and it counts once,
 * as succeeded or failed. While a retry runs, uvexec_cancel(),
 * uvexec_kill(), uvexec_suspend(), uvexec_resume() and uvexec_pid() on
 * your cmd act on it. A cmd that cannot start, that was cancelled
 * (uvexec_cancel, uvexec_group_cancel) or that failed after the group
 * stopped is not retried, nor one with a stdin pipe (its bytes went to the
 * failed try). Applies to cmds added after the call.
 * UV_EINVAL for a NULL or freed group. */
UVEXEC_EXTERN int uvexec_group_set_retries(uvexec_group_t *g, unsigned n);

/** uvexec_group_count returns how many of the group's cmds are in the
 * states or-ed into what (uvexec_count_t), for progress bars and
 * summaries; UV_EINVAL for a NULL group, a what of 0 or an unknown flag.
 * A cmd leaves QUEUED and RUNNING the moment its fate is known, which may
 * be a turn of the loop before its done callback. */
UVEXEC_EXTERN int uvexec_group_count(const uvexec_group_t *g, int what);

/** uvexec_group_wait calls cb once, after every cmd added has had its done
 * callback (never from inside this call: through the loop even when all
 * is done already). No cmd may be added afterwards, except from the done
 * callbacks of the group's cmds (see uvexec_group_add). UV_EINVAL for a
 * NULL argument, UV_EALREADY when called before. */
UVEXEC_EXTERN int uvexec_group_wait(uvexec_group_t *g, uvexec_group_cb cb);

/** uvexec_group_run runs a group made with a NULL loop until every cmd
 * added (also from its callbacks) is done, on a private loop it makes and
 * closes again before returning. It returns the status uvexec_group_wait
 * would give, or UV_EINVAL for a group on a caller's loop, UV_EBUSY from
 * inside its own callbacks. The group may be added to and run again. */
UVEXEC_EXTERN int uvexec_group_run(uvexec_group_t *g);

/** uvexec_group_cancel stops the group: running cmds are cancelled with
 * uvexec_cancel() (their own cancel signal and wait delay; status
 * UV_ECANCELED), queued ones are skipped (UVEXEC_ESKIPPED), and later adds
 * are skipped. Safe from any callback. UV_EINVAL for NULL. */
UVEXEC_EXTERN int uvexec_group_cancel(uvexec_group_t *g);

/** uvexec_group_free releases g in any state; NULL is a no-op. What runs
 * is cancelled as uvexec_group_cancel() does, what waits is dropped, and
 * no done callback of its cmds and no wait callback fires after this call
 * (a cancelled cmd's own output callbacks may still see its end of file).
 * The cmds stay the caller's (free them with uvexec_cmd_free(), which
 * also reaps a child still running). Memory returns once the loop has
 * closed the group's handle, if it opened one; may be called from inside
 * any callback. */
UVEXEC_EXTERN void uvexec_group_free(uvexec_group_t *g);

/** @} */

/* ------------------------------------------------------------------------
 * Pipelines
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_pipelines Pipelines
 * @{ */

/** uvexec_pipeline_t is `a | b | c` without a shell: cmds whose stdout
 * feeds the next one's stdin through kernel pipes that uvexec creates
 * (pipe2 with O_CLOEXEC) and hands to the members, so the bytes go from
 * child to child and never through the parent. Everything else about the
 * members is configured on the cmds as usual: the first member's stdin,
 * the last member's stdout and every member's stderr take whatever a cmd
 * offers (a buffer, a stream, capture, callbacks, lines, fds, UVEXEC_MERGE
 * for `2>&1 |`). Members are counted from 0 in the API, and from 1 in
 * messages, as a person counts them. */
typedef struct uvexec_pipeline_s uvexec_pipeline_t;

/** uvexec_pipeline_done_cb is called exactly once for a pipeline whose
 * uvexec_pipeline_start() returned 0: after every member exited and every
 * stream uvexec reads (of any member) reached end of file. status is 0,
 * UVEXEC_EPIPELINE when the pipeline failed under its policy,
 * UV_ETIMEDOUT / UV_ECANCELED after its timeout / uvexec_pipeline_cancel().
 * uvexec_pipeline_error() gives the message; each member's own results
 * stay readable through uvexec_pipeline_cmd(). The callback may free p. */
typedef void (*uvexec_pipeline_done_cb)(uvexec_pipeline_t *p, int status);

/** uvexec_pipeline returns a pipeline of the cmds given, up to a NULL:
 * uvexec_pipeline(ls, grep, wc, NULL), ls's stdout into grep's stdin and
 * grep's into wc's. It takes ownership of the cmds, which are freed with
 * the pipeline. NULL when there is no cmd, when a cmd was started already,
 * belongs to another pipeline or to a group, or is given twice, when a
 * stream that the pipeline joins was configured (the stdout of any member
 * but the last, the stdin of any member but the first: set, piped, fed or
 * watched), or when memory runs out; the cmds then stay the caller's. */
UVEXEC_EXTERN uvexec_pipeline_t *uvexec_pipeline(uvexec_cmd_t *first, ...);

/** uvexec_pipeline_cmds is uvexec_pipeline with the n cmds in an array. */
UVEXEC_EXTERN uvexec_pipeline_t *uvexec_pipeline_cmds(uvexec_cmd_t *const *cmds,
                                                      size_t n);

/** uvexec_pipeline_free releases p and every member in any state; NULL is
 * a no-op. As uvexec_cmd_free does for one cmd, running members are
 * killed (SIGKILL, the whole process group when the pipeline has one) and
 * still reaped, and no callback of p or of a member fires after this
 * call. The loop must run on for the memory to return. */
UVEXEC_EXTERN void uvexec_pipeline_free(uvexec_pipeline_t *p);

/** uvexec_pipeline_len returns the number of members (0 for NULL). */
UVEXEC_EXTERN size_t uvexec_pipeline_len(const uvexec_pipeline_t *p);

/** uvexec_pipeline_cmd returns member i (from 0), borrowed from p: to
 * configure the first one's stdin, the last one's stdout, anyone's
 * stderr, and afterwards to read each member's exit code, signal, rusage
 * and captured output (bash's PIPESTATUS). The caller may use its
 * uvexec_cmd_set_data() freely, but must not start or free it. NULL when i
 * is out of range. */
UVEXEC_EXTERN uvexec_cmd_t *uvexec_pipeline_cmd(const uvexec_pipeline_t *p,
                                                size_t i);

/** @{ */
/** uvexec_pipeline_set_data / uvexec_pipeline_data keep a pointer for the
 * caller, as libuv's data field does. */
UVEXEC_EXTERN void uvexec_pipeline_set_data(uvexec_pipeline_t *p, void *data);
UVEXEC_EXTERN void *uvexec_pipeline_data(const uvexec_pipeline_t *p);
/** @} */

/** How a pipeline's members decide its outcome. Under every policy a
 * member killed by SIGPIPE is not a failure when the member it wrote to
 * succeeded (or was itself excused this way): that member stopped reading
 * because it had what it needed, so `yes | head -1` succeeds. A member
 * that ignores SIGPIPE and exits non-zero on EPIPE instead is a failure. */
typedef enum {
  /** Every member counts, as bash's `set -o pipefail`, whose status is the
   * rightmost failing member's: the pipeline succeeds only when no member
   * failed. The default. */
  UVEXEC_PIPE_FAIL = 0,
  /** Only the last member counts, as a plain sh pipeline. The others'
   * results are still there to read. */
  UVEXEC_PIPE_LAST = 1,
  /** Every member must succeed. The outcome is UVEXEC_PIPE_FAIL's, stated
   * member by member; the two are kept apart for code that says which it
   * means. */
  UVEXEC_PIPE_ALL = 2
} uvexec_pipe_policy_t;

/* The setters below answer UV_EINVAL for a NULL p or a bad argument and
 * UV_EBUSY once p has been started. */

/** uvexec_pipeline_set_policy chooses how the members decide the outcome;
 * UVEXEC_PIPE_FAIL by default. */
UVEXEC_EXTERN int uvexec_pipeline_set_policy(uvexec_pipeline_t *p,
                                             uvexec_pipe_policy_t how);

/** uvexec_pipeline_set_timeout stops the whole pipeline ms milliseconds
 * after the start: every member gets the cancel signal at once (one
 * signal to the pipeline's process group when it has one, so their own
 * children get it too), SIGKILL after the wait delay; the done status is
 * UV_ETIMEDOUT. 0 (the default) means no timeout. A timeout set on a
 * member is that member's own. */
UVEXEC_EXTERN int uvexec_pipeline_set_timeout(uvexec_pipeline_t *p,
                                              uint64_t ms);

/** uvexec_pipeline_set_cancel_signal chooses the signal a cancel or a
 * timeout of the pipeline sends first; SIGKILL by default, as for a cmd.
 * It replaces the members' own cancel signals for this run. */
UVEXEC_EXTERN int uvexec_pipeline_set_cancel_signal(uvexec_pipeline_t *p,
                                                    int signum);

/** uvexec_pipeline_set_wait_delay sets every member's wait delay (see
 * uvexec_cmd_set_wait_delay): after a stop, a member still alive ms later
 * gets SIGKILL; after a member's exit, its pipes still open ms later are
 * closed. Without it (0) members keep their own. */
UVEXEC_EXTERN int uvexec_pipeline_set_wait_delay(uvexec_pipeline_t *p,
                                                 uint64_t ms);

/** uvexec_pipeline_set_new_session starts every member in a new session of
 * its own (see uvexec_cmd_set_new_session), away from the caller's
 * terminal. A process can only join a group of its own session, so the
 * members cannot share one group then: stops signal each member's group
 * in turn. */
UVEXEC_EXTERN int uvexec_pipeline_set_new_session(uvexec_pipeline_t *p,
                                                  int on);

/** uvexec_pipeline_set_contain puts the whole pipeline in one cgroup v2
 * directory made under parent (as uvexec_cmd_set_contain() resolves it),
 * each member in a directory of its own inside it: a stop (the timeout,
 * uvexec_pipeline_cancel(), uvexec_pipeline_free()) reaches every process
 * every member started, and each member stops what it leaves at its own
 * exit, as a contained cmd does. The done callback comes once every
 * member's tree is empty; the directory goes then. A member that was
 * contained, or given a cgroup, by the caller makes the start fail with
 * UV_EINVAL; the start errors of uvexec_cmd_set_contain() apply. */
UVEXEC_EXTERN int uvexec_pipeline_set_contain(uvexec_pipeline_t *p,
                                              const char *parent);

/** uvexec_pipeline_start starts every member on loop, or none (Go's
 * Cmd.Start for the whole chain); done_cb (may be NULL) is called once
 * it is over. The members form one new process group, led by the first
 * (uvexec_cmd_set_pgid), so that a stop reaches all of them and their
 * children at once; where the members' engine cannot set a group (the
 * uv engine), the pipeline has none and signals each member in turn.
 * The pipeline decides its members' group and session: their own
 * uvexec_cmd_set_new_session is replaced, except where there is no
 * shared group and the pipeline has no session of its own, when each
 * member keeps what it was given. A group of its own is not the
 * terminal's foreground group: Ctrl-C at the terminal does not reach the
 * members, and a member that reads the terminal is stopped (SIGTTIN), as
 * for any cmd with uvexec_cmd_set_pgid. On failure nothing is left
 * running, done_cb will never be called, and the error is the failing
 * member's start error (UV_ENOENT, UV_EACCES, ...), which
 * uvexec_pipeline_error() words with the member named: `pipeline: 2
 * "nosuch": exec: "nosuch": executable file not found in $PATH`.
 * Members already started by then are killed with SIGKILL and reaped as
 * the loop runs on, without any callback. UV_EINVAL when a stream the
 * pipeline joins was configured after creation, UV_EALREADY when p (or a
 * member) was started before. */
UVEXEC_EXTERN int uvexec_pipeline_start(uvexec_pipeline_t *p,
                                        uv_loop_t *loop,
                                        uvexec_pipeline_done_cb done_cb);

/** uvexec_pipeline_run starts p on a private loop and waits for it (Go's
 * Cmd.Run for the chain). It returns the done status, or the start error.
 * Callable from any thread. */
UVEXEC_EXTERN int uvexec_pipeline_run(uvexec_pipeline_t *p);

/** uvexec_pipeline_output is uvexec_pipeline_run with the last member's
 * stdout captured: read it with uvexec_stdout_data(uvexec_pipeline_cmd(p,
 * n - 1), &len). Every member's stderr that was left at its default is
 * captured too, for uvexec_stderr_data() after a failure. UV_EINVAL
 * ("exec: Stdout already set") when the last member's stdout goes to an
 * inherited or a caller's fd. */
UVEXEC_EXTERN int uvexec_pipeline_output(uvexec_pipeline_t *p);

/** uvexec_pipeline_cancel stops a started pipeline: every member gets the
 * cancel signal now (through the group when there is one), SIGKILL once
 * the wait delay runs out; the done status becomes UV_ECANCELED. Safe
 * from any callback; a second call, or one after done, is a no-op that
 * answers 0. UV_EINVAL before the start. */
UVEXEC_EXTERN int uvexec_pipeline_cancel(uvexec_pipeline_t *p);

/** uvexec_pipeline_error returns the message of the pipeline's last error,
 * naming each member whose failure counts under the policy, in order,
 * with its number (from 1), its arguments and its own error:
 * `pipeline: 2 "grep x": exit status 1`, or for two,
 * `pipeline: 1 "cat nosuch": exit status 1; 2 "grep x": exit status 1`.
 * After a stop: "pipeline: context canceled" / "pipeline: context
 * deadline exceeded". Borrowed from p; NULL when there is no error. */
UVEXEC_EXTERN const char *uvexec_pipeline_error(const uvexec_pipeline_t *p);

/** @} */

/* ------------------------------------------------------------------------
 * Services: a command kept running
 * ------------------------------------------------------------------------ */
/** @defgroup uvexec_services Services
 * @{ */

/** uvexec_service_t keeps one command running on a loop by a restart
 * policy (systemd's Restart=, Erlang's restart intensity). Each run is a
 * copy of the command it was given (uvexec_cmd_copy()), started only once
 * the run before it is done (its exit, end of file and, contained, its
 * tree gone), so two runs never overlap. */
typedef struct uvexec_service_s uvexec_service_t;

/** When a run that ended is followed by another. */
typedef enum {
  UVEXEC_RESTART_NEVER = 0,
  UVEXEC_RESTART_ON_FAILURE, /**< any done status but 0 (the default) */
  UVEXEC_RESTART_ALWAYS
} uvexec_restart_t;

/** What a service tells its event callback. */
typedef enum {
  UVEXEC_SERVICE_STARTED = 0, /**< a run started (run: the run) */
  UVEXEC_SERVICE_READY,       /**< the run is ready, as its readiness
                                   setters say (uvexec_cmd_on_ready()) */
  UVEXEC_SERVICE_EXITED,      /**< the run is done (run: the finished run,
                                   readable in the callback: its status
                                   through uvexec_service_status(), its
                                   exit code, captures, usage; freed after
                                   the callback) */
  UVEXEC_SERVICE_BACKOFF,     /**< a new run comes after
                                   uvexec_service_next_delay() ms */
  UVEXEC_SERVICE_STOPPED,     /**< stopped: by uvexec_service_stop(), or
                                   because the policy restarts no more */
  UVEXEC_SERVICE_GAVE_UP      /**< given up for good: the start limit was
                                   passed (UVEXEC_ERESTARTLIMIT) or an exit
                                   code prevents restarts (UVEXEC_EEXIT) */
} uvexec_service_event_t;

/** Where a service stands. */
typedef enum {
  UVEXEC_SERVICE_IDLE = 0, /**< never started, or stopped */
  UVEXEC_SERVICE_STARTING, /**< a run starts or has started, not yet ready */
  UVEXEC_SERVICE_RUNNING,  /**< the run is ready */
  UVEXEC_SERVICE_WAITING,  /**< in the delay before the next run */
  UVEXEC_SERVICE_STOPPING, /**< a stop is waiting for the run to be done */
  UVEXEC_SERVICE_FAILED    /**< given up */
} uvexec_service_state_t;

/** uvexec_service_cb is the event callback: run is the run concerned, or
 * NULL for BACKOFF, STOPPED and GAVE_UP. The service may be freed from
 * inside it. */
typedef void (*uvexec_service_cb)(uvexec_service_t *s,
                                  uvexec_service_event_t event,
                                  uvexec_cmd_t *run);

/** uvexec_service_new returns a service of cmd on loop, not started. It
 * takes cmd (configured, not started, in no group or pipeline) as its
 * template, freed with the service; configure it before, not after.
 * Defaults: restart on failure, a delay of 100 ms doubling up to 30 s, no
 * jitter, healthy after 10 s, at most 5 starts in 10 s. NULL on bad input
 * or no memory (cmd then stays the caller's). */
UVEXEC_EXTERN uvexec_service_t *uvexec_service_new(uv_loop_t *loop,
                                                   uvexec_cmd_t *cmd);

/** uvexec_service_free frees s in any state; NULL is a no-op. A running
 * run is killed as uvexec_cmd_free() kills, and no callback comes
 * afterwards. Safe from inside the event callback. Run the loop on
 * afterwards for the handles to close. */
UVEXEC_EXTERN void uvexec_service_free(uvexec_service_t *s);

/** The setters answer UV_EINVAL for bad values and UV_EBUSY once the
 * service has been started. */
/** @{ */
/** uvexec_service_set_restart chooses when a run that ended is followed by
 * another (a stop asked for is never followed). */
UVEXEC_EXTERN int uvexec_service_set_restart(uvexec_service_t *s,
                                             uvexec_restart_t when);
/** uvexec_service_set_backoff: the delay before a restart starts at min_ms
 * and doubles with each run in a row that failed without being healthy
 * first, up to max_ms. */
UVEXEC_EXTERN int uvexec_service_set_backoff(uvexec_service_t *s,
                                             uint64_t min_ms, uint64_t max_ms);
/** uvexec_service_set_jitter draws each delay d uniformly from
 * [d - d * percent / 100, d] (0 to 100; default 0), so that services that
 * failed together do not restart together. */
UVEXEC_EXTERN int uvexec_service_set_jitter(uvexec_service_t *s,
                                            unsigned percent);
/** uvexec_service_set_healthy: a run that has been ready for ms resets the
 * delay to its minimum. */
UVEXEC_EXTERN int uvexec_service_set_healthy(uvexec_service_t *s,
                                             uint64_t ms);
/** uvexec_service_set_limit: more than burst starts (the first and the
 * automatic restarts; not those asked for with uvexec_service_restart())
 * within interval_ms give the service up with UVEXEC_ERESTARTLIMIT
 * ("restart limit: 5 starts in 10000 ms"). burst 0: no limit. */
UVEXEC_EXTERN int uvexec_service_set_limit(uvexec_service_t *s,
                                           unsigned burst,
                                           uint64_t interval_ms);
/** uvexec_service_set_prevent lists exit codes after which the service is
 * given up rather than restarted: a configuration error that a restart
 * cannot mend (systemd's RestartPreventExitStatus). Copied. */
UVEXEC_EXTERN int uvexec_service_set_prevent(uvexec_service_t *s,
                                             const int *codes, size_t n);
/** uvexec_service_on_event sets the event callback. */
UVEXEC_EXTERN int uvexec_service_on_event(uvexec_service_t *s,
                                          uvexec_service_cb cb);
/** @} */

/** uvexec_service_start starts the first run on the next turn of the
 * loop. Also after a stop or a give-up, with the count of failures and
 * the start limit begun anew. UV_EALREADY while the service runs. */
UVEXEC_EXTERN int uvexec_service_start(uvexec_service_t *s);

/** uvexec_service_stop stops the service gracefully: the run gets its
 * cancel signal and wait delay, and a pending restart is dropped; STOPPED
 * comes once the run is done (between runs, on the next turn). Nothing is
 * restarted after a stop. 0 when there is nothing to stop. */
UVEXEC_EXTERN int uvexec_service_stop(uvexec_service_t *s);

/** uvexec_service_restart stops the run as a stop does and starts a new
 * one as soon as it is done, or at once between runs; not counted against
 * the start limit. UV_EINVAL while a stop is under way. */
UVEXEC_EXTERN int uvexec_service_restart(uvexec_service_t *s);

/** @{ */
/** What a service tells: its state, the current run (borrowed; NULL
 * between runs), restarts so far (automatic and asked for), the pending
 * delay in ms (0 unless waiting), the last run's done status (or the
 * give-up's) and its message (borrowed until the next run ends), and the
 * caller's pointer. */
UVEXEC_EXTERN uvexec_service_state_t uvexec_service_state(
    const uvexec_service_t *s);
UVEXEC_EXTERN uvexec_cmd_t *uvexec_service_run(const uvexec_service_t *s);
UVEXEC_EXTERN unsigned uvexec_service_restarts(const uvexec_service_t *s);
UVEXEC_EXTERN uint64_t uvexec_service_next_delay(const uvexec_service_t *s);
UVEXEC_EXTERN int uvexec_service_status(const uvexec_service_t *s);
UVEXEC_EXTERN const char *uvexec_service_error(const uvexec_service_t *s);
UVEXEC_EXTERN void uvexec_service_set_data(uvexec_service_t *s, void *data);
UVEXEC_EXTERN void *uvexec_service_data(const uvexec_service_t *s);
/** @} */

/** uvexec_supervisor_t runs services in order: each starts once the one
 * added before it is ready, and they stop in reverse order; with Erlang's
 * restart strategies. */
typedef struct uvexec_supervisor_s uvexec_supervisor_t;

/** What else restarts when a service fails (it restarts itself by its
 * own policy). */
typedef enum {
  UVEXEC_ONE_FOR_ONE = 0, /**< nothing else (the default) */
  UVEXEC_ONE_FOR_ALL,     /**< every other service */
  UVEXEC_REST_FOR_ONE     /**< the services added after it */
} uvexec_strategy_t;

/** uvexec_supervisor_cb is called once, when the supervisor has stopped:
 * status 0 after uvexec_supervisor_stop(), or the status of the service
 * that gave up (the others were stopped because of it). */
typedef void (*uvexec_supervisor_cb)(uvexec_supervisor_t *sup, int status);

/** uvexec_supervisor_new returns an empty supervisor on loop; NULL on bad
 * input or no memory. */
UVEXEC_EXTERN uvexec_supervisor_t *uvexec_supervisor_new(
    uv_loop_t *loop, uvexec_strategy_t how);

/** uvexec_supervisor_add takes service s (not started, in no other
 * supervisor; freed with the supervisor). Start order is add order. Its
 * own event callback still hears every event. UV_EBUSY once started. */
UVEXEC_EXTERN int uvexec_supervisor_add(uvexec_supervisor_t *sup,
                                        uvexec_service_t *s);

/** uvexec_supervisor_start starts the first service; each next one starts
 * once the one before it is ready (its first UVEXEC_SERVICE_READY). A
 * service that gives up stops the others in reverse order, and cb gets
 * its status. UV_EALREADY when started before. */
UVEXEC_EXTERN int uvexec_supervisor_start(uvexec_supervisor_t *sup,
                                          uvexec_supervisor_cb cb);

/** uvexec_supervisor_stop stops the services one at a time in reverse
 * order: each gets its run's cancel signal and wait delay, and is done
 * before the one before it is stopped; then cb, with 0. UV_EINVAL before
 * the start. */
UVEXEC_EXTERN int uvexec_supervisor_stop(uvexec_supervisor_t *sup);

/** uvexec_supervisor_free frees sup and its services in reverse order, in
 * any state, as uvexec_service_free() frees each (runs killed), without
 * callbacks; NULL is a no-op. Safe from inside any callback. */
UVEXEC_EXTERN void uvexec_supervisor_free(uvexec_supervisor_t *sup);

/** @{ */
/** The caller's pointer. */
UVEXEC_EXTERN void uvexec_supervisor_set_data(uvexec_supervisor_t *sup,
                                              void *data);
UVEXEC_EXTERN void *uvexec_supervisor_data(const uvexec_supervisor_t *sup);
/** @} */

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* UVEXEC_H */
