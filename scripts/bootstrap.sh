#!/usr/bin/env bash
# Create .venv from nothing with the pinned dependency set (requirements-lock.txt) and the package in
# editable mode. Idempotent: a second run only re-syncs. Needs only python3 (3.11) on PATH.
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
stamp=.venv/.lock-stamp
want="$(cat requirements-lock.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$UV" venv --quiet --python "$PY" .venv
"$UV" pip sync --quiet --python .venv/bin/python requirements-lock.txt
"$UV" pip install --quiet --python .venv/bin/python --no-deps -e .
echo "$want" > "$stamp"
