"""`slo-operator generate` over a large input runs in one process per core and writes exactly
what one process writes: same bytes, same problem lines, same exit code, for both formats."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import pytest
import yaml

from slo_operator import cli
from slo_operator.cli import generate
from support import manifests


def _write_inputs(folder: pathlib.Path) -> None:
    """Eight files of example SLOs under new names, in reverse name order across files (the
    rule file sorts them), with an invalid manifest, an SLA, an SLO defined twice in different
    files, and a non-ASCII annotation (text only PyYAML's emitter writes)."""
    slos = manifests.example_bodies("ServiceLevelObjective")
    (sla,) = manifests.example_bodies("ServiceLevelAgreement")
    for number in range(8):
        bodies: list[dict[str, Any]] = []
        for index, template in enumerate(slos):
            body = copy.deepcopy(template)
            body["metadata"]["name"] = f"slo-{99 - number:02d}-{index}"
            bodies.append(body)
        if number == 2:
            bodies[0]["spec"]["objectives"][0]["target"] = 100
        if number == 5:
            bodies.append(sla)
            duplicate = copy.deepcopy(bodies[1])
            duplicate["metadata"]["name"] = "slo-99-1"
            bodies.append(duplicate)
        (folder / f"part-{number}.yaml").write_text(yaml.safe_dump_all(bodies))


def _generate(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cores: int
) -> tuple[int, str, str]:
    monkeypatch.setattr(generate, "cpus", lambda: cores)
    monkeypatch.setattr(generate, "PARALLEL_BYTES", 1)
    code = cli.main(["generate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("unicode", [False, True], ids=["ascii", "non-ascii-annotation"])
@pytest.mark.parametrize("output", ["rulefile", "prometheusrule"])
def test_parallel_generate_writes_what_one_process_writes(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    output: str,
    unicode: bool,
) -> None:
    _write_inputs(tmp_path)
    if unicode:
        path = tmp_path / "part-6.yaml"
        bodies = list(yaml.safe_load_all(path.read_text()))
        bodies[0]["spec"]["description"] = "Bestellungen schnell genug — für alle Kunden"
        path.write_text(yaml.safe_dump_all(bodies, allow_unicode=True))
    files = sorted(tmp_path.glob("*.yaml"))
    argv = ["-f", str(tmp_path), "--format", output]

    single = _generate(argv, capsys, monkeypatch, cores=1)
    monkeypatch.setattr(generate, "cpus", lambda: 3)
    assert generate.processes(files) == 3
    parallel = _generate(argv, capsys, monkeypatch, cores=3)

    assert parallel == single
    code, out, err = parallel
    assert code == 1
    assert "spec.objectives[0].target" in err
    assert "SLO shop/slo-99-1 is already defined in" in err
    assert "skipped 1 ServiceLevelAgreement(s)" in err
    documents = list(yaml.safe_load_all(out))
    if output == "rulefile":
        names = [group["name"] for group in documents[0]["groups"]]
        assert len(names) == len(set(names))
        slos = list(dict.fromkeys(name.rsplit("/", 1)[0] for name in names))
        assert slos == sorted(slos)
    else:
        assert len(documents) == 8 * len(manifests.example_bodies("ServiceLevelObjective")) - 1
    if unicode:
        assert "für alle Kunden" in out


def test_input_is_split_in_file_order_into_parts_of_about_equal_size(
    tmp_path: pathlib.Path,
) -> None:
    files = []
    for index, size in enumerate([100, 100, 100, 100, 400, 100, 100]):
        path = tmp_path / f"{index}.yaml"
        path.write_text("x" * size)
        files.append(path)
    runs = generate._split(files, 3)
    assert [path for run in runs for path in run] == files
    assert [len(run) for run in runs] == [3, 2, 2]
