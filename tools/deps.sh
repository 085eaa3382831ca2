#!/usr/bin/env bash
# Set up everything K5 builds and tests with; idempotent and quick once done.
#
# 1. Debian packages (cross compiler, newlib, QEMU, host build tools): installs only what is missing.
# 2. MicroPython 1.25.0 source from Debian's source archive, sha256-checked, unpacked once into
#    $K5_CACHE (default ~/.cache/k5). Set K5_MICROPYTHON to use an existing v1.25.0 tree instead.
# 3. mpy-cross and the unix port built from that source.
# 4. The Python virtual environment (.venv) with the pinned tools and the project itself.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${K5_CACHE:-$HOME/.cache/k5}
mp_version=1.25.0
deb_version=1.25.0+ds-1
orig=micropython_1.25.0+ds.orig.tar.xz
orig_sha256=7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea
packages="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm build-essential libffi-dev pkg-config"

say() { echo "deps: $*"; }
die() { echo "deps: error: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root to run: $*"
    fi
}

# -- 1. Debian packages -------------------------------------------------------------------------
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
apt_updated=0
if [ -n "$missing" ]; then
    command -v apt-get >/dev/null || die "missing packages:$missing (install them with your package manager)"
    say "installing Debian packages:$missing"
    as_root apt-get update -qq
    apt_updated=1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# -- 2. MicroPython source -----------------------------------------------------------------------
if [ -n "${K5_MICROPYTHON:-}" ]; then
    mp=$K5_MICROPYTHON
    [ -f "$mp/py/mpconfig.h" ] || die "K5_MICROPYTHON=$mp is not a MicroPython source tree"
    grep -q "MICROPY_VERSION_MINOR (25)" "$mp/py/mpconfig.h" \
        || die "K5_MICROPYTHON=$mp is not MicroPython v1.25"
else
    mp=$cache/micropython-$mp_version
    if [ ! -f "$mp/.k5-unpacked" ]; then
        mkdir -p "$cache/src"
        if [ ! -f "$cache/src/$orig" ]; then
            # A deb-src entry for trixie, derived from this machine's own Debian sources file.
            srcfile=/etc/apt/sources.list.d/k5-micropython-src.sources
            if [ ! -f "$srcfile" ]; then
                base=/etc/apt/sources.list.d/debian.sources
                [ -f "$base" ] || die "no $base to derive a deb-src entry from; set K5_MICROPYTHON"
                uris=$(awk '/^URIs:/ {print; exit}' "$base")
                signed=$(awk '/^Signed-By:/ {print; exit}' "$base")
                [ -n "$uris" ] || die "no URIs: line in $base"
                say "adding a deb-src entry for trixie ($srcfile)"
                printf 'Types: deb-src\n%s\nSuites: trixie\nComponents: main\n%s\n' \
                    "$uris" "$signed" | as_root tee "$srcfile" >/dev/null
                apt_updated=0
            fi
            [ "$apt_updated" = 1 ] || as_root apt-get update -qq
            say "downloading micropython=$deb_version source"
            (cd "$cache/src" && apt-get source --download-only -qq "micropython=$deb_version" >/dev/null)
        fi
        echo "$orig_sha256  $cache/src/$orig" | sha256sum -c --quiet - \
            || die "sha256 mismatch for $cache/src/$orig"
        say "unpacking into $mp"
        rm -rf "$mp" "$mp.tmp"
        mkdir -p "$mp.tmp"
        tar -xJf "$cache/src/$orig" -C "$mp.tmp" --strip-components=1
        touch "$mp.tmp/.k5-unpacked"
        mv "$mp.tmp" "$mp"
    fi
fi
# py/mkrules.mk insists on micropython-lib's README.md; the Debian tarball has none.
mplib=$cache/micropython-lib
[ -f "$mplib/README.md" ] || { mkdir -p "$mplib"; echo "Empty: K5 requires no micropython-lib packages." > "$mplib/README.md"; }

# -- 3. mpy-cross and the unix port ----------------------------------------------------------------
jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -x "$mp/mpy-cross/build/mpy-cross" ]; then
    say "building mpy-cross"
    make -s -C "$mp/mpy-cross" -j"$jobs" >/dev/null
fi
unix=$mp/ports/unix/build-standard/micropython
if [ ! -x "$unix" ]; then
    say "building the MicroPython unix port"
    make -s -C "$mp/ports/unix" -j"$jobs" VARIANT=standard MICROPY_PY_BTREE=0 MICROPY_PY_SSL=0 \
        FROZEN_MANIFEST= MPY_LIB_DIR="$mplib" >/dev/null
fi

# -- 4. Python virtual environment ---------------------------------------------------------------
venv=$top/.venv
stamp=$venv/.k5-installed
if [ ! -f "$stamp" ] || [ "$top/pyproject.toml" -nt "$stamp" ]; then
    [ -x "$venv/bin/python" ] || { say "creating $venv"; python3 -m venv "$venv"; }
    say "installing the project and its pinned tools into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -e "$top[dev]"
    touch "$stamp"
fi
say "ready: MicroPython $mp"
