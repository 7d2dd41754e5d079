"""Every route of the node, in one place."""

from __future__ import annotations

from aiohttp import web

from commonsfed.resources import static_dir
from commonsfed.web import (
    about,
    account_deletion,
    accounts_admin,
    activitypub,
    addresses,
    admin,
    admin_reports,
    answers,
    authorized_apps,
    blocks,
    domain_admin,
    explore,
    export,
    feeds,
    follows,
    health,
    home,
    hours,
    inbox,
    language,
    listings,
    loans,
    mail,
    metrics,
    node_admin,
    node_settings,
    places,
    profile,
    projects,
    recovery,
    remote_listings,
    reports,
    saved_searches,
    settings,
    thanks,
    views,
    wellknown,
)

# a listing's page: its public id in the address
LISTING = "/listings/{uid:[A-Za-z0-9_-]{8,32}}"


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", views.home, name="home")
    app.router.add_get("/register", views.register_form, name="register")
    app.router.add_post("/register", views.register_submit)
    app.router.add_get("/about", about.about_page, name="about")
    app.router.add_get("/login", views.login_form, name="login")
    app.router.add_post("/login", views.login_submit)
    app.router.add_post("/logout", views.logout, name="logout")
    app.router.add_get("/language", language.change_language)
    app.router.add_post("/language", language.change_language)
    _settings_routes(app)
    _mailed_link_routes(app)
    _home_routes(app)
    _admin_routes(app)
    _report_routes(app)
    _listing_routes(app)
    _answer_routes(app)
    _finding_routes(app)
    _hours_routes(app)


def _settings_routes(app: web.Application) -> None:
    # a resident's settings: one page per section (templates/settings/_nav.html)
    app.router.add_get("/settings", settings.index, name="settings")
    app.router.add_get("/settings/profile", profile.profile_page)
    app.router.add_post("/settings/profile", profile.save_profile)
    app.router.add_get("/settings/account", settings.account_page)
    app.router.add_post("/settings/account/password", settings.change_password)
    app.router.add_get("/settings/sessions", settings.sessions_page)
    app.router.add_post("/settings/sessions/end", settings.end_session)
    app.router.add_post("/settings/sessions/end-others", settings.end_other_sessions)
    app.router.add_get("/settings/export", export.export_page)
    app.router.add_post("/settings/export", export.request_export)
    app.router.add_get("/settings/export/{name}", export.download)
    app.router.add_get("/settings/email", addresses.email_page)
    app.router.add_post("/settings/email", addresses.change_email)
    app.router.add_post("/settings/email/resend", addresses.resend)
    app.router.add_get("/settings/notifications", mail.notifications_page)
    app.router.add_post("/settings/notifications", mail.save_notifications)
    app.router.add_get("/settings/apps", authorized_apps.apps_page)
    app.router.add_post("/settings/apps/revoke", authorized_apps.revoke_app)


def _mailed_link_routes(app: web.Application) -> None:
    # links mailed to residents (a new password, an address to confirm, no more mail of a
    # kind), and a dev node's mailbox
    app.router.add_get("/password/forgot", recovery.forgot_form, name="forgot_password")
    app.router.add_post("/password/forgot", recovery.forgot_submit)
    app.router.add_get("/password/reset/{token}", recovery.reset_form)
    app.router.add_post("/password/reset/{token}", recovery.reset_submit)
    app.router.add_get("/email/confirm/{token}", addresses.confirm_page)
    app.router.add_post("/email/confirm/{token}", addresses.confirm_submit)
    app.router.add_get("/mail/unsubscribe/{token}", mail.unsubscribe_page)
    app.router.add_post("/mail/unsubscribe/{token}", mail.unsubscribe)
    app.router.add_get("/dev/mail", mail.mailbox)
    app.router.add_get("/dev/mail/{name}", mail.mailbox_message)
    # matches and alerts: saved searches (saved from /explore), the area, the weekly digest
    app.router.add_get("/settings/searches", saved_searches.searches_page)
    app.router.add_post("/settings/searches", saved_searches.save_search)
    app.router.add_post("/settings/searches/preferences", saved_searches.save_preferences)
    app.router.add_post("/settings/searches/{id}/delete", saved_searches.delete_search)
    app.router.add_get("/settings/delete", account_deletion.delete_page)
    app.router.add_post("/settings/delete", account_deletion.delete_account)
    app.router.add_get("/settings/blocks", blocks.blocks_page)
    app.router.add_post("/settings/blocks", blocks.change_person)
    app.router.add_post("/settings/blocks/undo", blocks.undo_person)
    app.router.add_post("/settings/blocks/domains", blocks.hide_domain)
    app.router.add_post("/settings/blocks/domains/show", blocks.show_domain)


def _home_routes(app: web.Application) -> None:
    # a resident's home: the welcome after registering, the feed of whom they follow
    app.router.add_get("/welcome", home.welcome, name="welcome")
    app.router.add_get("/following", home.following, name="following")
    app.router.add_post("/users/{name}/follow", home.follow_resident)
    app.router.add_post("/users/{name}/unfollow", home.unfollow_resident)
    app.router.add_get("/follows", follows.follows_page, name="follows")
    app.router.add_post("/follows", follows.follow)
    app.router.add_post("/follows/unfollow", follows.unfollow)
    app.router.add_post("/follows/approve", follows.approve)
    app.router.add_post("/follows/reject", follows.reject)


def _admin_routes(app: web.Application) -> None:
    # administration: moderators see the accounts and the log; admins everything
    app.router.add_get("/admin/accounts", accounts_admin.accounts_page, name="admin_accounts")
    app.router.add_post("/admin/accounts/approve", accounts_admin.approve_account)
    app.router.add_post("/admin/accounts/reject", accounts_admin.reject_account)
    account = "/admin/accounts/{username:[A-Za-z0-9_]{1,30}}"
    app.router.add_get(account, accounts_admin.account_page, name="admin_account")
    app.router.add_post(account + "/action", accounts_admin.act_on_account)
    app.router.add_post(account + "/role", accounts_admin.change_role)
    app.router.add_get("/admin/remote-actors", accounts_admin.remote_actor_page)
    app.router.add_post("/admin/remote-actors", accounts_admin.act_on_remote_actor)
    app.router.add_get("/admin/log", admin.log_page, name="admin_log")
    app.router.add_get("/admin/domains", domain_admin.domains_page, name="admin_domains")
    app.router.add_post("/admin/domains", domain_admin.save_block)
    app.router.add_post("/admin/domains/remove", domain_admin.remove_block)
    app.router.add_post("/admin/domains/allow", domain_admin.allow)
    app.router.add_post("/admin/domains/disallow", domain_admin.disallow)
    app.router.add_get("/admin/domains/export", domain_admin.export_blocks)
    app.router.add_post("/admin/domains/import", domain_admin.import_blocks)
    app.router.add_get("/admin/follows", domain_admin.follows_page, name="admin_follows")
    app.router.add_post("/admin/follows/{action:accept|reject}", domain_admin.decide_follow)
    app.router.add_get("/admin/reports", admin_reports.reports_page, name="admin_reports")
    report = "/admin/reports/{id:[0-9]{1,18}}"
    app.router.add_get(report, admin_reports.report_page)
    app.router.add_post(report + "/note", admin_reports.add_note)
    app.router.add_post(report + "/resolve", admin_reports.resolve)
    app.router.add_post(report + "/reopen", admin_reports.reopen)
    app.router.add_post(report + "/forward", admin_reports.forward)
    app.router.add_post(report + "/remove-listing", admin_reports.remove_listing)


def _report_routes(app: web.Application) -> None:
    # a resident reports a listing, a message or a person to the moderators
    app.router.add_get("/report", reports.report_form, name="report")
    app.router.add_post("/report", reports.send_report)
    app.router.add_get("/report/sent", reports.report_sent)
    app.router.add_get("/admin", node_admin.dashboard, name="admin")
    app.router.add_get("/admin/settings", node_settings.settings_page, name="admin_settings")
    app.router.add_post("/admin/settings", node_settings.save_settings)
    app.router.add_get("/admin/federation", node_admin.federation_page, name="admin_federation")
    app.router.add_post("/admin/federation/retry", node_admin.retry_host)
    app.router.add_get("/admin/places", places.places_page, name="admin_places")
    app.router.add_post("/admin/places", places.add_place)
    place = "/admin/places/{id:[0-9]{1,18}}"
    app.router.add_post(place, places.change_place)
    app.router.add_post(place + "/remove", places.remove_place)
    app.router.add_get("/admin/federation/unhandled", node_admin.unhandled_page)


def _listing_routes(app: web.Application) -> None:
    # listings: /listings/new before /listings/{uid}, so "new" is never taken for an id
    uid = LISTING
    app.router.add_get("/listings/new", listings.new_form, name="new_listing")
    app.router.add_post("/listings/new", listings.new_submit)
    app.router.add_get(uid, listings.show, name="listing")
    app.router.add_get(uid + "/edit", listings.edit_form)
    app.router.add_post(uid + "/edit", listings.edit_submit)
    app.router.add_post(uid + "/state", listings.change_state)
    app.router.add_post(uid + "/remove", listings.remove)
    app.router.add_post(uid + "/pledge", listings.pledge)
    app.router.add_post(uid + "/claim", listings.claim)
    app.router.add_post(uid + "/project-pledge", projects.pledge)
    app.router.add_post(uid + "/project-pledges/{id:[0-9]{1,18}}/hours", projects.record_hours)
    # the loan calendar of lend listings
    app.router.add_post(uid + "/bookings", loans.ask)
    app.router.add_post(
        "/bookings/{id:[0-9]{1,18}}/{action:confirm|decline|returned|cancel}", loans.decide
    )
    app.router.add_get("/my/listings", listings.my_listings, name="my_listings")
    app.router.add_get("/media/{name}", listings.media)
    app.router.add_get("/media/remote/{name}", remote_listings.media)
    app.router.add_get("/admin/categories", listings.categories_page, name="admin_categories")
    app.router.add_post("/admin/categories", listings.add_category)
    app.router.add_post("/admin/categories/rename", listings.rename_category)


def _answer_routes(app: web.Application) -> None:
    # answers: a listing's conversations, their decisions, my answers, notifications
    uid = LISTING
    app.router.add_get(uid + "/answers", answers.listing_answers, name="listing_answers")
    app.router.add_post(uid + "/answers", answers.answer)
    conversation = "/conversations/{id:[0-9]{1,18}}"
    app.router.add_get(conversation, answers.conversation, name="conversation")
    app.router.add_post(conversation + "/messages", answers.reply)
    app.router.add_post(
        conversation + "/{action:reserve|release|decline|complete|withdraw}", answers.decide
    )
    app.router.add_post(conversation + "/thanks", thanks.leave)
    app.router.add_post(conversation + "/thanks/edit", thanks.edit)
    app.router.add_post(conversation + "/thanks/delete", thanks.remove)
    app.router.add_get("/thanks/{key:[0-9a-f-]{36}}", thanks.note)
    app.router.add_get("/my/answers", answers.my_answers, name="my_answers")
    app.router.add_get("/network/listing", remote_listings.remote_listing, name="remote_listing")
    app.router.add_post("/network/listing/answers", remote_listings.answer_remote)
    app.router.add_get("/notifications", answers.notifications_page, name="notifications")


def _hours_routes(app: web.Application) -> None:
    # the time bank: a resident's hours (a settings section), a completed service's hours on
    # its conversation page, and the administration's page
    app.router.add_get("/settings/hours", hours.hours_page, name="settings_hours")
    app.router.add_post("/settings/hours/send", hours.send)
    app.router.add_post("/settings/hours/withdraw", hours.withdraw)
    conversation = "/conversations/{id:[0-9]{1,18}}"
    app.router.add_post(conversation + "/hours", hours.confirm)
    app.router.add_post(conversation + "/hours/dispute", hours.dispute)
    app.router.add_get("/admin/hours", hours.admin_page, name="admin_hours")
    app.router.add_post("/admin/hours/{id:[0-9]{1,18}}/settle", hours.settle)


def _finding_routes(app: web.Application) -> None:
    # finding: the neighbourhood page, categories, feeds; the newest listings on the home page
    app.router.add_get("/explore", explore.explore, name="explore")
    category = "/categories/{slug:[a-z0-9_]{1,30}}"
    app.router.add_get(category, explore.category, name="category")
    # the listings' hashtags link here, as Mastodon's do to /tags/<name>
    app.router.add_get("/tags/{slug:[a-z0-9_]{1,30}}", explore.tag)
    feed = "feed.{format:atom|rss}"
    app.router.add_get("/" + feed, feeds.neighbourhood, name="feed")
    app.router.add_get(category + "/" + feed, feeds.category)
    app.router.add_get("/users/{name}/" + feed, feeds.resident)
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/metrics", metrics.metrics_page, name="metrics")
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
