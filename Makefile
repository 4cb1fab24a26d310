# agentguard — two commands on a fresh machine: `make run`, `make test`.
SHELL   := /bin/bash
GO      ?= go
BIN     := $(CURDIR)/bin
GRPCURL := $(BIN)/grpcurl
GRPCURL_VERSION := v1.9.4
FUZZTIME ?= 15s
export PATH := $(BIN):$(PATH)

.PHONY: all build run test unit policy-test lint tools bench load fuzz clean e2e demo node-deps eval train redis kube

all: build

build:
	$(GO) build -o $(BIN)/agentguard ./cmd/agentguard

## run: serve the embedded default deployment (gRPC :9000, metrics :15020,
## health :15021, admin 127.0.0.1:15000).
run:
	$(GO) run ./cmd/agentguard serve $(ARGS)

## test: everything CI runs: format, vet, unit and e2e tests under -race,
## the policy test cases, the built binary driven by grpcurl.
test: tools lint unit policy-test

tools: $(GRPCURL) redis kube

## kube: etcd (Debian's etcd-server) and kube-apiserver built from
## k8s.io/kubernetes (tools/kube; minutes once, then cached by version),
## for e2e/kube's server-side dry-run of manifests/.
kube:
	bash scripts/kube.sh

## redis: a redis-server for the shared-limit tests (Debian's package).
redis:
	bash scripts/redis.sh

$(GRPCURL):
	GOBIN=$(BIN) $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd tools/kube && $(GO) vet ./...

unit: build
	GRPCURL=$(GRPCURL) AGENTGUARD_BIN=$(BIN)/agentguard $(GO) test -race -count=1 ./...
	@# The recorded LLM streams split at every byte: exhaustive here, where
	@# the race detector does not slow it tenfold (sampled under -race).
	$(GO) test -count=1 -run 'TestReplayRecordedExchanges' ./pkg/engine/

policy-test: build
	$(BIN)/agentguard test policies/

## bench: the full MCP request path (ext_proc and ext_authz) against no-op
## servers in the same run so the ratio holds on a noisy machine; the
## detectors, the limits (local and Redis), the parsers.
bench: redis
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./pkg/extproc/ ./pkg/extauthz/ ./pkg/engine/ ./pkg/policy/ ./pkg/protocol/mcp/ ./pkg/sse/ ./pkg/limits/ ./pkg/inspect/...

## e2e: the end-to-end suite alone: real MCP and LLM clients and servers
## through the Envoy test double (or a real Envoy: ENVOY_BIN) and agentguard.
e2e: tools node-deps
	$(GO) test -race -count=1 ./e2e/...

node-deps:
	bash e2e/scripts/node-deps.sh

## demo: the whole chain on loopback, for a person to try; prints commands.
demo: build node-deps
	$(GO) run ./e2e/demo -agentguard $(BIN)/agentguard

## load: concurrent ext_proc streams against the built binary and a no-op
## server, alternating rounds; prints ratios (throughput, latency, CPU/request).
load: build
	$(GO) build -o $(BIN)/load ./e2e/load
	$(BIN)/load -agentguard $(BIN)/agentguard $(LOADARGS)

## eval: every detector over the public corpora (../shared/corpora), on
## the fixed test split: precision, recall, F1 per detector and source.
CORPORA ?= ../shared/corpora
eval:
	$(GO) run ./cmd/detect-eval -corpora $(CORPORA)

## train: retrain the prompt-injection model on the training split only,
## deterministically; writes the weights shipped in pkg/inspect/injection/model.
train:
	$(GO) run ./cmd/train-injection -corpora $(CORPORA) -out pkg/inspect/injection/model

## fuzz: each Fuzz target for FUZZTIME.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

clean:
	rm -rf $(BIN)
