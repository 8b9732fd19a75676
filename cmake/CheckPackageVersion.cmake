# SPDX-License-Identifier: MIT
# cmake -DVERSION_FILE=<uvexecConfigVersion.cmake> -DVERSION=<x.y.z>
#       -DREADELF=<readelf> -DLIBRARY=<libuvexec.so> -P CheckPackageVersion.cmake
#
# The ctest `package_version`: the ABI policy, as the build states it to
# the outside. While the major is 0 the library's SONAME is
# libuvexec.so.<major>.<minor> and find_package(uvexec <x.y>) accepts only
# the same major.minor (with a patch no older than asked); from 1.0 on, the
# SONAME is libuvexec.so.<major> and any minor at least the one asked.

foreach(var VERSION_FILE VERSION READELF LIBRARY)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "CheckPackageVersion: -D${var}=... is required")
  endif()
endforeach()

if(NOT VERSION MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)$")
  message(FATAL_ERROR "CheckPackageVersion: bad VERSION ${VERSION}")
endif()
set(major ${CMAKE_MATCH_1})
set(minor ${CMAKE_MATCH_2})
set(patch ${CMAKE_MATCH_3})
math(EXPR next_major "${major} + 1")
math(EXPR next_minor "${minor} + 1")
math(EXPR next_patch "${patch} + 1")

set(failed FALSE)

# check(<requested> <TRUE|FALSE>) loads the version file the way
# find_package(uvexec <requested>) does and compares its answer.
function(check requested want)
  string(REPLACE "." ";" parts "${requested}")
  list(LENGTH parts count)
  set(PACKAGE_FIND_NAME uvexec)
  set(PACKAGE_FIND_VERSION "${requested}")
  set(PACKAGE_FIND_VERSION_COUNT ${count})
  set(i 0)
  foreach(name MAJOR MINOR PATCH TWEAK)
    if(i LESS count)
      list(GET parts ${i} PACKAGE_FIND_VERSION_${name})
    else()
      set(PACKAGE_FIND_VERSION_${name} 0)
    endif()
    math(EXPR i "${i} + 1")
  endforeach()
  set(CMAKE_SIZEOF_VOID_P 8)
  unset(PACKAGE_VERSION_COMPATIBLE)
  include("${VERSION_FILE}")
  if(PACKAGE_VERSION_COMPATIBLE)
    set(got TRUE)
  else()
    set(got FALSE)
  endif()
  message(STATUS "find_package(uvexec ${requested}) with ${PACKAGE_VERSION}: "
                 "compatible ${got}")
  if(NOT got STREQUAL want)
    message(SEND_ERROR "find_package(uvexec ${requested}) should be "
                       "compatible=${want} with ${PACKAGE_VERSION}")
    set(failed TRUE PARENT_SCOPE)
  endif()
endfunction()

check("${major}.${minor}" TRUE)
check("${major}.${minor}.${patch}" TRUE)
check("${major}.${minor}.${next_patch}" FALSE)
check("${next_major}.${minor}" FALSE)
if(major EQUAL 0)
  check("${major}.${next_minor}" FALSE)
  if(minor GREATER 0)
    math(EXPR prev_minor "${minor} - 1")
    check("${major}.${prev_minor}" FALSE)
  endif()
  set(soname "libuvexec.so.${major}.${minor}")
else()
  check("${major}.${next_minor}" FALSE)
  check("${major}" TRUE)
  set(soname "libuvexec.so.${major}")
endif()

execute_process(COMMAND "${READELF}" -d "${LIBRARY}"
  OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "CheckPackageVersion: ${READELF} -d ${LIBRARY} failed")
endif()
if(dynamic MATCHES "\\(SONAME\\)[^\n]*\\[([^]\n]*)\\]")
  message(STATUS "SONAME ${CMAKE_MATCH_1}")
  if(NOT CMAKE_MATCH_1 STREQUAL soname)
    message(SEND_ERROR "SONAME is ${CMAKE_MATCH_1}, the policy says ${soname}")
    set(failed TRUE)
  endif()
else()
  message(SEND_ERROR "${LIBRARY} has no SONAME")
  set(failed TRUE)
endif()

if(failed)
  message(FATAL_ERROR "CheckPackageVersion: the package does not follow "
                      "the ABI policy")
endif()
