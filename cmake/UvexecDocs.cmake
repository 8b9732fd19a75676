# SPDX-License-Identifier: MIT
# uvexec_docs()
#
# The API reference, made by Doxygen (Debian: doxygen) from the public
# header alone, with cmake/Doxyfile.in:
#
#   - build/docs/html/     one HTML page per section of uvexec.h (a Doxygen
#                          group: Version, Errors, Commands, Running, ...)
#   - build/docs/man/man3/ the same as man pages: one page per section
#                          (uvexec_running.3), one per data type, the
#                          header's own (uvexec.h.3), and for every public
#                          name a link to its section's page, so that
#                          `man uvexec_start` works. They are gzipped and the
#                          links are symbolic links, as Debian wants them
#                          (cmake/UvexecManPages.cmake).
#
# `cmake --build build --target docs` (or `make docs`) makes them. Doxygen's
# warnings are errors: a public name without documentation fails the
# target, and the ctest `docs` builds it and checks that each function has
# its man page (cmake/CheckManPages.cmake). The man pages are installed
# with the dev component when they have been made; the HTML stays in the
# build tree.
#
# UVEXEC_BUILD_DOCS (default: on at top level when Doxygen is found) turns
# all of this on.

include_guard(GLOBAL)

function(uvexec_docs)
  find_package(Doxygen QUIET)
  if(_uvexec_top_level AND DOXYGEN_FOUND)
    set(default ON)
  else()
    set(default OFF)
  endif()
  option(UVEXEC_BUILD_DOCS "Make the API reference with Doxygen (target docs)"
    ${default})
  if(NOT UVEXEC_BUILD_DOCS)
    return()
  endif()
  if(NOT DOXYGEN_FOUND)
    message(FATAL_ERROR "UVEXEC_BUILD_DOCS is ON but Doxygen was not found "
                        "(Debian: apt-get install doxygen)")
  endif()
  find_program(UVEXEC_GZIP gzip REQUIRED)

  set(UVEXEC_DOCS_DIR "${PROJECT_BINARY_DIR}/docs")
  set(doxyfile "${PROJECT_BINARY_DIR}/Doxyfile")
  set(stamp "${UVEXEC_DOCS_DIR}/docs.stamp")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/Doxyfile.in" "${doxyfile}" @ONLY)

  # From scratch every time, so that a name removed from the header loses
  # its page.
  add_custom_command(OUTPUT "${stamp}"
    COMMAND "${CMAKE_COMMAND}" -E rm -rf "${UVEXEC_DOCS_DIR}/html"
            "${UVEXEC_DOCS_DIR}/man"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${UVEXEC_DOCS_DIR}"
    COMMAND Doxygen::doxygen "${doxyfile}"
    COMMAND "${CMAKE_COMMAND}" "-DMANDIR=${UVEXEC_DOCS_DIR}/man/man3"
            "-DGZIP=${UVEXEC_GZIP}"
            "-DHEADER=${PROJECT_SOURCE_DIR}/include/uvexec.h"
            -P "${PROJECT_SOURCE_DIR}/cmake/UvexecManPages.cmake"
    COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
    DEPENDS
      "${PROJECT_SOURCE_DIR}/include/uvexec.h"
      "${PROJECT_SOURCE_DIR}/cmake/Doxyfile.in"
      "${PROJECT_SOURCE_DIR}/cmake/UvexecManPages.cmake"
    COMMENT "Doxygen: HTML and man pages from include/uvexec.h"
    VERBATIM)
  add_custom_target(docs DEPENDS "${stamp}")

  if(UVEXEC_INSTALL)
    install(CODE "
      if(NOT EXISTS \"${stamp}\")
        message(STATUS \"uvexec: no man pages to install; make them first \"
                       \"with: cmake --build ${PROJECT_BINARY_DIR} --target docs\")
      endif()
    " COMPONENT dev)
    install(DIRECTORY "${UVEXEC_DOCS_DIR}/man/man3"
      DESTINATION "${CMAKE_INSTALL_MANDIR}"
      COMPONENT dev
      OPTIONAL)
  endif()

  set(UVEXEC_DOCS_DIR "${UVEXEC_DOCS_DIR}" PARENT_SCOPE)
endfunction()
