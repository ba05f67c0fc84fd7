# qrlogin: the two commands a newcomer needs are `make run` and `make test`
# (see README.md); `make help` lists every target. Each target installs
# what it needs first.

GO        ?= go
BIN       ?= build/bin/qrlogin
ARTIFACTS ?= $(CURDIR)/test-output
export QRLOGIN_ARTIFACTS := $(ARTIFACTS)

# The load tool is a module of its own (its plotting libraries are not the
# product's); the targets that test or lint Go run it too.
LOADTOOL := server/cmd/qrlogin-load
NPM_DEPS := frontend/node_modules/.package-lock.json

# VERSION is stamped into the app (qrlogin --version) and names the Debian
# package: a valid Debian version, from git (build/version.sh).
ifeq ($(origin VERSION),undefined)
VERSION := $(shell sh build/version.sh)
endif
# The packaging tools, pinned here rather than in go.mod: the product
# does not import them. nfpm makes the Debian package; go-winres the
# Windows resources (the icon, and the manifest that asks for per-monitor
# DPI awareness and the common controls v6 that Wails expects).
NFPM   := $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
WINRES := $(GO) run github.com/tc-hib/go-winres@v0.3.3

.PHONY: help deps frontend web wasm desktop package run server test lint fuzz bench bench-report clean

## help: list the targets
help:
	@awk '/^## [a-z-]+:/ { sub(/^## /, ""); i = index($$0, ":"); printf "  %-12s %s\n", substr($$0, 1, i - 1), substr($$0, i + 2); next } \
		/^## / { sub(/^## /, ""); printf "  %-12s %s\n", "", $$0 }' $(MAKEFILE_LIST)

## deps: install the Debian packages and the npm modules the build needs
deps: $(NPM_DEPS)
	bash .ci/install-deps.sh

$(NPM_DEPS): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

## frontend: build frontend/dist, which the desktop binary embeds
frontend: $(NPM_DEPS)
	cd frontend && npm run build --silent

## web: rebuild the server's browser pages (server/web/static) and the
## phone web app (server/phone/static), both committed, from the
## frontend's sources
web: $(NPM_DEPS) wasm
	cd frontend && npm run build:web --silent
	cd frontend && npm run build:phone --silent

## wasm: build the phone app's QR decoder, mobile-sim/decode for
## WebAssembly, with Go's wasm_exec.js beside it (server/phone/static,
## committed, so that the server builds without a wasm toolchain)
wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o server/phone/static/decoder.wasm ./mobile-sim/decode/wasm
	chmod 644 server/phone/static/decoder.wasm
	install -m 644 "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" server/phone/static/wasm_exec.js

## desktop: build the desktop app into build/bin/qrlogin (or BIN=path):
## the frontend, then the Go binary that embeds it (needs the GTK/WebKit
## headers, from make deps)
desktop: frontend
	$(GO) build -tags desktop,production -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) .

## package: the packages people install, in build/bin: the Debian
## package qrlogin_VERSION_amd64.deb (nfpm, build/linux/nfpm.yaml) and
## the Windows app qrlogin.exe, cross-compiled (it is not run here)
package: desktop
	rm -rf build/bin/icons build/bin/qrlogin_*.deb
	$(GO) run build/linux/icons.go build/appicon.png build/bin/icons
	VERSION='$(VERSION)' QRLOGIN_BIN='$(BIN)' $(NFPM) pkg --config build/linux/nfpm.yaml --packager deb --target build/bin/
	$(WINRES) simply --arch amd64 --manifest gui --icon build/appicon.png --out qrlogin \
		--product-name qrlogin --product-version '$(VERSION)' --original-filename qrlogin.exe \
		--file-description 'qrlogin: log in by scanning a QR code with your phone'
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -tags desktop,production -trimpath \
		-ldflags "-H windowsgui -s -w -X main.version=$(VERSION)" -o build/bin/qrlogin.exe .; \
		s=$$?; rm -f qrlogin_windows_amd64.syso; exit $$s

## run: build and start the desktop app with its embedded server (under
## Xvfb when there is no display; see README.md to look at it)
run: deps desktop
	@if [ -n "$$DISPLAY" ] || [ -n "$$WAYLAND_DISPLAY" ]; then \
		./$(BIN) $(ARGS); \
	else \
		echo "no display: running under Xvfb on :99 (screenshot: DISPLAY=:99 import -window root shot.png)"; \
		xvfb-run -n 99 -s "-screen 0 1280x800x24 -ac" ./$(BIN) $(ARGS); \
	fi

## server: run the standalone login server on 127.0.0.1:8080
server:
	$(GO) run ./server/cmd/qrlogin-server $(ARGS)

## test: every test: vet, gofmt, staticcheck, the frontend's unit tests,
## the Go tests with the race detector (the desktop end to end under Xvfb
## on the built app and on the installed .deb, the browser and PostgreSQL
## tests included), the load tool's
test: deps desktop package lint
	cd frontend && npm test --silent
	QRLOGIN_REQUIRE_POSTGRES=1 QRLOGIN_E2E_BROWSER=1 QRLOGIN_E2E_DESKTOP=1 QRLOGIN_DESKTOP_BIN=$(CURDIR)/$(BIN) \
		QRLOGIN_PACKAGE_DIR=$(CURDIR)/build/bin $(GO) test -race -timeout 20m ./...
	cd $(LOADTOOL) && $(GO) test -race ./...

## lint: go vet, gofmt and staticcheck (pinned by the go.mod tool
## directive) on both modules; fails on any finding
lint:
	$(GO) vet ./...
	@if [ -d frontend/dist ]; then $(GO) vet -tags desktop,production . ; else echo "lint: no frontend/dist (make frontend): the desktop build is not vetted"; fi
	cd $(LOADTOOL) && $(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) build -o build/bin/staticcheck honnef.co/go/tools/cmd/staticcheck
	build/bin/staticcheck ./...
	cd $(LOADTOOL) && $(CURDIR)/build/bin/staticcheck ./...

## fuzz: run each request-decoder fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	for f in FuzzRegisterRequest FuzzMobileLoginRequest FuzzCreateTicketRequest FuzzScanRequest FuzzConfirmRequest; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./server/httpapi/ || exit 1; done
	$(GO) test -run '^$$' -fuzz '^FuzzParsePayload$$' -fuzztime $(FUZZTIME) ./server/api/

## bench: the Go benchmarks of the hot paths (not part of `make test`)
bench:
	$(GO) test -run '^$$' -bench . -count 5 ./server/...

## bench-report: rerun the table of docs/benchmarks.md on the server of
## the working tree (and first on OLD=<git rev>'s, if given) with
## qrlogin-load report, each run on a fresh server; ARGS passes it flags
## (-short, -o report.md, -json FILE, -postgres URL); build/bench-report.sh
bench-report:
	OLD='$(OLD)' GO='$(GO)' sh build/bench-report.sh $(ARGS)

## clean: remove what the targets built
clean:
	rm -rf build/bin frontend/dist test-output
