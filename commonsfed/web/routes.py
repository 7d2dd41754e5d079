"""Every route of the node, in one place."""

from __future__ import annotations

from aiohttp import web

from commonsfed.resources import static_dir
from commonsfed.web import activitypub, admin, follows, health, inbox, views, wellknown


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", views.home, name="home")
    app.router.add_get("/register", views.register_form, name="register")
    app.router.add_post("/register", views.register_submit)
    app.router.add_get("/login", views.login_form, name="login")
    app.router.add_post("/login", views.login_submit)
    app.router.add_post("/logout", views.logout, name="logout")
    app.router.add_get("/follows", follows.follows_page, name="follows")
    app.router.add_post("/follows", follows.follow)
    app.router.add_post("/follows/unfollow", follows.unfollow)
    app.router.add_post("/follows/approve", follows.approve)
    app.router.add_post("/follows/reject", follows.reject)
    app.router.add_get("/admin/accounts", admin.pending_accounts, name="admin_accounts")
    app.router.add_post("/admin/accounts/approve", admin.approve_account)
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/.well-known/webfinger", wellknown.webfinger)
    app.router.add_get("/.well-known/host-meta", wellknown.host_meta)
    app.router.add_get("/.well-known/host-meta.json", wellknown.host_meta)
    app.router.add_get("/.well-known/nodeinfo", wellknown.nodeinfo_links)
    app.router.add_get("/nodeinfo/{version}", wellknown.nodeinfo)
    for prefix in ("/actor", "/users/{name}"):
        app.router.add_get(prefix, activitypub.actor)
        app.router.add_get(prefix + "/outbox", activitypub.outbox)
        app.router.add_get(prefix + "/{direction:followers|following}", activitypub.follows)
        app.router.add_get(prefix + "/collections/featured", activitypub.featured)
    inboxes = inbox.Inboxes()  # one per app: it keeps this node's cache of peers' keys
    app.router.add_post("/inbox", inboxes.shared)
    app.router.add_post("/actor/inbox", inboxes.instance)
    app.router.add_post("/users/{name}/inbox", inboxes.personal)
    app.router.add_static("/static/", static_dir(), name="static")
