"""The UI's HTTP server (aiohttp, as kopf's own webhook server): GET and HEAD only.

Pages are built from the object registry (the operator's watch-fed cache, or `watch.Watcher`'s
for `slo-operator ui`) and from `data.Extras`. Every response forbids framing, sniffing and any
script, style or image not served here (Content-Security-Policy), and carries no cookies.
"""

from __future__ import annotations

import datetime
import importlib.resources
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..api import kind_names, sla, slo, validation
from ..backends import backend_config
from ..evaluation import registry
from . import data, model, pages

logger = logging.getLogger(__name__)

STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
OBJECTS_KEY = web.AppKey("objects", registry.Registry)
EXTRAS_KEY = web.AppKey("extras", data.Extras)
SCOPE_KEY = web.AppKey("scope", str)
ROWS_KEY = web.AppKey("rows", model.RowCache)
Clock = Callable[[], float]
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("clock")


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _error(request: web.Request, status: int, message: str, root: str) -> web.Response:
    return _html(pages.error_page(status, message, root=root, scope=request.app[SCOPE_KEY]), status)


async def overview(request: web.Request) -> web.Response:
    objects = request.app[OBJECTS_KEY]
    try:
        filters = model.parse_filters(request.query)
    except model.BadQuery as error:
        return _error(request, 400, str(error), "")
    rows = request.app[ROWS_KEY]
    slos, slas = (
        rows.rows(kind, (entry.body for entry in objects.entries(kind)))
        for kind in (kind_names.SLO_KIND, kind_names.SLA_KIND)
    )
    found = model.overview(slos, slas, filters)
    return _html(pages.overview_page(found, scope=request.app[SCOPE_KEY]))


def _entry(request: web.Request, kind: str) -> registry.Entry | None:
    ref = registry.ObjectRef(kind, request.match_info["namespace"], request.match_info["name"])
    return request.app[OBJECTS_KEY].get(ref)


async def slo_detail(request: web.Request) -> web.Response:
    entry = _entry(request, kind_names.SLO_KIND)
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    if entry is None:
        return _error(
            request, 404, f"no ServiceLevelObjective {namespace}/{name} in scope", "../../"
        )
    body = entry.body
    checked = validation.check_resource(dict(body), source="<cluster>")
    scope = request.app[SCOPE_KEY]
    slas = [
        (other.ref.namespace, other.ref.name)
        for other in request.app[OBJECTS_KEY].entries(kind_names.SLA_KIND)
        if other.ref.namespace == namespace
        and any(
            (c.get("sloRef") or {}).get("name") == name
            for c in (other.body.get("spec") or {}).get("commitments") or []
        )
    ]
    if not isinstance(checked, slo.ServiceLevelObjective):
        problems = checked if isinstance(checked, list) else []
        return _html(pages.slo_page(body, None, problems, pages.SloExtras(), slas, scope=scope))
    extras = await request.app[EXTRAS_KEY].for_slo(checked, entry.status, request.app[CLOCK_KEY]())
    return _html(pages.slo_page(body, checked, [], extras, sorted(slas), scope=scope))


async def sla_detail(request: web.Request) -> web.Response:
    entry = _entry(request, kind_names.SLA_KIND)
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    if entry is None:
        return _error(
            request, 404, f"no ServiceLevelAgreement {namespace}/{name} in scope", "../../"
        )
    checked = validation.check_resource(dict(entry.body), source="<cluster>")
    scope = request.app[SCOPE_KEY]
    now = datetime.datetime.fromtimestamp(request.app[CLOCK_KEY](), datetime.UTC)
    if not isinstance(checked, sla.ServiceLevelAgreement):
        problems = checked if isinstance(checked, list) else []
        return _html(pages.sla_page(entry.body, None, problems, {}, now, scope=scope))
    specs: dict[str, slo.ServiceLevelObjectiveSpec] = {}
    for commitment in checked.spec.commitments:
        ref = registry.ObjectRef(kind_names.SLO_KIND, namespace, commitment.slo_ref.name)
        found = request.app[OBJECTS_KEY].get(ref)
        if found is None:
            continue
        parsed = validation.check_resource(dict(found.body), source="<cluster>")
        if isinstance(parsed, slo.ServiceLevelObjective):
            specs[commitment.slo_ref.name] = parsed.spec
    return _html(pages.sla_page(entry.body, checked, [], specs, now, scope=scope))


async def static(request: web.Request) -> web.Response:
    name = request.match_info["file"]
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in STATIC_TYPES:
        raise web.HTTPNotFound()
    resource = importlib.resources.files(__package__).joinpath("static", name)
    if not resource.is_file():
        raise web.HTTPNotFound()
    return web.Response(
        body=resource.read_bytes(),
        content_type=STATIC_TYPES[suffix],
        headers={"Cache-Control": "max-age=300"},
    )


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def build_app(
    objects: registry.Registry,
    backends: backend_config.Backends | None,
    *,
    scope: str,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The UI as an aiohttp application: GET (and HEAD) routes only; anything else is 405."""
    app = web.Application(middlewares=[security_headers])
    app[OBJECTS_KEY] = objects
    app[EXTRAS_KEY] = data.Extras(backends)
    app[SCOPE_KEY] = scope
    app[ROWS_KEY] = model.RowCache()
    app[CLOCK_KEY] = clock
    app.router.add_get("/", overview)
    app.router.add_get("/slo/{namespace}/{name}", slo_detail)
    app.router.add_get("/sla/{namespace}/{name}", sla_detail)
    app.router.add_get("/static/{file}", static)
    app.router.add_get("/healthz", healthz)
    return app


async def start(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `app` on host:port on the running event loop; the caller cleans the runner up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    logger.info("web UI on http://%s:%d/", host, port)
    return runner
