# SPDX-License-Identifier: MIT
#
# Hardening flags of every build (RV_HARDENING, default ON), as Debian's
# dpkg-buildflags gives them with hardening=+all, so that a plain
# `cmake -S . -B build` makes the same kind of binaries as the package:
#   -fstack-protector-strong      canaries in functions with local arrays
#   -D_FORTIFY_SOURCE=2           checked memcpy/snprintf/...; only where the
#                                 build optimises (glibc ignores it at -O0
#                                 and warns); kept out when the flags given
#                                 already choose a level (dpkg: 2, others 3)
#   PIE                           position-independent executables (ASLR)
#   -Wl,-z,relro -Wl,-z,now       relocations resolved at start, then read-only
#   -fstack-clash-protection      (where the compiler has it) stack probes
# Not -fcf-protection: Debian 12's start files lack the IBT/SHSTK note, so
# no binary linked with them is marked, whatever its own objects are
# (hardening-check runs with --nocfprotection for that reason).
# Targets that must not have them (bench/'s libc-less stand-in services)
# turn them off for themselves.  tests/CMakeLists.txt checks the result
# with hardening-check (devscripts) where it is installed.

if(NOT RV_HARDENING)
	return()
endif()

include(CheckPIESupported)
check_pie_supported(OUTPUT_VARIABLE rv_pie_output LANGUAGES C)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

include(CheckCCompilerFlag)
add_compile_options(-fstack-protector-strong)
foreach(flag -fstack-clash-protection)
	string(MAKE_C_IDENTIFIER "RV_HAVE${flag}" var)
	check_c_compiler_flag(${flag} ${var})
	if(${var})
		add_compile_options(${flag})
	endif()
endforeach()
if(NOT "${CMAKE_C_FLAGS} ${CMAKE_CPP_FLAGS}" MATCHES "_FORTIFY_SOURCE")
	# optimised configurations only: Debug (the sanitizer build) is -O0
	add_compile_definitions($<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
endif()
add_link_options(-Wl,-z,relro -Wl,-z,now)
