"""`/metrics` serves the operator's health metrics and every SLO's and SLA's numbers, in the
format the scraper asks for; the numbers' text is reused until one changes (10,000 SLOs took
seconds to format per scrape)."""

from __future__ import annotations

import gzip
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import exposition as prometheus_exposition
from prometheus_client import parser
from prometheus_client.openmetrics import parser as openmetrics_parser

from slo_operator.evaluation import metrics, sla_metrics
from slo_operator.kube import metrics as kube_metrics

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


@pytest.fixture
def numbers() -> Iterator[None]:
    metrics.SLO_NUMBERS.set("shop", "page-a", [("fast", 99.5, 40.0, True, 99.0)], {"1h": 2.0})
    sla_metrics.SLA_NUMBERS.set("shop", "page-b", [("uptime", 99.95, 99.9)], 10.0)
    yield
    metrics.SLO_NUMBERS.forget("shop", "page-a")
    sla_metrics.SLA_NUMBERS.forget("shop", "page-b")


def _values(text: str, openmetrics: bool = False) -> dict[tuple[str, str], float]:
    families = (
        openmetrics_parser.text_string_to_metric_families(text)
        if openmetrics
        else parser.text_string_to_metric_families(text)
    )
    return {
        (sample.name, sample.labels.get("name", "")): sample.value
        for family in families
        for sample in family.samples
    }


def test_the_page_holds_health_metrics_and_every_objects_numbers(numbers: None) -> None:
    for accept, openmetrics in (("", False), (OPENMETRICS, True)):
        body, content_type = metrics.exposition(accept)
        assert content_type.startswith(
            "application/openmetrics-text" if openmetrics else "text/plain"
        )
        # One OpenMetrics end marker, at the end (the parser refuses anything else).
        values = _values(body.decode(), openmetrics)
        assert values[("slo_operator_slo_sli_percent", "page-a")] == 99.5
        assert values[("slo_operator_slo_burn_rate", "page-a")] == 2.0
        assert values[("slo_operator_sla_attainment_percent", "page-b")] == 99.95
        assert values[("slo_operator_sla_credit_percent", "page-b")] == 10.0
        assert any(name.startswith("slo_operator_evaluation_cycles") for name, _ in values)


def test_a_changed_number_is_on_the_next_page_and_unchanged_ones_reuse_the_text(
    numbers: None,
) -> None:
    before, _ = metrics.exposition()
    metrics.SLO_NUMBERS.set("shop", "page-a", [("fast", 99.5, 40.0, True, 99.0)], {"1h": 2.0})
    again, _ = metrics.exposition()
    assert again == before
    plain = prometheus_exposition.choose_encoder("")
    kept = metrics.SLO_NUMBERS.text(*plain)
    assert metrics.SLO_NUMBERS.text(*plain) is kept  # not formatted again
    metrics.SLO_NUMBERS.set("shop", "page-a", [("fast", 98.0, 10.0, False, 99.0)], {"1h": 9.0})
    values = _values(metrics.exposition()[0].decode())
    assert values[("slo_operator_slo_sli_percent", "page-a")] == 98.0
    assert values[("slo_operator_slo_objective_met", "page-a")] == 0.0
    metrics.SLO_NUMBERS.forget("shop", "page-a")
    assert ("slo_operator_slo_sli_percent", "page-a") not in _values(
        metrics.exposition()[0].decode()
    )


def test_the_operators_http_server_answers_with_the_asked_format(numbers: None) -> None:
    server = kube_metrics.serve(0)
    try:
        port = server.server_address[1]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Accept": OPENMETRICS}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
            text = answer.read().decode()
        assert _values(text, openmetrics=True)[("slo_operator_slo_sli_percent", "page-a")] == 99.5
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            assert answer.headers["Content-Type"].startswith("text/plain")
            assert ("slo_operator_sla_credit_percent", "page-b") in _values(answer.read().decode())
    finally:
        server.shutdown()
        server.server_close()


def test_a_scraper_accepting_gzip_gets_the_same_page_compressed(numbers: None) -> None:
    for accept in ("", OPENMETRICS):
        plain, content_type = metrics.exposition(accept)
        packed, packed_type = metrics.exposition(accept, gzipped=True)
        assert packed_type == content_type
        # Nothing here moves the health metrics between the two calls.
        assert gzip.decompress(packed) == plain
        assert len(packed) < len(plain)
    plain_encoder = prometheus_exposition.choose_encoder("")
    kept = metrics.SLO_NUMBERS.text(*plain_encoder, gzipped=True)
    assert metrics.SLO_NUMBERS.text(*plain_encoder, gzipped=True) is kept
    server = kube_metrics.serve(0)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_address[1]}/metrics",
            headers={"Accept": OPENMETRICS, "Accept-Encoding": "gzip"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.headers["Content-Encoding"] == "gzip"
            text = gzip.decompress(answer.read()).decode()
        assert _values(text, openmetrics=True)[("slo_operator_slo_sli_percent", "page-a")] == 99.5
    finally:
        server.shutdown()
        server.server_close()
