# Sourced by bin/run and bin/test: a virtualenv with the pinned requirements, a .env, and
# reachable PostgreSQL and Redis (started, or installed with apt, when they are local and missing).
# Usage: source bin/_setup.sh requirements/<file>.txt
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
REQUIREMENTS="$1"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\033[31mxx  %s\033[0m\n' "$*" >&2; exit 1; }

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
  PYTHON="$(find_python)" || fail "Python 3.12 or newer is needed (Django 6.1). Install it (e.g. 'pyenv install 3.13' or your distribution's python3.13 package) and run this again."
  say "Creating .venv with $PYTHON"
  rm -rf .venv
  "$PYTHON" -m venv .venv
fi

STAMP=".venv/.installed-$(basename "$REQUIREMENTS")"
if [ ! -f "$STAMP" ] || ! cmp -s "$STAMP" <(cat requirements/*.txt); then
  say "Installing pinned requirements ($REQUIREMENTS)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cat requirements/*.txt >"$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"

if [ ! -f .env ]; then
  say "Creating .env from .env.example (development defaults)"
  cp .env.example .env
fi

apt_install() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "Installing $* with apt"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    return 0
  fi
  return 1
}

ensure_postgres() {
  python bin/services.py postgres && return 0
  python bin/services.py postgres-is-local || fail "PostgreSQL at DATABASE_URL is not reachable. Start it, or point DATABASE_URL in .env at a running server."
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql || fail "PostgreSQL is not installed. Install PostgreSQL 15+ (e.g. 'sudo apt-get install postgresql'), allow local connections for the user in DATABASE_URL, and run this again."
  fi
  say "Starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
  for _ in $(seq 1 30); do python bin/services.py postgres && return 0; sleep 1; done
  fail "PostgreSQL did not become reachable. Check 'pg_lsclusters' and the DATABASE_URL user (trust or password auth)."
}

ensure_redis() {
  python bin/services.py redis && return 0
  python bin/services.py redis-is-local || fail "Redis at REDIS_URL is not reachable. Start it, or point REDIS_URL in .env at a running server."
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server \
    || fail "Redis is not installed. Install Redis 6+ (e.g. 'sudo apt-get install redis-server'), start it, and run this again."
  say "Starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$(python bin/services.py redis-port)" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 15); do python bin/services.py redis && return 0; sleep 1; done
  fail "Redis did not become reachable on 127.0.0.1."
}

ensure_postgres
ensure_redis
python bin/services.py create-database
