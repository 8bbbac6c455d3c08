#!/usr/bin/env bash
# Runs every test of Gatehouse. On Debian it first installs what the tests
# need when it is missing (PostgreSQL, isync for mbsync, Chromium, curl,
# Python 3, npm and axe-core), starts the local PostgreSQL cluster if it is
# down, and makes it reachable on 127.0.0.1:5432 for the tests.
#
#   scripts/test.sh              hygiene (no binaries or files over 1 MB, go.mod
#                                tidy) + gofmt + go vet + go test -race ./...
#   scripts/test.sh -run TestX ./internal/imap/...   extra args go to go test
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		echo "scripts/test.sh: need root (or sudo) to run: $*" >&2
		return 1
	fi
}

need=()
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v mbsync >/dev/null || need+=(isync)
command -v chromium >/dev/null || need+=(chromium)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
command -v npm >/dev/null || need+=(npm)
# The submission tests' smarthost (Postfix, started by the test on loopback
# with its own config dir) and submission client (swaks).
[ -x /usr/sbin/postfix ] || need+=(postfix)
command -v swaks >/dev/null || need+=(swaks)
# swaks speaks STARTTLS only with Net::SSLeay and IO::Socket::SSL, which
# --no-install-recommends leaves out.
perl -MNet::SSLeay -MIO::Socket::SSL -e1 2>/dev/null || need+=(libnet-ssleay-perl libio-socket-ssl-perl)
# The migration tests' source server (Dovecot, started by the test on
# loopback with its own config dir).
[ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null || need+=(dovecot-imapd)
if [ ${#need[@]} -gt 0 ]; then
	if command -v apt-get >/dev/null; then
		echo "== installing: ${need[*]}"
		echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	else
		echo "scripts/test.sh: please install ${need[*]}" >&2
	fi
fi

# axe-core for the admin center's accessibility check (TestAxe), from npm.
if command -v npm >/dev/null && [ ! -f /usr/lib/node_modules/axe-core/axe.min.js ] &&
	[ ! -f /usr/local/lib/node_modules/axe-core/axe.min.js ] &&
	[ ! -f "$(npm root -g 2>/dev/null)/axe-core/axe.min.js" ]; then
	echo "== installing: axe-core@4 (npm)"
	as_root env HOME=/root npm install -g --no-audit --no-fund --loglevel=error axe-core@4 >/dev/null ||
		echo "scripts/test.sh: could not install axe-core; TestAxe will fail" >&2
fi

# PostgreSQL for the tests: GATEHOUSE_TEST_PG, or the local cluster.
if [ -z "${GATEHOUSE_TEST_PG:-}" ]; then
	dsn="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	if ! psql "$dsn" -qAtc 'select 1' >/dev/null 2>&1; then
		if command -v pg_ctlcluster >/dev/null; then
			ver=$(ls /etc/postgresql | sort -n | tail -1)
			as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || true
			for _ in $(seq 50); do psql "$dsn" -qAtc 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
		fi
	fi
	if ! psql "$dsn" -qAtc 'select 1' >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null; then
		# A fresh Debian cluster asks for a password on TCP: give the
		# postgres role one for the tests.
		as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'gatehouse-test'\"" >/dev/null
		dsn="postgres://postgres:gatehouse-test@127.0.0.1:5432/postgres?sslmode=disable"
	fi
	export GATEHOUSE_TEST_PG="$dsn"
fi

echo "== repository hygiene"
# No tracked file is an executable binary or larger than 1 MB, except the
# assets listed here (none today). Load tools are run with `go run` or built
# into the ignored bin/.
large_ok=()
bad=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue
	size=$(stat -c %s "$f")
	if [ "$size" -gt 1048576 ] && [[ ! " ${large_ok[*]-} " == *" $f "* ]]; then
		echo "tracked file over 1 MB: $f ($size bytes)" >&2
		bad=1
	fi
	magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	7f454c46 | cffaedfe | cefaedfe | 4d5a*)
		echo "tracked file is an executable binary: $f" >&2
		bad=1
		;;
	esac
done < <(git ls-files -z 2>/dev/null)
[ "$bad" = 0 ] || exit 1
echo "== go mod tidy"
cp go.mod /tmp/gatehouse-go.mod.$$ && cp go.sum /tmp/gatehouse-go.sum.$$
go mod tidy
if ! cmp -s go.mod /tmp/gatehouse-go.mod.$$ || ! cmp -s go.sum /tmp/gatehouse-go.sum.$$; then
	echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit the result" >&2
	diff -u /tmp/gatehouse-go.mod.$$ go.mod >&2 || true
	mv /tmp/gatehouse-go.mod.$$ go.mod && mv /tmp/gatehouse-go.sum.$$ go.sum
	exit 1
fi
rm -f /tmp/gatehouse-go.mod.$$ /tmp/gatehouse-go.sum.$$
echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-ed:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test -race"
# Tests that drive a real client (mbsync, curl, python3) or a terminal fail
# here instead of skipping when it is missing: this script installed them.
export GATEHOUSE_TEST_STRICT=1
if [ $# -gt 0 ]; then
	go test -race -timeout 40m "$@"
else
	go test -race -timeout 40m ./...
fi
