/* SPDX-License-Identifier: MIT */
/* Readiness and the watchdog (lib/ready.c): ready once started without a
 * setter; the notify protocol spoken by the real systemd-notify (READY,
 * STATUS, the barrier it waits for) and by the helper; a forged sender
 * outside the command ignored; s6's notification fd, written or closed; a
 * ready line on stderr, also on a stream nobody else reads; the ready
 * timeout; the watchdog and its WATCHDOG_USEC; the refusals; a service's
 * READY event from the protocol.
 *
 * systemd-notify comes from Debian's systemd package; where it is not
 * installed, its cases are not run, and the suite says so. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

/* What the ready callback saw. */
static int ready_calls;
static char status_at_ready[128];
static int stdin_written;
static int written_at_ready;

static void on_ready(uvexec_cmd_t *cmd) {
  const char *status = uvexec_notify_status(cmd);

  ready_calls++;
  snprintf(status_at_ready, sizeof status_at_ready, "%s",
           status != NULL ? status : "(none)");
  written_at_ready = stdin_written;
  uv_stop(test_loop); /* a timer may have brought it: look at once */
}

static int ready_flag(void) {
  return ready_calls;
}

static void watch(probe_t *p) {
  ready_calls = 0;
  status_at_ready[0] = '\0';
  ck_assert_int_eq(uvexec_cmd_on_ready(p->cmd, on_ready), 0);
}

static void wait_ready(void) {
  run_loop_until(test_loop, &ready_calls, TEST_TIMEOUT_MS);
}

static void end(probe_t *p) {
  if (p->done_calls == 0) {
    ck_assert_int_eq(uvexec_cancel(p->cmd), 0);
    probe_wait(p);
  }
  probe_free(p);
}

/* ---- without a setter ----------------------------------------------------- */

/* Ready once started: not inside uvexec_start, once, on the loop. */
START_TEST(test_ready_once_started) {
  probe_t p;

  probe_init(&p, helper_cmd("sleep", "60000", NULL));
  watch(&p);
  ck_assert_int_eq(uvexec_is_ready(p.cmd), 0);
  probe_start(&p);
  ck_assert_int_eq(ready_flag(), 0);
  ck_assert_int_eq(uvexec_is_ready(p.cmd), 0);
  wait_ready();
  ck_assert_int_eq(ready_calls, 1);
  ck_assert_int_eq(uvexec_is_ready(p.cmd), 1);
  end(&p);
  ck_assert_int_eq(ready_calls, 1);
}
END_TEST

/* ---- the notify protocol --------------------------------------------------- */

/* The real client: READY with a status, then the barrier it waits for
 * (unanswered, it would stall, and "after" would never come). */
START_TEST(test_systemd_notify) {
  probe_t p;

  probe_init(&p, uvexec_command("sh", "-c",
                                "systemd-notify --ready --status='up and "
                                "running' && echo after; exec sleep 60",
                                NULL));
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(p.cmd), 0);
  watch(&p);
  probe_watch_stdout(&p);
  probe_start(&p);
  wait_ready();
  ck_assert_str_eq(status_at_ready, "up and running");
  ck_assert_str_eq(uvexec_notify_status(p.cmd), "up and running");
  probe_wait_text(&p, "after\n");
  end(&p);
}
END_TEST

/* The helper speaks the protocol itself: READY and STATUS in one
 * message; STOPPING noted; nothing else needed. */
START_TEST(test_notify_helper) {
  probe_t p;

  probe_init(&p, helper_cmd("notify", "STATUS=warming", "READY=1", NULL));
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(p.cmd), 0);
  watch(&p);
  probe_start(&p);
  wait_ready();
  ck_assert_str_eq(status_at_ready, "warming");
  end(&p);
}
END_TEST

/* forge sends text to the abstract socket "@name" from this process. */
static void forge(const char *name, const char *text) {
  struct sockaddr_un addr;
  socklen_t len;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(name[0], '@');
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path + 1, name + 1, strlen(name) - 1);
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
  ck_assert_int_ge(
      sendto(fd, text, strlen(text), 0, (struct sockaddr *)&addr, len), 0);
  close(fd);
}

/* A process that is not the command (the test itself) sends READY=1 and a
 * status first: both are ignored; the command's own message, sent after,
 * is what makes it ready. */
START_TEST(test_forged_sender_ignored) {
  char name[128];
  probe_t p;

  probe_init(&p, helper_cmd("notify-after-stdin", NULL));
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(p.cmd), 0);
  watch(&p);
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait_text(&p, "\n");
  snprintf(name, sizeof name, "%.*s", (int)strcspn(p.out.data, "\n"),
           p.out.data);
  stdin_written = 0;
  forge(name, "STATUS=forged\nREADY=1\n");
  ck_assert_int_eq(uvexec_write(p.cmd, "go\n", 3), 0);
  stdin_written = 1;
  wait_ready();
  ck_assert_int_eq(written_at_ready, 1);
  ck_assert_str_eq(status_at_ready, "real");
  end(&p);
}
END_TEST

/* ---- the notification fd ------------------------------------------------------ */

START_TEST(test_notification_fd) {
  probe_t p;

  probe_init(&p, helper_cmd("notify-fd", "5", "ready", NULL));
  ck_assert_int_eq(uvexec_cmd_set_ready_fd(p.cmd, 5), 0);
  watch(&p);
  probe_start(&p);
  wait_ready();
  end(&p);
}
END_TEST

/* Closed without a newline: never ready; the ready timeout stops it. */
START_TEST(test_notification_fd_closed) {
  probe_t p;

  probe_init(&p, helper_cmd("notify-fd", "5", "close", NULL));
  ck_assert_int_eq(uvexec_cmd_set_ready_fd(p.cmd, 5), 0);
  ck_assert_int_eq(uvexec_cmd_set_ready_timeout(p.cmd, 300), 0);
  watch(&p);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(ready_calls, 0);
  ck_assert_int_eq(p.status, UVEXEC_ENOTREADY);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd), "not ready after 300 ms");
  ck_assert_str_eq(uvexec_err_name(p.status), "UVEXEC_ENOTREADY");
  probe_free(&p);
}
END_TEST

/* The fd given is the child's fd 5 and nothing else leaks: fds 3 and 4,
 * the gap below it, are closed (the uv engine, which cannot close them,
 * puts /dev/null there rather than whatever this process has). */
START_TEST(test_notification_fd_alone) {
  uvexec_cmd_t *cmd;

  /* (The uv engine also passes on this process's own fds that are not
   * close-on-exec: the listing is the clone engine's alone.) */
  if (!on_uv_engine() && have_pidfd()) {
    cmd = helper_cmd("fds", NULL);
    ck_assert_int_eq(uvexec_cmd_set_ready_fd(cmd, 5), 0);
    ck_assert_int_eq(uvexec_output(cmd), 0);
    ck_assert_str_eq(uvexec_stdout_data(cmd, NULL), "0 1 2 5\n");
    uvexec_cmd_free(cmd);
  }

  cmd = helper_cmd("fd-link", "1", "3", "4", NULL);
  ck_assert_int_eq(uvexec_cmd_set_ready_fd(cmd, 5), 0);
  ck_assert_int_eq(uvexec_output(cmd), 0);
  ck_assert_str_eq(uvexec_stdout_data(cmd, NULL),
                   on_uv_engine() || !have_pidfd() ? "/dev/null\n/dev/null\n"
                                                   : "closed\nclosed\n");
  uvexec_cmd_free(cmd);
}
END_TEST

/* ---- the ready line -------------------------------------------------------- */

/* The first line of stderr that matches: the lines before it do not, and
 * every line still reaches the capture. */
START_TEST(test_ready_line_stderr) {
  probe_t p;

  probe_init(&p, uvexec_command("sh", "-c",
                                "echo starting >&2; echo 'listening on 80' "
                                ">&2; echo ready too >&2; exec sleep 60",
                                NULL));
  ck_assert_int_eq(uvexec_cmd_set_ready_line(p.cmd, "^listening on [0-9]+$"),
                   0);
  ck_assert_int_eq(uvexec_cmd_stderr(p.cmd, UVEXEC_CAPTURE), 0);
  watch(&p);
  probe_start(&p);
  wait_ready();
  end(&p);
  ck_assert_int_eq(ready_calls, 1);
}
END_TEST

/* On a stream nobody else reads (left at its default), uvexec reads it to
 * find the line. */
START_TEST(test_ready_line_unread_stream) {
  probe_t p;

  probe_init(&p, helper_cmd("echo-sleep", "server ready", "60000", NULL));
  ck_assert_int_eq(uvexec_cmd_set_ready_line(p.cmd, "ready$"), 0);
  watch(&p);
  probe_start(&p);
  wait_ready();
  end(&p);
}
END_TEST

/* ---- timeouts and the watchdog --------------------------------------------- */

START_TEST(test_ready_timeout) {
  probe_t p;

  probe_init(&p, helper_cmd("sleep", "60000", NULL));
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_set_ready_timeout(p.cmd, 200), 0);
  watch(&p);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_ENOTREADY);
  ck_assert_int_eq(ready_calls, 0);
  probe_free(&p);
}
END_TEST

/* Keep-alives for a while, then none: stopped with SIGABRT, the done
 * status says the watchdog; WATCHDOG_USEC told the child the interval. */
START_TEST(test_watchdog) {
  probe_t p;

  probe_init(&p, helper_cmd("watchdog-pings", "5", "50", NULL));
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(p.cmd), 0);
  ck_assert_int_eq(uvexec_cmd_set_watchdog(p.cmd, 400), 0);
  probe_watch_stdout(&p);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, UVEXEC_EWATCHDOG);
  ck_assert_int_eq(uvexec_term_signal(p.cmd), SIGABRT);
  ck_assert_str_eq(uvexec_cmd_error(p.cmd),
                   "watchdog: no keep-alive for 400 ms");
  ck_assert_str_eq(p.out.data, "400000\nquiet\n");
  probe_free(&p);
}
END_TEST

/* ---- refusals ----------------------------------------------------------------- */

START_TEST(test_refusals) {
  uvexec_cmd_t *cmd = helper_cmd("exit", "0", NULL);
  probe_t p;

  ck_assert_int_eq(uvexec_cmd_set_ready_line(cmd, "(unclosed"), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_ready_line(cmd, NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_ready_fd(cmd, 2), UV_EINVAL);
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(NULL), UV_EINVAL);
  ck_assert_int_eq(uvexec_is_ready(NULL), 0);
  ck_assert_ptr_null(uvexec_notify_status(NULL));

  /* A watchdog without the protocol to feed it. */
  ck_assert_int_eq(uvexec_cmd_set_watchdog(cmd, 100), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  ck_assert_ptr_nonnull(strstr(uvexec_cmd_error(cmd), "notify"));
  uvexec_cmd_free(cmd);

  /* The notification fd on an extra fd's number. */
  cmd = helper_cmd("exit", "0", NULL);
  ck_assert_int_eq(uvexec_cmd_add_fd(cmd, 1), 0);
  ck_assert_int_eq(uvexec_cmd_set_ready_fd(cmd, 3), 0);
  ck_assert_int_eq(uvexec_start(cmd, test_loop, NULL), UV_EINVAL);
  uvexec_cmd_free(cmd);

  probe_init(&p, helper_cmd("exit", "0", NULL));
  probe_start(&p);
  ck_assert_int_eq(uvexec_cmd_set_ready_notify(p.cmd), UV_EBUSY);
  ck_assert_int_eq(uvexec_cmd_on_ready(p.cmd, on_ready), UV_EBUSY);
  probe_wait(&p);
  probe_free(&p);
}
END_TEST

/* A copy keeps its readiness (the regex compiled anew). */
START_TEST(test_copy_keeps_readiness) {
  uvexec_cmd_t *cmd = helper_cmd("echo-sleep", "go now", "60000", NULL);
  probe_t p;

  ck_assert_int_eq(uvexec_cmd_set_ready_line(cmd, "^go"), 0);
  ck_assert_int_eq(uvexec_cmd_on_ready(cmd, on_ready), 0);
  probe_init(&p, uvexec_cmd_copy(cmd));
  uvexec_cmd_free(cmd);
  ready_calls = 0;
  probe_start(&p);
  wait_ready();
  end(&p);
}
END_TEST

/* ---- services ----------------------------------------------------------------- */

static int service_ready;

static void on_service(uvexec_service_t *s, uvexec_service_event_t ev,
                       uvexec_cmd_t *run) {
  (void)run;
  if (ev == UVEXEC_SERVICE_READY) {
    service_ready = 1;
    ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_RUNNING);
    uv_stop(test_loop);
  }
}

/* A service is starting until its run says it is ready. */
START_TEST(test_service_ready_from_protocol) {
  uvexec_cmd_t *cmd = helper_cmd("notify-after-stdin", NULL);
  uvexec_service_t *s;
  uv_timer_t t;

  ck_assert_int_eq(uvexec_cmd_set_ready_notify(cmd), 0);
  ck_assert_int_eq(uvexec_cmd_stdin_pipe(cmd), 0);
  s = uvexec_service_new(test_loop, cmd);
  ck_assert_int_eq(uvexec_service_on_event(s, on_service), 0);
  service_ready = 0;
  ck_assert_int_eq(uvexec_service_start(s), 0);
  /* A few turns: started, not ready. */
  ck_assert_int_eq(uv_timer_init(test_loop, &t), 0);
  uv_run(test_loop, UV_RUN_NOWAIT);
  uv_run(test_loop, UV_RUN_NOWAIT);
  uv_close((uv_handle_t *)&t, NULL);
  ck_assert_int_eq(service_ready, 0);
  ck_assert_int_eq(uvexec_service_state(s), UVEXEC_SERVICE_STARTING);
  ck_assert_ptr_nonnull(uvexec_service_run(s));
  ck_assert_int_eq(uvexec_write(uvexec_service_run(s), "go\n", 3), 0);
  run_loop_until(test_loop, &service_ready, TEST_TIMEOUT_MS);
  uvexec_service_free(s);
  run_loop_to_end(test_loop, TEST_TIMEOUT_MS);
}
END_TEST

static int have_systemd_notify(void) {
  char *path = NULL;
  int ok = uvexec_lookpath("systemd-notify", &path) == 0;

  free(path);
  return ok;
}

int main(void) {
  Suite *s = suite_create("ready");

  ADD_TEST(s, test_ready_once_started);
  ADD_TEST(s, test_notify_helper);
  ADD_TEST(s, test_forged_sender_ignored);
  ADD_TEST(s, test_notification_fd);
  ADD_TEST(s, test_notification_fd_closed);
  ADD_TEST(s, test_notification_fd_alone);
  ADD_TEST(s, test_ready_line_stderr);
  ADD_TEST(s, test_ready_line_unread_stream);
  ADD_TEST(s, test_ready_timeout);
  ADD_TEST(s, test_watchdog);
  ADD_TEST(s, test_refusals);
  ADD_TEST(s, test_copy_keeps_readiness);
  ADD_TEST(s, test_service_ready_from_protocol);
  if (have_systemd_notify())
    ADD_TEST(s, test_systemd_notify);
  else
    fprintf(stderr, "ready: systemd-notify is not installed (Debian: "
                    "systemd): its case is not run\n");
  return run_suite(s);
}
