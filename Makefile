# kamflow — see README.md. `make run` starts everything; `make test` runs every test.
GO        ?= go
BIN       ?= bin/kamflow
STATICCHECK_VERSION ?= v0.8.2
WORKFLOWCHECK_VERSION ?= v0.6.0
export GOTOOLCHAIN ?= local

.PHONY: run build test test-short bench lint fmt clean

run: build ## build and start kamflow dev (embedded Temporal + SQLite, API on :8080, data in ./data)
	./$(BIN) dev

build:
	$(GO) build -o $(BIN) ./cmd/kamflow

# Every test that can run here. Tests that need PostgreSQL start a throwaway cluster from the
# system's binaries (/usr/lib/postgresql/15/bin); set KAMFLOW_REQUIRE_POSTGRES=1 to fail instead
# of skip when it cannot start (CI does). -timeout bounds each package's test binary; the longest is
# cmd/kamflow's, whose end-to-end tests start Temporal servers (TestKillEverything alone: ~5 min).
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

# The fast subset: domain, workflows (time-skipping), API and store tests; no Temporal server build.
test-short:
	$(GO) test -count=1 -short ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./...

# workflowcheck checks that the workflow code (package workflows, and what it calls) is
# deterministic; its exceptions are in workflows/workflowcheck.config.yaml.
lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	$(GO) run go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION) -show-pos \
		-config workflows/workflowcheck.config.yaml ./workflows/...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
