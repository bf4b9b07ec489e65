#!/usr/bin/env bash
# Regenerates cluster/grafana/schema/dashboard.schema.json: Grafana's own dashboard
# types (npm @grafana/schema, the TypeScript generated from Grafana's CUE dashboard
# kind) turned into JSON Schema by ts-json-schema-generator. No registry package ships
# the dashboard schema as JSON; tests/ops/test_ops_grafana.py validates against this.
#   bash tests/ops/gen_grafana_schema.sh       (needs node + npm and the npm registry)
set -euo pipefail
GRAFANA_SCHEMA=13.2.3
GENERATOR=2.9.0
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/cluster/grafana/schema/dashboard.schema.json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund \
    "@grafana/schema@$GRAFANA_SCHEMA" "ts-json-schema-generator@$GENERATOR"
npx --no-install ts-json-schema-generator \
    --path node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts \
    --type Dashboard --no-type-check --out "$out"
echo "wrote $out (@grafana/schema $GRAFANA_SCHEMA, ts-json-schema-generator $GENERATOR)"
