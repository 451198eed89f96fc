#!/usr/bin/env bash
# `make test-api`: against a running debug server (tools/api-server.sh: demo model, API key, a few
# images, started outside the repository), the real clients (Tests/Clients/test_clients.py:
# clip-retrieval's ClipClient, the openai package, Immich- and Weaviate-shaped requests), then
# schemathesis with every check (--checks all) on Public/openapi.yaml as that server serves it. Any
# failure fails. Installs its Python packages in $API_VENV (default .venv-api) on first use.
#   tools/schemathesis.sh              # from the repository root, after `swift build`
#   SCHEMATHESIS_EXAMPLES=50 SCHEMATHESIS_SEED=7 tools/schemathesis.sh   # more cases, other ones
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${API_VENV:-.venv-api}
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet schemathesis==4.32.5 openai==3.57.0 requests==2.34.2
    # clip-retrieval's clip_client.py needs only requests; its other dependencies are torch & co.
    "$venv/bin/pip" install --quiet --no-deps clip-retrieval==2.45.0
fi

source tools/api-server.sh

# The clients first: schemathesis deletes images as it goes.
"$venv/bin/python" Tests/Clients/test_clients.py "$API_BASE" "$API_KEY"

# tools/schemathesis_hooks.py drops only the failures no schema can prevent (an image that does not decode).
SCHEMATHESIS_HOOKS=tools.schemathesis_hooks PYTHONPATH=. "$venv/bin/schemathesis" --no-color \
    run "$API_BASE/openapi.yaml" --url "$API_BASE" \
    --checks all --header "Authorization: Bearer $API_KEY" \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" --seed "${SCHEMATHESIS_SEED:-1}" --workers 1 \
    --suppress-health-check all

