#!/usr/bin/env bash
# Create the test environments from nothing with the pinned dependency sets, the package in editable mode in each:
#   .venv       Airflow 3.3 lane (requirements-lock.txt; also ruff and mypy)
#   .venv-2.11  Airflow 2.11 lane (requirements-lock-2.11.txt)
# Usage: bootstrap.sh [3.3|2.11 ...] (default: both). Idempotent: a second run only re-syncs a lane whose lock,
# pyproject.toml or the package version changed. Needs only python3 (3.11) on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.8
export UV_PYTHON_DOWNLOADS=never
# Trust the platform's certificate store too (machines behind a TLS-inspecting proxy add their CA there).
export UV_SYSTEM_CERTS=1
PY=${PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
  if [ ! -x .build/uv/bin/uv ]; then
    "$PY" -m venv .build/uv
    .build/uv/bin/pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
  fi
  UV=.build/uv/bin/uv
else
  UV=uv
fi

# lane name -> "venv lock"
lane_files() {
  case "$1" in
    3.3) echo ".venv requirements-lock.txt" ;;
    2.11) echo ".venv-2.11 requirements-lock-2.11.txt" ;;
    *) echo "unknown lane '$1' (known: 3.3, 2.11)" >&2; return 2 ;;
  esac
}

sync_lane() {
  local files venv lock stamp want
  files="$(lane_files "$1")"
  venv="${files% *}"
  lock="${files#* }"
  stamp="$venv/.lock-stamp"
  # the version lives in the package (pyproject reads it): a new version re-installs too
  want="$(cat "$lock" pyproject.toml airflow_provider_feishu_corehr/__init__.py | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  [ -x "$venv/bin/python" ] || "$UV" venv --quiet --python "$PY" "$venv"
  "$UV" pip sync --quiet --python "$venv/bin/python" "$lock"
  "$UV" pip install --quiet --python "$venv/bin/python" --no-deps -e .
  echo "$want" > "$stamp"
}

# The redis rate-limit scope's tests run a real redis-server (Debian package; tests/redis_server.py starts its own on
# a free port). Installed here when missing; without root or apt-get the tests skip, except in CI, where they fail.
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } \
      || echo "bootstrap: could not install redis-server; the Redis scope's tests skip (in CI: fail)" >&2
  else
    echo "bootstrap: redis-server is not installed (apt-get install redis-server); the Redis scope's tests skip" >&2
  fi
fi

lanes=("$@")
[ ${#lanes[@]} -gt 0 ] || lanes=(3.3 2.11)
for lane in "${lanes[@]}"; do
  sync_lane "$lane"
done
