"""The checks scripts/package_check.sh runs on the built artifacts and on the emulator after the example DAG.

Standard library only (runs with any Python 3.11), except ``classifiers``, which needs ``trove-classifiers``
(requirements-lock-release.txt). Each command prints what it checked and exits 1 with the reasons on failure.

    package_check.py contents SDIST WHEEL FILE_LIST   the sdist holds exactly FILE_LIST (plus what setuptools adds);
                                                      the wheel holds the package, LICENSE and its metadata only
    package_check.py classifiers WHEEL                every classifier in the wheel is a known trove classifier
    package_check.py lifecycle BASE_URL               the emulator shows the lifecycle example's edit and revoke
"""

from __future__ import annotations

import json
import sys
import tarfile
import urllib.request
import zipfile
from email.parser import Parser
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from email.message import Message

PACKAGE = "airflow_provider_feishu_corehr"
# Files every wheel must carry besides the modules: the PEP 561 marker and the emulator's seed.
WHEEL_DATA = (f"{PACKAGE}/py.typed", f"{PACKAGE}/testing/default_seed.json")
# What setuptools adds to an sdist beyond MANIFEST.in's files.
SDIST_GENERATED = ("PKG-INFO", "setup.cfg")
# The lifecycle example (example_dags/example_feishu_offboarding_lifecycle.py): its employment's latest
# offboarding gets this date, then is revoked; in the default seed a revoke of it is withdrawn at once.
LIFECYCLE_EMPLOYMENT = "6982509313466189341"
LIFECYCLE_DATE = "2026-07-31"


def _fail(problems: list[str]) -> int:
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _wheel_metadata(wheel: zipfile.ZipFile) -> Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode())


def contents(sdist: str, wheel_path: str, file_list: str) -> int:
    """Compare the sdist with the source file list and check the wheel's members and license metadata.

    :param sdist: path of the ``.tar.gz``.
    :param wheel_path: path of the ``.whl``.
    :param file_list: text file, one source path a line (``git ls-files`` of the tree that was built); empty: the
        sdist is not compared.
    """
    problems: list[str] = []
    expected = {line for line in Path(file_list).read_text(encoding="utf-8").splitlines() if line}
    with tarfile.open(sdist) as tar:
        members = [m.name for m in tar.getmembers() if m.isfile()]
    shipped = {str(PurePosixPath(*PurePosixPath(name).parts[1:])) for name in members}
    shipped = {n for n in shipped if n not in SDIST_GENERATED and ".egg-info/" not in n}
    if not expected:  # built from an unpacked sdist: no git to say what the source files are
        print(f"sdist: {len(members)} files (not compared: no source file list)")
    else:
        for name in sorted(expected - shipped):
            problems.append(f"sdist lacks {name} (a source file: add it to MANIFEST.in)")
        for name in sorted(shipped - expected):
            problems.append(f"sdist carries {name}, which is not a source file (git ls-files)")
        print(f"sdist: {len(members)} files for {len(expected)} source files (+ PKG-INFO, setup.cfg, egg-info)")

    with zipfile.ZipFile(wheel_path) as wheel:
        names = wheel.namelist()
        metadata = _wheel_metadata(wheel)
    tops = {name.split("/", 1)[0] for name in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    if tops - dist_info != {PACKAGE} or len(dist_info) != 1:
        problems.append(f"wheel top-level entries are {sorted(tops)}: expected {PACKAGE}/ and one .dist-info/")
    for name in WHEEL_DATA:
        if name not in names:
            problems.append(f"wheel lacks {name}")
    (info,) = dist_info or {"?"}
    if f"{info}/licenses/LICENSE" not in names:
        problems.append(f"wheel lacks {info}/licenses/LICENSE")
    if metadata.get("License-Expression") != "Apache-2.0":
        problems.append(f"wheel License-Expression is {metadata.get('License-Expression')!r}, not 'Apache-2.0'")
    if metadata.get_all("License-File") != ["LICENSE"]:
        problems.append(f"wheel License-File is {metadata.get_all('License-File')!r}, not ['LICENSE']")
    if any(name.startswith(f"{PACKAGE}/tests/") or "/conftest.py" in name for name in names):
        problems.append("wheel carries tests")
    modules = sum(1 for n in names if n.startswith(f"{PACKAGE}/") and n.endswith(".py"))
    print(f"wheel: {len(names)} files ({modules} modules, py.typed, seed, LICENSE; no tests)")
    print(f"metadata: {metadata['Name']} {metadata['Version']}, License-Expression {metadata['License-Expression']}")
    return _fail(problems)


def classifiers(wheel_path: str) -> int:
    """Check every classifier of the wheel against the trove-classifiers list (what PyPI accepts).

    :param wheel_path: path of the ``.whl``.
    """
    from trove_classifiers import classifiers as known
    from trove_classifiers import deprecated_classifiers

    with zipfile.ZipFile(wheel_path) as wheel:
        listed = _wheel_metadata(wheel).get_all("Classifier") or []
    problems = [f"unknown classifier {c!r}" for c in listed if c not in known]
    problems += [f"deprecated classifier {c!r}" for c in listed if c in deprecated_classifiers]
    print(f"classifiers: {len(listed)}, all known to trove-classifiers")
    return _fail(problems)


def lifecycle(base_url: str) -> int:
    """Check the emulator's records after ``example_feishu_offboarding_lifecycle`` ran against it.

    :param base_url: the emulator's base URL (its ``GET /_emulator/state``).
    """
    with urllib.request.urlopen(f"{base_url}/_emulator/state", timeout=30) as answer:
        state = json.load(answer)
    done = [
        r["offboarding_id"]
        for r in state["offboardings"]
        if r["offboarding_info"]["employment_id"] == LIFECYCLE_EMPLOYMENT
        and r["offboarding_info"].get("offboarding_date") == LIFECYCLE_DATE
        and r["status"] == "Withdrawn"
    ]
    counts = state["requests"]
    print(f"emulator: requests {json.dumps(counts, sort_keys=True)}; edited and withdrawn: {done}")
    problems = []
    if len(done) != 1:
        problems.append(f"expected one offboarding of {LIFECYCLE_EMPLOYMENT} dated {LIFECYCLE_DATE} and Withdrawn")
    return _fail(problems)


def main(argv: list[str]) -> int:
    commands: dict[str, Callable[..., int]] = {"contents": contents, "classifiers": classifiers, "lifecycle": lifecycle}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[0]](*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
