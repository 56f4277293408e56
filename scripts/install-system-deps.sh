#!/usr/bin/env bash
# Installs the Debian packages hindsight's tests and benchmarks use (Debian 12):
#   qemu-system-misc   differential oracle (qemu-system-riscv64)
#   opensbi, u-boot-qemu  real firmware booted by the tests
#   gdb-multiarch      the debugger the gdbstub tests drive
#   device-tree-compiler  dtc, to check the generated device tree
#   gcc-riscv64-unknown-elf, picolibc-riscv64-unknown-elf  to rebuild test/guests (make guests)
#   linux-source-6.1, gcc-riscv64-linux-gnu, bc, flex, bison, libssl-dev, libelf-dev, cpio
#                      the Linux test guest (scripts/build-linux-guest.sh builds it once and caches it)
#   chromium           headless browser that renders `trace timeline` pictures in the tests
#   gcc, libc6-dev     hindsight's one native module (scripts/build-native.sh: glibc malloc tuning)
set -euo pipefail
packages=(qemu-system-misc opensbi u-boot-qemu gdb-multiarch device-tree-compiler
  gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf chromium
  linux-source-6.1 gcc-riscv64-linux-gnu bc flex bison libssl-dev libelf-dev cpio make xz-utils gcc libc6-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
