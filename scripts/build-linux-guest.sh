#!/usr/bin/env bash
# Builds hindsight's Linux test guest: Debian's linux-source-6.1, `make tinyconfig` plus our
# fragment (test/guests/linux/kernel.config), with an initramfs holding our own init programs
# (test/guests/linux/bin/). The result is cached outside the repository by a hash of everything
# that goes into it, so it is built once and rebuilt only when an input changes:
#   ${HINDSIGHT_CACHE:-~/.cache/hindsight}/linux-<hash>/{Image,vmlinux}
# Prints that directory on stdout (progress and the build log go to stderr / build.log).
# A missing tool or source is an error naming the Debian package, never a skip.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
guest="$root/test/guests/linux"
tarball="${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}"
cache="${HINDSIGHT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hindsight}"
cross=riscv64-linux-gnu-

fail() { echo "build-linux-guest: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed: install the Debian package $2 (scripts/install-system-deps.sh does)"; }

[ -r "$tarball" ] || fail "$tarball is missing: install the Debian package linux-source-6.1 (scripts/install-system-deps.sh does)"
need "${cross}gcc" gcc-riscv64-linux-gnu
need make make
need bc bc
need flex flex
need bison bison
need cpio cpio
need xz xz-utils
need sha256sum coreutils
need flock util-linux
[ -e /usr/include/openssl/ssl.h ] || fail "OpenSSL headers are missing: install the Debian package libssl-dev"
[ -e /usr/include/gelf.h ] || fail "libelf headers are missing: install the Debian package libelf-dev"
for f in kernel.config initramfs.list bin/init bin/idle bin/fpinit; do
  [ -r "$guest/$f" ] || fail "$guest/$f is missing (make -C test/guests/linux rebuilds the programs)"
done

key="$( { cat "$guest/kernel.config" "$guest/initramfs.list" "$guest/bin/init" "$guest/bin/idle" "$guest/bin/fpinit" "${BASH_SOURCE[0]}";
          stat -c '%s %Y' "$tarball"; } | sha256sum | cut -c1-16)"
out="$cache/linux-$key"
if [ -s "$out/Image" ] && [ -s "$out/vmlinux" ]; then echo "$out"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/build.lock"
flock 9 # one build at a time: parallel test workers wait for the first one
if [ -s "$out/Image" ] && [ -s "$out/vmlinux" ]; then echo "$out"; exit 0; fi

# The source tree is shared by every configuration (builds are out of tree).
src="$cache/linux-source-6.1"
if [ ! -e "$src/.extracted" ]; then
  echo "build-linux-guest: extracting $tarball" >&2
  rm -rf "$src" "$src.tmp"
  mkdir -p "$src.tmp"
  tar -xf "$tarball" -C "$src.tmp" --strip-components=1
  touch "$src.tmp/.extracted"
  mv "$src.tmp" "$src"
fi

work="$out.tmp"
rm -rf "$work"
mkdir -p "$work/obj" "$work/initramfs"
cp "$guest/bin/init" "$guest/bin/idle" "$guest/bin/fpinit" "$work/initramfs/"
sed "s|@BIN@|$work/initramfs|g" "$guest/initramfs.list" > "$work/initramfs/list"
printf 'CONFIG_INITRAMFS_SOURCE="%s"\n' "$work/initramfs/list" > "$work/initramfs.config"

log="$work/build.log"
echo "build-linux-guest: building Linux into $out (log: $log); 2-8 minutes" >&2
mk() { make -C "$src" O="$work/obj" ARCH=riscv CROSS_COMPILE="$cross" "$@" >>"$log" 2>&1; }
if ! { mk tinyconfig &&
       (cd "$work/obj" && "$src/scripts/kconfig/merge_config.sh" -m .config "$guest/kernel.config" "$work/initramfs.config" >>"$log" 2>&1) &&
       mk olddefconfig &&
       mk -j"$(nproc)" Image; }; then
  tail -n 30 "$log" >&2
  fail "the kernel build failed (full log: $log)"
fi
# Every line of our fragment must have survived olddefconfig: a dropped option is a silent misconfiguration.
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  name="${line%%=*}"; value="${line#*=}"
  if [ "$value" = n ]; then
    grep -qx "# $name is not set" "$work/obj/.config" || grep -qx "$name=n" "$work/obj/.config" || ! grep -q "^$name=" "$work/obj/.config" || fail "$name=n was not kept by the kernel configuration"
  else
    grep -qxF "$line" "$work/obj/.config" || fail "$line was not kept by the kernel configuration (see $work/obj/.config)"
  fi
done < "$guest/kernel.config"

mkdir -p "$work/final"
cp "$work/obj/arch/riscv/boot/Image" "$work/obj/vmlinux" "$work/obj/.config" "$log" "$work/final/"
rm -rf "$out"
mv "$work/final" "$out"
rm -rf "$work"
echo "$out"
