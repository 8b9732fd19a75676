# SPDX-License-Identifier: MIT
# uvexec_target_options(<target> [LIBRARY])
#
# Applies the project's compiler settings to <target>, so that the library,
# the tests, the test helper and the demos are all built the same way:
#
#   - ISO C11 without compiler extensions (-std=c11), with _GNU_SOURCE
#     defined here: uvexec is Linux code (pipe2, pidfd_open,
#     posix_spawn_file_actions_addchdir_np), and a strict C11 build hides
#     even POSIX, which uv.h itself needs. Sources must therefore not
#     #define _GNU_SOURCE themselves (a second definition is a warning, and
#     warnings are errors); guard it with #ifndef if a file must also build
#     alone.
#   - warnings: -Wall -Wextra -Wshadow -Wstrict-prototypes, as errors unless
#     UVEXEC_WERROR is OFF. LIBRARY adds -Wmissing-prototypes, which makes
#     every non-static function in lib/ need a declaration in a header: the
#     public one or lib/internal.h. Test and demo programs are spared it.
#   - sanitizers: UVEXEC_SANITIZE=address,undefined (any list -fsanitize=
#     accepts) compiles and links the target with -fsanitize=<list>
#     -fno-omit-frame-pointer -fno-sanitize-recover=all, so that the first
#     report fails the run.
#
# Everything is PRIVATE: a target that links another gets nothing from it
# this way, which is why every executable calls this function itself.

include_guard(GLOBAL)

function(uvexec_target_options target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "LIBRARY" "" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
      "uvexec_target_options: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()

  set_target_properties(${target} PROPERTIES
    C_STANDARD 11
    C_STANDARD_REQUIRED ON
    C_EXTENSIONS OFF)

  target_compile_definitions(${target} PRIVATE _GNU_SOURCE)

  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wshadow -Wstrict-prototypes)
    if(arg_LIBRARY)
      target_compile_options(${target} PRIVATE -Wmissing-prototypes)
    endif()
    if(UVEXEC_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()

  if(UVEXEC_SANITIZE)
    set(flags
      "-fsanitize=${UVEXEC_SANITIZE}"
      -fno-omit-frame-pointer
      -fno-sanitize-recover=all)
    target_compile_options(${target} PRIVATE ${flags})
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "OBJECT_LIBRARY"
       AND NOT type STREQUAL "STATIC_LIBRARY")
      target_link_options(${target} PRIVATE ${flags})
    endif()
  endif()
endfunction()
