#!/usr/bin/env bash
# The wheels a lent GPU machine lacks (torchattacks, foolbox and what foolbox imports: eagerpy, GitPython,
# gitdb, smmap), downloaded into .whl/ for the device tool's `carry`, at the versions this venv runs.
# benchmarks/gpu_check.sh installs them from .whl/ when torchattacks is missing there. Needs PyPI here only.
#   bash benchmarks/gpu_wheels.sh    # then: run with carry [".whl"], command "bash benchmarks/gpu_check.sh"
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
pins=$("$PY" -c "
from importlib.metadata import version
print(' '.join(f'{n}=={version(n)}' for n in ('torchattacks', 'foolbox', 'eagerpy', 'GitPython', 'gitdb', 'smmap')))")
rm -rf .whl && mkdir .whl
# pure-Python wheels all: the platform flags only let pip fetch them for the device's Python 3.12
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 -d .whl $pins
ls .whl
