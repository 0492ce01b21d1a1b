#!/usr/bin/env bash
# The resolver demo: a throwaway plugin store, the OpenGauss plugin from
# DeepFlow's documentation created with the deepflow-ctl-style command, and
# the example pods resolved, where the OpenGauss pods come out as
# "StatefulSet ogtest" through plugin:opengauss.
#
# Usage: bash examples/demo.sh VENV_DIR   (the Makefile's `make demo`)
set -euo pipefail

VENV=${1:-.venv}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -x "$VENV/bin/resolver" ]; then
    RESOLVER=("$VENV/bin/resolver")
else
    RESOLVER=("$VENV/bin/python" -m resolver)
fi

case "$VENV" in /*) ;; *) VENV="$PWD/$VENV"; RESOLVER[0]="$PWD/${RESOLVER[0]}" ;; esac
cd "$HERE/.."   # so the commands below read like the docs: examples/...

WORK=$(mktemp -d "${TMPDIR:-/tmp}/resolver-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export RESOLVER_STORE="$WORK/plugins.db"

run() {
    printf '\n$ resolver %s\n' "$*"
    "${RESOLVER[@]}" "$@"
}

echo "Plugin store: $RESOLVER_STORE (removed afterwards)"
run plugin create --type lua --image examples/plugins/opengauss.lua --name opengauss --user server
run plugin list
run resolve examples/pods.json
