"""The web shell: home page, error pages, security headers, health check."""

from __future__ import annotations

from commonsfed.app import create_app
from commonsfed.db.pool import describe_url
from tests.builders import run_sync, server_execute


async def test_home__shows_the_neighbourhood_name_and_description(client):
    response = await client.get("/")

    assert response.status == 200
    page = await response.text()
    assert "<h1>Elm Street Commons</h1>" in page
    assert "Neighbours on Elm Street sharing tools, food and time." in page
    assert '<meta name="viewport"' in page
    assert "<script" not in page


async def test_pages__carry_security_headers(client):
    response = await client.get("/")

    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


async def test_static_files__are_served_with_nosniff(client):
    response = await client.get("/static/style.css")

    assert response.status == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "font-family" in await response.text()


async def test_unknown_page__gets_the_html_404_page(client):
    response = await client.get("/no/such/page", headers={"Accept": "text/html"})

    assert response.status == 404
    assert response.content_type == "text/html"
    page = await response.text()
    assert "Page not found" in page and "Elm Street Commons" in page


async def test_unknown_page__gets_json_when_json_is_asked_for(client):
    response = await client.get("/no/such/page", headers={"Accept": "application/json"})

    assert response.status == 404
    assert (await response.json())["error"]


async def test_crashing_handler__gets_the_html_500_page_without_details(aiohttp_client, settings):
    async def boom(request):
        raise RuntimeError("secret internals")

    app = create_app(settings)
    app.router.add_get("/boom", boom)
    client = await aiohttp_client(app)

    response = await client.get("/boom", headers={"Accept": "text/html"})

    assert response.status == 500
    page = await response.text()
    assert "Something went wrong" in page and "secret internals" not in page


async def test_wrong_method__gets_405(client):
    response = await client.put("/", headers={"Accept": "text/html"})

    assert response.status in (403, 405)  # CSRF refuses unsafe methods first, or 405


async def test_huge_form__is_refused_with_413(client):
    response = await client.post("/login", data={"username": "x" * (2 * 1024 * 1024)})

    assert response.status == 413


async def test_healthz__reports_database_and_migrations(client):
    response = await client.get("/healthz")

    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["migrations"]["applied"] >= 1 and body["migrations"]["pending"] == []


async def test_healthz__answers_503_when_the_database_is_gone(client, settings, pg_server_url):
    assert (await client.get("/healthz")).status == 200
    name = describe_url(settings.database_url).split('"')[1]

    run_sync(server_execute(pg_server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
    response = await client.get("/healthz")

    assert response.status == 503
    body = await response.json()
    assert body["database"] == "unreachable" and body["status"] == "unavailable"


async def test_healthz__answers_503_when_migrations_are_pending(client, settings):
    from commonsfed.db.pool import connect

    conn = await connect(settings.database_url)
    await conn.execute("DELETE FROM schema_migrations WHERE version = '0001'")
    await conn.close()

    response = await client.get("/healthz")

    assert response.status == 503
    assert "0001_accounts.sql" in (await response.json())["migrations"]["pending"]
