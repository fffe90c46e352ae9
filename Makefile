# guanxi: `make` alone prints this help.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Every Go module, as in go.work (scripts/check-modules.sh checks they agree).
# platform's nested modules keep what needs a database or NATS out of the
# gateway: sqldb, events, operations, servicehost, aipfilter (tests on
# databases), natsembed (nats-server) and testinfra.
MODULES := proto platform platform/sqldb platform/events platform/natsembed platform/operations \
           platform/servicehost platform/aipfilter platform/testinfra services/access services/customer \
           services/interaction services/loyalty services/segmentation services/notification gateway cmd/guanxi \
           scripts/layercheck deploy/check
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

# Code generators and tools, pinned: `make proto` must give the same bytes on
# every machine.
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION       := v2.32.0
GRPCURL_VERSION            := v1.9.4

GO_TEST_FLAGS ?= -p 2 -count=1 -timeout 20m

# VERSION is the release the binaries report (platform/version.Version):
# the git tag, or the commit for untagged builds.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
LDFLAGS := -X github.com/guanxi-crm/guanxi/platform/version.Version=$(VERSION)

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the whole suite in one process (embedded NATS + SQLite): guanxi dev. ARGS="-http-port 8081" passes flags.
	@mkdir -p $(BIN)
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/guanxi ./cmd/guanxi
	$(BIN)/guanxi dev $(ARGS)

.PHONY: build
build: ## Build every binary into bin/.
	@mkdir -p $(BIN)
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/guanxi ./gateway/cmd/gateway \
		./services/customer/cmd/customer ./services/interaction/cmd/interaction \
		./services/loyalty/cmd/loyalty ./services/segmentation/cmd/segmentation \
		./services/notification/cmd/notification ./services/access/cmd/access

.PHONY: test
test: ## Run every module's tests (external infra through GUANXI_TEST_*_URL).
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && go test $(GO_TEST_FLAGS) ./...); done

.PHONY: bench
BENCHES ?= customers loyalty segmentation notifications interactions consumers footprint
BENCH_JSON ?=
bench: build ## Run the benchmarks on PostgreSQL and print their figures. BENCHES="customers" picks them, ARGS="-n 50000" passes flags, BENCH_JSON=FILE also writes every figure to FILE as JSON (made afresh).
	@set -e; $(if $(BENCH_JSON),rm -f $(BENCH_JSON);) for b in $(BENCHES); do echo "== bench $$b"; \
		$(BIN)/guanxi bench $(if $(BENCH_JSON),-json $(BENCH_JSON)) $$b $(ARGS); done

.PHONY: chaos
chaos: build ## Fault injection: the suite as processes (2 replicas each, 3-node NATS, PostgreSQL) under load, kill -9s and NATS restarts, then every effect reconciled. CHAOS_DURATION, CHAOS_RATE scale it.
	$(BIN)/guanxi chaos -bin $(BIN) $(ARGS)

.PHONY: fuzz
# Every parser of outside input: module, package, fuzz target.
FUZZ_TARGETS := platform/aipfilter:.:FuzzCompile \
                services/access:./internal/domain:FuzzParseKey \
                services/customer:./importfile:FuzzReader \
                services/customer:./internal/domain:FuzzNormalizePhone \
                services/interaction:./internal/adapters/events:FuzzDecodeIngestEvent \
                services/notification:./internal/domain:FuzzTemplate
FUZZTIME ?= 5m
fuzz: ## Fuzz every parser of outside input for FUZZTIME each (5m); crashers land in the package's testdata/fuzz and then run with make test.
	@set -e; for t in $(FUZZ_TARGETS); do IFS=: read -r m pkg fn <<< "$$t"; \
		echo "== $$fn in $$m/$${pkg#./} for $(FUZZTIME)"; \
		(cd $$m && go test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg); done

.PHONY: vet
vet: ## go vet every module with GOWORK=off, so each also builds (tests included) on its own.
	@set -e; for m in $(MODULES); do (cd $$m && GOWORK=off go vet ./...); done

.PHONY: lint
lint: tools ## gofmt, module consistency (scripts/check-modules.sh), go vet, the layer check and buf lint.
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	./scripts/check-modules.sh $(MODULES)
	@$(MAKE) --no-print-directory vet
	@$(MAKE) --no-print-directory layers
	./scripts/fetch-protos.sh
	buf lint

.PHONY: layers
layers: ## Fail on a wrong-way import in a service (ports -> app -> domain <- adapters; docs/architecture.md).
	go run ./scripts/layercheck .

.PHONY: tools
tools: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2 ## Install the pinned code generators into bin/.

$(BIN)/buf:
	GOBIN=$(BIN) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/protoc-gen-grpc-gateway:
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(BIN)/protoc-gen-openapiv2:
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
$(BIN)/grpcurl:
	GOBIN=$(BIN) go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

.PHONY: grpcurl
grpcurl: $(BIN)/grpcurl ## Install grpcurl into bin/ for the README tour.

.PHONY: proto
proto: tools ## Fetch third-party protos, lint, and regenerate Go, gateway and OpenAPI code.
	./scripts/fetch-protos.sh
	buf lint
	buf generate

.PHONY: proto-check
proto-check: proto ## Fail when the committed generated code is not what `make proto` makes.
	@git diff --exit-code -- proto gateway/openapi || (echo "generated code is stale: run make proto and commit"; exit 1)

.PHONY: deploy-check
deploy-check: ## Check deploy/ offline: render every kustomize overlay, decode each object strictly, check the policy, load the Compose file, parse the alert rules and dashboards against the metrics list.
	go run ./deploy/check -root .

# The programs the Dockerfile builds an image of (deploy/check checks it
# names every program of the repository).
PROGRAMS := customer interaction loyalty segmentation notification access gateway cli
REGISTRY ?= ghcr.io/guanxi-crm
ENGINE   ?= $(shell command -v docker || command -v podman)

.PHONY: images
images: ## Build an image per program with docker or podman: $(REGISTRY)/guanxi-<program>:$(VERSION).
	@test -n "$(ENGINE)" || { echo "make images needs docker or podman; make images-check builds the same binaries without one"; exit 1; }
	@set -e; for p in $(PROGRAMS); do \
		$(ENGINE) build --build-arg PROGRAM=$$p --build-arg VERSION=$(VERSION) -t $(REGISTRY)/guanxi-$$p:$(VERSION) .; done

.PHONY: images-check
images-check: ## Without a container engine: build the static binaries the Dockerfile builds (CGO_ENABLED=0) and check them.
	go run ./deploy/check -root . -images $(BIN)/images

.PHONY: config-doc
config-doc: ## Regenerate docs/configuration.md from the configuration structs (a test fails while it is stale).
	go run ./cmd/guanxi config-doc -o docs/configuration.md

.PHONY: tidy
tidy: ## go mod tidy every module.
	@set -e; for m in $(MODULES); do (cd $$m && go mod tidy); done

.PHONY: clean
clean: ## Remove built binaries and the dev data dir.
	rm -rf $(BIN) .guanxi
