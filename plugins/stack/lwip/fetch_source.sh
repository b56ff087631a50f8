#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fetch_source.sh - Debian's source package of lwIP, unpacked with Debian's
# own patches and then Oryx's (patches/series), for the stack's build.
#
#   fetch_source.sh VERSION CACHE_DIR DEST_DIR PATCH_DIR
#
# The package files (.dsc, .orig.tar.xz, .debian.tar.xz) are fetched once
# into CACHE_DIR with `apt-get source --download-only` through a sources
# list of the build's own (a deb-src line for this Debian release), so the
# machine's apt configuration is left as it is; later builds, and builds
# without a network, use the cache. DEST_DIR is re-made when the version
# or a patch changes (a stamp records both).
#
# Environment: ORYX_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# ORYX_DEBIAN_SUITE (default: VERSION_CODENAME of /etc/os-release).
set -euo pipefail
VERSION=$1 CACHE=$2 DEST=$3 PATCHES=$4
PACKAGE=lwip
UPSTREAM=${VERSION%-*}        # 2.1.3+dfsg1
DSC="$CACHE/${PACKAGE}_${VERSION}.dsc"
say() { echo "-- lwIP source: $*" >&2; }
die() { echo "lwIP source: $*" >&2; exit 1; }

fetch() {
  local suite mirror apt
  mirror=${ORYX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  suite=${ORYX_DEBIAN_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-}")}
  [ -n "$suite" ] || die "cannot tell the Debian release (set ORYX_DEBIAN_SUITE)"
  command -v apt-get >/dev/null || die "apt-get is missing: put ${DSC##*/} and its files in $CACHE"
  apt="$CACHE/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  echo "deb-src $mirror $suite main" >"$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root -qq)
  say "fetching $PACKAGE=$VERSION from $mirror $suite (deb-src, private sources list)"
  apt-get "${opts[@]}" update >&2 ||
    die "cannot read the source index of $mirror $suite; with no network, put ${DSC##*/} and its files in $CACHE"
  (cd "$CACHE" && apt-get "${opts[@]}" source --download-only "$PACKAGE=$VERSION" >&2) ||
    die "Debian has no source package $PACKAGE=$VERSION at $mirror $suite (set ORYX_DEBIAN_MIRROR, or put ${DSC##*/} and its files in $CACHE)"
}

mkdir -p "$CACHE"
[ -f "$DSC" ] || fetch
command -v dpkg-source >/dev/null || die "dpkg-source is missing (Debian package dpkg-dev)"

stamp="$VERSION $(cd "$PATCHES" && cat series $(grep -v '^#' series) 2>/dev/null | sha256sum | cut -c1-16)"
if [ -f "$DEST/.oryx-stamp" ] && [ "$(cat "$DEST/.oryx-stamp")" = "$stamp" ]; then exit 0; fi

say "unpacking $PACKAGE $VERSION into $DEST"
rm -rf "$DEST" "$DEST.tmp"
mkdir -p "$(dirname "$DEST")"
dpkg-source --no-check -x "$DSC" "$DEST.tmp" >/dev/null || die "dpkg-source could not unpack $DSC"
[ -f "$DEST.tmp/src/core/tcp_in.c" ] || die "$DSC does not hold lwIP $UPSTREAM's sources"
while read -r patch; do
  case "$patch" in '' | '#'*) continue ;; esac
  say "applying $patch"
  patch -d "$DEST.tmp" -p1 --batch --forward --quiet <"$PATCHES/$patch" >&2 ||
    die "patches/$patch does not apply to $PACKAGE $VERSION"
done <"$PATCHES/series"
echo "$stamp" >"$DEST.tmp/.oryx-stamp"
mv "$DEST.tmp" "$DEST"
