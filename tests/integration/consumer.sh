#!/usr/bin/env bash
# Use clayer the two ways the README documents, from outside its tree:
#  1. installed (meson install --destdir) and found through pkg-config;
#  2. as a meson subproject with dependency('clayer') and a fallback.
# Each consumer compiles the README's example and must print its result.
# usage: consumer.sh SOURCE_ROOT BUILD_ROOT EXAMPLE.c
set -euo pipefail
src=$1 build=$2 example=$3
expected="-2 -3 -5 -7 7"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. pkg-config against a staged install.
meson install -C "$build" --destdir "$work/stage" --no-rebuild >/dev/null
pcdir=$(dirname "$(find "$work/stage" -name clayer.pc | head -n1)")
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$work/stage
libdir=$(dirname "$(find "$work/stage" -name 'libclayer.so' | head -n1)")
# shellcheck disable=SC2046
cc -std=c11 "$example" $(pkg-config --cflags --libs clayer) -o "$work/app-pkgconfig"
out=$(LD_LIBRARY_PATH=$libdir "$work/app-pkgconfig")
echo "pkg-config consumer: $out"
grep -q -- "$expected" <<<"$out"
# The library carries its ABI version; the CLI finds it in the install
# prefix through its run path, not through LD_LIBRARY_PATH.
lib=$(find "$work/stage" -name 'libclayer.so.*.*' | head -n1)
readelf -d "$lib" | grep -q 'SONAME.*\[libclayer\.so\.1\]' || { echo "no soname libclayer.so.1 in $lib" >&2; exit 1; }
cli=$(find "$work/stage" -path '*/bin/clayer' | head -n1)
prefix_lib=${libdir#"$work/stage"}
readelf -d "$cli" | grep -E 'R(UN)?PATH' | grep -qF "$prefix_lib" ||
  { echo "the installed clayer has no run path to $prefix_lib" >&2; readelf -d "$cli" >&2; exit 1; }
# The interop header is installed too and stands on its own.
# shellcheck disable=SC2046
printf '#include <clayer_cl.h>\nint main(void) { cl_mem m = 0; return cly_cl_tensor_mem(0, &m, 0) != 0; }\n' |
  cc -std=c11 -Wall -Wextra -Werror -x c - $(pkg-config --cflags --libs clayer) -o "$work/app-cl"
# So does the MPI layer's, where the build has it (no MPI header needed).
if [ -n "$(find "$work/stage" -name clayer_mpi.pc)" ]; then
  # shellcheck disable=SC2046
  printf '#include <clayer_mpi.h>\nint main(void) { return cly_mpi_rank(0) != -1; }\n' |
    cc -std=c11 -Wall -Wextra -Werror -x c - $(pkg-config --cflags --libs clayer_mpi) -o "$work/app-mpi"
  LD_LIBRARY_PATH=$libdir "$work/app-mpi"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# 2. meson subproject.
mkdir -p "$work/app/subprojects"
ln -s "$(cd "$src" && pwd)" "$work/app/subprojects/clayer"
cp "$example" "$work/app/main.c"
cat >"$work/app/meson.build" <<'MESON'
project('consumer', 'c', default_options : ['c_std=c11'])
clayer_dep = dependency('clayer', fallback : ['clayer', 'clayer_dep'])
executable('app', 'main.c', dependencies : clayer_dep)
MESON
(cd "$work/app" && meson setup b --force-fallback-for=clayer >/dev/null && meson compile -C b >/dev/null)
out=$("$work/app/b/app")
echo "subproject consumer: $out"
grep -q -- "$expected" <<<"$out"
