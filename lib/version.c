/* SPDX-License-Identifier: MIT */
/* The library's own version. The header's macros are the version a
 * program was compiled with; these functions answer the version of the
 * library it actually runs with, which is what a program checks when it
 * may be linked against a later release. */
#include "uvexec.h"

unsigned int uvexec_version(void) {
  return UVEXEC_VERSION_HEX;
}

const char *uvexec_version_string(void) {
  return UVEXEC_VERSION_STRING;
}
