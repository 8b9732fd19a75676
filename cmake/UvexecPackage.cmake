# SPDX-License-Identifier: MIT
# Debian packages with CPack: `make package` (or, in a build configured
# with -DCMAKE_INSTALL_PREFIX=/usr, `cpack` in the build directory) makes
#
#   libuvexec0      the shared library, libuvexec.so.<soversion>
#                   (section libs; Depends from dpkg-shlibdeps: libc6,
#                   libuv1), with a shlibs file and an ldconfig trigger
#   libuvexec-dev   everything to build against it: uvexec.h, the
#                   libuvexec.so link, libuvexec.a, uvexec.pc and
#                   uvexec-static.pc, the CMake package, the man pages
#                   (section libdevel; Depends: libuvexec0 of the same
#                   version, libuv1-dev, which has uv.h, libuv.so and
#                   Debian's static libuv)
#
# out of the install components `runtime` and `dev` (cmake/UvexecInstall.cmake,
# cmake/UvexecDocs.cmake). Each package carries its own
# /usr/share/doc/<package>/copyright (machine-readable, made from LICENSE)
# and changelog.Debian.gz, installed only by the package builds.
#
# The package name keeps the major alone (libuvexec0) while the SONAME is
# libuvexec.so.0.1: Debian's rule would call it libuvexec0.1, and lintian
# says so (package-name-doesnt-match-sonames, a warning).
#
# UVEXEC_PACKAGE_MAINTAINER sets the Maintainer field.

include_guard(GLOBAL)

set(UVEXEC_PACKAGE_MAINTAINER "The uvexec authors <uvexec@example.org>"
  CACHE STRING "Maintainer of the Debian packages")

set(_pkg_runtime libuvexec${PROJECT_VERSION_MAJOR})
set(_pkg_dev libuvexec-dev)
set(_pkg_release 1)
set(_pkg_version "${PROJECT_VERSION}-${_pkg_release}")
set(_pkg_dir "${PROJECT_BINARY_DIR}/debian")

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "uvexec: packages are made for the prefix /usr; this build's "
                 "prefix is ${CMAKE_INSTALL_PREFIX} (make package sees to it)")
endif()

# copyright: the licence in Debian's machine-readable format, from LICENSE.
file(STRINGS "${PROJECT_SOURCE_DIR}/LICENSE" _license_lines)
set(_license "")
set(_copyright "")
foreach(_line IN LISTS _license_lines)
  if(_line MATCHES "^Copyright \\(c\\) (.*)$")
    set(_copyright "${CMAKE_MATCH_1}")
  elseif(_line STREQUAL "MIT License")
    # the title; Debian calls this licence Expat
  elseif(_line STREQUAL "")
    if(_license)
      string(APPEND _license " .\n")
    endif()
  else()
    string(APPEND _license " ${_line}\n")
  endif()
endforeach()
string(REGEX REPLACE " \\.\n$" "" _license "${_license}")
file(WRITE "${_pkg_dir}/copyright"
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: uvexec

Files: *
Copyright: ${_copyright}
License: Expat
${_license}")

# changelog.Debian.gz: one entry for this version. The date is now, or
# SOURCE_DATE_EPOCH when set (reproducible builds).
string(TIMESTAMP _pkg_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE "${_pkg_dir}/changelog.Debian"
"uvexec (${_pkg_version}) unstable; urgency=medium

  * Built from the uvexec ${PROJECT_VERSION} sources with CPack.

 -- ${UVEXEC_PACKAGE_MAINTAINER}  ${_pkg_date}
")
find_program(UVEXEC_GZIP gzip REQUIRED)
execute_process(
  COMMAND "${UVEXEC_GZIP}" -9nf "${_pkg_dir}/changelog.Debian"
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "uvexec: gzip changelog.Debian failed")
endif()

# The ldconfig trigger, so the new library is found at once. CPack would
# otherwise write postinst and postrm scripts that call ldconfig themselves,
# which Debian replaced with the trigger; these have nothing left to do.
file(WRITE "${_pkg_dir}/triggers" "activate-noawait ldconfig\n")
foreach(_script postinst postrm)
  file(WRITE "${_pkg_dir}/${_script}" "#!/bin/sh\nset -e\n")
  file(CHMOD "${_pkg_dir}/${_script}" PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
    WORLD_READ WORLD_EXECUTE)
endforeach()

foreach(_component runtime dev)
  install(FILES "${_pkg_dir}/copyright" "${_pkg_dir}/changelog.Debian.gz"
    DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/doc/${_pkg_${_component}}"
    COMPONENT ${_component}
    EXCLUDE_FROM_ALL)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME uvexec)
set(CPACK_PACKAGE_VENDOR "The uvexec authors")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
# Each package's synopsis is the first line of its own description below.
# CPack puts the project's summary before every description unless the
# summary is CPack's default, so it is given that default.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE
  GROUP_READ GROUP_EXECUTE
  WORLD_READ WORLD_EXECUTE)
set(CPACK_COMPONENTS_ALL runtime dev)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${_pkg_release})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${UVEXEC_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SOURCE uvexec)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${_pkg_runtime})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "libuv1 (>= ${UVEXEC_LIBUV_MIN})")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
  "${_pkg_dir}/triggers" "${_pkg_dir}/postinst" "${_pkg_dir}/postrm")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
"Go's os/exec for C programs on a libuv event loop
uvexec starts commands on a libuv loop and reports each through one
callback once it has exited and every byte it wrote has been read, while
the loop goes on with everything else; run, output and combined output do
the same for programs without a loop. Names, defaults and error messages
follow Go's os/exec.
.
This package holds the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME ${_pkg_dev})
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "${_pkg_runtime} (= ${_pkg_version}), libuv1-dev (>= ${UVEXEC_LIBUV_MIN})")
set(CPACK_DEBIAN_DEV_DESCRIPTION
"Go's os/exec for C programs on a libuv event loop (development files)
uvexec starts commands on a libuv loop and reports each through one
callback once it has exited and every byte it wrote has been read, while
the loop goes on with everything else; run, output and combined output do
the same for programs without a loop. Names, defaults and error messages
follow Go's os/exec.
.
This package holds the header, the static library, the pkg-config files
(uvexec, uvexec-static), the CMake package and the man pages.")

include(CPack)
