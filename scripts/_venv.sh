# Sourced by scripts/demo.sh and scripts/test.sh: make sure .venv exists and put it first on PATH.
# PYTHON picks the interpreter (default python3; the pinned torch wheels are for Python 3.11).
VENV="${MINICNN_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "minicnn: creating the virtual environment $VENV" >&2
    "${PYTHON:-python3}" -m venv "$VENV"
fi
export PATH="$PWD/$VENV/bin:$PATH"

# pip install, quietly; on failure show pip's output (without the local mirror's "is ignored" chatter).
pip_install() {
    echo "minicnn: pip install $* into $VENV" >&2
    local log
    log=$(mktemp)
    if ! python -m pip install --disable-pip-version-check -q "$@" >"$log" 2>&1; then
        grep -v "is ignored: it is neither" "$log" >&2
        rm -f "$log"
        echo "minicnn: pip install failed" >&2
        return 1
    fi
    grep -v "is ignored: it is neither" "$log" >&2 || true
    rm -f "$log"
}
