# One task runner, the same names everywhere. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else the copy `bootstrap` installs with pip.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen
# The services' folders, from the one list of services (services.json).
SERVICES := $(shell python3 -c 'import json; print(" ".join(s["folder"] for s in json.load(open("services.json"))["services"]))')
SERVICE_PACKAGES := $(shell python3 -c 'import json; print(" ".join(s["folder"] + "/" + s["module"] for s in json.load(open("services.json"))["services"]))')
# The apps (the console): tested and type-checked like the services, but no database, so no migrations.
APPS := $(shell python3 -c 'import json; print(" ".join(a["folder"] for a in json.load(open("services.json")).get("apps", [])))')
APP_PACKAGES := $(shell python3 -c 'import json; print(" ".join(a["folder"] + "/" + a["module"] for a in json.load(open("services.json")).get("apps", [])))')
# Every suite that runs against local processes; e2e/container_tests runs once, after them.
# e2e/browser_tests drives the console in Chromium against its own stack.
SUITES := libs/common libs/contracts libs/client tools/devstack $(SERVICES) $(APPS) e2e/tests e2e/browser_tests
TEST_ROOTS := libs/common libs/contracts libs/client tools/devstack $(SERVICES) $(APPS) e2e
TYPED := libs/common/saga_common libs/contracts/shop_contracts libs/client/saga_client libs/testing/saga_testing tools/devstack/devstack \
         bench/bench bench/peers e2e/e2e $(SERVICE_PACKAGES) $(APP_PACKAGES)

.PHONY: help bootstrap up down test test-suites chaos chromium faketime kafka prometheus images e2e bench soak lint format clean contract-docs dashboards tilt jaeger kube k8s-check temporal

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

bootstrap: ## install uv (if missing) and the locked dependencies
	@$(UV) --version >/dev/null 2>&1 || bash tools/devstack/install-uv.sh
	@$(UV) sync --locked --quiet

# TRACING=1: Jaeger too, receiving every process's spans (off by default: tracing costs throughput,
# docs/benchmarks.md#what-tracing-costs).
TRACING ?=
up: bootstrap kafka prometheus $(if $(TRACING),jaeger) ## run the whole system in the foreground (PostgreSQL, Apache Kafka (BROKERS=3: a three-node cluster; BROKER=tansu: Tansu), 4 web + 4 worker processes, the console, Prometheus); Ctrl-C stops it
	@TRACING="$(TRACING)" $(RUN) devstack up

down: bootstrap ## stop a system started by 'make up' in another terminal
	@$(RUN) devstack down

test: bootstrap kafka images chromium prometheus faketime tilt jaeger kube temporal ## run every test suite: real PostgreSQL and one Apache Kafka for the run, then the containers (e2e)
	@$(RUN) devstack with-services -- $(MAKE) --no-print-directory test-suites

# Runs inside `uv run devstack with-services`, so the project's environment is already active.
test-suites:
	@rm -rf .run/junit; mkdir -p .run/junit; status=0; \
	for suite in $(SUITES); do \
	  echo "=== $$suite"; \
	  pytest -p no:cacheprovider -q $$suite --junitxml=.run/junit/$$(echo $$suite | tr / -).xml || status=1; \
	done; \
	echo "=== e2e/container_tests"; \
	pytest -p no:cacheprovider -q e2e/container_tests --junitxml=.run/junit/e2e-containers.xml || status=1; \
	python -m devstack.junit_summary .run/junit; \
	exit $$status

kafka: bootstrap ## Java and Maven (if missing), then Apache Kafka's jars from Maven Central, checked against tools/kafka/jars.sha256
	@UV="$(UV)" bash tools/devstack/install-kafka.sh

tilt: ## build Tilt (tools/go/tilt pins the release) into .run/tools/bin, or reuse it: make test runs tilt ci
	@bash tools/devstack/install-go-tool.sh tilt github.com/tilt-dev/tilt/cmd/tilt

jaeger: ## build Jaeger (tools/go/jaeger pins the release) into .run/tools/bin, or reuse it: make up TRACING=1 runs it
	@bash tools/devstack/install-go-tool.sh jaeger github.com/jaegertracing/jaeger/cmd/jaeger

temporal: ## build the Temporal server (tools/go/temporal pins the release) into .run/tools/bin, or reuse it: make bench's peer
	@bash tools/devstack/install-go-tool.sh temporal temporal-server=go.temporal.io/server/cmd/server \
	  temporal-sql-tool=go.temporal.io/server/cmd/tools/sql

kube: ## build kube-apiserver, -controller-manager, -scheduler (tools/go/kube) and KWOK (tools/go/kwok) into .run/tools/bin, or reuse them
	@bash tools/devstack/install-go-tool.sh kube k8s.io/kubernetes/cmd/kube-apiserver \
	  k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
	@bash tools/devstack/install-go-tool.sh kwok sigs.k8s.io/kwok/cmd/kwok

k8s-check: bootstrap kube ## every overlay, alone and with every component, applied to a real API server with simulated nodes (KWOK): all accepted, all workloads available
	@$(RUN) devstack k8s-check

faketime: ## install Debian's faketime (if missing): the chaos runs skew a worker's clock with it
	@bash tools/devstack/install-faketime.sh

chromium: ## install Debian's Chromium for the browser tests (if missing)
	@bash tools/devstack/install-chromium.sh

prometheus: ## install Debian's Prometheus and promtool (if missing): make up runs it, make test checks the rules
	@bash tools/devstack/install-prometheus.sh

contract-docs: bootstrap ## regenerate docs/contract (JSON Schema per message, AsyncAPI) from shop_contracts
	@$(RUN) devstack contract-docs

dashboards: bootstrap ## regenerate the Grafana dashboards and the Kubernetes PrometheusRule from monitoring/
	@$(RUN) devstack dashboards

images: bootstrap kafka ## build every container image with docker or podman (a local Debian base where no registry answers)
	@$(RUN) devstack images

e2e: images ## the end-to-end suite on containers (testcontainers): PostgreSQL, the broker, every service's image
	@mkdir -p .run/junit
	@$(RUN) pytest -p no:cacheprovider -q e2e/container_tests --junitxml=.run/junit/e2e-containers.xml

# e.g. make bench BENCH_ARGS="--baseline HEAD~1 --workers 2"; the flag preloads pg_stat_statements on the
# local Debian cluster (one restart, the first time) for the top statements per saga.
BENCH_ARGS ?=
bench: bootstrap kafka temporal ## benchmarks on the local stack (minutes): throughput and latency by offered rate, cost; writes bench/results/
	@$(RUN) python -m bench.run --enable-pg-stat-statements $(BENCH_ARGS)

# e.g. make soak SOAK_ARGS="--minutes 60 --rate 20": by default 30 minutes at 25 orders/s (about half the
# measured saturation), sampled every 10 s; exit 1 if a check fails (docs/testing.md#soak).
SOAK_ARGS ?=
soak: bootstrap kafka ## the soak (30 min): the stack at half its capacity; fails if memory, latency, tables, backlog or lag drift; writes bench/results/soak-<date>.*
	@$(RUN) python -m bench.soak $(SOAK_ARGS)

CHAOS_ORDERS ?= 2000
CHAOS_RATE ?= 15
CHAOS_SEED ?= 1
CHAOS_PROFILE ?= default
chaos: bootstrap kafka faketime ## the long chaos run (CHAOS_PROFILE=default, give-up or brokers: a three-node Kafka cluster) under load, then the invariant checker
	@$(RUN) python -m e2e.chaos --orders $(CHAOS_ORDERS) --rate $(CHAOS_RATE) --seed $(CHAOS_SEED) \
	  --profile $(CHAOS_PROFILE) --json .run/chaos/report.json

lint: bootstrap ## ruff, mypy (code and tests), the layers (import-linter), file sizes, missing migrations, the contract docs, the CI workflow (actionlint, zizmor)
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@$(RUN) lint-imports --no-cache
	@$(RUN) devstack check-sizes
	@$(RUN) mypy $(TYPED)
	@for root in $(TEST_ROOTS); do \
	  (cd $$root && $(RUN) mypy --config-file $(CURDIR)/pyproject.toml --no-error-summary \
	     $$(find tests $$(test -d container_tests && echo container_tests browser_tests) -name '*.py' -not -path '*/migrations/*')) \
	  || exit 1; \
	done
	@for service in $(SERVICES); do \
	  out=$$(cd $$service && $(RUN) python manage.py makemigrations --check --dry-run 2>&1) \
	    || { echo "$$out" | tail -20; echo "$$service: models changed without a migration (run makemigrations)"; exit 1; }; \
	done
	@$(RUN) python -c 'from devstack.contract_docs import rendered; import sys; \
	  stale = [str(p) for p, t in rendered().items() if not p.exists() or p.read_text() != t]; \
	  sys.exit("docs/contract is stale: run make contract-docs" if stale else 0)'
	@$(RUN) actionlint .github/workflows/*.yml
	@$(RUN) zizmor --offline --quiet .github/workflows/
	@echo "lint: clean"

format: bootstrap ## apply ruff's fixes and formatting
	@$(RUN) ruff check --fix .
	@$(RUN) ruff format .

clean: ## remove caches and local run state
	rm -rf .run .mypy_cache .ruff_cache .pytest_cache
