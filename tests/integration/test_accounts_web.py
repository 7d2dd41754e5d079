"""Registering, logging in and out through the web pages, with the messages people see."""

from __future__ import annotations

from commonsfed.db.pool import connect
from tests.builders import DEFAULT_PASSWORD, csrf_from, log_in, post_form, register


async def count_accounts(settings) -> int:
    conn = await connect(settings.database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM accounts")
    finally:
        await conn.close()


async def test_register__logs_the_new_resident_in(client, settings):
    response = await register(client, "alice")

    assert response.status == 200
    page = await response.text()
    assert "@alice" in page and "Log out" in page
    assert await count_accounts(settings) == 1


async def test_register__password_is_stored_as_argon2id(client, settings):
    await register(client, "alice")

    conn = await connect(settings.database_url)
    stored = await conn.fetchval("SELECT password_hash FROM accounts")
    await conn.close()
    assert stored.startswith("$argon2id$") and DEFAULT_PASSWORD not in stored


async def test_register__taken_username_any_case_is_shown_next_to_the_field(client, settings):
    await register(client, "alice")
    await client.post("/logout", data={"csrf_token": csrf_from(await (await client.get("/")).text())})

    response = await register(client, "Alice", email="other@example.org")

    assert response.status == 422
    page = await response.text()
    assert 'id="e-username"' in page and "This username is taken." in page
    assert await count_accounts(settings) == 1


async def test_register__short_password_is_refused_with_a_message(client, settings):
    response = await register(client, "bob", password="short")

    assert response.status == 422
    page = await response.text()
    assert 'id="e-password"' in page and "at least 10 characters" in page
    assert 'value="bob"' in page  # what was typed is kept
    assert await count_accounts(settings) == 0


async def test_register__bad_username_and_email_get_field_messages(client, settings):
    response = await post_form(client, "/register", {
        "username": "no spaces!", "email": "not-an-email", "password": DEFAULT_PASSWORD,
    })

    assert response.status == 422
    page = await response.text()
    assert "lower-case letters, digits or _" in page
    assert "Enter an email address" in page
    assert await count_accounts(settings) == 0


async def test_register__long_username_and_reserved_name_are_refused(client, settings):
    too_long = await register(client, "a" * 31)
    reserved = await register(client, "admin")

    assert "lower-case letters, digits or _" in await too_long.text()
    assert "reserved" in await reserved.text()
    assert await count_accounts(settings) == 0


async def test_register__duplicate_email_is_refused(client, settings):
    await register(client, "alice", email="same@example.org")
    await client.post("/logout", data={"csrf_token": csrf_from(await (await client.get("/")).text())})

    response = await register(client, "bob", email="SAME@example.org")

    assert response.status == 422
    assert "exists already" in await response.text()
    assert await count_accounts(settings) == 1


async def test_login__wrong_password_shows_a_message(client):
    await register(client, "alice")
    await client.post("/logout", data={"csrf_token": csrf_from(await (await client.get("/")).text())})

    response = await log_in(client, "alice", "wrong password!")

    assert response.status == 401
    assert "Wrong username or password." in await response.text()


async def test_login__unknown_user_gets_the_same_message(client):
    response = await log_in(client, "nobody", "whatever password")

    assert response.status == 401
    assert "Wrong username or password." in await response.text()


async def test_login_and_logout__round_trip(client):
    await register(client, "alice")
    home = await client.get("/")
    logout = await client.post("/logout", data={"csrf_token": csrf_from(await home.text())})
    assert "Log in" in await logout.text() and "@alice" not in await logout.text()

    response = await log_in(client, "ALICE")

    assert response.status == 200
    assert "@alice" in await response.text()


async def test_login__redirects_to_a_local_next_only(client):
    await register(client, "alice")
    await client.post("/logout", data={"csrf_token": csrf_from(await (await client.get("/")).text())})

    response = await post_form(client, "/login", {
        "username": "alice", "password": DEFAULT_PASSWORD, "next": "//evil.example/",
    }, allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"] == "/"


async def test_login__rate_limited_per_account_after_five_failures(client):
    await register(client, "alice")
    await client.post("/logout", data={"csrf_token": csrf_from(await (await client.get("/")).text())})
    for _ in range(5):
        await log_in(client, "alice", "wrong password!")

    response = await log_in(client, "alice")  # even the right password waits now

    assert response.status == 429
    assert "Too many failed logins" in await response.text()


async def test_login__rate_limited_per_address_across_accounts(client):
    for number in range(20):
        await log_in(client, f"someone{number}", "wrong password!")

    response = await log_in(client, "anyone")

    assert response.status == 429


async def test_form_without_csrf_token__is_refused_and_stores_nothing(client, settings):
    await client.get("/register")  # a session exists, but the token is not sent back

    response = await client.post("/register", data={
        "username": "mallory", "email": "m@example.org", "password": DEFAULT_PASSWORD,
    })

    assert response.status == 403
    assert "form has expired" in await response.text()
    assert await count_accounts(settings) == 0


async def test_form_with_a_wrong_csrf_token__is_refused(client, settings):
    await client.get("/register")

    response = await client.post("/register", data={
        "csrf_token": "forged", "username": "mallory", "email": "m@example.org",
        "password": DEFAULT_PASSWORD,
    })

    assert response.status == 403
    assert await count_accounts(settings) == 0


async def test_session_cookie__is_httponly_lax_and_not_secure_in_dev(client):
    response = await register(client, "alice")

    cookie = response.history[0].headers["Set-Cookie"] if response.history else ""
    cookie = cookie or response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


async def test_session_cookie__is_secure_outside_dev_mode(make_client):
    client = await make_client(dev=False)

    response = await client.get("/login")

    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_registration_closed__shows_a_clear_page_and_refuses_posts(make_client, settings):
    client = await make_client(registration="closed")

    page = await client.get("/register")
    post = await client.post("/register", data={
        "csrf_token": csrf_from(await (await client.get("/login")).text()), "username": "alice",
        "email": "alice@example.org", "password": DEFAULT_PASSWORD,
    })

    assert page.status == 403
    assert "Registration is closed" in await page.text()
    assert post.status == 403
    assert await count_accounts(settings) == 0


async def test_registration_approval__waits_for_an_admin(make_client, settings):
    client = await make_client(registration="approval")

    response = await register(client, "alice")
    assert "waiting for an admin" in await response.text()
    refused = await log_in(client, "alice")

    assert refused.status == 401
    assert "waiting for an admin&#39;s approval" in await refused.text()


async def test_admin_queue__an_admin_approves_a_waiting_account(make_client, settings):
    from commonsfed.db.pool import create_pool
    from commonsfed.services import accounts

    pool = await create_pool(settings.database_url)
    await accounts.register(pool, settings, username="root_admin", email="a@example.org",
                            password=DEFAULT_PASSWORD, role="admin", by_admin=True)
    await pool.close()
    visitor = await make_client(registration="approval")
    await register(visitor, "bob")
    admin = await make_client(registration="approval")
    await log_in(admin, "root_admin")

    queue = await admin.get("/admin/accounts")
    assert "bob" in await queue.text()
    await post_form(admin, "/admin/accounts/approve", {"username": "bob"}, "/admin/accounts")

    assert "bob" not in await (await admin.get("/admin/accounts")).text()
    assert (await log_in(visitor, "bob")).status == 200


async def test_admin_queue__is_not_for_residents(resident):
    response = await resident.get("/admin/accounts")

    assert response.status == 403
