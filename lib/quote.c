/* SPDX-License-Identifier: MIT */
/* A cmd as text (Go's Cmd.String), quoted so that a POSIX shell reads it
 * back as the same words: a word of only the characters no shell treats
 * specially stays as it is, any other goes in single quotes, with each of
 * its own single quotes written as '\''. For logs and error messages,
 * and for pasting into a terminal. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* plain tells whether word needs no quotes: not empty, and made only of
 * letters, digits and characters no shell gives a meaning to. */
static int plain(const char *word) {
  const char *p;

  if (word[0] == '\0')
    return 0;
  for (p = word; *p != '\0'; p++)
    if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789_@%+=:,./-",
               *p) == NULL)
      return 0;
  return 1;
}

/* quoted_len is how long word is once quoted. */
static size_t quoted_len(const char *word) {
  size_t n = 2;

  if (plain(word))
    return strlen(word);
  for (; *word != '\0'; word++)
    n += *word == '\'' ? 4 : 1;
  return n;
}

static char *put_quoted(char *out, const char *word) {
  if (plain(word)) {
    size_t n = strlen(word);

    memcpy(out, word, n);
    return out + n;
  }
  *out++ = '\'';
  for (; *word != '\0'; word++) {
    if (*word == '\'') {
      memcpy(out, "'\\''", 4);
      out += 4;
    } else {
      *out++ = *word;
    }
  }
  *out++ = '\'';
  return out;
}

char *uvexec_cmd_string(const uvexec_cmd_t *cmd) {
  size_t len = 1, i;
  char *text, *out;

  if (cmd == NULL || cmd->argv == NULL)
    return NULL;
  for (i = 0; cmd->argv[i] != NULL; i++)
    len += quoted_len(cmd->argv[i]) + 1;
  text = malloc(len);
  if (text == NULL)
    return NULL;
  out = text;
  for (i = 0; cmd->argv[i] != NULL; i++) {
    if (i > 0)
      *out++ = ' ';
    out = put_quoted(out, cmd->argv[i]);
  }
  *out = '\0';
  return text;
}
