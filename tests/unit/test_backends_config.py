"""Backend configuration: the file, --prometheus-url as `default`, allow-lists, refusals;
and the policy webhook's host allow-list."""

from __future__ import annotations

import pathlib

import pytest

from slo_operator import errors
from slo_operator.backends import backend_config
from slo_operator.evaluation import policy_webhooks

FILE = """
backends:
  - name: mimir-team-a
    url: https://mimir.example.com/prometheus
    headers: {X-Scope-OrgID: team-a}
    bearerTokenFile: /var/run/secrets/mimir/token
    namespaces: [team-a, "team-a-*"]
  - name: thanos
    url: http://thanos-query:9090
"""


@pytest.fixture
def backends(tmp_path: pathlib.Path) -> backend_config.Backends:
    path = tmp_path / "backends.yaml"
    path.write_text(FILE)
    return backend_config.load("http://prometheus:9090", str(path))


@pytest.mark.parametrize(
    ("name", "namespace", "expected"),
    [
        (None, "shop", "default"),
        ("thanos", "anything", "thanos"),
        ("mimir-team-a", "team-a", "mimir-team-a"),
        ("mimir-team-a", "team-a-staging", "mimir-team-a"),
    ],
)
def test_resolve(
    backends: backend_config.Backends, name: str | None, namespace: str, expected: str
) -> None:
    assert backends.resolve(name, namespace).name == expected


@pytest.mark.parametrize(
    ("name", "namespace", "reason"),
    [
        ("mimir-team-a", "team-b", "allow-list"),
        ("mimir-team-a", "team-ab", "allow-list"),
        ("victoria", "shop", "no such backend"),
    ],
)
def test_refused(backends: backend_config.Backends, name: str, namespace: str, reason: str) -> None:
    with pytest.raises(errors.BackendNotAllowed) as refused:
        backends.resolve(name, namespace)
    assert reason in str(refused.value)
    assert refused.value.backend == name and refused.value.namespace == namespace


def test_headers_and_token_file_are_kept(backends: backend_config.Backends) -> None:
    mimir = backends.by_name["mimir-team-a"]
    assert mimir.headers == {"X-Scope-OrgID": "team-a"}
    assert mimir.bearer_token_file == "/var/run/secrets/mimir/token"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("backends: [{name: default, url: http://p:9090}]", "both define the default backend"),
        ("backends: [{name: a, url: ftp://p}]", "url"),
        ("backends: [{name: a, url: http://p, nope: 1}]", "nope"),
        (
            "backends: [{name: a, url: http://p, bearerTokenFile: /t, "
            "basicAuth: {usernameFile: /u, passwordFile: /p}}]",
            "not both",
        ),
        ("backends: [{name: a, url: http://p}, {name: a, url: http://q}]", "configured twice"),
    ],
)
def test_invalid_files(tmp_path: pathlib.Path, text: str, message: str) -> None:
    path = tmp_path / "backends.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        backend_config.load("http://prometheus:9090", str(path))


def test_no_backend_at_all_is_empty() -> None:
    assert not backend_config.load(None, None)


@pytest.mark.parametrize(
    ("url", "allowed", "refused"),
    [
        ("https://hooks.example.com/x", ["hooks.example.com"], None),
        ("http://127.0.0.1:8080/hook", ["127.0.0.1"], None),
        ("https://a.hooks.example.com/x", ["*.hooks.example.com"], None),
        ("https://internal.svc/x", ["hooks.example.com"], "not on the operator's webhook"),
        ("https://hooks.example.com/x", [], "empty"),
        ("file:///etc/passwd", ["*"], "scheme 'file'"),
    ],
)
def test_webhook_host_allow_list(url: str, allowed: list[str], refused: str | None) -> None:
    if refused is None:
        policy_webhooks.check_url(url, allowed)
        return
    with pytest.raises(policy_webhooks.WebhookRefused, match=refused):
        policy_webhooks.check_url(url, allowed)


def test_insecure_skip_verify_is_refused_unless_allowed(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "backends.yaml"
    path.write_text(
        "backends:\n  - {name: safe, url: 'https://a:9090'}\n"
        "  - {name: lab, url: 'https://b:9090', insecureSkipVerify: true}\n"
    )
    with pytest.raises(ValueError, match=r"backends\[1\]\.insecureSkipVerify: .*'lab'"):
        backend_config.load(None, str(path))
    allowed = backend_config.load(None, str(path), allow_insecure=True)
    assert allowed.by_name["lab"].insecure_skip_verify


def test_query_parameters_are_kept_and_cannot_replace_the_query_s_own(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "backends.yaml"
    path.write_text(
        "backends:\n  - name: thanos\n    url: http://thanos-query:9090\n"
        "    queryParameters: {dedup: 'true', partial_response: 'false'}\n"
    )
    loaded = backend_config.load(None, str(path)).resolve("thanos", "shop")
    assert loaded.query_parameters == {"dedup": "true", "partial_response": "false"}
    path.write_text(
        "backends:\n  - name: thanos\n    url: http://thanos-query:9090\n"
        "    queryParameters: {time: '0'}\n"
    )
    with pytest.raises(
        ValueError, match=r"(?s)backends.0.queryParameters.*time: set by each query"
    ):
        backend_config.load(None, str(path))
