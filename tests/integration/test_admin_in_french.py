"""The administration in the reader's language: an admin whose browser asks for French sees
the admin pages, the code names they show (roles, categories, the log's actions) and the
refusals of their forms in French; the same requests without it stay in English. Real nodes
on a real PostgreSQL."""

from __future__ import annotations

import html

from tests.builders import post_form

FRENCH = {"Accept-Language": "fr"}
PLACE = {"name": "La boulangerie", "latitude": "48.85", "longitude": "2.35"}


async def page(client, path: str, status: int = 200, **headers) -> str:
    response = await client.get(path, headers={"Accept": "text/html", **headers})
    assert response.status == status, (path, response.status)
    return html.unescape(await response.text())


async def test_admin_pages__are_in_french_for_a_reader_of_french(ada, make_resident):
    # Given a place, a blocked domain and a report from a resident who reads French
    assert (await post_form(ada, "/admin/places", PLACE)).status == 200
    block = {"domain": "spam.example", "severity": "suspend", "reason": "du spam"}
    assert (await post_form(ada, "/admin/domains", block)).status == 200
    bob = await make_resident("bob")
    form = await page(bob, "/report?person=ada", **FRENCH)
    assert "Signaler @ada" in form and "Qu’est-ce qui ne va pas ?" in form
    assert "Une arnaque ou une fraude" in form
    sent = await post_form(bob, "/report", {"person": "ada", "category": "scam"},
                           form_path="/report?person=ada", headers=FRENCH)  # fmt: skip
    assert "Votre signalement est arrivé chez les modérateurs" in await sent.text()

    # When the admin reads each page in French, Then it is French, code names included
    expected = {
        "/admin": ["Tableau de bord", "Comptes en attente de validation", "Files d’attente",
                   "Boîte de réception (activités à traiter)", "Terminé"],
        "/admin/accounts?status=active": ["Nom ou adresse e-mail", "Nom d’utilisateur",
                                          "actif", "admin"],
        "/admin/accounts/ada": ["Dernière visite", "Changer le rôle", "modérateur", "membre"],
        "/admin/reports": ["Signalements", "Traité", "arnaque", "personne"],
        "/admin/domains": ["Domaines bloqués", "Lever le blocage", "Suspendre",
                           "Bloquer un domaine", "Import et export"],
        "/admin/settings": ["Réglages du nœud", "Inscriptions",
                            "Ouvertes : tout le monde peut s’inscrire"],
        "/admin/places": ["Ajouter un lieu", "Enregistrer La boulangerie", "Latitude"],
        "/admin/log": ["Journal de modération", "ajouter un lieu", "bloquer le domaine",
                       "sévérité", "lieu"],
    }  # fmt: skip
    for path, words in expected.items():
        text = await page(ada, path, **FRENCH)
        assert '<html lang="fr">' in text, path
        missing = [word for word in words if word not in text]
        assert missing == [], (path, missing)
    report_id = (await page(ada, "/admin/reports")).split('href="/admin/reports/')[1].split('"')[0]
    report = await page(ada, f"/admin/reports/{report_id}", **FRENCH)
    assert f"Signalement n° {report_id}" in report and "Personne signalée" in report
    assert "arnaque" in report and "déposé par @bob" in report

    # and in English (no Accept-Language), the same pages stay English
    english = await page(ada, "/admin/log")
    assert '<html lang="en">' in english and "add place" in english and "Moderation log" in english
    assert "Waiting for approval" in await page(ada, "/admin/accounts")


async def test_refused_admin_forms__say_why_in_the_readers_language(ada):
    refusals = [
        ("/admin/domains", {"domain": "not a domain!", "severity": "suspend"},
         "n’est pas un domaine comme commons.example.org",
         "is not a domain like commons.example.org"),
        ("/admin/settings", {"instance_name": "", "instance_description": "Elm Street",
                             "registration": "open", "federation": "open",
                             "group_follows": "auto", "rules": ""},
         "Donnez au nœud un nom de 1 à 100 caractères.",
         "Give the node a name of 1 to 100 characters."),
        ("/admin/places", {**PLACE, "latitude": "north"},
         "Saisissez une latitude de -90 à 90, comme 52.37.",
         "Enter a latitude from -90 to 90, like 52.37."),
    ]  # fmt: skip
    for path, data, french, english in refusals:
        # When the admin sends a bad form in French, Then the page says why in French
        response = await post_form(ada, path, data, headers=FRENCH)
        assert response.status == 422, path
        text = html.unescape(await response.text())
        assert french in text and english not in text, path

        # and in English without Accept-Language
        response = await post_form(ada, path, data)
        text = html.unescape(await response.text())
        assert response.status == 422 and english in text and french not in text, path

    settings = await post_form(ada, "/admin/settings", refusals[1][1], headers=FRENCH)
    assert "Rien n’a été enregistré : 1 champ est à revoir." in await settings.text()
    missing = await page(ada, "/admin/accounts/nobody", 404, **FRENCH)
    assert "Aucun compte ne s’appelle 'nobody'." in missing
