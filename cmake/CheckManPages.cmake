# SPDX-License-Identifier: MIT
# cmake -DHEADER=<uvexec.h> -DMANDIR=<docs/man/man3> -P CheckManPages.cmake
#
# Part of the ctest `docs`: every function uvexec.h declares with
# UVEXEC_EXTERN has a man page (a page or a link to its section's page),
# so that `man <function>` works once installed.

foreach(var HEADER MANDIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "CheckManPages: -D${var}=... is required")
  endif()
endforeach()

file(STRINGS "${HEADER}" lines REGEX "UVEXEC_EXTERN")
set(declared "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[ \t]*UVEXEC_EXTERN[^(]*[ *](uvexec_[A-Za-z0-9_]+)[ \t]*\\(")
    list(APPEND declared "${CMAKE_MATCH_1}")
  endif()
endforeach()
list(LENGTH declared ndeclared)
if(ndeclared EQUAL 0)
  message(FATAL_ERROR "CheckManPages: no UVEXEC_EXTERN declaration in ${HEADER}")
endif()

set(missing "")
foreach(name IN LISTS declared)
  if(NOT EXISTS "${MANDIR}/${name}.3.gz")
    list(APPEND missing "${name}")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "CheckManPages: no man page for: ${missing}")
endif()
message(STATUS "${ndeclared} functions, each with its man page")
