#!/usr/bin/env bash
# The user's path, checked (CI runs it after `make test`: .ci/run). From the source tree as it is (every file git
# tracks or would track, uncommitted edits included):
#   1. build the sdist and the wheel with `python -m build` (build, twine and the setuptools the isolated build
#      uses are pinned: requirements-lock-release.txt, in .build/release), failing on any deprecation warning;
#   2. `twine check --strict`; every classifier known to trove-classifiers; the sdist holds exactly the source
#      files (a complete source release: MANIFEST.in), the wheel the package, py.typed, the seed and LICENSE
#      (scripts/package_check.py contents);
#   3. a fresh venv from requirements-lock.txt (Airflow 3.3, pinned), the wheel installed into it (not editable,
#      with the emulator-tls extra) without changing a pinned version, `uv pip check`;
#   4. from a directory outside the checkout, with AIRFLOW_HOME a new temporary directory (SQLite):
#      `airflow db migrate`, `airflow providers list` (must list the provider), the emulator from the installed
#      package (its built-in seed), and `airflow dags test example_feishu_offboarding_lifecycle` with that DAG
#      file alone in the DAGs folder; the emulator must then hold the edited, withdrawn offboarding.
# Needs python3 (3.11) and PyPI (uv fills its cache once; later runs are offline but for the index look-up of
# the build backend). Everything it creates is in one temporary directory, removed on exit (KEEP_PACKAGE_CHECK=1
# keeps it); the emulator is stopped on every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
export UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1
unset PYTHONPATH
PY=${PYTHON:-python3}
DAG_ID=example_feishu_offboarding_lifecycle
DAG_FILE=example_dags/$DAG_ID.py

if command -v uv >/dev/null 2>&1; then
  UV=$(command -v uv)
else
  [ -x .build/uv/bin/uv ] || bash scripts/bootstrap.sh 3.3  # installs uv into .build/uv
  UV=$REPO/.build/uv/bin/uv
fi

WORK=$(mktemp -d -t feishu-package-check-XXXXXX)
emulator_pid=""
cleanup() {
  local status=$?
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
  if [ "${KEEP_PACKAGE_CHECK:-0}" = 1 ]; then echo "package check files kept in $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAILED: $1" >&2
  [ -z "${2:-}" ] || { echo "---- last 40 lines of $2" >&2; tail -n 40 "$2" >&2; }
  exit 1
}
step() { echo "== package check: $1 (+$SECONDS s)"; }

step "release tools (requirements-lock-release.txt)"
REL=.build/release
want=$(sha256sum requirements-lock-release.txt | cut -d' ' -f1)
if [ ! -f "$REL/.lock-stamp" ] || [ "$(cat "$REL/.lock-stamp")" != "$want" ]; then
  [ -x "$REL/bin/python" ] || "$UV" venv --quiet --python "$PY" "$REL"
  "$UV" pip sync --quiet --python "$REL/bin/python" requirements-lock-release.txt
  echo "$want" >"$REL/.lock-stamp"
fi

step "build sdist and wheel"
SRC=$WORK/src
FILES=$WORK/source-files.txt
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # tracked and untracked-not-ignored files that exist (a deleted tracked file is not a source file any more)
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -f "$f" ] && printf '%s\n' "$f"
  done | sort -u >"$FILES"
  mkdir -p "$SRC"
  tar -cf - -T "$FILES" | tar -xf - -C "$SRC"
else  # an unpacked sdist: build it as it is; the sdist comparison needs git
  SRC=$REPO
  : >"$FILES"
fi
# The isolated build env gets setuptools from the lock (UV_CONSTRAINT reaches build's `uv pip install`).
PATH="$(dirname "$UV"):$PATH" UV_CONSTRAINT="$REPO/requirements-lock-release.txt" \
  "$REL/bin/python" -m build --installer uv --outdir "$WORK/dist" "$SRC" >"$WORK/build.log" 2>&1 \
  || fail "python -m build" "$WORK/build.log"
if grep -n -i "deprecat" "$WORK/build.log" >&2; then fail "the build warns of deprecations (above)"; fi
grep -o "setuptools==[0-9.]*" "$WORK/build.log" | sort -u | sed 's/^/   build backend: /' || true
SDIST=$(ls "$WORK"/dist/*.tar.gz)
WHEEL=$(ls "$WORK"/dist/*.whl)
echo "   $(basename "$SDIST") $(du -k "$SDIST" | cut -f1) KiB, $(basename "$WHEEL") $(du -k "$WHEEL" | cut -f1) KiB"

step "twine check, classifiers, contents"
"$REL/bin/twine" --no-color check --strict "$SDIST" "$WHEEL" || fail "twine check"
"$REL/bin/python" scripts/package_check.py classifiers "$WHEEL" || fail "classifiers"
"$REL/bin/python" scripts/package_check.py contents "$SDIST" "$WHEEL" "$FILES" || fail "sdist/wheel contents"

step "fresh venv from requirements-lock.txt, the wheel installed (not editable)"
VENV=$WORK/venv
"$UV" venv --quiet --python "$PY" "$VENV"
"$UV" pip sync --quiet --python "$VENV/bin/python" requirements-lock.txt
# -c: the wheel's requirements must be met by the pinned versions (nothing is upgraded or added)
"$UV" pip install --quiet --python "$VENV/bin/python" -c requirements-lock.txt "$WHEEL[emulator-tls]"
"$UV" pip check --quiet --python "$VENV/bin/python" || fail "uv pip check"

# Outside the checkout from here on: nothing can import the source tree.
mkdir -p "$WORK/run" "$WORK/dags" "$WORK/airflow"
cp "$DAG_FILE" "$WORK/dags/"
cd "$WORK/run"
installed=$("$VENV/bin/python" -c 'import airflow_provider_feishu_corehr as p; print(p.__file__)')
case "$installed" in
  "$VENV"/lib/*/site-packages/*) echo "   imported from $installed" ;;
  *) fail "the package was imported from $installed, not from the fresh venv's site-packages" ;;
esac

export AIRFLOW_HOME=$WORK/airflow
export AIRFLOW__CORE__DAGS_FOLDER=$WORK/dags
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=False
LOG=$WORK/airflow.log
step "airflow db migrate (SQLite in a temporary AIRFLOW_HOME) and, beside it, airflow providers list"
"$VENV/bin/airflow" providers list >"$WORK/providers.txt" 2>"$WORK/providers.log" &  # needs no database
providers_pid=$!
"$VENV/bin/airflow" db migrate >>"$LOG" 2>&1 || fail "airflow db migrate" "$LOG"
wait "$providers_pid" || fail "airflow providers list" "$WORK/providers.log"
grep -E "airflow-provider-feishu-corehr" "$WORK/providers.txt" | sed 's/^/   /' \
  || fail "airflow providers list does not list airflow-provider-feishu-corehr" "$WORK/providers.txt"

step "emulator from the installed package, then airflow dags test $DAG_ID"
"$VENV/bin/python" -m airflow_provider_feishu_corehr.testing --print-json-line --port 0 >"$WORK/emulator.log" 2>&1 &
emulator_pid=$!
info=""
for _ in $(seq 1 150); do
  info=$(grep -m 1 '^{' "$WORK/emulator.log" || true)
  [[ $info == "{"* ]] && break
  kill -0 "$emulator_pid" 2>/dev/null || fail "the emulator exited" "$WORK/emulator.log"
  sleep 0.1
done
[[ $info == "{"* ]] || fail "the emulator did not start within 15 s" "$WORK/emulator.log"
field() { "$VENV/bin/python" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$info" "$1"; }
BASE_URL=$(field base_url)
AIRFLOW_CONN_FEISHU_DEFAULT=$(field conn_json)
export AIRFLOW_CONN_FEISHU_DEFAULT
"$VENV/bin/airflow" dags test "$DAG_ID" >>"$LOG" 2>&1 || fail "airflow dags test $DAG_ID" "$LOG"
"$VENV/bin/python" "$REPO/scripts/package_check.py" lifecycle "$BASE_URL" || fail "the DAG's effect" "$LOG"
step "passed"
