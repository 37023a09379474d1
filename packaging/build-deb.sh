#!/usr/bin/env bash
# Build the gateway package: caudal-edge_<version>_<arch>.deb
#
#   packaging/build-deb.sh [--arch amd64|arm64] [--out DIR] [--python /usr/bin/python3]
#
# The package carries a Python virtual environment at /opt/caudal with caudal[edge]
# installed from this source tree (its dependencies come from PyPI through pip). A venv
# holds compiled wheels for the machine that built it, so the package is built on a host of
# the target architecture: build arm64 on an arm64 machine (a Raspberry Pi 4/5 with
# Raspberry Pi OS 64-bit, an arm64 VM) or in an emulated container on amd64, e.g.
#   docker run --rm --platform linux/arm64 -v "$PWD":/src -w /src debian:bookworm \
#     sh -c 'apt-get update && apt-get install -y python3-venv && packaging/build-deb.sh --arch arm64'
# (needs qemu-user-static/binfmt on the amd64 host). The target runs the same Debian
# release as the build host (the venv links to its /usr/bin/python3.X).
set -euo pipefail

usage() {
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  echo "build-deb.sh: $*" >&2
  exit 2
}

HERE="$(cd "$(dirname "$0")" && pwd)"
SOURCE="$(cd "$HERE/.." && pwd)"
ARCH="$(dpkg --print-architecture)"
OUT="$SOURCE/dist"
PYTHON=/usr/bin/python3

while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH="${2:?--arch needs a value}"; shift 2 ;;
    --out) OUT="${2:?--out needs a value}"; shift 2 ;;
    --python) PYTHON="${2:?--python needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

case "$ARCH" in
  amd64|arm64) ;;
  *) die "--arch must be amd64 or arm64, got '$ARCH'" ;;
esac
HOST_ARCH="$(dpkg --print-architecture)"
if [ "$ARCH" != "$HOST_ARCH" ]; then
  die "cannot build $ARCH on this $HOST_ARCH host: the venv holds native wheels; build on an $ARCH host or under qemu (see the top of this script)"
fi
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || die "$PYTHON has no venv/ensurepip: apt-get install python3-venv"

PYVER="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
PYTHON_REAL="/usr/bin/python$PYVER"
[ -x "$PYTHON_REAL" ] || die "$PYTHON_REAL not found: build with the distribution's python3 (--python /usr/bin/python3)"
VERSION="$("$PYTHON" -c 'import re, sys; print(re.search(r"__version__ = \"([^\"]+)\"", open(sys.argv[1]).read()).group(1))' "$SOURCE/caudal/__init__.py")"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/root"
PREFIX=/opt/caudal

echo "==> caudal-edge $VERSION for $ARCH (python $PYVER)"

# A clean copy of the source, so the build leaves nothing behind in the working tree.
mkdir -p "$WORK/src"
tar -C "$SOURCE" \
  --exclude=.git --exclude=.venv --exclude=dist --exclude=build --exclude='*.egg-info' \
  --exclude=__pycache__ --exclude=.pytest_cache --exclude=tests --exclude=node_modules \
  -cf - . | tar -C "$WORK/src" -xf -

echo "==> virtual environment at $PREFIX"
"$PYTHON_REAL" -m venv "$STAGE$PREFIX"
"$STAGE$PREFIX/bin/python" -m pip install --quiet --disable-pip-version-check "${WORK}/src[edge]"

# The venv was made under the staging root: point its scripts at the installed path, and
# drop the bytecode (it names staging paths; postinst compiles it in place).
grep -rlI --null "$STAGE$PREFIX" "$STAGE$PREFIX/bin" "$STAGE$PREFIX/pyvenv.cfg" \
  | xargs -0 sed -i "s#$STAGE$PREFIX#$PREFIX#g"
find "$STAGE$PREFIX" -name __pycache__ -type d -prune -exec rm -rf {} +

echo "==> files"
install -D -m 0644 "$SOURCE/systemd/caudal-edge.service" "$STAGE/lib/systemd/system/caudal-edge.service"
install -D -m 0644 "$HERE/site.yaml.example" "$STAGE/etc/caudal/site.yaml"
install -D -m 0644 "$HERE/README.md" "$STAGE/usr/share/doc/caudal-edge/README.md"
install -D -m 0644 "$HERE/99-caudal-serial.rules.example" "$STAGE/usr/share/doc/caudal-edge/99-caudal-serial.rules.example"
install -D -m 0644 "$SOURCE/docs/guia-tecnico.md" "$STAGE/usr/share/doc/caudal-edge/guia-tecnico.md"
mkdir -p "$STAGE/usr/bin"
ln -s "$PREFIX/bin/caudal" "$STAGE/usr/bin/caudal"

mkdir -p "$STAGE/DEBIAN"
for script in postinst prerm postrm; do
  install -m 0755 "$HERE/debian/$script" "$STAGE/DEBIAN/$script"
done
echo "/etc/caudal/site.yaml" > "$STAGE/DEBIAN/conffiles"
INSTALLED_SIZE="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@PYVER@/$PYVER/" \
  -e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" "$HERE/debian/control.in" > "$STAGE/DEBIAN/control"

mkdir -p "$OUT"
DEB="$OUT/caudal-edge_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz -z6 --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
