#!/usr/bin/env bash
# Maneja los servicios centrales de Caudal: core (8000), telemetry (8001), compliance (8002), alerts (8003).
#
#   scripts/manage-modular.sh COMANDO [all|core|telemetry|compliance|alerts] [-f]
#
#   start      inicia el o los servicios; iniciar uno que ya corre no cambia nada
#   stop       detiene: SIGTERM, una espera acotada (CAUDAL_STOP_TIMEOUT, 20 s), luego SIGKILL
#   restart    stop, luego start
#   status     dice qué corre (sale con 3 si algo pedido no corre)
#   logs       las últimas líneas del log (CAUDAL_LOG_LINES, 100); -f lo sigue
#   health     pregunta /readyz a cada servicio; sale con 1 si alguno no está listo
#   migrate    aplica las migraciones de la base de datos (los servicios comparten un solo
#              esquema: el rol sólo dice en nombre de quién; todo rol migra el esquema entero)
#   mode       muestra cómo se manejan aquí los servicios: docker, systemd o native
#
# Cómo corren los servicios, elegido en este orden (CAUDAL_MANAGE_MODE=docker|systemd|native
# fuerza uno):
#   docker   Docker Compose con docker/docker-compose.modular.yml, si
#            `docker compose version` y `docker info` funcionan;
#   systemd  las unidades caudal-central@ROL, si caudal-central@.service está instalada;
#   native   procesos simples: archivos pid y log en CAUDAL_RUN_DIR (./run), puertos
#            CAUDAL_CORE_PORT/CAUDAL_TELEMETRY_PORT/CAUDAL_COMPLIANCE_PORT/CAUDAL_ALERTS_PORT
#            en CAUDAL_HOST (127.0.0.1), el programa de CAUDAL_BIN, .venv/bin/caudal o el
#            PATH. La configuración (CAUDAL_DATABASE_URL...) viene del entorno, o del archivo
#            CAUDAL_ENV_FILE si está definido; CAUDAL_ALERT_EVALUATION es role por omisión, como
#            en Docker: telemetry deja la evaluación de alertas al único proceso alerts.
#
# "all" son todos los roles; con systemd, alerts sólo donde está configurado
# (/etc/caudal/central-alerts.env: su unidad necesita ese archivo, y el rol es opcional).
#
# Documentación: docs/ARQUITECTURA_MODULAR.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROLES=(core telemetry compliance alerts)
COMPOSE_FILE=${CAUDAL_COMPOSE_FILE:-$ROOT/docker/docker-compose.modular.yml}
SYSTEMD_CONFIG_DIR=${CAUDAL_SYSTEMD_CONFIG_DIR:-/etc/caudal}
SYSTEMD_BIN=/opt/caudal/bin/caudal   # ExecStart of systemd/caudal-central@.service
SYSTEMD_WORKDIR=/var/lib/caudal      # its WorkingDirectory (a relative SQLite path resolves there)
START_TIMEOUT=${CAUDAL_START_TIMEOUT:-30}
STOP_TIMEOUT=${CAUDAL_STOP_TIMEOUT:-20}
LOG_LINES=${CAUDAL_LOG_LINES:-100}

# The comment at the top: on stdout when asked for (exit 0), on stderr after a wrong call (exit 2).
usage() {
  local status=$1
  if [ "$status" -eq 0 ]; then
    sed -n '2,/^# Documentación:/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  else
    sed -n '2,/^# Documentación:/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  fi
  exit "$status"
}

fail() {
  printf 'error: %s\n' "$*" >&2
  exit 2
}

default_port() {
  case "$1" in
    core) echo 8000 ;;
    telemetry) echo 8001 ;;
    compliance) echo 8002 ;;
    alerts) echo 8003 ;;
  esac
}

# --- how the services run here ---------------------------------------------------------

docker_works() {
  command -v docker >/dev/null 2>&1 &&
    docker compose version >/dev/null 2>&1 &&
    docker info >/dev/null 2>&1
}

systemd_units_installed() {
  command -v systemctl >/dev/null 2>&1 &&
    systemctl cat caudal-central@core.service >/dev/null 2>&1
}

detect_mode() {
  case "${CAUDAL_MANAGE_MODE:-}" in
    docker | systemd | native) echo "$CAUDAL_MANAGE_MODE" ;;
    "")
      if docker_works; then
        echo docker
      elif systemd_units_installed; then
        echo systemd
      else
        echo native
      fi
      ;;
    *) fail "CAUDAL_MANAGE_MODE='$CAUDAL_MANAGE_MODE': use docker, systemd o native" ;;
  esac
}

# --- HTTP checks ------------------------------------------------------------------------

# GET URL: sets HTTP_STATUS (000 when nothing answers) and HTTP_BODY.
http_get() {
  local reply
  if command -v curl >/dev/null 2>&1; then
    reply=$(curl --silent --max-time 5 --write-out '\n%{http_code}' "$1" 2>/dev/null) || true
  else
    reply=$(python3 - "$1" <<'PY'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as answer:
        status, body = answer.status, answer.read()
except urllib.error.HTTPError as error:
    status, body = error.code, error.read()
except OSError:
    status, body = 0, b""
print(body.decode(errors="replace"))
print(f"{status:03d}")
PY
    )
  fi
  HTTP_STATUS=${reply##*$'\n'}
  HTTP_BODY=${reply%$'\n'*}
  [[ "$HTTP_STATUS" =~ ^[0-9]{3}$ ]] || HTTP_STATUS=000
}

# Checks /readyz of one role at HOST:PORT; prints a line, returns non-zero when not ready.
check_ready() {
  local role=$1 host=$2 port=$3
  http_get "http://$host:$port/readyz"
  case "$HTTP_STATUS" in
    200) printf '%-11s listo (http://%s:%s)\n' "$role:" "$host" "$port" ;;
    000)
      printf '%-11s NO RESPONDE en http://%s:%s\n' "$role:" "$host" "$port"
      return 1
      ;;
    *)
      printf '%-11s NO LISTO (HTTP %s): %s\n' "$role:" "$HTTP_STATUS" "$HTTP_BODY"
      return 1
      ;;
  esac
}

# --- native: processes with pid files ---------------------------------------------------

caudal_bin() {
  if [ -n "${CAUDAL_BIN:-}" ]; then
    [ -x "$CAUDAL_BIN" ] || fail "CAUDAL_BIN=$CAUDAL_BIN no es un archivo ejecutable"
    echo "$CAUDAL_BIN"
  elif [ -x "$ROOT/.venv/bin/caudal" ]; then
    echo "$ROOT/.venv/bin/caudal"
  elif command -v caudal >/dev/null 2>&1; then
    command -v caudal
  else
    fail "no se encuentra el programa caudal: defina CAUDAL_BIN, corra 'make install' o ponga caudal en el PATH"
  fi
}

load_env_file() {
  if [ -n "${CAUDAL_ENV_FILE:-}" ]; then
    [ -r "$CAUDAL_ENV_FILE" ] || fail "CAUDAL_ENV_FILE=$CAUDAL_ENV_FILE no se puede leer"
    set -a
    # shellcheck disable=SC1090  # the operator's settings file
    . "$CAUDAL_ENV_FILE"
    set +a
  fi
}

native_port() {
  local var
  var="CAUDAL_$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')_PORT"
  echo "${!var:-$(default_port "$1")}"
}

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$RUN_DIR/$1.log"; }

# The pid of ROLE's running server, or nothing. A pid file whose process is gone, or
# now belongs to another program, is stale: it is removed (and said so on stderr).
running_pid() {
  local role=$1 file pid
  file=$(pid_file "$role")
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && is_server_of "$pid" "$role"; then
    echo "$pid"
    return 0
  fi
  rm -f "$file"
  printf '%s: se borró un archivo pid viejo (el pid %s no es su servidor en marcha)\n' "$role" "${pid:-?}" >&2
}

# Whether process PID exists and has not ended (a zombie waiting for its parent has).
# The process may vanish between the two checks: a /proc entry gone meanwhile reads as
# nothing, and the caller's next check sees it gone.
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 1) || true
  [ "$state" != Z ]
}

# Whether process PID runs "central serve --role ROLE" (pids are reused after a reboot).
is_server_of() {
  local args
  if [ -r "/proc/$1/cmdline" ]; then
    args=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" || true)
  else
    args=$(ps -o args= -p "$1" 2>/dev/null || true)
  fi
  [[ "$args" == *"central serve --role $2 "* ]]
}

# Starts every ROLE that is not running, all at once, then waits for each to answer.
native_start() {
  local role pid status=0 started=()
  mkdir -p "$RUN_DIR"
  for role in "$@"; do
    pid=$(running_pid "$role")
    if [ -n "$pid" ]; then
      printf '%s: ya corre (pid %s, puerto %s)\n' "$role" "$pid" "$(native_port "$role")"
    else
      launch "$role"
      started+=("$role")
    fi
  done
  for role in "${started[@]}"; do
    wait_until_alive "$role" || status=1
  done
  return "$status"
}

launch() {
  local role=$1 port log
  port=$(native_port "$role")
  log=$(log_file "$role")
  printf '\n--- %s: se inicia %s en %s:%s\n' "$(date -u +%FT%TZ)" "$role" "$HOST" "$port" >>"$log"
  nohup "$CAUDAL" central serve --role "$role" --host "$HOST" --port "$port" </dev/null >>"$log" 2>&1 &
  echo $! >"$(pid_file "$role")"
}

# Waits (at most START_TIMEOUT s) until ROLE's new process answers /healthz.
wait_until_alive() {
  local role=$1 pid port deadline=$((SECONDS + START_TIMEOUT))
  pid=$(cat "$(pid_file "$role")")
  port=$(native_port "$role")
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! alive "$pid"; then
      rm -f "$(pid_file "$role")"
      printf '%s: terminó durante el arranque; el final de %s:\n' "$role" "$(log_file "$role")" >&2
      tail -n 20 "$(log_file "$role")" >&2
      return 1
    fi
    http_get "http://$HOST:$port/healthz"
    if [ "$HTTP_STATUS" = 200 ]; then
      printf '%s: iniciado (pid %s, http://%s:%s)\n' "$role" "$pid" "$HOST" "$port"
      return 0
    fi
    sleep 0.2
  done
  printf '%s: el pid %s no responde en el puerto %s tras %s s; vea %s\n' \
    "$role" "$pid" "$port" "$START_TIMEOUT" "$(log_file "$role")" >&2
  return 1
}

# Sends SIGTERM to every running ROLE, waits for them (STOP_TIMEOUT s in all), then
# SIGKILLs what is left. The server stops its background workers within 10 s of SIGTERM.
native_stop() {
  local role pid entry deadline stopping=()
  for role in "$@"; do
    pid=$(running_pid "$role")
    if [ -z "$pid" ]; then
      printf '%s: no corre\n' "$role"
      continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    stopping+=("$role:$pid")
  done
  deadline=$((SECONDS + STOP_TIMEOUT))
  for entry in "${stopping[@]}"; do
    role=${entry%%:*}
    pid=${entry#*:}
    while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.2
    done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      printf '%s: matado (el pid %s no se detuvo en %s s tras SIGTERM)\n' "$role" "$pid" "$STOP_TIMEOUT"
    else
      printf '%s: detenido (pid %s)\n' "$role" "$pid"
    fi
    rm -f "$(pid_file "$role")"
  done
}

native_status() {
  local role=$1 pid
  pid=$(running_pid "$role")
  if [ -n "$pid" ]; then
    printf '%-11s corre (pid %s, puerto %s, log %s)\n' "$role:" "$pid" "$(native_port "$role")" "$(log_file "$role")"
  else
    printf '%-11s detenido\n' "$role:"
    return 3
  fi
}

native_logs() {
  local follow=$1 files=() role
  shift
  for role in "$@"; do
    [ -f "$(log_file "$role")" ] || fail "aún no hay log de $role ($(log_file "$role"))"
    files+=("$(log_file "$role")")
  done
  if [ "$follow" = yes ]; then
    tail -n "$LOG_LINES" -F "${files[@]}"
  else
    tail -n "$LOG_LINES" "${files[@]}"
  fi
}

native_health() { check_ready "$1" "$HOST" "$(native_port "$1")"; }

native_migrate() { "$CAUDAL" central migrate; }

# --- systemd: the caudal-central@ROLE units ----------------------------------------------

unit() { echo "caudal-central@$1.service"; }

# The port a unit listens on: CAUDAL_PORT in /etc/caudal/central-ROLE.env, else the default.
systemd_port() {
  local file="$SYSTEMD_CONFIG_DIR/central-$1.env" port=""
  [ -r "$file" ] && port=$(sed -n 's/^CAUDAL_PORT=["'\'']\{0,1\}\([0-9]*\).*/\1/p' "$file" | tail -n 1)
  echo "${port:-$(default_port "$1")}"
}

systemd_host() {
  local file="$SYSTEMD_CONFIG_DIR/central-$1.env" host=""
  [ -r "$file" ] && host=$(sed -n 's/^CAUDAL_HOST=["'\'']\{0,1\}\([^"'\'']*\).*/\1/p' "$file" | tail -n 1)
  case "$host" in "" | 0.0.0.0 | "::") host=127.0.0.1 ;; esac
  echo "$host"
}

systemd_run() {
  local command=$1 follow=$2 units=() role
  shift 2
  for role in "$@"; do units+=("$(unit "$role")"); done
  case "$command" in
    start | stop | restart) systemctl "$command" "${units[@]}" && printf '%s: %s\n' "$command" "${units[*]}" ;;
    status) systemctl status --no-pager "${units[@]}" ;;
    logs)
      local args=()
      for role in "$@"; do args+=(-u "$(unit "$role")"); done
      if [ "$follow" = yes ]; then journalctl -n "$LOG_LINES" -f "${args[@]}"; else journalctl -n "$LOG_LINES" --no-pager "${args[@]}"; fi
      ;;
    health) each_role systemd_health "$@" ;;
    migrate) systemd_migrate ;;
  esac
}

systemd_health() { check_ready "$1" "$(systemd_host "$1")" "$(systemd_port "$1")"; }

# Migrates as the units would: their program, their settings (/etc/caudal/central.env) and
# their working directory.
systemd_migrate() {
  [ -x "$SYSTEMD_BIN" ] || fail "$SYSTEMD_BIN (el programa que corren las unidades) no está instalado"
  (
    cd "$SYSTEMD_WORKDIR" || fail "no se puede entrar en $SYSTEMD_WORKDIR (el directorio de trabajo de las unidades)"
    CAUDAL_ENV_FILE=$SYSTEMD_CONFIG_DIR/central.env
    load_env_file
    "$SYSTEMD_BIN" central migrate
  )
}

# --- docker: Docker Compose ------------------------------------------------------------

compose() { docker compose --file "$COMPOSE_FILE" "$@"; }

docker_run() {
  local command=$1 follow=$2 services=()
  shift 2
  [ "$#" -eq "${#ROLES[@]}" ] || services=("$@")
  case "$command" in
    start) compose up --detach "${services[@]}" ;;
    stop) compose stop "${services[@]}" ;;
    restart) compose restart "${services[@]}" ;;
    status) compose ps "${services[@]}" ;;
    logs)
      if [ "$follow" = yes ]; then compose logs --tail "$LOG_LINES" --follow "${services[@]}"; else compose logs --tail "$LOG_LINES" "${services[@]}"; fi
      ;;
    health) each_role docker_health "$@" ;;
    migrate) compose run --rm migrate ;;
  esac
}

# A container's health is its /readyz, as its health check asks it (docker/Dockerfile).
docker_health() {
  local role=$1 ids id state bad=0
  ids=$(compose ps --quiet "$role")
  if [ -z "$ids" ]; then
    printf '%-11s NO CORRE\n' "$role:"
    return 1
  fi
  for id in $ids; do
    state=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")
    printf '%-11s %s (contenedor %s)\n' "$role:" "$state" "${id:0:12}"
    [ "$state" = healthy ] || bad=1
  done
  return "$bad"
}

# --- dispatch -----------------------------------------------------------------------------

# Runs FUNCTION for every role; the exit status is non-zero when it failed for any.
each_role() {
  local function=$1 role status=0
  shift
  for role in "$@"; do
    "$function" "$role" || status=$?
  done
  return "$status"
}

native_run() {
  local command=$1 follow=$2
  shift 2
  load_env_file
  RUN_DIR=${CAUDAL_RUN_DIR:-$ROOT/run}
  export CAUDAL_ALERT_EVALUATION=${CAUDAL_ALERT_EVALUATION:-role}
  HOST=${CAUDAL_HOST:-127.0.0.1}
  case "$command" in start | restart | migrate) CAUDAL=$(caudal_bin) || exit 2 ;; esac
  case "$command" in
    start) native_start "$@" ;;
    stop) native_stop "$@" ;;
    restart) native_stop "$@" && native_start "$@" ;;
    status) each_role native_status "$@" ;;
    logs) native_logs "$follow" "$@" ;;
    health) each_role native_health "$@" ;;
    migrate) native_migrate ;;
  esac
}

main() {
  local command=${1:-} target=${2:-all} follow=no mode roles=()
  case "$command" in
    start | stop | restart | status | logs | health | migrate) ;;
    mode) detect_mode && return 0 ;;
    -h | --help | help) usage 0 ;;
    "") usage 2 ;;
    *) fail "comando desconocido '$command' (start, stop, restart, status, logs, health, migrate, mode)" ;;
  esac
  if [ "${3:-}" = -f ] || [ "${3:-}" = --follow ]; then
    follow=yes
  elif [ -n "${3:-}" ]; then
    fail "argumento inesperado '$3'"
  fi
  case "$target" in
    all) roles=("${ROLES[@]}") ;;
    core | telemetry | compliance | alerts) roles=("$target") ;;
    *) fail "servicio desconocido '$target': use all, core, telemetry, compliance o alerts" ;;
  esac
  mode=$(detect_mode)
  if [ "$mode" = systemd ] && [ "$target" = all ] && [ ! -e "$SYSTEMD_CONFIG_DIR/central-alerts.env" ]; then
    roles=(core telemetry compliance)
  fi
  if [ "$command" = migrate ] && [ "$target" != all ]; then
    printf 'migrate %s: los servicios comparten un solo esquema; se aplican todas las migraciones pendientes\n' "$target"
  fi
  "${mode}_run" "$command" "$follow" "${roles[@]}"
}

main "$@"
