/* Growable byte buffers: captured output, the stdin queue, partial lines.
 *
 * A buffer always keeps one spare byte after its data so it can be handed
 * out NUL-terminated without a copy. It grows geometrically, so appending
 * n bytes in any number of pieces costs O(n) copies in all. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define UVEXEC__BUF_MIN 256

/* grow makes cap at least need (need counts the NUL). */
static int grow(uvexec__buf_t *buf, size_t need) {
  size_t cap;
  char *base;

  if (need <= buf->cap)
    return 0;
  cap = buf->cap > UVEXEC__BUF_MIN ? buf->cap : UVEXEC__BUF_MIN;
  while (cap < need) {
    if (cap > SIZE_MAX / 2)
      return UV_ENOMEM;
    cap *= 2;
  }
  base = realloc(buf->base, cap);
  if (base == NULL)
    return UV_ENOMEM;
  buf->base = base;
  buf->cap = cap;
  return 0;
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

void uvexec__buf_free(uvexec__buf_t *buf) {
  free(buf->base);
  buf->base = NULL;
  buf->len = 0;
  buf->cap = 0;
}
