"""A clone of this repository alone, in an empty folder, brings up the control plane and serves
the prometheus-operator kinds the operator writes.

Nothing beside the checkout is read: the clone lives in a temporary folder whose parent holds
nothing else, the make targets set up their own virtualenv, and the prometheus-operator CRDs
come from the Go module pinned in `hack/control-plane/versions.env` (through the same cache as
the control-plane binaries, so this run reuses a build another test already made).
It clones the committed HEAD: what it proves is what CI's clean clone gets.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from support import paths

# A fresh virtualenv (pip with a warm wheel cache: about a minute) and a control plane (~5 s).
pytestmark = pytest.mark.timeout(600)

PROMETHEUS_RULE = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: fresh-clone
  namespace: default
spec:
  groups:
    - name: fresh-clone
      rules:
        - record: job:up:sum
          expr: sum by (job) (up)
"""


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=540, check=False
    )


def test_a_bare_clone_starts_the_control_plane_and_accepts_a_prometheus_rule(
    tmp_path: Path,
) -> None:
    if shutil.which("git") is None or not (paths.REPO / ".git").exists():
        pytest.fail("this test clones the repository: git and a checkout are required")
    clone = tmp_path / "slo-operator"
    cloned = subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(paths.REPO), str(clone)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cloned.returncode == 0, cloned.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["slo-operator"]

    env = {
        key: value
        for key, value in os.environ.items()
        # The clone makes its own virtualenv and control plane; none of ours leaks in.
        if key not in {"VIRTUAL_ENV", "KUBECONFIG", "PYTHONPATH"}
    }
    env["SLO_OPERATOR_CLUSTER_DIR"] = str(tmp_path / "cluster-state")
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if ".venv" not in part
    )

    up = run(["make", "-s", "cluster-up"], clone, env)
    try:
        assert up.returncode == 0, up.stderr[-4000:]
        # `export KUBECONFIG=/x` and `export PATH=/bin-dir:"$PATH"`, quoted for a shell.
        exports = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1)
            for line in up.stdout.splitlines()
            if line.startswith("export ")
        )
        kube_env = {**env, "KUBECONFIG": exports["KUBECONFIG"]}
        kubectl = str(Path(exports["PATH"].split(os.pathsep)[0]) / "kubectl")

        applied = subprocess.run(
            [kubectl, "apply", "-f", "-"],
            input=PROMETHEUS_RULE,
            env=kube_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert applied.returncode == 0, applied.stderr
        assert "prometheusrule.monitoring.coreos.com/fresh-clone created" in applied.stdout
        got = run(
            [
                kubectl,
                "get",
                "prometheusrule",
                "fresh-clone",
                "-o",
                "jsonpath={.spec.groups[0].rules[0].record}",
            ],
            clone,
            kube_env,
        )
        assert got.stdout == "job:up:sum", got.stderr
        # Our own kinds are served as well, from the clone's crds/.
        kinds = run(
            [kubectl, "api-resources", "--api-group=slo.dev", "-o", "name"], clone, kube_env
        )
        assert "servicelevelobjectives.slo.dev" in kinds.stdout.split(), kinds.stderr
    finally:
        down = run(["make", "-s", "cluster-down"], clone, env)
        assert down.returncode == 0, down.stderr[-2000:]
