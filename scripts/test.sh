#!/usr/bin/env bash
# Hearth's test command (the README's): ./scripts/test.sh [extra go test flags]
#
# Makes sure redis-server is available (installing Debian's package when run
# as root on Debian), then runs gofmt, go vet and the whole suite with the
# race detector. Tests that need Redis start their own private redis-server
# on free loopback ports; without one they skip, saying why, unless
# HEARTH_REQUIRE_REDIS=1 (as .ci/run sets), where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing Debian package(s): $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    return 0
  fi
  return 1
}

if ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server ||
    echo "test.sh: redis-server is not installed and cannot be installed here; Redis-backed tests will skip (HEARTH_REQUIRE_REDIS=1 makes them fail)." >&2
fi

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 "$@" ./...
