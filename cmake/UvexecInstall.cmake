# SPDX-License-Identifier: MIT
# uvexec_install(TARGETS <target>... EXPORT <name>)
#
# Installs the header, the given library targets, the licence and the
# README (in <datadir>/doc/uvexec), and the two ways another build finds
# them:
#
#   - a CMake package: <libdir>/cmake/uvexec/ holds uvexecConfig.cmake
#     (from cmake/uvexecConfig.cmake.in: it finds libuv through pkg-config
#     the way this build did, then loads the exported targets),
#     uvexecConfigVersion.cmake (UVEXEC_COMPATIBILITY: the same
#     major.minor while the major is 0, the same major after) and the
#     export set, so that find_package(uvexec) gives uvexec::uvexec and
#     uvexec::uvexec_static;
#   - pkg-config files in <libdir>/pkgconfig: uvexec.pc (cmake/uvexec.pc.in,
#     with Requires: libuv since uvexec.h includes uv.h) and, when a static
#     library is installed, uvexec-static.pc (cmake/uvexec-static.pc.in),
#     which names libuvexec.a itself and Requires: libuv-static, so that
#     `pkg-config --static --libs uvexec-static` links fully static.
#
# Every file belongs to an install component, which is how the Debian
# packages are cut (cmake/UvexecPackage.cmake): `runtime` is the shared
# library itself, `dev` everything needed to build against it, `doc` the
# licence and README of a plain install (the packages carry their own).
#
# The pkg-config files state absolute paths, so they are written when the
# install runs rather than when the build is configured: that way
# `cmake --install build --prefix DIR` gets files naming DIR, not the
# prefix chosen at configure time. (The CMake package is relocatable by
# construction and needs no such care.)

include_guard(GLOBAL)

include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

function(uvexec_install)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "EXPORT" "TARGETS")
  set(cmakedir "${CMAKE_INSTALL_LIBDIR}/cmake/uvexec")

  install(TARGETS ${arg_TARGETS}
    EXPORT ${arg_EXPORT}
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime
      NAMELINK_COMPONENT dev
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(FILES "${PROJECT_SOURCE_DIR}/include/uvexec.h"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT dev)
  install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" "${PROJECT_SOURCE_DIR}/README.md"
    DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT doc)

  # Is a static library among the targets?
  set(static_installed OFF)
  foreach(target IN LISTS arg_TARGETS)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "STATIC_LIBRARY")
      set(static_installed ON)
    endif()
  endforeach()

  # The CMake package.
  install(EXPORT ${arg_EXPORT}
    NAMESPACE uvexec::
    FILE uvexecTargets.cmake
    DESTINATION "${cmakedir}"
    COMPONENT dev)
  configure_package_config_file(
    "${PROJECT_SOURCE_DIR}/cmake/uvexecConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/uvexecConfig.cmake"
    INSTALL_DESTINATION "${cmakedir}")
  write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/uvexecConfigVersion.cmake"
    VERSION "${PROJECT_VERSION}"
    COMPATIBILITY ${UVEXEC_COMPATIBILITY})
  install(FILES
    "${PROJECT_BINARY_DIR}/uvexecConfig.cmake"
    "${PROJECT_BINARY_DIR}/uvexecConfigVersion.cmake"
    DESTINATION "${cmakedir}"
    COMPONENT dev)

  # The pkg-config files, in two passes. Now: everything but the prefix,
  # which stays a placeholder. At install time: the prefix then in force.
  foreach(kind LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
      set(UVEXEC_PC_${kind} "${CMAKE_INSTALL_${kind}}")
    else()
      set(UVEXEC_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
    endif()
  endforeach()
  set(UVEXEC_PC_PREFIX "@UVEXEC_PC_PREFIX@")
  set(pcfiles uvexec)
  if(static_installed)
    list(APPEND pcfiles uvexec-static)
  endif()
  foreach(pc IN LISTS pcfiles)
    set(stage1 "${PROJECT_BINARY_DIR}/${pc}.pc.stage")
    set(stage2 "${PROJECT_BINARY_DIR}/${pc}.pc")
    configure_file("${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in" "${stage1}" @ONLY)
    install(CODE "
      set(UVEXEC_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
      configure_file(\"${stage1}\" \"${stage2}\" @ONLY)
    " COMPONENT dev)
    install(FILES "${stage2}"
      DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
      COMPONENT dev)
  endforeach()
endfunction()
