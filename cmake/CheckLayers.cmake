# SPDX-License-Identifier: MIT
# cmake -DNM=<nm> -DOBJECTS=<a.o|b.o|...> -DSOURCE_DIR=<lib/> -P CheckLayers.cmake
#
# The ctest `layers`: the files of lib/ stand in the layers lib/internal.h
# draws, read from the compiled objects (which file's undefined symbols
# another file defines is a call from one to the other). It fails, naming
# the call, when
#
#   - a file calls a file of a higher layer: the only calls upward are the
#     parts' reports to the lifecycle, through uvexec__lifecycle_event
#     alone;
#   - a part of a run calls another part (read.c and lines.c are one
#     part, the reader);
#   - anything but the lifecycle calls uvexec__cmd_release;
#   - the calls between the files, the lifecycle left out, form a loop;
#   - a file other than lifecycle.c assigns a cmd's state.

cmake_minimum_required(VERSION 3.16)

foreach(var NM OBJECTS SOURCE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "CheckLayers: -D${var}=... is required")
  endif()
endforeach()

# The layers, lowest first. Every file of lib/ must be in one.
set(layer_leaves buffer unmap errors fds handles pidfd cgroup sandbox version)
set(layer_config cmd setup env lookpath quote)
set(layer_prepare spawn stdio)
set(layer_parts read lines bounds write reap timers pty foreground contain limits ready engine_uv engine_clone)
set(layer_lifecycle lifecycle)
set(layer_above sync exec group pipeline service supervisor)
set(layers leaves config prepare parts lifecycle above)
# The parts, as units: a file not named here is a part of its own.
set(part_of_lines read)
set(part_of_bounds read)

set(rank 0)
foreach(layer IN LISTS layers)
  foreach(file IN LISTS layer_${layer})
    set(rank_${file} ${rank})
    set(layer_of_${file} ${layer})
  endforeach()
  math(EXPR rank "${rank} + 1")
endforeach()

# Who defines what, and who needs what.
string(REPLACE "|" ";" OBJECTS "${OBJECTS}")
set(files "")
foreach(object IN LISTS OBJECTS)
  get_filename_component(name "${object}" NAME)
  string(REGEX REPLACE "\\.c\\.o(bj)?$" "" file "${name}")
  if(NOT DEFINED rank_${file})
    message(SEND_ERROR "lib/${file}.c is in no layer: add it to CheckLayers.cmake")
    continue()
  endif()
  list(APPEND files ${file})
  execute_process(COMMAND "${NM}" "${object}"
    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "CheckLayers: ${NM} failed on ${object}")
  endif()
  string(REPLACE "\n" ";" out "${out}")
  set(needs_${file} "")
  foreach(line IN LISTS out)
    if(line MATCHES "^ +U (uvexec_[A-Za-z0-9_]+)$")
      list(APPEND needs_${file} ${CMAKE_MATCH_1})
    elseif(line MATCHES "^[0-9a-fA-F]+ [TDBR] (uvexec_[A-Za-z0-9_]+)$")
      set(definer_${CMAKE_MATCH_1} ${file})
    endif()
  endforeach()
endforeach()

set(failed FALSE)
macro(refuse)
  message(SEND_ERROR "${ARGN}")
  set(failed TRUE)
endmacro()

set(ncalls 0)
foreach(file IN LISTS files)
  set(calls_${file} "")
  set(unit_${file} ${file})
  if(DEFINED part_of_${file})
    set(unit_${file} ${part_of_${file}})
  endif()
endforeach()
foreach(file IN LISTS files)
  foreach(symbol IN LISTS needs_${file})
    if(NOT DEFINED definer_${symbol})
      continue()
    endif()
    set(callee ${definer_${symbol}})
    if(callee STREQUAL file)
      continue()
    endif()
    math(EXPR ncalls "${ncalls} + 1")
    set(where "lib/${file}.c calls ${symbol} (lib/${callee}.c)")
    if(symbol STREQUAL "uvexec__cmd_release" AND NOT file STREQUAL "lifecycle")
      refuse("${where}: only the lifecycle releases a cmd")
    endif()
    if(rank_${callee} GREATER rank_${file})
      if(NOT (layer_of_${file} STREQUAL "parts" AND callee STREQUAL "lifecycle"
              AND symbol STREQUAL "uvexec__lifecycle_event"))
        refuse("${where}: a ${layer_of_${file}} file calls up, into the "
               "${layer_of_${callee}}")
      endif()
    endif()
    if(layer_of_${file} STREQUAL "parts" AND layer_of_${callee} STREQUAL "parts"
       AND NOT unit_${file} STREQUAL unit_${callee})
      refuse("${where}: a part of a run calls another part")
    endif()
    if(NOT callee STREQUAL "lifecycle" AND NOT file STREQUAL "lifecycle")
      list(APPEND calls_${file} ${callee})
    endif()
  endforeach()
  if(calls_${file})
    list(REMOVE_DUPLICATES calls_${file})
  endif()
endforeach()

# Loops, the lifecycle left out: a depth-first walk from every file.
foreach(start IN LISTS files)
  set(stack ${start})
  set(path_${start} "${start}")
  set(seen ${start})
  while(stack)
    list(POP_BACK stack node)
    foreach(next IN LISTS calls_${node})
      if(next STREQUAL start)
        refuse("a loop of calls: ${path_${node}} -> ${start}")
        set(stack "")
        break()
      endif()
      if(NOT next IN_LIST seen)
        list(APPEND seen ${next})
        list(APPEND stack ${next})
        set(path_${next} "${path_${node}} -> ${next}")
      endif()
    endforeach()
  endwhile()
endforeach()

# The state is the lifecycle's to change.
file(GLOB sources "${SOURCE_DIR}/*.c")
foreach(source IN LISTS sources)
  get_filename_component(name "${source}" NAME_WE)
  if(name STREQUAL "lifecycle")
    continue()
  endif()
  file(STRINGS "${source}" lines REGEX "->state *= *UVEXEC__")
  foreach(line IN LISTS lines)
    refuse("lib/${name}.c changes a cmd's state: ${line}")
  endforeach()
endforeach()

list(LENGTH files nfiles)
message(STATUS "${nfiles} files, ${ncalls} calls between them")
if(failed)
  message(FATAL_ERROR "CheckLayers: the layers of lib/ do not hold")
endif()
