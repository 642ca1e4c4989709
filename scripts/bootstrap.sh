#!/usr/bin/env bash
# Sets up everything `make run` and `make test` need, installing only what is missing:
# Python 3.13 virtualenv in .venv with the pinned dependencies, and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/3.13.0/bin/python" \
                   /root/.pyenv/versions/3.13.0/bin/python python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  python=$(find_python) || { echo "Python >= 3.13 is required (pyenv install 3.13.0)" >&2; exit 1; }
  echo "creating .venv with $python"
  "$python" -m venv .venv
fi

stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "installing Python dependencies"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Test data only: the CDNOW transactions ship inside lifetimes 0.11.3, read by path and never imported
# (its import fails on current setuptools), so it is installed without its dependencies.
if [ ! -f "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/lifetimes/datasets/CDNOW_sample.txt" ]; then
  echo "installing the CDNOW test data (lifetimes 0.11.3, no dependencies)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps lifetimes==0.11.3
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq redis-server >/dev/null
fi
