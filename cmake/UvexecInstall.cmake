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
#     major.minor while the major is 0, the same major after) and the export set, so
#     that find_package(uvexec) gives uvexec::uvexec and
#     uvexec::uvexec_static;
#   - a pkg-config file, <libdir>/pkgconfig/uvexec.pc, from
#     cmake/uvexec.pc.in, with Requires: libuv since uvexec.h includes uv.h.
#
# The pkg-config file states absolute paths, so it is written when the
# install runs rather than when the build is configured: that way
# `cmake --install build --prefix DIR` gets a file naming DIR, not the
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
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(FILES "${PROJECT_SOURCE_DIR}/include/uvexec.h"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" "${PROJECT_SOURCE_DIR}/README.md"
    DESTINATION "${CMAKE_INSTALL_DOCDIR}")

  # The CMake package.
  install(EXPORT ${arg_EXPORT}
    NAMESPACE uvexec::
    FILE uvexecTargets.cmake
    DESTINATION "${cmakedir}")
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
    DESTINATION "${cmakedir}")

  # The pkg-config file, in two passes. Now: everything but the prefix,
  # which stays a placeholder. At install time: the prefix then in force.
  foreach(kind LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
      set(UVEXEC_PC_${kind} "${CMAKE_INSTALL_${kind}}")
    else()
      set(UVEXEC_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
    endif()
  endforeach()
  set(UVEXEC_PC_PREFIX "@UVEXEC_PC_PREFIX@")
  set(stage1 "${PROJECT_BINARY_DIR}/uvexec.pc.stage")
  set(stage2 "${PROJECT_BINARY_DIR}/uvexec.pc")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/uvexec.pc.in" "${stage1}" @ONLY)
  install(CODE "
    set(UVEXEC_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    configure_file(\"${stage1}\" \"${stage2}\" @ONLY)
  ")
  install(FILES "${stage2}"
    DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endfunction()
