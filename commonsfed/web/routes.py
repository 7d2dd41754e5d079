"""Every route of the node, in one place."""

from __future__ import annotations

from aiohttp import web

from commonsfed.resources import static_dir
from commonsfed.web import admin, health, views


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", views.home, name="home")
    app.router.add_get("/register", views.register_form, name="register")
    app.router.add_post("/register", views.register_submit)
    app.router.add_get("/login", views.login_form, name="login")
    app.router.add_post("/login", views.login_submit)
    app.router.add_post("/logout", views.logout, name="logout")
    app.router.add_get("/admin/accounts", admin.pending_accounts, name="admin_accounts")
    app.router.add_post("/admin/accounts/approve", admin.approve_account)
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_static("/static/", static_dir(), name="static")
