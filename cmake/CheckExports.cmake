# SPDX-License-Identifier: MIT
# cmake -DNM=<nm> -DLIBRARY=<libuvexec.so> -DHEADER=<uvexec.h> -P CheckExports.cmake
#
# The ctest `exports`: the shared library must export exactly the functions
# uvexec.h declares with UVEXEC_EXTERN. A declared function missing from the
# library (declared but never defined, or defined static) and an exported
# symbol the header does not declare (an internal uvexec__* name escaping
# the hidden default) both fail, each named. Names starting with '_' belong
# to the toolchain (_init, _fini, sanitizer hooks) and are ignored.

foreach(var NM LIBRARY HEADER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "CheckExports: -D${var}=... is required")
  endif()
endforeach()

# What the header promises. A declaration may span lines, but the name
# always sits on the UVEXEC_EXTERN line, just before its '('.
file(STRINGS "${HEADER}" lines REGEX "UVEXEC_EXTERN")
set(declared "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[ \t]*UVEXEC_EXTERN[^(]*[ *](uvexec_[A-Za-z0-9_]+)[ \t]*\\(")
    list(APPEND declared "${CMAKE_MATCH_1}")
  endif()
endforeach()
list(REMOVE_DUPLICATES declared)
list(LENGTH declared ndeclared)
if(ndeclared EQUAL 0)
  message(FATAL_ERROR "CheckExports: no UVEXEC_EXTERN declaration in ${HEADER}")
endif()

# What the library gives.
execute_process(
  COMMAND "${NM}" -D --defined-only "${LIBRARY}"
  OUTPUT_VARIABLE out
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "CheckExports: ${NM} failed on ${LIBRARY}")
endif()
string(REPLACE "\n" ";" out "${out}")
set(exported "")
foreach(line IN LISTS out)
  # "<address> <type> <name>", the name possibly carrying "@VERSION".
  if(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] ([^ @]+)")
    set(name "${CMAKE_MATCH_1}")
    if(NOT name MATCHES "^_")
      list(APPEND exported "${name}")
    endif()
  endif()
endforeach()

set(missing ${declared})
if(exported)
  list(REMOVE_ITEM missing ${exported})
endif()
set(extra ${exported})
list(REMOVE_ITEM extra ${declared})

list(LENGTH exported nexported)
message(STATUS "uvexec.h declares ${ndeclared} functions; "
               "the library exports ${nexported} symbols")
set(failed FALSE)
foreach(name IN LISTS missing)
  message(SEND_ERROR "declared in uvexec.h but not exported: ${name}")
  set(failed TRUE)
endforeach()
foreach(name IN LISTS extra)
  message(SEND_ERROR "exported but not declared in uvexec.h: ${name}")
  set(failed TRUE)
endforeach()
if(failed)
  message(FATAL_ERROR "CheckExports: the library's symbols do not match the header")
endif()
