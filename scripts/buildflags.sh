#!/usr/bin/env bash
# Prints, one per line, the CMake arguments that build osbd with Debian's hardening flags
# (dpkg-buildflags with DEB_BUILD_MAINT_OPTIONS=hardening=+all): stack protector,
# _FORTIFY_SOURCE=2, format-security, full RELRO (-z relro -z now) and PIE (Debian's g++ builds
# position-independent executables by default; CMAKE_POSITION_INDEPENDENT_CODE is ON as well).
# scripts/package.sh and the g++ suite of scripts/test.sh, whose build the package test installs,
# configure with them:
#   mapfile -t flags < <(bash scripts/buildflags.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

flag() { DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get "$1"; }
cppflags=$(flag CPPFLAGS)
printf '%s\n' \
  "-DCMAKE_C_FLAGS=$cppflags $(flag CFLAGS)" \
  "-DCMAKE_CXX_FLAGS=$cppflags $(flag CXXFLAGS)" \
  "-DCMAKE_EXE_LINKER_FLAGS=$(flag LDFLAGS)" \
  "-DCMAKE_SHARED_LINKER_FLAGS=$(flag LDFLAGS)" \
  "-DCMAKE_MODULE_LINKER_FLAGS=$(flag LDFLAGS)"
