#!/bin/sh
# package.sh builds the gatehouse .deb into dist/ with nfpm:
#   scripts/package.sh                  build the binary, then the .deb
#   GATEHOUSE_BINARY=path scripts/package.sh   package an already built binary
# VERSION (a Debian version, starting with a digit) and GOARCH may be set.
# nfpm runs through 'go run' at a fixed version, so go.mod does not carry it.
set -eu
cd "$(dirname "$0")/.."

NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
if [ -z "${VERSION:-}" ]; then
	desc=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)
	case "$desc" in
	v[0-9]*) VERSION=${desc#v} ;;
	*) VERSION="0.0.0~git$(date -u +%Y%m%d).$desc" ;;
	esac
fi
GOARCH=${GOARCH:-$(go env GOARCH)}
export VERSION GOARCH

mkdir -p dist/build
if [ -n "${GATEHOUSE_BINARY:-}" ]; then
	cp "$GATEHOUSE_BINARY" dist/build/gatehouse
else
	CGO_ENABLED=0 GOOS=linux go build -trimpath \
		-ldflags "-s -w -X github.com/gatehouse-mail/gatehouse/internal/app.Version=$VERSION" \
		-o dist/build/gatehouse ./cmd/gatehouse
fi
go run "$NFPM" package --config packaging/nfpm.yaml --packager deb --target dist/
ls -1 dist/*.deb
