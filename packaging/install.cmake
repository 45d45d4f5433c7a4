# SPDX-License-Identifier: MIT
#
# Included at the end of the top-level CMakeLists.txt: the shared
# libringvisor, the man pages, the install rules and the `deb` target.
# Nothing here changes ringvisor_core, rv_loop or the `ringvisor` binary
# the tests use.
#
#   RV_SHARED_LIB      build libringvisor.so.0 (default ON)
#   RV_PACKAGING       a distribution build: scdoc is required (default OFF;
#                      otherwise the man pages are skipped with a message)
#   RV_SYSTEMD_UNIT_DIR where ringvisor.service goes
#
# `cmake --build BUILD --target deb` runs packaging/build-deb, which copies
# the tree with packaging/debian as debian/ and calls dpkg-buildpackage.

include(GNUInstallDirs)

option(RV_SHARED_LIB "Build libringvisor.so for programs that embed it" ON)
option(RV_PACKAGING "Distribution build: man pages (scdoc) are required" OFF)

# --- libringvisor.so.0 -------------------------------------------------------
# The same sources as ringvisor_core, compiled once more as PIC.  Its ABI is
# exactly the functions declared in include/ringvisor.h (not the static
# inline ones): the version script is generated from the header, so a
# function added there is exported, and every other symbol (the internal
# rv_* helpers included) stays local.
if(RV_SHARED_LIB)
	set(RV_PUBLIC_HEADER ${CMAKE_SOURCE_DIR}/include/ringvisor.h)
	set_property(DIRECTORY ${CMAKE_SOURCE_DIR} APPEND PROPERTY
		CMAKE_CONFIGURE_DEPENDS ${RV_PUBLIC_HEADER})
	file(STRINGS ${RV_PUBLIC_HEADER} rv_decls
		REGEX "^[a-z][a-z0-9_ *]*[ *]rv_[a-z0-9_]+\\(")
	set(RV_ABI_SYMBOLS "")
	foreach(decl IN LISTS rv_decls)
		if(NOT decl MATCHES "^(typedef|static)" AND
		   decl MATCHES "[ *](rv_[a-z0-9_]+)\\(")
			list(APPEND RV_ABI_SYMBOLS ${CMAKE_MATCH_1})
		endif()
	endforeach()
	list(REMOVE_DUPLICATES RV_ABI_SYMBOLS)
	if(NOT RV_ABI_SYMBOLS)
		message(FATAL_ERROR "no rv_* function found in ${RV_PUBLIC_HEADER}")
	endif()
	list(JOIN RV_ABI_SYMBOLS ";\n\t\t" rv_abi_list)
	set(RV_VERSION_SCRIPT ${CMAKE_BINARY_DIR}/libringvisor.map)
	file(CONFIGURE OUTPUT ${RV_VERSION_SCRIPT} CONTENT
"/* Generated from include/ringvisor.h by packaging/install.cmake. */
LIBRINGVISOR_0 {
	global:
		${rv_abi_list};
	local:
		*;
};
")

	add_library(ringvisor_shared SHARED ${RV_LIB_SRC})
	target_include_directories(ringvisor_shared
		PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
			$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
		PRIVATE ${CMAKE_SOURCE_DIR}/src)
	target_compile_options(ringvisor_shared PRIVATE ${RV_WARN})
	target_link_libraries(ringvisor_shared PRIVATE rv_loop PkgConfig::LIBCAP
		PkgConfig::INIH PkgConfig::JANSSON rv_dlopened
		Threads::Threads m)
	target_link_options(ringvisor_shared PRIVATE
		-Wl,--version-script=${RV_VERSION_SCRIPT} -Wl,--no-undefined)
	set_target_properties(ringvisor_shared PROPERTIES
		OUTPUT_NAME ringvisor
		EXPORT_NAME ringvisor
		VERSION ${PROJECT_VERSION}
		SOVERSION 0
		LINK_DEPENDS ${RV_VERSION_SCRIPT})
	install(TARGETS ringvisor_shared EXPORT ringvisorTargets
		LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
			COMPONENT runtime NAMELINK_COMPONENT dev)

	# CMake: find_package(ringvisor) gives the imported target
	# ringvisor::ringvisor (the shared library and its include directory),
	# from files installed beside the .pc.
	include(CMakePackageConfigHelpers)
	set(rv_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/ringvisor)
	install(EXPORT ringvisorTargets NAMESPACE ringvisor::
		DESTINATION ${rv_cmake_dir} COMPONENT dev)
	configure_package_config_file(
		${CMAKE_SOURCE_DIR}/packaging/ringvisorConfig.cmake.in
		${CMAKE_BINARY_DIR}/ringvisorConfig.cmake
		INSTALL_DESTINATION ${rv_cmake_dir})
	# the ABI is the soname's: 0.x releases are compatible with each other
	write_basic_package_version_file(
		${CMAKE_BINARY_DIR}/ringvisorConfigVersion.cmake
		COMPATIBILITY SameMajorVersion)
	install(FILES ${CMAKE_BINARY_DIR}/ringvisorConfig.cmake
		${CMAKE_BINARY_DIR}/ringvisorConfigVersion.cmake
		DESTINATION ${rv_cmake_dir} COMPONENT dev)

	# pkg-config: shared linking only, and the header needs nothing but
	# libc, so no Requires.private that would drag the -dev packages of
	# liburing, libcap, inih, jansson, libmicrohttpd and libsystemd into
	# every embedder's build.
	if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
		set(RV_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
	else()
		set(RV_PC_LIBDIR "\${exec_prefix}/${CMAKE_INSTALL_LIBDIR}")
	endif()
	if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
		set(RV_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
	else()
		set(RV_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
	endif()
	configure_file(${CMAKE_SOURCE_DIR}/packaging/ringvisor.pc.in
		${CMAKE_BINARY_DIR}/ringvisor.pc @ONLY)
	install(FILES ${CMAKE_BINARY_DIR}/ringvisor.pc
		DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
	install(FILES ${RV_PUBLIC_HEADER}
		DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
endif()

# --- man pages (docs/man/*.scd -> roff at build time) -----------------------
find_program(SCDOC scdoc)
if(NOT SCDOC AND RV_PACKAGING)
	message(FATAL_ERROR "scdoc not found: it is required with RV_PACKAGING=ON (apt-get install scdoc)")
elseif(NOT SCDOC)
	message(STATUS "scdoc not found: man pages will not be built or installed (apt-get install scdoc)")
else()
	set(rv_man_pages ringvisor.1 ringvisor.conf.5 ringvisor-bench.1)
	set(rv_man_out "")
	foreach(page IN LISTS rv_man_pages)
		set(src ${CMAKE_SOURCE_DIR}/docs/man/${page}.scd)
		set(out ${CMAKE_BINARY_DIR}/man/${page})
		add_custom_command(OUTPUT ${out}
			COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
			COMMAND sh -c "\"$0\" < \"$1\" > \"$2.tmp\" && mv \"$2.tmp\" \"$2\""
				${SCDOC} ${src} ${out}
			DEPENDS ${src}
			COMMENT "scdoc ${page}"
			VERBATIM)
		list(APPEND rv_man_out ${out})
	endforeach()
	add_custom_target(man ALL DEPENDS ${rv_man_out})
	install(FILES ${CMAKE_BINARY_DIR}/man/ringvisor.1
		DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
	install(FILES ${CMAKE_BINARY_DIR}/man/ringvisor.conf.5
		DESTINATION ${CMAKE_INSTALL_MANDIR}/man5 COMPONENT runtime)
	# Only alongside the program it documents (bench/, issue 7).
	if(TARGET ringvisor-bench)
		install(FILES ${CMAKE_BINARY_DIR}/man/ringvisor-bench.1
			DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
	endif()
endif()

# --- default config, systemd unit, bash completion --------------------------
# The default config path is compiled into the CLI (/etc/ringvisor/...);
# with CMAKE_INSTALL_PREFIX=/usr, GNUInstallDirs puts sysconfdir at /etc.
install(FILES ${CMAKE_SOURCE_DIR}/packaging/ringvisor.conf
	DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/ringvisor COMPONENT runtime)
# conf.d/: the [include] of that config, empty (drop-in files of admins)
install(DIRECTORY DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/ringvisor/conf.d
	COMPONENT runtime)

if(NOT DEFINED RV_SYSTEMD_UNIT_DIR)
	set(rv_unit_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
	if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
		pkg_get_variable(rv_pc_unit_dir systemd systemdsystemunitdir)
		if(rv_pc_unit_dir)
			set(rv_unit_dir "${rv_pc_unit_dir}")
		endif()
	endif()
	set(RV_SYSTEMD_UNIT_DIR "${rv_unit_dir}" CACHE PATH
		"Directory for ringvisor.service")
endif()
configure_file(${CMAKE_SOURCE_DIR}/packaging/systemd/ringvisor.service.in
	${CMAKE_BINARY_DIR}/ringvisor.service @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/ringvisor.service
	DESTINATION ${RV_SYSTEMD_UNIT_DIR} COMPONENT runtime)

install(FILES ${CMAKE_SOURCE_DIR}/packaging/bash-completion/ringvisor
	DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
	COMPONENT runtime)

# --- `cmake --build BUILD --target deb` -------------------------------------
add_custom_target(deb
	COMMAND ${CMAKE_SOURCE_DIR}/packaging/build-deb ${CMAKE_BINARY_DIR}/deb
	WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
	COMMENT "dpkg-buildpackage -us -uc -b (results in ${CMAKE_BINARY_DIR}/deb)"
	USES_TERMINAL
	VERBATIM)
