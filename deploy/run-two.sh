#!/usr/bin/env bash
# Two `streamlit run app.py` processes behind nginx (deploy/nginx/fidelity.conf) on loopback:
# the agency deployment of docs/deployment.md, on one machine. Ctrl-C stops everything.
#   ./deploy/run-two.sh --database-url postgresql+psycopg://user@127.0.0.1:5432/fidelity [--port 8080]
# PYTHON: the interpreter with ebp-fidelity installed (default: `uv run python` in this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then
  exec "$PYTHON" -m bench.cluster "$@"
fi
exec uv run --extra dev python -m bench.cluster "$@"
