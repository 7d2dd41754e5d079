"""/.well-known: WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

from urllib.parse import unquote

import orjson
from aiohttp import web

from commonsfed import __version__
from commonsfed.ap import discovery
from commonsfed.services import actors
from commonsfed.web.keys import POOL, SETTINGS

JRD = "application/jrd+json"
_CORS = {"Access-Control-Allow-Origin": "*"}


def _json(body: dict, content_type: str = "application/json", status: int = 200) -> web.Response:
    response = web.json_response(body, status=status, content_type=content_type)
    response.headers.update(_CORS)
    return response


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status=status)


def _username_from_resource(resource: str, settings) -> str | None:
    """'alice' for acct:alice@this.host or https://this.host/users/alice; None if not ours."""
    uris = actors.local_uris(settings)
    if resource.startswith("acct:"):
        name, _, host = unquote(resource[5:]).lstrip("@").rpartition("@")
        return name.lower() if host.lower() == settings.domain and name else None
    if resource.rstrip("/") in (uris.instance_actor, settings.base_url):
        return ""
    return uris.local_username(resource)


async def webfinger(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    resource = request.query.get("resource", "").strip()
    if not resource:
        return _error(400, "the resource parameter is required")
    username = _username_from_resource(resource, settings)
    if username is None:
        return _error(404, "no such account on this node")
    pool = request.app[POOL]
    try:
        if username in ("", settings.domain):  # Mastodon's spelling of the instance actor
            local = await actors.instance_actor(pool, settings)
        else:
            local = await actors.local_actor(pool, settings, username)
    except actors.ActorGone:
        return _error(410, "this account has left the node")
    except actors.ActorNotFound:
        return _error(404, "no such account on this node")
    subject = f"acct:{local.username}@{settings.domain}"
    return _json(discovery.webfinger_to_jrd(subject, local.uri, local.url), JRD)


async def host_meta(request: web.Request) -> web.Response:
    base = request.app[SETTINGS].base_url
    if "json" in request.headers.get("Accept", "") or request.path.endswith(".json"):
        return _json(discovery.host_meta_json(base), JRD)
    response = web.Response(text=discovery.host_meta_xrd(base),
                            content_type="application/xrd+xml")
    response.headers.update(_CORS)
    return response


async def nodeinfo_links(request: web.Request) -> web.Response:
    return _json(discovery.nodeinfo_links(request.app[SETTINGS].base_url))


async def nodeinfo(request: web.Request) -> web.Response:
    version = request.match_info["version"]
    if version not in discovery.NODEINFO_VERSIONS:
        raise web.HTTPNotFound()
    settings = request.app[SETTINGS]
    usage = await actors.usage(request.app[POOL], settings)
    document = discovery.nodeinfo_to_json(
        version, __version__, usage, settings.registration == "open",
        {"nodeName": settings.instance_name, "nodeDescription": settings.instance_description,
         "federation": settings.federation,
         # how `commonsfed federate DOMAIN` on another node finds this neighbourhood's actor
         "neighbourhood": actors.local_uris(settings).user(settings.neighbourhood_handle)},
    )
    profile = f'profile="{discovery.NODEINFO_PROFILE.format(version=version)}#"'
    return web.Response(body=orjson.dumps(document),
                        headers={"Content-Type": f"application/json; {profile}", **_CORS})
