/* SPDX-License-Identifier: MIT */
/* parallel — a job runner: command lines from a file or stdin, N at a
 * time, with GNU parallel's halt policies, on one uvexec group.
 *
 * Each line is one command, split into words on blanks, with '...' and
 * "..." quoting and \ escapes; there is no shell, so `sh -c '...'` is how
 * to ask for one. Blank lines and lines starting with # are skipped.
 * Every command's stdout and stderr are captured together (2>&1) and
 * printed when it ends, so the outputs of parallel jobs never mix.
 *
 * On a terminal one line at the bottom shows the progress (a bar, done,
 * failed, running, queued and the time so far); otherwise a plain line is
 * printed per finished job. A summary ends the run. The exit status is
 * GNU parallel's: 0 when every job succeeded, else the number of failed
 * jobs (101 for more than 100), except that a halt at the first failure
 * (fail=1) exits with that job's exit status; 255 for bad usage or input.
 *
 * Usage: parallel [-j N] [--halt HOW] [--retries N] [--grace MS] [FILE]
 *
 *   -j N      run at most N jobs at once (default: the number of CPUs)
 *   --halt    after a failure: never stop (default); soon: start nothing
 *             new, let the running finish; now: also stop the running
 *             ones. soon,fail=N and now,fail=N wait for the Nth failure
 *             (soon and now are soon,fail=1 and now,fail=1)
 *   --retries try a failing job N times in all before it counts as failed
 *             (GNU parallel's --retries; 1, the default: no retry)
 *   --grace   how a job is stopped (--halt now, Ctrl-C): SIGTERM, then
 *             SIGKILL if it is still there MS milliseconds later
 *             (default 1000)
 *   FILE      the commands; default (or -): stdin
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getline, strdup with -std=c11 */
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "uvexec.h"

typedef struct {
  int number;    /* 1-based line of work, for the output */
  char **argv;   /* owned */
  char *display; /* the command as printed, owned */
  uvexec_cmd_t *cmd;
  int status;
  int done;
  int failed_first; /* the first job to fail */
} job_t;

static job_t *jobs;
static size_t njobs;
static uvexec_group_t *group;
static uint64_t start_ns;
static int tty;              /* stdout is a terminal: draw the bar */
static int bar_shown;        /* the bar is on the screen's last line */
static int interrupted;      /* Ctrl-C was pressed */
static int any_failed;       /* a job failed: the first is marked */
static uv_timer_t bar_timer; /* redraws the bar while jobs run */
static uv_signal_t sigint_watch;

static void die(const char *msg) {
  fprintf(stderr, "parallel: %s\n", msg);
  exit(255);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);

  if (p == NULL)
    die("out of memory");
  return p;
}

static double elapsed_s(void) {
  return (double)(uv_hrtime() - start_ns) / 1e9;
}

/* ---- reading the commands ------------------------------------------------ */

/* split breaks line into words the way a shell would quote them, without
 * any expansion. Returns the NULL-terminated argv (NULL for a line with no
 * words), or exits for an unterminated quote. */
static char **split(const char *line, int lineno) {
  size_t cap = strlen(line) + 1, argc = 0, n = 0;
  char **argv = xmalloc((cap / 2 + 2) * sizeof(*argv));
  char *word = xmalloc(cap);
  const char *p = line;
  int in_word = 0;

  for (;;) {
    char c = *p++;

    if (c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) {
        word[n] = '\0';
        argv[argc++] = strdup(word);
        if (argv[argc - 1] == NULL)
          die("out of memory");
        n = 0;
        in_word = 0;
      }
      if (c == '\0')
        break;
      continue;
    }
    in_word = 1;
    if (c == '\'') {
      while (*p != '\0' && *p != '\'')
        word[n++] = *p++;
      if (*p++ != '\'')
        goto unterminated;
    } else if (c == '"') {
      while (*p != '\0' && *p != '"') {
        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
          p++;
        word[n++] = *p++;
      }
      if (*p++ != '"')
        goto unterminated;
    } else if (c == '\\' && *p != '\0') {
      word[n++] = *p++;
    } else {
      word[n++] = c;
    }
  }
  free(word);
  argv[argc] = NULL;
  if (argc == 0) {
    free(argv);
    return NULL;
  }
  return argv;

unterminated:
  fprintf(stderr, "parallel: line %d: unterminated quote\n", lineno);
  exit(255);
}

/* display quotes the words that need it, for printing. */
static char *display(char **argv) {
  size_t len = 1, i;
  char *s, *q;

  for (i = 0; argv[i] != NULL; i++)
    len += strlen(argv[i]) * 4 + 3;
  s = q = xmalloc(len);
  for (i = 0; argv[i] != NULL; i++) {
    const char *a = argv[i];
    int plain = a[0] != '\0' && strpbrk(a, " \t'\"\\$`;&|<>()*?[]#~") == NULL;

    if (i > 0)
      *q++ = ' ';
    if (plain) {
      q += sprintf(q, "%s", a);
      continue;
    }
    *q++ = '\'';
    for (; *a != '\0'; a++) {
      if (*a == '\'')
        q += sprintf(q, "'\\''");
      else
        *q++ = *a;
    }
    *q++ = '\'';
  }
  *q = '\0';
  return s;
}

static void read_jobs(FILE *in) {
  size_t cap = 0;
  char *line = NULL;
  size_t line_cap = 0;
  ssize_t got;
  int lineno = 0;

  while ((got = getline(&line, &line_cap, in)) >= 0) {
    const char *p = line;
    char **argv;

    lineno++;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '#')
      continue;
    argv = split(p, lineno);
    if (argv == NULL)
      continue;
    if (njobs == cap) {
      cap = cap ? cap * 2 : 64;
      jobs = realloc(jobs, cap * sizeof(*jobs));
      if (jobs == NULL)
        die("out of memory");
    }
    memset(&jobs[njobs], 0, sizeof(jobs[njobs]));
    jobs[njobs].number = (int)njobs + 1;
    jobs[njobs].argv = argv;
    jobs[njobs].display = display(argv);
    njobs++;
  }
  free(line);
}

/* ---- showing progress ---------------------------------------------------- */

static int count(int what) {
  return uvexec_group_count(group, what);
}

static void clear_bar(void) {
  if (bar_shown) {
    fputs("\r\033[K", stdout);
    bar_shown = 0;
  }
}

static void draw_bar(void) {
  int ok = count(UVEXEC_COUNT_SUCCEEDED), failed = count(UVEXEC_COUNT_FAILED);
  int skipped = count(UVEXEC_COUNT_SKIPPED);
  int finished = ok + failed + skipped;
  int width = 20, filled, i;
  char bar[32];

  filled = njobs > 0 ? (int)((size_t)finished * (size_t)width / njobs) : width;
  for (i = 0; i < width; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';
  clear_bar();
  printf("[%s] %d/%zu done, %d failed", bar, finished, njobs, failed);
  if (skipped > 0)
    printf(", %d skipped", skipped);
  printf(", %d running, %d queued, %.1f s", count(UVEXEC_COUNT_RUNNING),
         count(UVEXEC_COUNT_QUEUED), elapsed_s());
  fflush(stdout);
  bar_shown = 1;
}

static void on_bar_timer(uv_timer_t *timer) {
  (void)timer;
  draw_bar();
}

/* show_output prints what the job wrote, each line indented. */
static void show_output(const job_t *job) {
  size_t len;
  const char *out = uvexec_stdout_data(job->cmd, &len);
  const char *p = out, *end = out + len;

  while (out != NULL && p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

    printf("    %.*s\n", (int)n, p);
    p += n + (nl != NULL);
  }
}

static const char *why(const job_t *job) {
  const char *msg = uvexec_cmd_error(job->cmd);

  return msg != NULL ? msg : uvexec_strerror(job->status);
}

static void on_job_done(uvexec_cmd_t *cmd, int status) {
  job_t *job = uvexec_cmd_data(cmd);
  const char *word;

  job->status = status;
  job->done = 1;
  if (status != 0 && status != UVEXEC_ESKIPPED && !any_failed)
    job->failed_first = any_failed = 1;
  word = status == 0 ? "ok" : status == UVEXEC_ESKIPPED ? "skipped" : "FAILED";
  clear_bar();
  printf("[%6.2f s] %-7s #%d %s", elapsed_s(), word, job->number, job->display);
  if (status != 0 && status != UVEXEC_ESKIPPED)
    printf(": %s", why(job));
  printf("\n");
  show_output(job);
  if (tty)
    draw_bar();
}

static void on_all_done(uvexec_group_t *g, int status) {
  (void)g;
  (void)status;
  if (tty)
    uv_timer_stop(&bar_timer);
  uv_signal_stop(&sigint_watch);
}

static void on_sigint(uv_signal_t *watch, int signum) {
  (void)signum;
  interrupted = 1;
  clear_bar();
  printf("parallel: interrupted: stopping the running jobs, skipping the "
         "rest (Ctrl-C again to quit now)\n");
  uvexec_group_cancel(group);
  uv_signal_stop(watch); /* the next Ctrl-C has its default effect */
}

/* ---- main ------------------------------------------------------------------
 */

static _Noreturn void usage(void) {
  fprintf(stderr, "usage: parallel [-j N] [--halt never|soon|now"
                  "|soon,fail=N|now,fail=N] [--retries N] [--grace MS] "
                  "[FILE]\n");
  exit(255);
}

static long number_arg(const char *s, long min) {
  char *end;
  long v = strtol(s, &end, 10);

  if (end == s || *end != '\0' || v < min || v > 1000000)
    usage();
  return v;
}

/* halt_arg reads --halt's argument: a policy, and for soon and now an
 * optional ",fail=N" (a count; GNU parallel's percentages are not here). */
static uvexec_halt_t halt_arg(const char *how, long *after) {
  uvexec_halt_t halt;
  size_t len;

  *after = 1;
  if (strcmp(how, "never") == 0)
    return UVEXEC_HALT_NEVER;
  if (strncmp(how, "soon", 4) == 0) {
    halt = UVEXEC_HALT_SOON;
    len = 4;
  } else if (strncmp(how, "now", 3) == 0) {
    halt = UVEXEC_HALT_NOW;
    len = 3;
  } else {
    usage();
  }
  if (how[len] == '\0')
    return halt;
  if (strncmp(how + len, ",fail=", 6) != 0)
    usage();
  *after = number_arg(how + len + 6, 1);
  return halt;
}

/* exit_status_of answers what a shell would give for the job's end: its
 * exit code, 128 + a signal, 127 for a program not found, 126 for one
 * that cannot run. */
static int exit_status_of(const job_t *job) {
  int code = uvexec_exit_code(job->cmd), sig = uvexec_term_signal(job->cmd);

  if (sig > 0)
    return 128 + sig;
  if (code >= 0)
    return code;
  return job->status == UV_ENOENT ? 127 : 126;
}

int main(int argc, char **argv) {
  long max_running = (long)uv_available_parallelism();
  long grace_ms = 1000;
  uvexec_halt_t halt = UVEXEC_HALT_NEVER;
  long halt_after = 1, tries = 1;
  const char *file = NULL;
  int ok, failed, skipped, a, rc, status;
  uv_loop_t loop;
  FILE *in = stdin;
  size_t i;

  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "-j") == 0 && a + 1 < argc) {
      max_running = number_arg(argv[++a], 1);
    } else if (strncmp(argv[a], "-j", 2) == 0 && argv[a][2] != '\0') {
      max_running = number_arg(argv[a] + 2, 1);
    } else if (strcmp(argv[a], "--halt") == 0 && a + 1 < argc) {
      halt = halt_arg(argv[++a], &halt_after);
    } else if (strcmp(argv[a], "--retries") == 0 && a + 1 < argc) {
      /* GNU parallel's --retries 0 means forever, which a job runner that
       * must end does not offer. */
      tries = number_arg(argv[++a], 0);
      if (tries == 0) {
        fprintf(stderr, "parallel: --retries 0 (retry forever) is not "
                        "supported: give the number of tries\n");
        return 255;
      }
    } else if (strcmp(argv[a], "--grace") == 0 && a + 1 < argc) {
      grace_ms = number_arg(argv[++a], 0);
    } else if (file == NULL && (argv[a][0] != '-' || argv[a][1] == '\0')) {
      file = argv[a];
    } else {
      usage();
    }
  }
  if (file != NULL && strcmp(file, "-") != 0) {
    in = fopen(file, "r");
    if (in == NULL) {
      perror(file);
      return 255;
    }
  }
  read_jobs(in);
  if (in != stdin)
    fclose(in);

  tty = isatty(STDOUT_FILENO);
  if (!tty)
    setvbuf(stdout, NULL, _IOLBF, 0);
  if (uv_loop_init(&loop) != 0)
    die("cannot make a loop");
  group = uvexec_group_new(&loop, (size_t)max_running);
  if (group == NULL)
    die("out of memory");
  uvexec_group_set_halt(group, halt);
  uvexec_group_set_halt_after(group, (unsigned)halt_after);
  uvexec_group_set_retries(group, (unsigned)(tries - 1));
  start_ns = uv_hrtime();

  for (i = 0; i < njobs; i++) {
    job_t *job = &jobs[i];

    job->cmd = uvexec_command_argv((const char *const *)job->argv);
    if (job->cmd == NULL)
      die("out of memory");
    uvexec_cmd_set_data(job->cmd, job);
    uvexec_cmd_stdout(job->cmd, UVEXEC_CAPTURE);
    uvexec_cmd_stderr(job->cmd, UVEXEC_MERGE);
    /* GNU parallel's TERM, then KILL: the cancel signal and the wait
     * delay, used by --halt now and by Ctrl-C. */
    uvexec_cmd_set_cancel_signal(job->cmd, SIGTERM);
    uvexec_cmd_set_wait_delay(job->cmd, (uint64_t)grace_ms);
    rc = uvexec_group_add(group, job->cmd, on_job_done);
    if (rc != 0)
      die(uvexec_strerror(rc));
  }
  uvexec_group_wait(group, on_all_done);

  uv_signal_init(&loop, &sigint_watch);
  uv_signal_start(&sigint_watch, on_sigint, SIGINT);
  uv_unref((uv_handle_t *)&sigint_watch);
  if (tty) {
    uv_timer_init(&loop, &bar_timer);
    uv_timer_start(&bar_timer, on_bar_timer, 100, 100);
    uv_unref((uv_handle_t *)&bar_timer);
    draw_bar();
  }

  uv_run(&loop, UV_RUN_DEFAULT); /* until every job is done */

  ok = count(UVEXEC_COUNT_SUCCEEDED);
  failed = count(UVEXEC_COUNT_FAILED);
  skipped = count(UVEXEC_COUNT_SKIPPED);
  clear_bar();
  printf("\nsummary: %zu jobs: %d succeeded, %d failed, %d skipped, in %.2f s"
         "%s\n",
         njobs, ok, failed, skipped, elapsed_s(),
         interrupted ? " (interrupted)" : "");
  /* GNU parallel's exit status: the failures, counted, or after a halt
   * at the first failure, the first failing job's own status. Jobs that
   * --halt now killed are not counted, as GNU parallel does not count
   * (nor log) them. */
  {
    int counted = failed;

    for (i = 0; i < njobs; i++)
      if (jobs[i].status == UV_ECANCELED && halt == UVEXEC_HALT_NOW &&
          !interrupted)
        counted--;
    status = counted > 100 ? 101 : counted;
  }
  if (interrupted && status == 0)
    status = 255;
  for (i = 0; i < njobs; i++) {
    job_t *job = &jobs[i];
    size_t k;

    if (job->status != 0 && job->status != UVEXEC_ESKIPPED)
      printf("  failed #%d: %s: %s\n", job->number, job->display, why(job));
    if (job->failed_first && halt != UVEXEC_HALT_NEVER && halt_after == 1 &&
        !interrupted)
      status = exit_status_of(job);
    uvexec_cmd_free(job->cmd);
    for (k = 0; job->argv[k] != NULL; k++)
      free(job->argv[k]);
    free(job->argv);
    free(job->display);
  }
  free(jobs);

  uvexec_group_free(group);
  uv_close((uv_handle_t *)&sigint_watch, NULL);
  if (tty)
    uv_close((uv_handle_t *)&bar_timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT); /* the handles close */
  uv_loop_close(&loop);
  return status;
}
