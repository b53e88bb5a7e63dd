#!/usr/bin/env bash
# Hearth's test command (the README's): ./scripts/test.sh [extra go test flags]
#
# Makes sure redis-server, caddy and chromium are available (installing Debian's
# packages when run as root on Debian), then runs gofmt, go vet and the whole
# suite with the race detector. Tests that need Redis start their own private
# redis-server on free loopback ports; without one they skip, saying why,
# unless HEARTH_REQUIRE_REDIS=1 (as .ci/run sets), where they fail. The
# browser tests (internal/browsertest) drive Debian's chromium, headless; no
# browser is ever downloaded. Without it they skip, saying why, unless
# HEARTH_REQUIRE_BROWSER=1 (as .ci/run sets), where they fail. With
# HEARTH_FUZZ_TIME set (a duration such as 20s), every fuzz target then runs
# for that long.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

apt_updated=0
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing Debian package(s): $*"
    if [ "$apt_updated" = 0 ]; then
      apt-get update -qq || return 1
      apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || return 1
    return 0
  fi
  return 1
}

if ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server ||
    echo "test.sh: redis-server is not installed and cannot be installed here; Redis-backed tests will skip (HEARTH_REQUIRE_REDIS=1 makes them fail)." >&2
fi

# Caddy, the load balancer of docker-compose.yml: the deployment tests run
# the compose file's Caddyfile in front of two real nodes.
if ! command -v caddy >/dev/null 2>&1; then
  apt_install caddy ||
    echo "test.sh: caddy is not installed and cannot be installed here; the load-balancer tests will skip." >&2
fi

# Debian's chromium (and the fonts it recommends, for readable screenshots);
# only on Debian itself, whose package is the browser (not a snap stub).
if ! command -v chromium >/dev/null 2>&1; then
  { grep -qx 'ID=debian' /etc/os-release 2>/dev/null && apt_install chromium fonts-liberation fonts-dejavu-core; } ||
    echo "test.sh: chromium is not installed and cannot be installed here; browser tests will skip (HEARTH_REQUIRE_BROWSER=1 makes them fail)." >&2
fi
# An emoji font, so that the reaction buttons in the screenshots show their
# symbols rather than empty boxes (phones have one; a bare Debian does not).
if command -v chromium >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; then
  apt_install fonts-noto-color-emoji || echo "test.sh: no emoji font; screenshots show reactions as boxes." >&2
fi

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 "$@" ./...

# Fuzzing, only when HEARTH_FUZZ_TIME is set (.ci/run sets 20s): every fuzz
# target of the module (each `func FuzzX` in a _test.go file) for that long.
# `go test -fuzz` takes one target per run, hence the loop. An input that
# fails is saved under its package's testdata/fuzz/FuzzX/ and fails the run;
# once fixed, commit it there: the ordinary suite replays it as a
# regression test.
if [ -n "${HEARTH_FUZZ_TIME:-}" ]; then
  for file in $(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' internal client server | sort); do
    dir="./$(dirname "$file")"
    for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
      echo "test.sh: fuzzing $target in $dir for $HEARTH_FUZZ_TIME"
      log=$(mktemp)
      if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$HEARTH_FUZZ_TIME" "$dir" 2>&1 | tee "$log"; then
        # Go 1.26's fuzz coordinator can report a bare "context deadline
        # exceeded" when -fuzztime runs out under load, with no failing input
        # (golang/go#75804, fixed in Go 1.27). A real finding always writes
        # "Failing input written to"; only that, or any other failure, fails.
        if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log" &&
          [ "$(grep -c -E '^\s+[a-z_]+\.go:[0-9]+:|panic:' "$log")" = 0 ]; then
          echo "test.sh: $target stopped at its time limit with Go's deadline race (golang/go#75804); no failing input was found"
        else
          rm -f "$log"
          exit 1
        fi
      fi
      rm -f "$log"
    done
  done
fi
