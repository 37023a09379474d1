#!/usr/bin/env bash
# Install the Caudal edge agent on a plain Debian 12 or Raspberry Pi OS (bookworm) host,
# in the same layout as the caudal-edge .deb (see packaging/README.md):
#
#   sudo scripts/install-edge.sh [--source DIR] [--no-enable]
#
# /opt/caudal (venv with caudal[edge] from the source tree DIR, default: this checkout),
# /etc/caudal/site.yaml (the commented example, only if there is none yet), the system
# user caudal in group dialout, /var/lib/caudal and caudal-edge.service. The service is
# enabled and started only when `caudal edge check` passes on /etc/caudal/site.yaml: an
# enabled agent with the example config would fail and restart every 5 s from every boot.
# Otherwise finish commissioning (caudal edge init / check), then: systemctl enable --now caudal-edge
set -euo pipefail

SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
ENABLE=1
PREFIX=/opt/caudal

while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE="$(cd "${2:?--source needs a directory}" && pwd)"; shift 2 ;;
    --no-enable) ENABLE=0; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-edge.sh: argumento desconocido: $1" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "install-edge.sh: ejecútelo como root (sudo)" >&2
  exit 2
fi

echo "==> paquetes"
apt-get update -q
apt-get install -y -q python3 python3-venv adduser

echo "==> usuario caudal"
getent group caudal >/dev/null || addgroup --system caudal
getent passwd caudal >/dev/null || adduser --system --ingroup caudal --home /var/lib/caudal \
  --no-create-home --shell /usr/sbin/nologin --gecos "Caudal edge agent" caudal
adduser caudal dialout >/dev/null
install -d -o caudal -g caudal -m 0750 /var/lib/caudal

echo "==> $PREFIX"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
tar -C "$SOURCE" --exclude=.git --exclude=.venv --exclude=dist --exclude=build \
  --exclude='*.egg-info' --exclude=__pycache__ --exclude=tests -cf - . | tar -C "$WORK" -xf -
[ -x "$PREFIX/bin/python" ] || python3 -m venv "$PREFIX"
"$PREFIX/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "${WORK}[edge]"
ln -sfn "$PREFIX/bin/caudal" /usr/bin/caudal

echo "==> /etc/caudal"
install -d -o root -g caudal -m 0755 /etc/caudal
if [ ! -e /etc/caudal/site.yaml ]; then
  install -m 0644 "$SOURCE/packaging/site.yaml.example" /etc/caudal/site.yaml
fi
if [ -f /etc/caudal/token ]; then
  chown root:caudal /etc/caudal/token
  chmod 0640 /etc/caudal/token
fi
install -d /usr/share/doc/caudal-edge
install -m 0644 "$SOURCE/packaging/README.md" "$SOURCE/packaging/99-caudal-serial.rules.example" \
  "$SOURCE/docs/guia-tecnico.md" /usr/share/doc/caudal-edge/

echo "==> caudal-edge.service"
install -m 0644 "$SOURCE/systemd/caudal-edge.service" /lib/systemd/system/caudal-edge.service
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$ENABLE" -eq 1 ]; then
    if "$PREFIX/bin/caudal" edge check -c /etc/caudal/site.yaml; then
      systemctl enable caudal-edge.service
      systemctl restart caudal-edge.service
      echo "caudal-edge habilitado y en marcha: /etc/caudal/site.yaml pasa caudal edge check"
    elif systemctl is-enabled --quiet caudal-edge.service; then
      echo "caudal-edge NO reiniciado: /etc/caudal/site.yaml no pasa caudal edge check (vea arriba)." >&2
      echo "Corríjalo y luego: systemctl restart caudal-edge" >&2
    else
      echo "caudal-edge NO habilitado: /etc/caudal/site.yaml no pasa caudal edge check (vea arriba)." >&2
      echo "Termine la puesta en marcha (caudal edge init, caudal edge check) y luego: systemctl enable --now caudal-edge" >&2
    fi
  fi
fi
echo "instalado; siguiente: caudal edge scan, caudal edge init, caudal edge check (vea /usr/share/doc/caudal-edge/guia-tecnico.md)"
