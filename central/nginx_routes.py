"""nginx's routing table for the modular deployment, rendered from each role's routes.

Behind nginx the core, telemetry and compliance roles answer on one address. A table
written by hand falls behind the code (a new telemetry path went to core, which answered
404), so the table is rendered from the paths each role documents: one ``location`` per
path that telemetry or compliance serves; everything else goes to core, the default
location, which serves the rest and answers 404 for what nobody serves.
``caudal central nginx-routes FILE`` rewrites the part of the file between the markers;
the deployment tests check that the committed file is the rendered one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from central.app import DOMAINS, api_document

DEFAULT_ROLE = "core"
ROUTED_ROLES = ("telemetry", "compliance")
ROLES = (DEFAULT_ROLE, *ROUTED_ROLES)
UPSTREAM = {"core": "caudal_core", "telemetry": "caudal_telemetry", "compliance": "caudal_compliance"}
INDENT = " " * 8
BEGIN = f"{INDENT}# BEGIN routes rendered by `caudal central nginx-routes` from each role's routers; do not edit\n"
END = f"{INDENT}# END routes\n"

# What some paths need besides proxy_pass. Gateway batches: at most 5000 readings, up to
# CAUDAL_MAX_BODY_BYTES (4 MiB) after gzip; nginx allows a little more so that the service,
# not nginx, answers an oversized batch with its own explanation (raise both together).
# Reports are computed on request. A key ending in "/" applies to every routed path under it.
PROXY_SETTINGS: dict[str, tuple[str, ...]] = {
    "/api/v1/ingest": ("client_max_body_size 5m;", "client_body_buffer_size 1m;", "proxy_read_timeout 30s;"),
    "/api/v1/compliance/reports/": ("proxy_read_timeout 120s;",),
}

# Paths with an upstream of their own. Gateway batches go to ``caudal_ingest``, which lists the
# telemetry replicas as ``caudal_telemetry`` does until an operator gives the fleet's ingest
# replicas of its own: then the readings and aggregates people ask for are not served by the
# process a fleet keeps busy (docs/ARQUITECTURA_MODULAR.md, benchmarks/bench_history.py).
OWN_UPSTREAM: dict[str, str] = {"/api/v1/ingest": "caudal_ingest"}

_PARAMETER = re.compile(r"\{(\w+)(:path)?\}")
_SPECIAL = re.compile(r"([.^$*+?()\[\]{}|\\])")


class RoutingError(ValueError):
    """The roles' paths cannot be routed by path alone; the message names the paths."""


def location_pattern(template: str) -> str:
    """The PCRE that matches the request paths of a FastAPI path template.

    ``{name}`` matches one path segment, as FastAPI's default converter does; ``{name:path}``
    matches the rest of the path.
    """
    parts, last = [], 0
    for match in _PARAMETER.finditer(template):
        parts += [_literal(template[last : match.start()]), ".+" if match.group(2) else "[^/]+"]
        last = match.end()
    return "^" + "".join(parts) + _literal(template[last:]) + "$"


def _literal(text: str) -> str:
    """``text`` as a PCRE that matches only itself (``re.escape`` also escapes ``-``, harder to read)."""
    return _SPECIAL.sub(r"\\\1", text)


def sample_path(template: str) -> str:
    """A request path of ``template`` (each parameter replaced by ``x1``), to check routing with."""
    return _PARAMETER.sub("x1", template)


def role_paths() -> dict[str, list[str]]:
    """The path templates each role serves, from the OpenAPI document of its routers (every
    role, also those nginx does not route to, so that a path only they serve is noticed)."""
    return {role: list(api_document(role)["paths"]) for role in DOMAINS}  # type: ignore[arg-type]


def routing_table(paths_by_role: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Which role each routed path template goes to: paths that core serves stay with core
    (the default location); the others go to the first routed role that serves them.

    Raises :class:`RoutingError` when a routed template's pattern would also catch a path
    that another role serves (nginx could not tell them apart), or when a path is served only
    by a role behind no upstream (such as ``alerts``).
    """
    served = {role: set(paths) for role, paths in paths_by_role.items()}
    every = set().union(*served.values())
    unrouted = sorted(every - set().union(*(served.get(role, set()) for role in ROLES)))
    if unrouted:
        raise RoutingError(f"solo las sirven roles a los que nginx no enruta: {', '.join(unrouted)}")
    table = {
        path: role
        for role in reversed(ROUTED_ROLES)
        for path in served.get(role, ())
        if path not in served.get(DEFAULT_ROLE, ())
    }
    for path, role in table.items():
        pattern = re.compile(location_pattern(path))
        caught = sorted(other for other in every - served[role] if pattern.match(sample_path(other)))
        if caught:
            raise RoutingError(f"{path} ({role}) también capturaría {', '.join(caught)}")
    unknown = sorted(key for key in {*PROXY_SETTINGS, *OWN_UPSTREAM} if not any(_settles(key, path) for path in table))
    if unknown:
        raise RoutingError(f"ajustes de proxy para rutas que ningún rol enrutado sirve: {', '.join(unknown)}")
    return table


def _settles(key: str, path: str) -> bool:
    """Whether the settings under ``key`` apply to ``path``."""
    return path.startswith(key) if key.endswith("/") else path == key


def proxy_settings(path: str) -> tuple[str, ...]:
    """The directives ``path``'s location gets besides proxy_pass."""
    return tuple(line for key, lines in PROXY_SETTINGS.items() if _settles(key, path) for line in lines)


def render_locations(table: Mapping[str, str]) -> str:
    """One nginx ``location`` per routed path, in role then path order (stable output)."""
    blocks = []
    for path, role in sorted(table.items(), key=lambda item: (ROUTED_ROLES.index(item[1]), item[0])):
        match = f"= {path}" if _PARAMETER.search(path) is None else f"~ {location_pattern(path)}"
        body = [*proxy_settings(path), f"proxy_pass http://{OWN_UPSTREAM.get(path, UPSTREAM[role])};"]
        inner = "".join(f"{INDENT}    {line}\n" for line in body)
        blocks.append(f"{INDENT}location {match} {{\n{inner}{INDENT}}}\n")
    return "".join(blocks)


def render_config(text: str, table: Mapping[str, str]) -> str:
    """``text`` (an nginx.conf) with the part between the markers replaced by the table's locations."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise RoutingError(f"el archivo necesita exactamente un par de líneas marcadoras:\n{BEGIN}{END}")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}{render_locations(table)}{END}{tail}"
