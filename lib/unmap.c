/* SPDX-License-Identifier: MIT */
/* Giving large mappings back without stalling the loop.
 *
 * Unmapping costs time in proportion to the pages mapped: 1 to 2 ms for
 * a 20 MiB capture on a 2-core VM, so a program that frees a few dozen
 * finished captures in one loop turn stalls its loop for tens of
 * milliseconds. A mapping of UNMAP_LATER_FROM bytes or more is therefore
 * handed to a thread of uvexec's own, which unmaps it; a smaller one, and
 * any mapping when that thread cannot be started, is unmapped at once.
 *
 * The thread is started on first use, with every signal blocked (signals
 * are the application's), and sleeps while there is nothing to unmap. The
 * mappings waiting for it are listed through their own first bytes, so
 * handing one over never allocates and cannot fail. A child made by
 * fork() has no such thread: the fork handlers leave the lock free in the
 * child and forget the thread, and the child's next hand-over starts one
 * of its own, which also unmaps what was waiting when the child was made.
 * When the library is unloaded, or the process exits, a destructor stops
 * the thread, leaving what still waits mapped. */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>

#include "internal.h"

#define UNMAP_LATER_FROM (1024u * 1024)
#define UNMAP_PIECE (256u * 1024)
#define UNMAPPER_STACK (64u * 1024)

/* Written over the first bytes of a mapping waiting to be unmapped. */
typedef struct pending_s {
  struct pending_s *next;
  size_t len;
} pending_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* Under lock: */
static pending_t *pending;
static int running; /* the thread exists */
static int stopping;
static pthread_t unmapper_thread;

/* unmap_in_pieces frees a mapping's pages a piece at a time, then unmaps
 * the range. While a range's pages are freed, the process's memory map
 * lock is held, and the loop's own mremap() (a capture growing, or giving
 * back its slack at end of file) waits for it: a piece at a time, it
 * waits for one piece's pages at most, not a whole capture's. */
static void unmap_in_pieces(char *base, size_t len) {
  size_t off, piece;

  for (off = 0; off < len; off += piece) {
    piece = len - off < UNMAP_PIECE ? len - off : UNMAP_PIECE;
    (void)madvise(base + off, piece, MADV_DONTNEED);
  }
  (void)munmap(base, len);
}

static void *unmapper(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!stopping) {
    pending_t *p = pending;

    if (p == NULL) {
      pthread_cond_wait(&wake, &lock);
      continue;
    }
    pending = p->next;
    pthread_mutex_unlock(&lock);
    unmap_in_pieces((char *)p, p->len);
    pthread_mutex_lock(&lock);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

/* start_unmapper starts the thread, with lock held; 0 if it could not. */
static int start_unmapper(void) {
  sigset_t all, old;
  pthread_attr_t attr;
  int err;

  if (pthread_attr_init(&attr) != 0)
    return 0;
  (void)pthread_attr_setstacksize(&attr, UNMAPPER_STACK);
  /* The thread inherits this mask. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  err = pthread_create(&unmapper_thread, &attr, unmapper, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return err == 0;
}

static void before_fork(void) {
  pthread_mutex_lock(&lock);
}

static void after_fork_parent(void) {
  pthread_mutex_unlock(&lock);
}

static void after_fork_child(void) {
  running = 0;
  pthread_cond_init(&wake, NULL);
  pthread_mutex_unlock(&lock);
}

static void register_fork_handlers(void) {
  (void)pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

__attribute__((destructor)) static void stop_unmapper(void) {
  pthread_mutex_lock(&lock);
  if (!running) {
    pthread_mutex_unlock(&lock);
    return;
  }
  stopping = 1;
  pthread_cond_signal(&wake);
  pthread_mutex_unlock(&lock);
  pthread_join(unmapper_thread, NULL);
  running = 0;
}

void uvexec__unmap(void *addr, size_t len) {
  pending_t *p = addr;

  if (len < UNMAP_LATER_FROM || pthread_once(&once, register_fork_handlers))
    goto now;
  pthread_mutex_lock(&lock);
  if (!running && !stopping)
    running = start_unmapper();
  if (!running) {
    pthread_mutex_unlock(&lock);
    goto now;
  }
  p->len = len;
  p->next = pending;
  pending = p;
  pthread_cond_signal(&wake);
  pthread_mutex_unlock(&lock);
  return;

now:
  (void)munmap(addr, len);
}
