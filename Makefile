# One entry point for everything: `make test` and `make demo` set up a fresh machine themselves.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_BIN := $(CURDIR)/.venv/bin
export PATH := $(VENV_BIN):$(PATH)

.PHONY: setup control-plane engines lint test test-unit test-integration test-cluster demo crds chart-files golden \
        cluster-up cluster-down format control-plane-gomod bench demo-down image

setup:
	@bash hack/setup.sh

# Builds etcd, kube-apiserver, kube-controller-manager, kubectl and helm once into ~/.cache.
control-plane:
	@bash hack/build-control-plane.sh >/dev/null

# Builds Prometheus 3, VictoriaMetrics, Thanos and prometheus-operator once into ~/.cache (the engines the
# accuracy suite and the cluster tier run on; docs/engines.md). The test kit builds one on first use.
engines:
	@bash hack/build-engines.sh prometheus3 victoriametrics thanos prometheus-operator >/dev/null

control-plane-gomod:
	@bash hack/control-plane/gen-gomod.sh

lint: setup
	ruff check operator testkit tests bench
	ruff format --check operator testkit tests bench
	mypy
	lint-imports

format: setup
	ruff format operator testkit tests bench
	ruff check --fix operator testkit tests bench

# Everything CI runs: the builds side by side with lint, then the tiers as two streams (hack/test.sh).
test: setup
	@bash hack/test.sh

test-unit: setup
	$(PY) -m pytest tests/unit

test-integration: setup engines
	$(PY) -m pytest tests/integration

test-cluster: setup control-plane
	$(PY) -m pytest tests/cluster

# Regenerates the committed CRDs from the pydantic models, and the chart's files from them (the
# chart templates files/crds/ so `helm upgrade` upgrades them; a test keeps both identical).
crds: setup
	$(VENV_BIN)/slo-operator crds --output-dir crds
	@$(MAKE) --no-print-directory chart-files

# The chart's generated files: its copy of crds/ and the Grafana dashboards it publishes as
# ConfigMaps (`slo-operator dashboards`); tests/e2e/test_chart.py fails when either is stale.
chart-files: setup
	rm -f charts/slo-operator/files/crds/*.yaml
	cp crds/*.yaml charts/slo-operator/files/crds/
	rm -f charts/slo-operator/files/dashboards/*.json
	$(VENV_BIN)/slo-operator dashboards --output-dir charts/slo-operator/files/dashboards

# Refreshes the golden rule files after an intended change to rule generation.
golden: setup
	$(PY) -m pytest tests/unit/test_golden_rules.py --update-golden

# The operator's OCI image, built without a container engine (hack/build-image.sh): Debian base
# from mmdebstrap, the virtualenv layer, the configuration with umoci; prints the archive's path.
image: setup
	@bash hack/build-image.sh

# The product end to end with live numbers (hack/demo.sh); `make demo-down` stops all of it.
demo: setup
	@bash hack/demo.sh

demo-down: setup
	@$(PY) -m testkit.demo down

# Prints `export KUBECONFIG=...` and `export PATH=...` for: eval "$$(make -s cluster-up)"
# (`up` builds the binaries itself when missing; progress goes to stderr.)
cluster-up: setup
	@$(PY) -m testkit.controlplane up

cluster-down: setup
	@$(PY) -m testkit.controlplane down

# Every benchmark against Sloth, Pyrra and slo-generator; rewrites docs/benchmarks.md (about 50 min on
# 2 cores, adding up its sections as measured one by one under load; the 10,000-SLO soak adds an hour).
# Not part of `make test`; tests/integration/test_bench_smoke.py keeps it from rotting.
# Pyrra is built from a release's source archive given as PYRRA_SRC (its module is not served by
# the module proxy): make bench PYRRA_SRC=/path/to/pyrra-0.9.5-src.tar.gz. Without it, the page
# measures bench/pyrra.py's reproduction of Pyrra's rules and says so.
# BENCH_ONLY=generate,ui make bench runs some sections (names: python -m bench --help).
# The soak runs 1,000 SLOs / 100 SLAs; BENCH_SOAK_SLOS=10000 runs 10,000 / 1,000 (over an hour).
bench: setup
	@$(PY) -c "import matplotlib" 2>/dev/null || $(PY) -m pip install -q -e '.[bench]'
	PYRRA_SRC="$(PYRRA_SRC)" BENCH_ONLY="$(BENCH_ONLY)" BENCH_SOAK_SLOS="$(BENCH_SOAK_SLOS)" \
		$(PY) -m bench
