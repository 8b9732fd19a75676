/* SPDX-License-Identifier: MIT */
/* Line callbacks: a stream cut at '\n' (Go's bufio.Scanner over a pipe).
 *
 * Only an incomplete line is ever copied; complete lines are handed out
 * straight from the bytes just read. A line that grows to UVEXEC_LINE_MAX
 * is handed out in pieces of that size, so a child that never writes a
 * newline cannot make the parent's memory grow without end. A newline
 * right after a piece ends that line: it does not make an empty one,
 * whether it comes in the same read or a later one.
 *
 * A line ends at '\n', and a '\r' right before that '\n' (or at the very
 * end of the stream) is part of the line ending, not of the line, as
 * bufio.ScanLines has it: a program that writes "\r\n", and every program
 * on a terminal, gives the same lines as one that writes "\n". A '\r'
 * anywhere else stays. When memory runs out for a pending line, the line
 * is lost and reported (the done status says UV_ENOMEM); the stream goes
 * on. */
#include <string.h>

#include "internal.h"

/* emit hands out one line, without the '\r' of a "\r\n" ending when
 * ended says the line really ended there (a piece cut at the bound did
 * not). Non-zero when the caller must stop. */
static int emit(uvexec_cmd_t *cmd, uvexec__reader_t *r, const char *line,
                size_t len, int ended) {
  if (ended && len > 0 && line[len - 1] == '\r')
    len--;
  r->line_cb(cmd, line, len);
  return cmd->freed || r->eof;
}

/* lost reports a line dropped for want of memory. */
static void lost(uvexec_cmd_t *cmd, uvexec__reader_t *r) {
  r->line.len = 0;
  uvexec__report(cmd, UVEXEC__EV_IO_ERROR, UV_ENOMEM);
}

/* finish hands out the pending line completed by len more bytes at data
 * (copied only when part of it was already pending). */
static int finish(uvexec_cmd_t *cmd, uvexec__reader_t *r, const char *data,
                  size_t len, int ended) {
  if (r->line.len == 0)
    return emit(cmd, r, data, len, ended);
  if (uvexec__buf_append(&r->line, data, len) != 0) {
    lost(cmd, r);
    return 0;
  }
  len = r->line.len;
  r->line.len = 0;
  return emit(cmd, r, r->line.base, len, ended);
}

void uvexec__lines_feed(uvexec_cmd_t *cmd, uvexec__reader_t *r,
                        const char *data, size_t len) {
  while (len > 0) {
    const char *nl;
    size_t take, room;

    if (r->piece_ended) {
      /* The newline that ends a line cut at the bound makes no line. */
      r->piece_ended = 0;
      if (data[0] == '\n') {
        data++;
        len--;
        continue;
      }
    }
    nl = memchr(data, '\n', len);
    take = nl != NULL ? (size_t)(nl - data) : len;
    room = UVEXEC_LINE_MAX - r->line.len;

    if (take >= room) {
      /* The line reaches the bound: a full piece goes out. */
      if (finish(cmd, r, data, room, 0))
        return;
      data += room;
      len -= room;
      r->piece_ended = 1;
      continue;
    }
    if (nl == NULL) {
      if (uvexec__buf_append(&r->line, data, len) != 0)
        lost(cmd, r);
      return;
    }
    if (finish(cmd, r, data, take, 1))
      return;
    data += take + 1;
    len -= take + 1;
  }
}

void uvexec__lines_flush(uvexec_cmd_t *cmd, uvexec__reader_t *r) {
  size_t len = r->line.len;

  if (len > 0) {
    r->line.len = 0;
    (void)emit(cmd, r, r->line.base, len, 1);
  }
}
