# Sourced: create .venv if needed, install the given requirements file when it changed, activate.
req="$1"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(basename "$req")"
if [ ! -f "$stamp" ] || ! cmp -s "$stamp" <(cat requirements*.txt); then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  cat requirements*.txt > "$stamp"
fi
source .venv/bin/activate
