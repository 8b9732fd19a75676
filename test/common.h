/* SPDX-License-Identifier: MIT */
/* Support shared by the Check suites: where the helper program is, a
 * fixture that proves every test left nothing behind, a loop runner that
 * fails instead of hanging, and a probe that records what callbacks saw.
 *
 * Every test that uses the fixture ends with the proofs of absence (STYLE.md,
 * habit 9): the loop runs out of work and closes with uv_loop_close() == 0,
 * the process has as many open fds as when the test began, and
 * waitpid(-1, ..., WNOHANG) answers ECHILD: no child running, no zombie.
 */
#ifndef UVEXEC_TEST_COMMON_H
#define UVEXEC_TEST_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <uv.h>

#include "uvexec.h"

/* Bounds for waiting on events. They are generous on purpose (valgrind,
 * loaded CI machines): reaching one means the test is broken, not slow. */
#define TEST_TIMEOUT_MS 30000
#define TEST_CASE_TIMEOUT_S 100

/* ---- the helper program -------------------------------------------------- */

/* helper_path returns $UVEXEC_TEST_HELPER, the path of uvexec-test-helper.
 * A test that needs it fails with a clear message when it is unset or not
 * executable. */
const char *helper_path(void);

/* helper_cmd returns a cmd running the helper: argv is the helper's path,
 * sub, then the further arguments up to a NULL. Fails the test rather than
 * returning NULL. */
uvexec_cmd_t *helper_cmd(const char *sub, ...);

/* ---- the helper for another user ----------------------------------------- */

/* OTHER_UID is the user the other-user cases run their children as:
 * nobody. */
#define OTHER_UID 65534

/* A child that runs as another user cannot reach the build tree when the
 * checkout sits in a directory only its owner can enter (mode 0700).
 * share_helper copies the helper once into a fresh directory under /tmp
 * (mkdtemp, then mode 0755; the copy 0755) and checks that OTHER_UID can
 * run it there. Call it from main, before run_suite: with CK_FORK a test
 * runs in a child that may _exit on a failure, so the copy must belong to
 * the suite's own process, which removes it when run_suite ends (or at
 * exit), whatever the tests gave. Returns 1 when the copy is usable;
 * otherwise prints on stderr, after "suite: ", why not, and returns 0: the
 * caller then does not register the case and says so. */
int share_helper(const char *suite);

/* shared_helper_cmd is helper_cmd with the shared copy as the program,
 * for a cmd that runs as another user. Fails the test when share_helper
 * was not called, or failed. */
uvexec_cmd_t *shared_helper_cmd(const char *sub, ...);

/* ---- where the suite runs ------------------------------------------------ */

/* have_pidfd tells whether this process can have pidfds, which the clone
 * engine needs (valgrind 3.19 has no pidfd_open). Asked once. */
int have_pidfd(void);

/* under_valgrind tells whether the suite runs under valgrind
 * (UVEXEC_TEST_VALGRIND, set by the build's valgrind switch). */
int under_valgrind(void);

/* on_uv_engine tells whether UVEXEC_ENGINE makes the uv engine the
 * default, as in the suites' `.uv` runs. */
int on_uv_engine(void);

/* ---- proofs of absence --------------------------------------------------- */

/* count_open_fds returns how many fds this process has open, from
 * /proc/self/fd (the fd used to read it is not counted). */
int count_open_fds(void);

/* no_child_left is 1 when waitpid(-1, WNOHANG) gives -1 with ECHILD: no
 * child of this process is running or waiting to be reaped. */
int no_child_left(void);

/* assert_no_zombies fails the test unless no_child_left(). */
void assert_no_zombies(void);

/* ---- the per-test fixture ------------------------------------------------ */

/* test_loop is the fresh loop of the running test. */
extern uv_loop_t *test_loop;

/* fixture_setup creates test_loop and records the fd count.
 * fixture_teardown runs test_loop until it has no more work, then asserts
 * uv_loop_close() == 0, the fd count unchanged and no child left. Add
 * them with tcase_add_checked_fixture(). */
void fixture_setup(void);
void fixture_teardown(void);

/* fixture_fd_baseline is the fd count recorded at setup. */
int fixture_fd_baseline(void);

/* add_tcase adds a TCase named name holding test, with the fixture and a
 * generous timeout. */
void add_tcase(Suite *s, const char *name, const TTest *test);
#define ADD_TEST(suite, fn) add_tcase((suite), #fn, fn)

/* run_suite runs s with CK_NORMAL output; returns the exit status for
 * main (0 when every test passed). */
int run_suite(Suite *s);

/* ---- running the loop ---------------------------------------------------- */

/* run_loop_until runs loop one iteration at a time until *flag != 0. It
 * fails the test when timeout_ms pass first, or when the loop runs out of
 * work while *flag is still 0 (nothing could ever set it then). */
void run_loop_until(uv_loop_t *loop, const int *flag, uint64_t timeout_ms);

/* run_loop_to_end runs loop until it has no more work (every cmd done and
 * every handle closed), failing the test after timeout_ms. */
void run_loop_to_end(uv_loop_t *loop, uint64_t timeout_ms);

/* ---- a growable byte buffer ---------------------------------------------- */

typedef struct {
  char *data; /* NUL-terminated when not NULL */
  size_t len;
  size_t cap;
} tbuf_t;

void tbuf_append(tbuf_t *b, const void *data, size_t len);
void tbuf_free(tbuf_t *b);

/* ---- a probe: what the callbacks of one cmd saw -------------------------- */

typedef struct probe_s {
  uvexec_cmd_t *cmd; /* NULL once freed by the probe */
  int done_calls;    /* times the done callback ran */
  int status;        /* its status */
  int out_calls;     /* on_stdout calls with len > 0 */
  int err_calls;
  int out_eof; /* on_stdout calls with len == 0 */
  int err_eof;
  int out_after_eof; /* data calls after the EOF call: never allowed */
  int err_after_eof;
  int out_eof_at_done; /* out_eof / err_eof when done fired */
  int err_eof_at_done;
  int calls_after_free; /* any callback of a freed cmd: never allowed */
  int free_in_done;     /* free the cmd inside the done callback */
  int free_on_out;      /* free the cmd on the first stdout call */
  int free_on_err;      /* free the cmd on the first stderr call */
  int free_on_out_eof;  /* free the cmd on the stdout EOF call */
  tbuf_t out; /* bytes seen by on_stdout */
  tbuf_t err; /* bytes seen by on_stderr */
  /* Line readiness: set once out holds this text, if not NULL. */
  const char *wait_text;
  int text_seen;
} probe_t;

/* probe_init zeroes p and points cmd's data at it. */
void probe_init(probe_t *p, uvexec_cmd_t *cmd);

/* probe_watch_stdout / probe_watch_stderr set the probe's data callbacks. */
void probe_watch_stdout(probe_t *p);
void probe_watch_stderr(probe_t *p);

/* The callbacks themselves, for tests that set them by hand. */
void probe_done_cb(uvexec_cmd_t *cmd, int status);
void probe_stdout_cb(uvexec_cmd_t *cmd, const char *data, size_t len);
void probe_stderr_cb(uvexec_cmd_t *cmd, const char *data, size_t len);

/* probe_start starts p->cmd on test_loop with probe_done_cb, failing the
 * test unless uvexec_start answers 0. */
void probe_start(probe_t *p);

/* probe_wait runs test_loop until the done callback ran. */
void probe_wait(probe_t *p);

/* probe_wait_text runs test_loop until the stdout seen by the probe holds
 * text (a readiness line such as "ready\n"). */
void probe_wait_text(probe_t *p, const char *text);

/* probe_drop_cmd frees p->cmd now (in whatever state it is) and marks the
 * probe so that any later callback of that cmd is counted as a bug in
 * calls_after_free. The buffers stay for inspection. */
void probe_drop_cmd(probe_t *p);

/* probe_free frees p->cmd (if the probe still has it) and p's buffers. */
void probe_free(probe_t *p);

/* ---- results ------------------------------------------------------------- */

/* assert_stdout / assert_stderr fail unless the cmd's captured stream is
 * exactly text. */
void assert_stdout(const uvexec_cmd_t *cmd, const char *text);
void assert_stderr(const uvexec_cmd_t *cmd, const char *text);

/* make_temp_dir creates a fresh directory (mkdtemp) and returns its
 * malloc'd real path; remove_tree removes it again (files one level deep). */
char *make_temp_dir(void);
void remove_tree(const char *dir);

#endif /* UVEXEC_TEST_COMMON_H */
