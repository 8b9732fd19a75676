/* Line callbacks: a stream cut at '\n' (Go's bufio.Scanner over a pipe).
 *
 * Only an incomplete line is ever copied; complete lines are handed out
 * straight from the bytes just read. A line that grows past
 * UVEXEC_LINE_MAX is handed out in pieces of that size, so a child that
 * never writes a newline cannot make the parent's memory grow without end. */
#include <string.h>

#include "internal.h"

/* emit calls the line callback; non-zero when the caller must stop. */
static int emit(uvexec_cmd_t *cmd, uvexec__reader_t *r, const char *line,
                size_t len) {
  r->line_cb(cmd, line, len);
  return cmd->freed || r->eof;
}

void uvexec__lines_feed(uvexec_cmd_t *cmd, uvexec__reader_t *r,
                        const char *data, size_t len) {
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t take = nl != NULL ? (size_t)(nl - data) : len;
    size_t room = UVEXEC_LINE_MAX - r->line.len;

    if (take >= room) {
      /* The pending line reaches the bound: hand out a full piece. */
      if (r->line.len == 0) {
        if (emit(cmd, r, data, UVEXEC_LINE_MAX))
          return;
      } else {
        if (uvexec__buf_append(&r->line, data, room) != 0)
          return;
        if (emit(cmd, r, r->line.base, r->line.len))
          return;
        r->line.len = 0;
      }
      data += room;
      len -= room;
      if (take == room && nl != NULL) {
        /* The newline closes a line that was exactly a piece long. */
        data++;
        len--;
      }
      continue;
    }

    if (nl == NULL) {
      (void)uvexec__buf_append(&r->line, data, len);
      return;
    }
    if (r->line.len == 0) {
      if (emit(cmd, r, data, take))
        return;
    } else {
      if (uvexec__buf_append(&r->line, data, take) != 0)
        return;
      if (emit(cmd, r, r->line.base, r->line.len))
        return;
      r->line.len = 0;
    }
    data += take + 1;
    len -= take + 1;
  }
}

void uvexec__lines_flush(uvexec_cmd_t *cmd, uvexec__reader_t *r) {
  if (r->line.len > 0) {
    size_t len = r->line.len;

    r->line.len = 0;
    r->line_cb(cmd, r->line.base, len);
  }
}
