"""The account side in French, for a browser that asks for it (Accept-Language: fr): joining
(with its errors), logging in, the settings, a forgotten password and the about page, on a
real node. The English pages are the other tests' business: they send no Accept-Language."""

from __future__ import annotations

import html

import pytest

from commonsfed.app import create_app
from commonsfed.services.accounts import MAX_FAILURES_PER_ACCOUNT
from tests.builders import DEFAULT_PASSWORD, log_in, post_form, register


@pytest.fixture
async def browser(aiohttp_client, settings):
    """A browser whose every request asks for French first."""
    return await aiohttp_client(
        create_app(settings), headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    )


async def text_of(response, status: int = 200) -> str:
    assert response.status == status, response.status
    page = html.unescape(await response.text())
    assert '<html lang="fr">' in page
    return page


async def test_joining_and_logging_in__speak_french_errors_included(browser):
    # Given the join page
    page = await text_of(await browser.get("/register"))
    assert "Rejoindre Elm Street Commons" in page and "Créer le compte" in page
    assert "Lettres minuscules, chiffres et _" in page  # a field's hint

    # When a visitor joins with a name that is not one and a short password
    response = await post_form(browser, "/register", {
        "username": "Not A Name!", "email": "ann@example.org", "password": "short"})  # fmt: skip

    # Then the errors next to the fields are in French
    page = await text_of(response, 422)
    assert "Veuillez corriger les champs signalés ci-dessous." in page
    assert "Utilisez de 1 à 30 caractères : lettres minuscules, chiffres ou _." in page
    assert "Utilisez au moins 10 caractères." in page  # made with a value (Text)

    # When she joins properly, logs out, and logs in with a wrong password
    assert (await register(browser, "ann")).status == 200
    await post_form(browser, "/logout", {}, form_path="/")
    page = await text_of(await log_in(browser, "ann", "not the password"), 401)

    # Then the login page and its error are in French
    assert "Nom d’utilisateur ou mot de passe incorrect." in page
    assert "Mot de passe oublié ?" in page and "Se connecter" in page


SETTINGS_PAGES = {
    "/settings": ["Paramètres", "Votre compte sur Elm Street Commons, en tant que @ann@"],
    "/settings/profile": ["Nom affiché", "Enregistrer le profil", "Intitulé 1"],
    "/settings/account": ["Mot de passe actuel", "Changer le mot de passe"],
    "/settings/sessions": ["Où vous êtes connecté", "(cet appareil)"],
    "/settings/email": ["Adresse e-mail", "Changer d’adresse"],
    "/settings/notifications": ["M’envoyer un courriel quand", "Quelqu’un répond à une de mes annonces"],
    "/settings/apps": ["Applications autorisées", "Aucune application n’utilise votre compte."],
    "/settings/blocks": ["Blocages et sourdines", "Vous n’avez bloqué personne."],
    "/settings/export": ["Vos données", "Préparer une archive"],
    "/settings/delete": ["Supprimer votre compte", "Le nom @ann reste réservé"],
}  # fmt: skip


async def test_settings__every_section_and_its_messages_are_in_french(browser):
    # Given ann, logged in
    assert (await register(browser, "ann")).status == 200

    # When she opens each section of her settings
    for path, expected in SETTINGS_PAGES.items():
        page = await text_of(await browser.get(path))

        # Then it is in French, its title and its section list too
        assert all(words in page for words in expected), path
        assert "Où vous êtes connecté</a>" in page and "Where you are logged in" not in page, path

    # When she saves a password typed differently twice, then a block of nobody here
    response = await post_form(browser, "/settings/account/password", {
        "current_password": DEFAULT_PASSWORD, "new_password": "a new long password",
        "repeated_password": "another long password"}, form_path="/settings/account")  # fmt: skip
    mismatch = await text_of(response, 422)
    response = await post_form(browser, "/settings/blocks", {"who": "@nobody", "action": "block"})
    unknown = await text_of(response, 422)
    response = await post_form(browser, "/settings/profile", {}, form_path="/settings/profile")

    # Then what the services said is in French, values and all
    assert "Les deux nouveaux mots de passe sont différents." in mismatch
    assert "Personne ne s’appelle @nobody ici. Saisissez un identifiant comme @bob" in unknown
    assert "Votre profil est enregistré." in await text_of(response)


async def test_recovery_and_about__are_in_french(browser):
    # Given the forgotten-password page
    page = await text_of(await browser.get("/password/forgot"))
    assert "Mot de passe oublié ?" in page and "Envoyer le lien" in page

    # When a visitor types something that is not an address, then follows a dead link
    response = await post_form(browser, "/password/forgot", {"email": "not an address"})
    bad_address = await text_of(response, 422)
    dead_link = await text_of(await browser.get("/password/reset/no-such-token"), 410)

    # Then both say what is wrong in French
    assert "Saisissez une adresse e-mail comme nom@example.org." in bad_address
    assert "Ce lien a expiré ou a déjà servi." in dead_link

    # and the about page is French too
    about = await text_of(await browser.get("/about"))
    assert "À propos de Elm Street Commons" in about and "Règles" in about
    assert "Ce nœud ne modère aucun serveur." in about and "Inscription" in about


async def test_login_throttle__says_when_to_try_again_in_french(browser):
    # Given a resident whose password someone keeps guessing
    assert (await register(browser, "ann")).status == 200
    await post_form(browser, "/logout", {}, form_path="/")
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        await log_in(browser, "ann", "not the password")

    # When one more try comes
    page = await text_of(await log_in(browser, "ann", "not the password"), 429)

    # Then the page says, in French, when the next try is allowed
    assert "Trop de connexions manquées. Réessayez dans 15 minutes." in page
