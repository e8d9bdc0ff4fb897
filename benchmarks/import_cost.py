"""Import cost of the provider's hook, operator, sensor and trigger modules, against ``import airflow.sdk``.

DAG files import these modules on every parse, so what they add on top of Airflow's own authoring API is what
a scheduler pays per DAG file. Each repetition runs in a fresh interpreter that first imports ``airflow.sdk``
(the baseline, timed) and then the modules under test (timed separately, so the figure is what they *add*).
The same is done for ``airflow.providers.http.operators.http`` as a reference provider. Medians over the
repetitions are printed, with the added milliseconds and ratios; the goal is under 50 ms added.

Usage: ``python benchmarks/import_cost.py [--repeat N]`` (``make bench`` runs it with the default).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from airflow_provider_feishu_corehr.get_provider_info import get_provider_info

GOAL_MS = 50.0
BASELINE = "airflow.sdk"
REFERENCE = "airflow.providers.http.operators.http"

# Runs in the child: import the baseline, then each module in turn; print timings (ms) and new top-level packages.
_CHILD = """
import json, sys, time
baseline, modules = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
__import__(baseline)
t1 = time.perf_counter()
before = {name.partition(".")[0] for name in sys.modules}
steps = []
for module in modules:
    start = time.perf_counter()
    __import__(module)
    steps.append((time.perf_counter() - start) * 1000)
after = {name.partition(".")[0] for name in sys.modules}
print(json.dumps({"baseline_ms": (t1 - t0) * 1000, "steps_ms": steps, "new_packages": sorted(after - before)}))
"""


@dataclass(frozen=True)
class Sample:
    baseline_ms: float
    steps_ms: list[float]
    new_packages: list[str]

    @property
    def added_ms(self) -> float:
        return sum(self.steps_ms)


def provider_modules() -> list[str]:
    """Every hook, operator, sensor and trigger module listed in the provider info."""
    info = get_provider_info()
    return [
        m
        for section in ("hooks", "operators", "sensors", "triggers")
        for e in info[section]
        for m in e["python-modules"]
    ]


def measure(modules: list[str], env: dict[str, str]) -> Sample:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, BASELINE, *modules], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"importing {modules} failed:\n{out.stderr.strip()}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return Sample(data["baseline_ms"], list(data["steps_ms"]), list(data["new_packages"]))


def reference_installed(env: dict[str, str]) -> bool:
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({REFERENCE.rpartition('.')[0]!r}) is None)"
    return subprocess.run([sys.executable, "-c", probe], env=env, check=False).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="fresh interpreters per variant (default 7)")
    args = parser.parse_args()
    repeat = max(1, args.repeat)

    modules = provider_modules()
    with tempfile.TemporaryDirectory(prefix="feishu-bench-home-") as home:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        with_reference = reference_installed(env)
        measure(modules, env)  # warm-up: byte-code compilation and the file-system cache, not counted
        ours: list[Sample] = []
        reference: list[Sample] = []
        for _ in range(repeat):  # interleaved so that machine noise hits both variants alike
            ours.append(measure(modules, env))
            if with_reference:
                reference.append(measure([REFERENCE], env))

    baseline = statistics.median(s.baseline_ms for s in ours + reference)
    added = statistics.median(s.added_ms for s in ours)
    print(f"import cost, median of {repeat} fresh interpreters (python {sys.version.split()[0]})")
    print(f"  baseline  import {BASELINE:<45} {baseline:8.1f} ms")
    print(f"  added by  {len(modules)} provider modules{'':<31} {added:8.1f} ms  ({added / baseline:.1%} of baseline)")
    for i, module in enumerate(modules):
        step = statistics.median(s.steps_ms[i] for s in ours)
        print(f"              {module:<52} {step:8.1f} ms")
    print(f"  top-level packages first loaded by the provider modules: {', '.join(ours[-1].new_packages) or 'none'}")
    if reference:
        ref = statistics.median(s.added_ms for s in reference)
        print(f"  added by  import {REFERENCE:<38} {ref:8.1f} ms")
        print(f"  ratio     provider modules / http operator: {added / ref:.2f}")
    else:
        print(f"  {REFERENCE} is not installed: reference skipped")
    verdict = "met" if added < GOAL_MS else "NOT met"
    print(f"  goal      < {GOAL_MS:.0f} ms added: {verdict} ({added:.1f} ms)")


if __name__ == "__main__":
    main()
