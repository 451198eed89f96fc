#!/usr/bin/env bash
# Starts the debug `clip-server serve` for the API checks (tools/schemathesis.sh, Tests/Clients):
# the demo model's weights (Models/demo, copied without demo.json so no gallery is indexed behind
# the checks), an API key, a fresh database in a temporary folder, started from that folder (so the
# page and openapi.yaml must come from the binary itself), a few fixture images uploaded. Sourced,
# it sets API_BASE, API_KEY, API_TMP and API_PID, and stops the server on exit.
#   source tools/api-server.sh        # from the repository root, after `swift build`
root=$(pwd)
API_TMP=$(mktemp -d)
API_KEY=api-check-key
mkdir "$API_TMP/demo"
cp "$root"/Models/demo/{config.json,model.safetensors,vocab.json,merges.txt} "$API_TMP/demo/"
(cd "$API_TMP" && exec "$root/.build/debug/clip-server" serve --model "$API_TMP/demo" --db "$API_TMP/index.sqlite" \
    --port 0 --api-key "$API_KEY" >"$API_TMP/stdout" 2>"$API_TMP/server.log") &
API_PID=$!
trap 'kill $API_PID 2>/dev/null; wait $API_PID 2>/dev/null; rm -rf "$API_TMP"' EXIT
for _ in $(seq 1 100); do
    API_BASE=$(sed -n 's/^{"listening":"\(.*\)"}$/\1/p' "$API_TMP/stdout" 2>/dev/null | head -1)
    [ -n "$API_BASE" ] && curl -sf "$API_BASE/readyz" >/dev/null && break
    sleep 0.2
done
if [ -z "$API_BASE" ]; then echo "api-server: the server did not start:" >&2; cat "$API_TMP/server.log" >&2; exit 1; fi
for image in Tests/CLIPTests/Fixtures/images/{jpeg-exact-224x224.jpg,png-rgb-tiny-50x37.png,jpeg-exif3-360x270.jpg,png-gray-250x250.png}; do
    curl -sf -H "Authorization: Bearer $API_KEY" -F "image=@$image" "$API_BASE/index" >/dev/null
done
echo "api-server: $API_BASE (log in $API_TMP/server.log)" >&2
export API_BASE API_KEY
