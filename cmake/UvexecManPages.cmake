# SPDX-License-Identifier: MIT
# cmake -DMANDIR=<docs/man/man3> -DHEADER=<uvexec.h> -DGZIP=<gzip>
#       -P UvexecManPages.cmake
#
# Turns Doxygen's man pages into what a Debian package carries:
#
#   - Doxygen writes a link page (one ".so man3/<page>.3" line) for every
#     documented name, pointing at its section's page or at the header's
#     page, whichever it wrote last, and for typedef'd anonymous enums at a
#     page that does not exist. Each name's link is made here instead, from
#     the header: the page of the group (@defgroup) the name is declared
#     in, else the header's page. Links are symbolic links, as Debian
#     prefers them to .so pages.
#   - Links for names that are not uvexec's (the fields of a struct, such
#     as user_usec) are dropped: man's namespace is shared.
#   - Every page is compressed with gzip -9n (no name, no timestamp).

foreach(var MANDIR HEADER GZIP)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "UvexecManPages: -D${var}=... is required")
  endif()
endforeach()

# Which group declares which name, line by line.
file(STRINGS "${HEADER}" pieces)
set(group "")
set(pending "")
set(depth 0)
foreach(piece IN LISTS pieces)
  if(piece MATCHES "@defgroup[ \t]+([A-Za-z0-9_]+)")
    set(pending "${CMAKE_MATCH_1}")
  endif()
  string(REGEX MATCHALL "@{" opens "${piece}")
  string(REGEX MATCHALL "@}" closes "${piece}")
  list(LENGTH opens nopen)
  list(LENGTH closes nclose)
  if(nopen GREATER 0 AND pending)
    set(group "${pending}")
    set(pending "")
  endif()
  math(EXPR depth "${depth} + ${nopen} - ${nclose}")
  if(depth LESS_EQUAL 0)
    set(depth 0)
    set(group "")
  endif()
  set(name "")
  if(piece MATCHES "^[ \t]*UVEXEC_EXTERN[^(]*[ *]([A-Za-z0-9_]+)[ \t]*\\(")
    set(name "${CMAKE_MATCH_1}")
  elseif(piece MATCHES "^#define[ \t]+([A-Za-z0-9_]+)")
    set(name "${CMAKE_MATCH_1}")
  elseif(piece MATCHES "^}[ \t]*([A-Za-z0-9_]+)[ \t]*;")
    set(name "${CMAKE_MATCH_1}")
  elseif(piece MATCHES "^typedef[^(]*\\([ \t]*\\*[ \t]*([A-Za-z0-9_]+)[ \t]*\\)")
    set(name "${CMAKE_MATCH_1}")
  elseif(piece MATCHES "^typedef[ \t]+struct[ \t]+[A-Za-z0-9_]+[ \t]+([A-Za-z0-9_]+)[ \t]*;")
    set(name "${CMAKE_MATCH_1}")
  elseif(piece MATCHES "^[ \t]+(UVEXEC_[A-Z0-9_]+)[ \t]*=")
    set(name "${CMAKE_MATCH_1}")
  endif()
  if(name AND group AND NOT DEFINED group_of_${name})
    set(group_of_${name} "${group}")
  endif()
endforeach()

file(GLOB pages RELATIVE "${MANDIR}" "${MANDIR}/*.3")
set(links "")
set(real "")
foreach(page IN LISTS pages)
  file(READ "${MANDIR}/${page}" text LIMIT 200)
  if(text MATCHES "^\\.so man3/")
    file(REMOVE "${MANDIR}/${page}")
    if(page MATCHES "^(uvexec|UVEXEC)")
      list(APPEND links "${page}")
    endif()
  else()
    list(APPEND real "${page}")
  endif()
endforeach()

foreach(page IN LISTS real)
  execute_process(COMMAND "${GZIP}" -9nf "${MANDIR}/${page}"
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "UvexecManPages: gzip ${page} failed")
  endif()
endforeach()

get_filename_component(header_page "${HEADER}" NAME)
set(header_page "${header_page}.3")
foreach(page IN LISTS links)
  string(REGEX REPLACE "\\.3$" "" name "${page}")
  if(DEFINED group_of_${name} AND EXISTS "${MANDIR}/${group_of_${name}}.3.gz")
    set(target "${group_of_${name}}.3")
  else()
    set(target "${header_page}")
  endif()
  if(NOT EXISTS "${MANDIR}/${target}.gz")
    message(FATAL_ERROR "UvexecManPages: no page ${target} for ${name}")
  endif()
  file(CREATE_LINK "${target}.gz" "${MANDIR}/${page}.gz" SYMBOLIC)
endforeach()

list(LENGTH real nreal)
list(LENGTH links nlinks)
message(STATUS "man pages: ${nreal} pages, ${nlinks} names linked to them")
