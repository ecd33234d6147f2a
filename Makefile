# kamflow — see README.md. `make run` starts everything; `make test` runs every test.
GO        ?= go
BIN       ?= bin/kamflow
STATICCHECK_VERSION ?= v0.8.2
WORKFLOWCHECK_VERSION ?= v0.6.0
export GOTOOLCHAIN ?= local

.PHONY: run build build-prod test test-short e2e-cluster bench lint fmt clean

run: build ## build and start kamflow dev (embedded Temporal + SQLite, API on :8080, data in ./data)
	./$(BIN) dev

build:
	$(GO) build -o $(BIN) ./cmd/kamflow

# The production binary, as deploy/Dockerfile builds it (its RUN line is this one, with the image's
# paths: TestDeployDockerfile checks): static (no cgo; the SQLite driver is pure Go), reproducible,
# stripped, and without the dev command and its embedded Temporal server (-tags nodev): serve,
# worker and user only.
PROD_BIN ?= bin/kamflow-prod
build-prod:
	CGO_ENABLED=0 $(GO) build -trimpath -tags nodev -ldflags='-s -w' -o $(PROD_BIN) ./cmd/kamflow

# Every test that can run here. Tests that need PostgreSQL start a throwaway cluster from the
# system's binaries (/usr/lib/postgresql/15/bin); set KAMFLOW_REQUIRE_POSTGRES=1 to fail instead
# of skip when it cannot start (CI does). -timeout bounds each package's test binary; the longest is
# cmd/kamflow's, whose end-to-end tests start Temporal servers (TestKillEverything alone: ~5 min).
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

# The real-cluster test (cmd/kamflow/cluster_*_test.go, build tag cluster): PostgreSQL, the official
# Temporal server on it as a process of its own, two `kamflow worker` and two `kamflow serve`
# processes, 100 deals walked to delivered through kills and a rolling restart; then again with
# mutual TLS to Temporal. The server and its schema tool are built once (some 7 minutes cold) from
# the go.temporal.io/server version go.mod pins, into TEMPORAL_BIN, outside the repository. Set
# KAMFLOW_REQUIRE_CLUSTER=1 to fail instead of skip when something it needs is missing (CI does).
TEMPORAL_VERSION ?= $(shell $(GO) list -m -f '{{.Version}}' go.temporal.io/server)
TEMPORAL_BIN     ?= $(HOME)/.cache/kamflow/temporal-$(TEMPORAL_VERSION)

e2e-cluster:
	@test -x $(TEMPORAL_BIN)/server -a -x $(TEMPORAL_BIN)/sql || { \
		echo "building the Temporal server $(TEMPORAL_VERSION) and its schema tool into $(TEMPORAL_BIN)"; \
		GOBIN=$(TEMPORAL_BIN) $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_VERSION) \
			go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_VERSION); }
	KAMFLOW_TEMPORAL_BIN=$(TEMPORAL_BIN) $(GO) test -tags cluster -run '^TestCluster$$' -count=1 -v -timeout 30m ./cmd/kamflow

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
