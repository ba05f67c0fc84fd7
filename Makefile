# qrlogin: the two commands a newcomer needs are `make run` and `make test`
# (see README.md). Every target installs what it needs first.

GO       ?= go
BIN      := build/bin/qrlogin
ARTIFACTS ?= $(CURDIR)/test-output
export QRLOGIN_ARTIFACTS := $(ARTIFACTS)

.PHONY: all deps frontend web wasm desktop run server test test-go test-frontend test-desktop fuzz bench lint clean

all: desktop

## deps: install the Debian packages and npm modules the build needs
deps:
	bash .ci/install-deps.sh
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

## frontend: build frontend/dist, which the desktop binary embeds
frontend: deps
	cd frontend && npm run build --silent

## web: rebuild the server's browser pages (server/web/static) and the
## phone web app (server/phone/static), both committed, from the
## frontend's sources
web: deps wasm
	cd frontend && npm run build:web --silent
	cd frontend && npm run build:phone --silent

## wasm: build the phone app's QR decoder, mobile-sim/decode for
## WebAssembly, with Go's wasm_exec.js beside it (server/phone/static,
## committed: the server builds without a wasm toolchain)
wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o server/phone/static/decoder.wasm ./mobile-sim/decode/wasm
	chmod 644 server/phone/static/decoder.wasm
	install -m 644 "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" server/phone/static/wasm_exec.js

## desktop: build the desktop app into build/bin/qrlogin
desktop: frontend
	$(GO) build -tags desktop,production -trimpath -o $(BIN) .

## run: build and start the desktop app with its embedded server (under
## Xvfb when there is no display; see README.md to look at it)
run: desktop
	@if [ -n "$$DISPLAY" ] || [ -n "$$WAYLAND_DISPLAY" ]; then \
		./$(BIN) $(ARGS); \
	else \
		echo "no display: running under Xvfb on :99 (screenshot: DISPLAY=:99 import -window root shot.png)"; \
		xvfb-run -n 99 -s "-screen 0 1280x800x24 -ac" ./$(BIN) $(ARGS); \
	fi

## server: run the standalone login server on 127.0.0.1:8080
server:
	$(GO) run ./server/cmd/qrlogin-server $(ARGS)

## test: every test: vet, gofmt, Go tests with the race detector (the
## desktop end-to-end test under Xvfb on the built app included), the
## frontend's unit tests
test: desktop
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	cd frontend && npm test --silent
	QRLOGIN_REQUIRE_POSTGRES=1 QRLOGIN_E2E_BROWSER=1 QRLOGIN_E2E_DESKTOP=1 QRLOGIN_DESKTOP_BIN=$(CURDIR)/$(BIN) $(GO) test -race -timeout 20m ./...

## fuzz: run each request-decoder fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	for f in FuzzRegisterRequest FuzzMobileLoginRequest FuzzCreateTicketRequest FuzzScanRequest FuzzConfirmRequest; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./server/httpapi/ || exit 1; done
	$(GO) test -run '^$$' -fuzz '^FuzzParsePayload$$' -fuzztime $(FUZZTIME) ./server/api/

## bench: the Go benchmarks of the hot paths (not part of `make test`)
bench:
	$(GO) test -run '^$$' -bench . -count 5 ./server/...

clean:
	rm -rf build/bin frontend/dist test-output
