/* SPDX-License-Identifier: MIT */
/* procfile — a Procfile runner (the format foreman, honcho and overmind
 * read), on a uvexec supervisor.
 *
 * Each `name: command` line is a process, run by sh as those runners run
 * it, and kept running as a service: restarted when it fails, with a delay
 * that doubles, and given up after too many starts. The processes start
 * in the order of the file, each once the one before it is ready. Where a
 * line says how (a trailing shell comment, which other runners ignore):
 *
 *   db: postgres -D data        # ready: line ready to accept connections
 *   api: ./api --notify-fd 3     # ready: fd 3      (s6's notification fd)
 *   web: ./web                   # ready: notify    (systemd's protocol)
 *
 * `line REGEX` waits for an output line matching the extended regex, `fd N`
 * for a newline on fd N, `notify` for READY=1 on $NOTIFY_SOCKET (what
 * systemd-notify --ready sends). Without it a process is ready once
 * started. Every output line is printed with the process's name in front,
 * aligned, coloured on a terminal.
 *
 * Ctrl-C (or SIGTERM, or the end of -t SECONDS) stops everything
 * gracefully in reverse order: SIGTERM to each process's group, SIGKILL if
 * it is still there 2 s later, each done before the one before it is
 * stopped. A summary of the restarts ends the run. Exit status 0 after a
 * stop, 1 when a process gave up (and the others were stopped for it), 2
 * for bad usage or input.
 *
 * Usage: procfile [-t SECONDS] [PROCFILE]     (default: ./Procfile)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getline, strdup with -std=c11 */
#endif

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

#define MAX_PROCS 32

typedef struct {
  char *name;    /* owned */
  char *command; /* owned: what sh runs */
  char *ready;   /* owned: the "ready:" words, or NULL */
  uvexec_service_t *service;
  const char *colour;
  unsigned starts; /* runs started */
} proc_t;

static proc_t procs[MAX_PROCS];
static int nprocs;
static int name_width;
static int tty;
static uint64_t start_ns;
static uvexec_supervisor_t *sup;
static uv_signal_t sigint_watch, sigterm_watch;
static uv_timer_t stop_timer;
static int stop_timer_open;
static int sup_status = -1;
static int stopping;

static const char *const colours[] = {"\033[36m", "\033[33m", "\033[32m",
                                      "\033[35m", "\033[34m", "\033[31m"};

static double elapsed_s(void) {
  return (double)(uv_hrtime() - start_ns) / 1e9;
}

/* say prints a line of the runner's own, under the name "procfile". */
static void say(const proc_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const proc_t *p, const char *fmt, ...) {
  va_list ap;

  printf("%s%-*s%s | [%5.2f s] ", tty ? "\033[1m" : "", name_width,
         "procfile", tty ? "\033[0m" : "", elapsed_s());
  if (p != NULL)
    printf("%s: ", p->name);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}

/* ---- reading the Procfile ------------------------------------------------- */

static char *trim(char *s) {
  char *end;

  while (*s == ' ' || *s == '\t')
    s++;
  end = s + strlen(s);
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
                     end[-1] == '\r'))
    *--end = '\0';
  return s;
}

static int read_procfile(const char *path) {
  FILE *in = fopen(path, "r");
  char *line = NULL, *colon, *mark, *name;
  size_t cap = 0;
  int lineno = 0;

  if (in == NULL) {
    perror(path);
    return -1;
  }
  while (getline(&line, &cap, in) >= 0) {
    proc_t *p;

    lineno++;
    name = trim(line);
    if (*name == '\0' || *name == '#')
      continue;
    colon = strchr(name, ':');
    if (colon == NULL || colon == name || nprocs == MAX_PROCS) {
      fprintf(stderr, "%s:%d: want `name: command`%s\n", path, lineno,
              nprocs == MAX_PROCS ? " (too many processes)" : "");
      goto fail;
    }
    *colon = '\0';
    p = &procs[nprocs];
    p->name = strdup(trim(name));
    mark = strstr(colon + 1, "# ready:");
    if (mark != NULL) {
      *mark = '\0';
      p->ready = strdup(trim(mark + strlen("# ready:")));
    }
    p->command = strdup(trim(colon + 1));
    if (p->name == NULL || p->command == NULL ||
        (mark != NULL && p->ready == NULL)) {
      fprintf(stderr, "procfile: out of memory\n");
      goto fail;
    }
    p->colour = colours[nprocs % (sizeof(colours) / sizeof(colours[0]))];
    if ((int)strlen(p->name) > name_width)
      name_width = (int)strlen(p->name);
    nprocs++;
  }
  free(line);
  fclose(in);
  if (nprocs == 0) {
    fprintf(stderr, "%s: no processes\n", path);
    return -1;
  }
  return 0;

fail:
  free(line);
  fclose(in);
  return -1;
}

/* set_readiness applies a line's "ready:" words to its cmd. */
static int set_readiness(const proc_t *p, uvexec_cmd_t *cmd) {
  const char *how = p->ready;

  if (how == NULL)
    return 0;
  if (strncmp(how, "line ", 5) == 0)
    return uvexec_cmd_set_ready_line(cmd, trim((char *)how + 5));
  if (strncmp(how, "fd ", 3) == 0)
    return uvexec_cmd_set_ready_fd(cmd, atoi(how + 3));
  if (strcmp(how, "notify") == 0)
    return uvexec_cmd_set_ready_notify(cmd);
  return UV_EINVAL;
}

/* ---- output and events ------------------------------------------------------ */

static void on_line(uvexec_cmd_t *cmd, const char *line, size_t len) {
  const proc_t *p = uvexec_cmd_data(cmd);

  if (len == 0 && line == NULL)
    return; /* end of file */
  printf("%s%-*s%s | %.*s\n", tty ? p->colour : "", name_width, p->name,
         tty ? "\033[0m" : "", (int)len, line);
}

static void on_service(uvexec_service_t *s, uvexec_service_event_t event,
                       uvexec_cmd_t *run) {
  proc_t *p = uvexec_service_data(s);

  switch (event) {
  case UVEXEC_SERVICE_STARTED:
    p->starts++;
    say(p, "started, pid %d", uvexec_pid(run));
    break;
  case UVEXEC_SERVICE_READY:
    if (uvexec_notify_status(run) != NULL)
      say(p, "ready (%s)", uvexec_notify_status(run));
    else
      say(p, "ready");
    break;
  case UVEXEC_SERVICE_EXITED:
    say(p, "exited: %s", uvexec_service_status(s) == 0
                             ? "success"
                             : uvexec_service_error(s));
    break;
  case UVEXEC_SERVICE_BACKOFF:
    say(p, "restarting in %llu ms",
        (unsigned long long)uvexec_service_next_delay(s));
    break;
  case UVEXEC_SERVICE_STOPPED:
    say(p, "stopped");
    break;
  case UVEXEC_SERVICE_GAVE_UP:
    say(p, "gave up: %s", uvexec_service_error(s));
    break;
  }
}

static void close_watchers(void) {
  uv_close((uv_handle_t *)&sigint_watch, NULL);
  uv_close((uv_handle_t *)&sigterm_watch, NULL);
  if (stop_timer_open)
    uv_close((uv_handle_t *)&stop_timer, NULL);
}

static void on_supervisor_done(uvexec_supervisor_t *s, int status) {
  (void)s;
  sup_status = status;
  if (status != 0)
    say(NULL, "a process gave up: the others were stopped (%s)",
        uvexec_err_name(status));
  close_watchers();
}

static void stop_all(const char *why) {
  if (stopping)
    return;
  stopping = 1;
  say(NULL, "%s: stopping everything, in reverse order", why);
  uvexec_supervisor_stop(sup);
}

static void on_signal(uv_signal_t *watch, int signum) {
  (void)watch;
  stop_all(signum == SIGINT ? "interrupted" : "terminated");
}

static void on_stop_timer(uv_timer_t *timer) {
  (void)timer;
  stop_all("time is up");
}

/* ---- main ------------------------------------------------------------------- */

static uvexec_service_t *make_service(uv_loop_t *loop, proc_t *p) {
  uvexec_cmd_t *cmd = uvexec_command("sh", "-c", p->command, NULL);
  uvexec_service_t *s;
  int err;

  if (cmd == NULL)
    return NULL;
  uvexec_cmd_set_data(cmd, p);
  uvexec_cmd_on_stdout_line(cmd, on_line);
  uvexec_cmd_on_stderr_line(cmd, on_line);
  /* A group of its own, so that SIGTERM reaches what sh started too;
   * SIGKILL 2 s later for what ignores it. */
  uvexec_cmd_set_new_session(cmd, 1);
  uvexec_cmd_set_cancel_signal(cmd, SIGTERM);
  uvexec_cmd_set_wait_delay(cmd, 2000);
  uvexec_cmd_set_ready_timeout(cmd, 30000);
  err = set_readiness(p, cmd);
  if (err != 0) {
    fprintf(stderr, "procfile: %s: bad \"# ready: %s\" (%s): want "
                    "`line REGEX`, `fd N` or `notify`\n",
            p->name, p->ready, uvexec_strerror(err));
    uvexec_cmd_free(cmd);
    return NULL;
  }
  s = uvexec_service_new(loop, cmd);
  if (s == NULL) {
    uvexec_cmd_free(cmd);
    return NULL;
  }
  uvexec_service_set_data(s, p);
  uvexec_service_on_event(s, on_service);
  return s;
}

int main(int argc, char **argv) {
  const char *path = "Procfile";
  double seconds = 0;
  uv_loop_t loop;
  int a, i, rc = 0;

  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "-t") == 0 && a + 1 < argc) {
      char *end;

      seconds = strtod(argv[++a], &end);
      if (*end != '\0' || seconds <= 0) {
        fprintf(stderr, "procfile: -t wants a number of seconds\n");
        return 2;
      }
    } else if (argv[a][0] != '-') {
      path = argv[a];
    } else {
      fprintf(stderr, "usage: procfile [-t SECONDS] [PROCFILE]\n");
      return 2;
    }
  }
  if (read_procfile(path) != 0)
    return 2;
  if ((int)strlen("procfile") > name_width)
    name_width = (int)strlen("procfile");
  tty = isatty(STDOUT_FILENO);
  setvbuf(stdout, NULL, _IOLBF, 0);

  uv_loop_init(&loop);
  sup = uvexec_supervisor_new(&loop, UVEXEC_ONE_FOR_ONE);
  if (sup == NULL) {
    fprintf(stderr, "procfile: out of memory\n");
    return 2;
  }
  for (i = 0; i < nprocs; i++) {
    procs[i].service = make_service(&loop, &procs[i]);
    if (procs[i].service == NULL ||
        uvexec_supervisor_add(sup, procs[i].service) != 0) {
      uvexec_service_free(procs[i].service);
      rc = 2;
      break;
    }
  }
  if (rc == 0) {
    start_ns = uv_hrtime();
    uv_signal_init(&loop, &sigint_watch);
    uv_signal_start(&sigint_watch, on_signal, SIGINT);
    uv_signal_init(&loop, &sigterm_watch);
    uv_signal_start(&sigterm_watch, on_signal, SIGTERM);
    if (seconds > 0) {
      uv_timer_init(&loop, &stop_timer);
      uv_timer_start(&stop_timer, on_stop_timer, (uint64_t)(seconds * 1000),
                     0);
      stop_timer_open = 1;
    }
    say(NULL, "%d processes from %s, each started once the one before is "
              "ready",
        nprocs, path);
    rc = uvexec_supervisor_start(sup, on_supervisor_done);
    if (rc != 0) {
      say(NULL, "cannot start: %s", uvexec_strerror(rc));
      close_watchers();
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* until the supervisor is done */

    printf("\nsummary: %d processes, %.2f s\n", nprocs, elapsed_s());
    for (i = 0; i < nprocs; i++) {
      unsigned restarts = procs[i].starts > 0 ? procs[i].starts - 1 : 0;

      printf("  %-*s  %u restart%s\n", name_width, procs[i].name, restarts,
             restarts == 1 ? "" : "s");
    }
    rc = sup_status == 0 ? 0 : 1;
  }

  uvexec_supervisor_free(sup);
  uv_run(&loop, UV_RUN_DEFAULT); /* the handles close */
  uv_loop_close(&loop);
  for (i = 0; i < nprocs; i++) {
    free(procs[i].name);
    free(procs[i].command);
    free(procs[i].ready);
  }
  return rc;
}
