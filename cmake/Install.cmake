# Installation: `cmake --install build --prefix P` gives a tree that runs from anywhere and can be
# moved (the binaries find <P>/share/packsim relative to themselves, data_dirs.hpp); `cpack -G DEB`
# in the build directory makes a .deb of the same tree under /usr. Layout:
#   bin/                          packsim, packsim-refbms
#   share/packsim/                configs/ models/ scenarios/ profiles/ data/measured/ (validate)
#   share/doc/packsim/            README.md, docs/*.md
#   share/man/man1/               a page per command, from the CLI's --help (help2man)
#   share/bash-completion/completions/   packsim, packsim-refbms
#   lib/systemd/system/           packsim-bench@.service; its settings under <sysconfdir>/packsim
#   include/packsim, lib/, lib/cmake/packsim   find_package(packsim): packsim::model, ::can, ...
include(CMakePackageConfigHelpers)

set(PACKSIM_INSTALL_DATADIR "${CMAKE_INSTALL_DATADIR}/packsim")

install(TARGETS packsim packsim-refbms RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# --- shipped data ---------------------------------------------------------------------------------
install(DIRECTORY configs models profiles DESTINATION ${PACKSIM_INSTALL_DATADIR})
install(DIRECTORY scenarios DESTINATION ${PACKSIM_INSTALL_DATADIR}
  FILES_MATCHING PATTERN "*.toml" PATTERN "*.csv")
# `packsim validate` replays the manifest's cases: the manifest and the measurements it names
# (read from it, so a new case ships its data), with each data set's licence and source notes.
# The fitting data in data/measured is not needed at run time and stays out (4.5 of its 8.5 MB).
set(_manifest "${PROJECT_SOURCE_DIR}/data/measured/validation.toml")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_manifest}")
install(FILES "${_manifest}" DESTINATION ${PACKSIM_INSTALL_DATADIR}/data/measured)
file(STRINGS "${_manifest}" _profile_lines REGEX "^profile *= *\"")
set(_measured_dirs "")
foreach(_line IN LISTS _profile_lines)
  string(REGEX REPLACE "^profile *= *\"([^\"]+)\".*" "\\1" _rel "${_line}")
  get_filename_component(_dir "${_rel}" DIRECTORY)
  install(FILES "${PROJECT_SOURCE_DIR}/${_rel}" DESTINATION ${PACKSIM_INSTALL_DATADIR}/${_dir})
  list(APPEND _measured_dirs "${_dir}")
endforeach()
list(REMOVE_DUPLICATES _measured_dirs)
foreach(_dir IN LISTS _measured_dirs)
  file(GLOB _notes "${PROJECT_SOURCE_DIR}/${_dir}/LICENSE*" "${PROJECT_SOURCE_DIR}/${_dir}/SOURCE*"
    "${PROJECT_SOURCE_DIR}/${_dir}/README*" "${PROJECT_SOURCE_DIR}/${_dir}/CITATION*")
  install(FILES ${_notes} DESTINATION ${PACKSIM_INSTALL_DATADIR}/${_dir})
endforeach()

# --- documentation ------------------------------------------------------------------------------
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")

# Man pages and bash completion, generated from the built executables' --help (so they list the
# options the binaries really take), for every subcommand found there.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(_docs "${PROJECT_BINARY_DIR}/cli-docs")
  add_custom_command(OUTPUT "${_docs}/stamp"
    COMMAND bash "${PROJECT_SOURCE_DIR}/packaging/gen-cli-docs.sh" "${_docs}" "${PROJECT_VERSION}"
      "${PROJECT_SOURCE_DIR}/packaging/man/packsim.h2m" $<TARGET_FILE:packsim>
      $<TARGET_FILE:packsim-refbms>
    COMMAND ${CMAKE_COMMAND} -E touch "${_docs}/stamp"
    DEPENDS packsim packsim-refbms "${PROJECT_SOURCE_DIR}/packaging/gen-cli-docs.sh"
      "${PROJECT_SOURCE_DIR}/packaging/man/packsim.h2m"
    COMMENT "Man pages and bash completion from --help"
    VERBATIM)
  add_custom_target(cli_docs ALL DEPENDS "${_docs}/stamp")
  install(DIRECTORY "${_docs}/man1" DESTINATION ${CMAKE_INSTALL_MANDIR})
  install(DIRECTORY "${_docs}/bash-completion/" DESTINATION
    ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
else()
  message(WARNING "help2man not found: no man pages or bash completion (apt-get install help2man)")
endif()

# --- systemd unit for benches -------------------------------------------------------------------
# Written at install time: the unit names absolute paths, and the prefix is only known then
# (cpack installs with prefix /usr, `cmake --install --prefix P` with P). Configuration goes to
# /etc for the /usr prefix, <prefix>/etc otherwise, as GNUInstallDirs does for sysconfdir.
install(CODE "set(PACKSIM_UNIT_SOURCE \"${PROJECT_SOURCE_DIR}/packaging/systemd\")
  set(PACKSIM_UNIT_WORK \"${PROJECT_BINARY_DIR}/unit\")
  set(PACKSIM_REL_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(PACKSIM_REL_DATADIR \"${PACKSIM_INSTALL_DATADIR}\")
  set(PACKSIM_REL_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")")
install(CODE [[
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(PACKSIM_SYSCONFDIR "/etc")
  else()
    set(PACKSIM_SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/etc")
  endif()
  set(PACKSIM_BINDIR "${CMAKE_INSTALL_PREFIX}/${PACKSIM_REL_BINDIR}")
  set(PACKSIM_DATADIR "${CMAKE_INSTALL_PREFIX}/${PACKSIM_REL_DATADIR}")
  set(PACKSIM_DOCDIR "${CMAKE_INSTALL_PREFIX}/${PACKSIM_REL_DOCDIR}")
  # One work directory per destination: installs to two prefixes may run at once.
  string(MD5 _where "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
  string(APPEND PACKSIM_UNIT_WORK "/${_where}")
  configure_file("${PACKSIM_UNIT_SOURCE}/packsim-bench@.service.in"
    "${PACKSIM_UNIT_WORK}/packsim-bench@.service" @ONLY)
  configure_file("${PACKSIM_UNIT_SOURCE}/example.env.in" "${PACKSIM_UNIT_WORK}/example.env" @ONLY)
  file(INSTALL "${PACKSIM_UNIT_WORK}/packsim-bench@.service"
    DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  file(INSTALL "${PACKSIM_UNIT_WORK}/example.env" DESTINATION "${PACKSIM_SYSCONFDIR}/packsim/bench")
]])

# --- find_package(packsim) ----------------------------------------------------------------------
# The libraries a BMS team links into its own SIL harness; hil/sim/cli are Linux plumbing of the
# executables and stay private.
install(TARGETS packsim_model packsim_can packsim_config packsim_bms EXPORT packsimTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# The reference BMS's CAN node needs SocketCAN (hil): not exported, nor its header.
install(DIRECTORY include/packsim/model include/packsim/can include/packsim/config
  include/packsim/bms include/packsim/util DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/packsim
  PATTERN "node.hpp" EXCLUDE)
# config/loaders.hpp returns scenarios: those plain data headers (and the condition language the
# config library compiles, and the expectations a scenario holds) come along.
install(FILES include/packsim/sim/scenario.hpp include/packsim/sim/condition.hpp
  include/packsim/sim/expect.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/packsim/sim)
set(_cmake_dir "${CMAKE_INSTALL_LIBDIR}/cmake/packsim")
install(EXPORT packsimTargets NAMESPACE packsim:: DESTINATION "${_cmake_dir}")
configure_package_config_file(cmake/packsimConfig.cmake.in
  "${PROJECT_BINARY_DIR}/packsimConfig.cmake" INSTALL_DESTINATION "${_cmake_dir}"
  PATH_VARS PACKSIM_INSTALL_DATADIR)
# 0.x: a minor version may change the API.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/packsimConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/packsimConfig.cmake"
  "${PROJECT_BINARY_DIR}/packsimConfigVersion.cmake" DESTINATION "${_cmake_dir}")

# --- .deb -----------------------------------------------------------------------------------------
set(PACKSIM_PACKAGE_MAINTAINER "packsim maintainers <maintainers@packsim.invalid>" CACHE STRING
  "Maintainer field of the .deb")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME packsim)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR packsim)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "hardware-in-the-loop battery-pack simulator")
# The long description (CPack puts the summary above it and indents it).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "packsim integrates an equivalent-circuit electrical model and a lumped thermal
model for every cell of a series/parallel pack, measures the pack the way
cell-monitoring hardware does, and exchanges those measurements as CAN frames
(SocketCAN) with a BMS under test, in real time. Ships fitted cell models,
example packs and scenarios, protocol profiles (DBC), a reference BMS, a
systemd unit for HIL benches, and the model libraries for find_package().")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PACKSIM_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Depends: from the shared libraries the executables link (dpkg-shlibdeps; needs dpkg-dev, file).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What a consumer of find_package(packsim) compiles against.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libeigen3-dev, libtomlplusplus-dev, can-utils")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${PROJECT_SOURCE_DIR}/packaging/debian/conffiles;${PROJECT_SOURCE_DIR}/packaging/debian/postinst;${PROJECT_SOURCE_DIR}/packaging/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
include(CPack)
