/* SPDX-License-Identifier: MIT */
/* A capture with bounds (uvexec_cmd_set_capture_bounds): the first head
 * bytes and the last tail bytes of a stream are kept, the middle only
 * counted, and the child runs on, as Go keeps a failed command's stderr
 * (its prefixSuffixSaver). At end of file the capture becomes the head,
 * "\n... omitting N bytes ...\n" when anything was left out, and the
 * tail: what explains a crash at both ends of a long log, in bounded
 * memory.
 *
 * The head lives in the stream's capture buffer; the tail in a ring of
 * tail bytes, allocated once the head is full. Part of the reader
 * (read.c), which feeds it every captured byte. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int uvexec__bounds_keep(const uvexec_cmd_t *cmd, uvexec__reader_t *r,
                        const char *data, size_t len) {
  uvexec__bounds_t *b = &r->bounds;
  size_t take, tail = cmd->capture_tail;
  int err;

  b->seen += len;
  take = r->buf.len < cmd->capture_head ? cmd->capture_head - r->buf.len : 0;
  if (take > len)
    take = len;
  if (take > 0) {
    err = uvexec__buf_append(&r->buf, data, take);
    if (err != 0)
      return err;
    data += take;
    len -= take;
  }
  if (len == 0)
    return 0;
  if (tail == 0) {
    b->omitted += len;
    return 0;
  }
  if (b->ring == NULL) {
    b->ring = malloc(tail);
    if (b->ring == NULL)
      return UV_ENOMEM;
  }
  /* Only the last tail bytes of what arrives can stay. */
  if (len > tail) {
    b->omitted += len - tail;
    data += len - tail;
    len = tail;
  }
  while (len > 0) {
    size_t room = tail - b->at, n = len < room ? len : room;

    if (b->filled + n > tail)
      b->omitted += b->filled + n - tail; /* overwritten */
    memcpy(b->ring + b->at, data, n);
    b->at = (b->at + n) % tail;
    b->filled = b->filled + n > tail ? tail : b->filled + n;
    data += n;
    len -= n;
  }
  return 0;
}

int uvexec__bounds_finish(const uvexec_cmd_t *cmd, uvexec__reader_t *r) {
  uvexec__bounds_t *b = &r->bounds;
  size_t tail = cmd->capture_tail;
  char marker[64];
  int err = 0;

  if (b->omitted > 0) {
    snprintf(marker, sizeof(marker), "\n... omitting %" PRIu64 " bytes ...\n",
             b->omitted);
    err = uvexec__buf_append(&r->buf, marker, strlen(marker));
  }
  /* The ring from its oldest byte: once full, the one at the write
   * position; until then, its first. */
  if (err == 0 && b->filled > 0 && b->filled == tail) {
    err = uvexec__buf_append(&r->buf, b->ring + b->at, tail - b->at);
    if (err == 0)
      err = uvexec__buf_append(&r->buf, b->ring, b->at);
  } else if (err == 0 && b->filled > 0) {
    err = uvexec__buf_append(&r->buf, b->ring, b->filled);
  }
  uvexec__bounds_free(r);
  return err;
}

void uvexec__bounds_free(uvexec__reader_t *r) {
  free(r->bounds.ring);
  memset(&r->bounds, 0, sizeof(r->bounds));
}
