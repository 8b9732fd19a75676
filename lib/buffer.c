/* SPDX-License-Identifier: MIT */
/* Growable byte buffers: captured output, the stdin queue, partial lines.
 *
 * A buffer always keeps one spare byte after its data so it can be handed
 * out NUL-terminated without a copy. It grows geometrically, so appending
 * n bytes in any number of pieces costs O(n) copies in all.
 *
 * A large buffer lives in its own mapping, grown and shrunk with mremap(),
 * which moves page-table entries instead of copying bytes. Through malloc
 * a grown capture could be copied whole at every doubling: glibc raises
 * its mmap threshold each time a large block is freed (up to 32 MiB), and
 * from then on realloc() of such blocks copies them inside the heap, with
 * the loop stalled meanwhile (seen: 860 ms with 50 captures of 20 MiB).
 * A freed mapping is unmapped by unmap.c, off the loop's thread when it
 * is large. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define UVEXEC__BUF_MIN 256
#define MAP_FROM (256 * 1024) /* capacities from here on are mappings */

static size_t page_round(size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);

  return (n + page - 1) & ~(page - 1);
}

/* set_capacity moves buf to exactly cap bytes (a page multiple when
 * mapped), keeping its data and NUL. */
static int set_capacity(uvexec__buf_t *buf, size_t cap) {
  char *base;

  if (cap >= MAP_FROM) {
    cap = page_round(cap);
    if (buf->mapped) {
      base = mremap(buf->base, buf->cap, cap, MREMAP_MAYMOVE);
      if (base == MAP_FAILED)
        return UV_ENOMEM;
    } else {
      base = mmap(NULL, cap, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (base == MAP_FAILED)
        return UV_ENOMEM;
      if (buf->base != NULL)
        memcpy(base, buf->base, buf->len + 1);
      free(buf->base);
      buf->mapped = 1;
    }
  } else if (buf->mapped) {
    /* Back from a mapping to the heap: only ever smaller. */
    base = malloc(cap);
    if (base == NULL)
      return UV_ENOMEM;
    memcpy(base, buf->base, buf->len + 1);
    uvexec__unmap(buf->base, buf->cap);
    buf->mapped = 0;
  } else {
    base = realloc(buf->base, cap);
    if (base == NULL)
      return UV_ENOMEM;
  }
  buf->base = base;
  buf->cap = cap;
  return 0;
}

/* grow makes cap at least need (need counts the NUL). */
static int grow(uvexec__buf_t *buf, size_t need) {
  size_t cap;

  if (need <= buf->cap)
    return 0;
  cap = buf->cap > UVEXEC__BUF_MIN ? buf->cap : UVEXEC__BUF_MIN;
  while (cap < need) {
    if (cap > SIZE_MAX / 4)
      return UV_ENOMEM;
    cap *= 2;
  }
  return set_capacity(buf, cap);
}

int uvexec__buf_append(uvexec__buf_t *buf, const void *data, size_t len) {
  int err;

  if (len > SIZE_MAX - buf->len - 1)
    return UV_ENOMEM;
  err = grow(buf, buf->len + len + 1);
  if (err != 0)
    return err;
  if (len > 0)
    memcpy(buf->base + buf->len, data, len);
  buf->len += len;
  buf->base[buf->len] = '\0';
  return 0;
}

char *uvexec__buf_reserve(uvexec__buf_t *buf, size_t want, size_t *avail) {
  if (want > SIZE_MAX - buf->len - 1 || grow(buf, buf->len + want + 1) != 0) {
    *avail = 0;
    return NULL;
  }
  /* The data stays NUL-terminated even if nothing is committed. */
  buf->base[buf->len] = '\0';
  *avail = buf->cap - buf->len - 1;
  return buf->base + buf->len;
}

void uvexec__buf_commit(uvexec__buf_t *buf, size_t n) {
  buf->len += n;
  buf->base[buf->len] = '\0';
}

void uvexec__buf_consume(uvexec__buf_t *buf, size_t n) {
  if (n >= buf->len) {
    buf->len = 0;
  } else {
    memmove(buf->base, buf->base + n, buf->len - n);
    buf->len -= n;
  }
  if (buf->base != NULL)
    buf->base[buf->len] = '\0';
}

void uvexec__buf_shrink(uvexec__buf_t *buf) {
  size_t want;

  if (buf->base == NULL)
    return;
  want = buf->len + 1;
  if (buf->mapped && want >= MAP_FROM)
    want = page_round(want);
  if (want >= buf->cap)
    return;
  (void)set_capacity(buf, want); /* failing, the slack stays: harmless */
}

void uvexec__buf_free(uvexec__buf_t *buf) {
  if (buf->mapped)
    uvexec__unmap(buf->base, buf->cap);
  else
    free(buf->base);
  buf->mapped = 0;
  buf->base = NULL;
  buf->len = 0;
  buf->cap = 0;
}
