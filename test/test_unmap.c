/* SPDX-License-Identifier: MIT */
/* Giving large mappings back (lib/unmap.c): a large one is unmapped by
 * uvexec's own thread, soon after it is handed over, a small one at once;
 * a finished capture's memory goes back when its cmd is freed; the thread
 * takes none of the application's signals; a child made by fork() gets a
 * thread of its own. How long the loop waits is the benchmark's ("timer",
 * 50 captures freed as they finish); these tests assert behaviour. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

#define MIB (1024u * 1024)

/* mapped tells whether any page of [addr, addr + len) is mapped. */
static int mapped(void *addr, size_t len) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page;
  unsigned char *vec = malloc(n);
  int r;

  ck_assert_ptr_nonnull(vec);
  r = mincore(addr, len, vec);
  free(vec);
  if (r == 0)
    return 1;
  ck_assert_int_eq(errno, ENOMEM);
  return 0;
}

static uint64_t now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* gone_soon waits until [addr, addr + len) is unmapped, polling it, and
 * tells whether it was within the test's timeout. */
static int gone_soon(void *addr, size_t len) {
  uint64_t deadline = now_ms() + TEST_TIMEOUT_MS;
  struct timespec tick = {0, 1000000};

  while (mapped(addr, len)) {
    if (now_ms() > deadline)
      return 0;
    nanosleep(&tick, NULL);
  }
  return 1;
}

/* touched_mapping maps len bytes and writes every page. */
static char *touched_mapping(size_t len) {
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  ck_assert_ptr_ne(p, MAP_FAILED);
  memset(p, 'x', len);
  return p;
}

/* A large mapping is unmapped once handed over, by the thread. */
START_TEST(test_large_mapping_is_unmapped) {
  char *p = touched_mapping(8 * MIB);

  uvexec__unmap(p, 8 * MIB);
  ck_assert_msg(gone_soon(p, 8 * MIB), "a handed-over mapping stayed");
}
END_TEST

/* A small mapping is unmapped before uvexec__unmap returns. */
START_TEST(test_small_mapping_is_unmapped_at_once) {
  char *p = touched_mapping(64 * 1024);

  uvexec__unmap(p, 64 * 1024);
  ck_assert(!mapped(p, 64 * 1024));
}
END_TEST

/* Many mappings handed over at once are all unmapped. */
START_TEST(test_many_mappings_are_unmapped) {
  enum { N = 32 };
  char *p[N];
  int i;

  for (i = 0; i < N; i++)
    p[i] = touched_mapping(2 * MIB);
  for (i = 0; i < N; i++)
    uvexec__unmap(p[i], 2 * MIB);
  for (i = 0; i < N; i++)
    ck_assert_msg(gone_soon(p[i], 2 * MIB), "mapping %d stayed", i);
}
END_TEST

/* A finished capture large enough to be a mapping of its own: freeing its
 * cmd gives the memory back. */
START_TEST(test_freed_capture_goes_back) {
  uvexec_cmd_t *cmd = helper_cmd("flood", "8000000", "0", NULL);
  const char *data;
  size_t len;
  probe_t p;

  probe_init(&p, cmd);
  ck_assert_int_eq(uvexec_cmd_stdout(cmd, UVEXEC_CAPTURE), 0);
  probe_start(&p);
  probe_wait(&p);
  ck_assert_int_eq(p.status, 0);
  data = uvexec_stdout_data(cmd, &len);
  ck_assert_uint_eq(len, 8000000);
  ck_assert(mapped((void *)data, len));
  probe_free(&p);
  ck_assert_msg(gone_soon((void *)data, len), "a freed capture stayed");
}
END_TEST

/* sig_blocked tells whether signum is in the SigBlk mask of a status
 * file of /proc. */
static int sig_blocked(const char *status_path, int signum) {
  char line[256];
  FILE *f = fopen(status_path, "r");
  unsigned long long mask = 0;
  int found = 0;

  ck_assert_ptr_nonnull(f);
  while (fgets(line, sizeof(line), f) != NULL)
    if (sscanf(line, "SigBlk: %llx", &mask) == 1)
      found = 1;
  fclose(f);
  ck_assert(found);
  return (mask >> (signum - 1)) & 1;
}

/* The thread blocks the application's signals, so a SIGCHLD, SIGINT or
 * SIGTERM meant for the program is never taken by it. */
START_TEST(test_thread_takes_no_signals) {
  char *p = touched_mapping(4 * MIB), path[320];
  struct dirent *e;
  int threads = 0;
  DIR *d;

  uvexec__unmap(p, 4 * MIB);
  ck_assert(gone_soon(p, 4 * MIB));
  d = opendir("/proc/self/task");
  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == getpid())
      continue;
    snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
    ck_assert(sig_blocked(path, SIGCHLD));
    ck_assert(sig_blocked(path, SIGINT));
    ck_assert(sig_blocked(path, SIGTERM));
    ck_assert(sig_blocked(path, SIGUSR1));
    threads++;
  }
  closedir(d);
  /* Valgrind runs threads of its own design, but still one per thread. */
  ck_assert_int_ge(threads, 1);
}
END_TEST

/* A child made by fork() after the thread started has no such thread:
 * its own hand-overs still get unmapped. */
START_TEST(test_fork_child_unmaps) {
  char *first = touched_mapping(4 * MIB);
  int status;
  pid_t pid;

  uvexec__unmap(first, 4 * MIB);
  ck_assert(gone_soon(first, 4 * MIB));
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char *p = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t deadline = now_ms() + TEST_TIMEOUT_MS;
    struct timespec tick = {0, 1000000};
    unsigned char vec[1];

    if (p == MAP_FAILED)
      _exit(2);
    memset(p, 'y', 4 * MIB);
    uvexec__unmap(p, 4 * MIB);
    while (mincore(p, 4096, vec) == 0) {
      if (now_ms() > deadline)
        _exit(1);
      nanosleep(&tick, NULL);
    }
    _exit(0);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the forked child's mapping stayed (status %d)", status);
}
END_TEST

int main(void) {
  Suite *s = suite_create("unmap");

  ADD_TEST(s, test_large_mapping_is_unmapped);
  ADD_TEST(s, test_small_mapping_is_unmapped_at_once);
  ADD_TEST(s, test_many_mappings_are_unmapped);
  ADD_TEST(s, test_freed_capture_goes_back);
  ADD_TEST(s, test_thread_takes_no_signals);
  ADD_TEST(s, test_fork_child_unmaps);
  return run_suite(s);
}
