#!/usr/bin/env bash
# Last gate on each new instance: the app must answer /readyz through nginx (the path the
# load balancer takes) before EB reports the deploy successful. A non-zero exit fails the
# deploy; under the Immutable policy the old instances keep serving.
set -euo pipefail

url="${READYZ_URL:-http://127.0.0.1/readyz}"
attempts="${READYZ_ATTEMPTS:-30}"
delay="${READYZ_DELAY:-2}"

for attempt in $(seq 1 "$attempts"); do
  if curl --silent --fail --max-time 2 --output /dev/null "$url"; then
    echo "postdeploy: $url answered 200 (attempt $attempt)"
    exit 0
  fi
  sleep "$delay"
done
echo "postdeploy: $url did not answer 200 after $attempts attempts ${delay}s apart" >&2
exit 1
