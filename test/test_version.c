/* SPDX-License-Identifier: MIT */
/* The version, as every party states it: the header's macros, the
 * library's functions, and the version the build gave the project
 * (UVEXEC_TEST_PROJECT_VERSION), which is also what the CMake package and
 * the pkg-config file announce (UVEXEC_TEST_CONFIG_VERSION_FILE and
 * UVEXEC_TEST_PC_FILE, when the build installs them). They must all say
 * the same thing. test/CMakeLists.txt defines the three. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#ifndef UVEXEC_TEST_PROJECT_VERSION
#error "test/CMakeLists.txt defines UVEXEC_TEST_PROJECT_VERSION"
#endif

START_TEST(test_hex_is_made_of_the_parts) {
  ck_assert_uint_eq(UVEXEC_VERSION_HEX, (UVEXEC_VERSION_MAJOR << 16) |
                                            (UVEXEC_VERSION_MINOR << 8) |
                                            UVEXEC_VERSION_PATCH);
  ck_assert_int_lt(UVEXEC_VERSION_MINOR, 256);
  ck_assert_int_lt(UVEXEC_VERSION_PATCH, 256);
}
END_TEST

START_TEST(test_string_is_made_of_the_parts) {
  char want[64];

  snprintf(want, sizeof want, "%d.%d.%d", UVEXEC_VERSION_MAJOR,
           UVEXEC_VERSION_MINOR, UVEXEC_VERSION_PATCH);
  ck_assert_str_eq(UVEXEC_VERSION_STRING, want);
}
END_TEST

START_TEST(test_library_matches_header) {
  ck_assert_uint_eq(uvexec_version(), UVEXEC_VERSION_HEX);
  ck_assert_ptr_nonnull(uvexec_version_string());
  ck_assert_str_eq(uvexec_version_string(), UVEXEC_VERSION_STRING);
  /* Static: the same pointer every time. */
  ck_assert_ptr_eq(uvexec_version_string(), uvexec_version_string());
}
END_TEST

START_TEST(test_header_matches_project) {
  ck_assert_str_eq(UVEXEC_VERSION_STRING, UVEXEC_TEST_PROJECT_VERSION);
}
END_TEST

#if defined(UVEXEC_TEST_PC_FILE) || defined(UVEXEC_TEST_CONFIG_VERSION_FILE)
/* value_after returns the malloc'd text after the first occurrence of key
 * in the file at path, up to the first of the stop characters. */
static char *value_after(const char *path, const char *key, const char *stop) {
  FILE *f = fopen(path, "r");
  char line[512];
  char *found = NULL;

  ck_assert_msg(f != NULL, "cannot open %s", path);
  while (found == NULL && fgets(line, sizeof line, f) != NULL) {
    char *at = strstr(line, key);
    if (at != NULL) {
      at += strlen(key);
      at[strcspn(at, stop)] = '\0';
      found = strdup(at);
    }
  }
  fclose(f);
  ck_assert_msg(found != NULL, "%s: no \"%s\"", path, key);
  return found;
}
#endif

#ifdef UVEXEC_TEST_PC_FILE
START_TEST(test_pkg_config_matches) {
  char *v = value_after(UVEXEC_TEST_PC_FILE, "Version: ", " \r\n");

  ck_assert_str_eq(v, UVEXEC_VERSION_STRING);
  free(v);
}
END_TEST
#endif

#ifdef UVEXEC_TEST_CONFIG_VERSION_FILE
START_TEST(test_cmake_package_matches) {
  char *v = value_after(UVEXEC_TEST_CONFIG_VERSION_FILE,
                        "set(PACKAGE_VERSION \"", "\"");

  ck_assert_str_eq(v, UVEXEC_VERSION_STRING);
  free(v);
}
END_TEST
#endif

static Suite *version_suite(void) {
  Suite *s = suite_create("version");

  ADD_TEST(s, test_hex_is_made_of_the_parts);
  ADD_TEST(s, test_string_is_made_of_the_parts);
  ADD_TEST(s, test_library_matches_header);
  ADD_TEST(s, test_header_matches_project);
#ifdef UVEXEC_TEST_PC_FILE
  ADD_TEST(s, test_pkg_config_matches);
#endif
#ifdef UVEXEC_TEST_CONFIG_VERSION_FILE
  ADD_TEST(s, test_cmake_package_matches);
#endif
  return s;
}

int main(void) {
  return run_suite(version_suite());
}
