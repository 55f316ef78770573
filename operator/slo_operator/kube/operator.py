"""Starting the operator: kopf settings in one place, then kopf's loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import typing
from typing import Any

import kopf

from ..backends import backend_config
from ..evaluation import loop as evaluation_loop
from ..evaluation import registry as evaluation_registry
from ..evaluation import sla_evaluator
from ..ui import server as ui_server
from ..ui import watch as ui_watch
from . import (
    admission_tls,
    clients,
    discovery_watchdog,
    handlers,
    metrics,
    peering,
    status_writer,
)
from . import settings as operator_settings

WEBHOOK_CONFIGURATION = "slo-operator.slo.dev"


def build_registry(cfg: operator_settings.OperatorConfig) -> kopf.OperatorRegistry:
    """A registry with every handler and the startup settings for `cfg`."""
    registry = kopf.OperatorRegistry()
    handlers.register(registry, cfg)
    kopf.on.login(registry=registry)(login)
    kopf.on.startup(registry=registry)(configure)
    kopf.on.cleanup(registry=registry)(stop_evaluation)
    return registry


def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In-cluster service account or the kubeconfig, as the kubernetes client sees them."""
    return kopf.login_via_client(**kwargs)


async def configure(
    settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """kopf's settings, then the clients, the metrics endpoint, the web UI and the loop."""
    cfg: operator_settings.OperatorConfig = memo["config"]
    apply_kopf_settings(settings)
    memo["api_client"] = clients.api_client(in_cluster_first=True)
    # Every replica serves the webhook (it is stateless), with the one shared certificate.
    server = await asyncio.to_thread(admission_tls.build_server, cfg, memo["api_client"])
    if server is not None:
        settings.admission.server = server
        settings.admission.managed = WEBHOOK_CONFIGURATION
    if cfg.peering:
        memo["active_peer"] = await _follow_peering(cfg, memo)
    else:
        peering.ACTIVE.set(1)  # standalone: the one replica
    # Before kopf's discovery runs (it starts once the startup handlers are done).
    memo["watchdog_task"] = asyncio.create_task(
        discovery_watchdog.watch(memo["api_client"], memo["stop"])
    )
    if cfg.metrics_port:
        metrics.serve(cfg.metrics_port)
    memo["objects"] = evaluation_registry.Registry()
    backends = backend_config.load(
        cfg.prometheus_url, cfg.backends_file, allow_insecure=cfg.allow_insecure_backends
    )
    if cfg.ui_port:
        # The UI reads the registry the watch feeds (no apiserver call per page view).
        scope = "all namespaces" if cfg.clusterwide else ", ".join(cfg.namespaces)
        app = ui_server.build_app(_ui_objects(cfg, memo), backends or None, scope=scope)
        memo["ui_runner"] = await ui_server.start(app, "0.0.0.0", cfg.ui_port)
    if not backends:
        logger.warning(
            "no metrics backend configured (--prometheus-url, --backends-file): "
            "rules are applied, nothing is evaluated"
        )
        return
    _start_evaluation(cfg, memo, backends, logger)


def _ui_objects(
    cfg: operator_settings.OperatorConfig, memo: kopf.Memo
) -> evaluation_registry.Registry:
    """What the UI shows: kopf's registry; with replicas, a cache of the UI's own.

    A standby replica's kopf watches nothing, so its registry stays empty, and a UI Service in
    front of the replicas would show an empty page every other time. The UI then lists and
    watches for itself, as `slo-operator ui` does (with peering, the watched namespaces are
    exact names: `settings.from_arguments`).
    """
    if not cfg.peering:
        objects: evaluation_registry.Registry = memo["objects"]
        return objects
    own = evaluation_registry.Registry()
    loop = asyncio.get_running_loop()
    memo["ui_watchers"] = [
        ui_watch.Watcher(own, namespace, loop, memo["api_client"])
        for namespace in cfg.namespaces or (None,)
    ]
    for watcher in memo["ui_watchers"]:
        watcher.start()
    return own


def apply_kopf_settings(settings: kopf.OperatorSettings) -> None:
    """All kopf settings; every non-default value says why."""
    # Handler progress and the diff base go to annotations under our own prefix: status is
    # ours alone (a strict schema would prune kopf's fields and log patch inconsistencies).
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="slo.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="slo.dev", key="last-handled-configuration"
    )
    settings.persistence.finalizer = "slo.dev/finalizer"
    # Events only for what a user must act on: kopf's per-handler INFO events are noise.
    settings.posting.level = logging.WARNING
    # Watches are re-established every 5 minutes; a silently dead connection is noticed.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 30
    settings.networking.request_timeout = 60
    # A burst of 1,000 applied SLOs is reconciled concurrently: at most 64 per-object workers
    # per watch stream (one stream per namespace, or one cluster-wide). An idle worker keeps
    # its slot until idle_timeout; at kopf's 5 s a stream handled at most 64 objects per 5 s
    # (13/s: 200 new SLOs in one namespace took 17.6 s). Ending idle workers after 0.5 s
    # frees the slots; a worker still waits for its own patch to come back before it ends.
    settings.queueing.worker_limit = 64
    settings.queueing.idle_timeout = 0.5
    settings.execution.max_workers = 16
    # Replicas (--peering): a killed active replica is replaced once its keep-alive expires;
    # kopf's 60 s would leave SLOs unreconciled for up to a minute (kube/peering.py).
    settings.peering.lifetime = peering.LIFETIME
    # The keep-alives every 10-15 s are not worth a log line each.
    settings.peering.stealth = True


async def _follow_peering(
    cfg: operator_settings.OperatorConfig, memo: kopf.Memo
) -> peering.ActivePeer:
    """Create the peering objects if absent, and follow which replica is active."""
    active_peer = peering.ActivePeer(memo["api_client"], cfg.peering, cfg.namespaces, memo["peer"])
    await asyncio.to_thread(active_peer.ensure_objects)
    memo["peering_task"] = asyncio.create_task(active_peer.follow())
    return active_peer


def _start_evaluation(
    cfg: operator_settings.OperatorConfig,
    memo: kopf.Memo,
    backends: backend_config.Backends,
    logger: kopf.Logger,
) -> None:
    """One task for every object (no per-object timers): started here, cancelled at cleanup."""
    memo["status_writer"] = status_writer.KubernetesStatusWriter(memo["api_client"])
    evaluation = evaluation_loop.EvaluationLoop(
        memo["objects"],
        backends,
        memo["status_writer"],
        evaluation_loop.Settings(
            interval_seconds=cfg.evaluation_interval,
            stalled_after_seconds=cfg.stalled_after,
            webhook_hosts=cfg.policy_webhook_hosts,
            now=cfg.test_now,
        ),
        evaluators=[sla_evaluator.SlaEvaluator(memo["objects"])],
        gate=memo.get("active_peer"),
    )
    if cfg.test_now is not None:
        logger.warning(
            "SLO_OPERATOR_TEST_NOW: every evaluation runs at %s, not now (tests only)",
            cfg.test_now.isoformat(),
        )
    memo["evaluation_task"] = asyncio.create_task(evaluation.run_forever())


async def stop_evaluation(memo: kopf.Memo, **_: Any) -> None:
    """Stop the web UI; cancel the evaluation loop so shutdown does not wait for a cycle."""
    runner = memo.get("ui_runner")
    if runner is not None:
        await runner.cleanup()
    for watcher in memo.get("ui_watchers", ()):
        watcher.stop()
    for name in ("evaluation_task", "watchdog_task", "peering_task"):
        task: asyncio.Task[None] | None = memo.get(name)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    writer: status_writer.KubernetesStatusWriter | None = memo.get("status_writer")
    if writer is not None:
        await writer.close()


def run(cfg: operator_settings.OperatorConfig) -> int:
    """Run the operator until it is stopped; the exit status (non-zero: start it again)."""
    kopf.configure(
        debug=cfg.log_level == "debug",
        quiet=cfg.log_level == "warning",
        log_format=kopf.LogFormat.JSON if cfg.log_format == "json" else kopf.LogFormat.PLAIN,
        log_prefix=True,
    )
    registry = build_registry(cfg)
    liveness = f"http://0.0.0.0:{cfg.health_port}/healthz" if cfg.health_port else None
    # Set by the discovery watchdog: kopf stops as on SIGTERM, and the exit status says why.
    stop = asyncio.Event()
    peer = peering.Peer.of_this_process()
    kopf.run(
        registry=registry,
        # Without a peering name: standalone, one replica. With one: kopf pauses this replica
        # while an older one lives (kube/peering.py); the object must exist before kopf reads
        # it (`configure` creates it), so peering is mandatory, not optional.
        standalone=not cfg.peering,
        peering_name=cfg.peering or None,
        # kopf types it as its own NewType of str (kopf._core.engines.peering.Identity), which
        # its public namespace does not export.
        identity=typing.cast(Any, peer.identity),
        priority=peer.priority,
        clusterwide=cfg.clusterwide,
        namespaces=list(cfg.namespaces),
        liveness_endpoint=liveness,
        stop_flag=stop,
        # The handlers' settings: `configure` and `kube.handlers` read them from the memo.
        memo=kopf.Memo(config=cfg, stop=stop, peer=peer),
    )
    return discovery_watchdog.EXIT_CODE if stop.is_set() else 0
