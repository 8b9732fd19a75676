# SPDX-License-Identifier: MIT
# cmake -DMODE=check|update -DTOUR=<demo/tour.sh> -DDEMO_DIR=<build/demo>
#       -DREADME=<README.md> -P ReadmeTour.cmake
#
# The README shows a transcript of demo/tour.sh between the lines
# "<!-- tour:begin -->" and "<!-- tour:end -->". This runs the tour and
#
#   update  writes its output there (`make readme-tour`), or
#   check   compares it with what is there (the ctest readme_tour), so that
#           the transcript cannot drift from what the demos print.
#
# The comparison is on what does not change from run to run or machine to
# machine: every number is masked (pids, timings, sizes, dates); listing
# lines keep only the file name; the lines within each demo are compared
# as a set, since neither the order of events a few milliseconds apart nor
# how many timer ticks a loaded machine fits in is the point; and
# ping_split's output is not compared, as it depends on whether ping is
# installed and allowed.

foreach(var MODE TOUR DEMO_DIR README)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "ReadmeTour: -D${var}=... is required")
  endif()
endforeach()

set(begin_marker "<!-- tour:begin -->\n```\n")
set(end_marker "```\n<!-- tour:end -->")

execute_process(
  COMMAND bash "${TOUR}" "${DEMO_DIR}"
  OUTPUT_VARIABLE tour
  ERROR_VARIABLE tour_err
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ReadmeTour: the tour failed (${rc}):\n${tour}${tour_err}")
endif()
string(REGEX REPLACE "^\n+" "" tour "${tour}")

file(READ "${README}" readme)
string(FIND "${readme}" "${begin_marker}" at_begin)
string(FIND "${readme}" "${end_marker}" at_end)
if(at_begin LESS 0 OR at_end LESS at_begin)
  message(FATAL_ERROR "ReadmeTour: ${README} has no block between "
                      "<!-- tour:begin --> and <!-- tour:end -->")
endif()
string(LENGTH "${begin_marker}" begin_len)
math(EXPR body_at "${at_begin} + ${begin_len}")
math(EXPR body_len "${at_end} - ${body_at}")
string(SUBSTRING "${readme}" 0 ${body_at} head)
string(SUBSTRING "${readme}" ${body_at} ${body_len} shown)
string(SUBSTRING "${readme}" ${at_end} -1 tail)

if(MODE STREQUAL "update")
  file(WRITE "${README}" "${head}${tour}${tail}")
  message(STATUS "ReadmeTour: ${README} now shows this run of the tour")
  return()
elseif(NOT MODE STREQUAL "check")
  message(FATAL_ERROR "ReadmeTour: MODE is check or update, not ${MODE}")
endif()

# normalize(<text> <out-var>): the text reduced to what must match.
function(normalize text out)
  # Lists cannot hold ';' or unbalanced brackets: stand-ins for them.
  string(REPLACE ";" "<semicolon>" text "${text}")
  string(REPLACE "[" "<lb>" text "${text}")
  string(REPLACE "]" "<rb>" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(result "")
  set(body "")
  set(section "")
  foreach(line IN LISTS lines ";==> end")
    string(REGEX REPLACE "[ \t]+$" "" line "${line}")
    if(line MATCHES "^==> ([A-Za-z0-9_]+)")
      list(REMOVE_DUPLICATES body)
      list(SORT body)
      list(APPEND result ${body})
      set(body "")
      set(section "${CMAKE_MATCH_1}")
      list(APPEND result "${line}")
      continue()
    endif()
    if(line STREQUAL "")
      continue()
    endif()
    if(section STREQUAL "ping_split" AND NOT line MATCHES "^\\$ ")
      continue()
    endif()
    # A listing line: the file name is what counts.
    if(line MATCHES "^[-dlcbps][-rwxsStT]+[.+@]? ")
      string(REGEX REPLACE "^.* " "" line "${line}")
      set(line "(listing) ${line}")
    endif()
    string(REGEX REPLACE "[0-9]+" "N" line "${line}")
    string(REGEX REPLACE "[ \t]+" " " line "${line}")
    list(APPEND body "${line}")
  endforeach()
  string(REPLACE ";" "\n" result "${result}")
  string(REPLACE "<semicolon>" ";" result "${result}")
  string(REPLACE "<lb>" "[" result "${result}")
  string(REPLACE "<rb>" "]" result "${result}")
  set(${out} "${result}\n" PARENT_SCOPE)
endfunction()

normalize("${tour}" got)
normalize("${shown}" want)
if(got STREQUAL want)
  message(STATUS "ReadmeTour: README.md shows what the tour prints")
  return()
endif()

string(RANDOM LENGTH 8 tag)
set(want_file "/tmp/readme_tour.${tag}.want")
set(got_file "/tmp/readme_tour.${tag}.got")
file(WRITE "${want_file}" "${want}")
file(WRITE "${got_file}" "${got}")
execute_process(COMMAND diff -u "${want_file}" "${got_file}"
  OUTPUT_VARIABLE diff)
file(REMOVE "${want_file}" "${got_file}")
message(FATAL_ERROR "ReadmeTour: README.md's tour (-) is not what the tour "
                    "prints (+), numbers masked:\n${diff}\n"
                    "Run `make readme-tour` to show this run in README.md.")
