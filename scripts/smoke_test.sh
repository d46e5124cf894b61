#!/usr/bin/env bash
# Post-deployment smoke test of a running DealScale Discord instance.
#
#   scripts/smoke_test.sh BASE_URL [TOKEN]
#
# BASE_URL  e.g. https://discord.dealscale.example or http://127.0.0.1:8000
# TOKEN     optional API token (create one on /profile/ or with `manage.py create_api_token`):
#           adds the checks of the authenticated API.
# STRICT=1  a degraded /health/discord fails the run instead of warning.
# TIMEOUT   seconds per request (default 10).
#
# Prints PASS/WARN/FAIL per check and exits 1 when any check failed (2 on bad usage).
set -uo pipefail

if [[ $# -lt 1 || $# -gt 2 || "$1" == -* ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
BASE_URL="${1%/}"
TOKEN="${2:-}"
TIMEOUT="${TIMEOUT:-10}"
STRICT="${STRICT:-0}"
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }

failures=0
body_file="$(mktemp)"
trap 'rm -f "$body_file" "$body_file.err"' EXIT

pass() { printf 'PASS  %s\n' "$1"; }
warn() { printf 'WARN  %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1"; failures=$((failures + 1)); }

# fetch PATH [AUTH]: sets STATUS and CONTENT_TYPE, leaves the body in $body_file.
fetch() {
  local args=(--silent --show-error --location --max-time "$TIMEOUT" --output "$body_file"
              --write-out '%{http_code} %{content_type}')
  if [[ -n "${2:-}" ]]; then args+=(--header "Authorization: Bearer $2"); fi
  local out
  if ! out="$(curl "${args[@]}" "$BASE_URL$1" 2>"$body_file.err")"; then
    STATUS="000"; CONTENT_TYPE=""; mv "$body_file.err" "$body_file"; return
  fi
  STATUS="${out%% *}"; CONTENT_TYPE="${out#* }"
}

snippet() { tr -d '\n' <"$body_file" | cut -c1-200; }

expect_ok() {  # expect_ok LABEL PATH [AUTH] [json]
  local label=$1 path=$2 auth=${3:-} want_json=${4:-}
  fetch "$path" "$auth"
  if [[ "$STATUS" != "200" ]]; then
    fail "$label: GET $path answered $STATUS: $(snippet)"
  elif [[ -n "$want_json" && "$CONTENT_TYPE" != application/json* ]]; then
    fail "$label: GET $path is not JSON ($CONTENT_TYPE)"
  else
    pass "$label: GET $path 200"
  fi
}

echo "Smoke test of $BASE_URL"

fetch /health
if [[ "$STATUS" == "200" ]] && grep -Eq '"status": *"ok"' "$body_file"; then
  pass "liveness: GET /health 200 {\"status\": \"ok\"}"
else
  fail "liveness: GET /health answered $STATUS: $(snippet)"
fi

fetch /health/discord
failing_checks="$(grep -Eo '"[a-z_]+": *false' "$body_file" | cut -d'"' -f2 | paste -sd, -)"
if [[ "$STATUS" == "200" ]] && grep -Eq '"status": *"healthy"' "$body_file"; then
  pass "integration health: GET /health/discord healthy"
elif [[ "$STATUS" == "503" ]] && grep -Eq '"status": *"degraded"' "$body_file"; then
  message="integration health: GET /health/discord degraded (failing: ${failing_checks:-?})"
  if [[ "$STRICT" == "1" ]]; then fail "$message"; else warn "$message"; fi
else
  fail "integration health: GET /health/discord answered $STATUS: $(snippet)"
fi

expect_ok "API schema" /api/schema/
expect_ok "leaderboard page" /leaderboard

if [[ -n "$TOKEN" ]]; then
  expect_ok "API token" /api/me "$TOKEN" json
  expect_ok "leaderboard API" "/api/leaderboard?limit=10" "$TOKEN" json
  expect_ok "credits API" /api/credits/balance "$TOKEN" json
else
  echo "SKIP  authenticated API checks (no TOKEN given)"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "All checks passed"
