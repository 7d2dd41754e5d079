"""The site's shared pages in the reader's language: a resident whose browser asks for French
reads the navigation, the home page, /explore (its refusals, its count, distances and ages),
a category, the welcome, the following feed, a profile and whom they follow in French, with
French numbers; the same requests without Accept-Language stay English. Real nodes on a real
PostgreSQL."""

from __future__ import annotations

import html
import re

from commonsfed.web.keys import POOL
from tests.builders import DEFAULT_PASSWORD, post_form, post_listing

FRENCH = {"Accept-Language": "fr"}
NAVIGATION = ["Aller au contenu", "Menu", "Nouvelle annonce", "Mes annonces", "Mes réponses",
              "Paramètres", "Se déconnecter"]  # fmt: skip
NNBSP = "\u202f"  # CLDR's narrow no-break space: French groups digits and sets units with it


async def page(client, path: str, status: int = 200, **headers) -> str:
    response = await client.get(path, headers={"Accept": "text/html", **headers})
    assert response.status == status, (path, response.status)
    return html.unescape(await response.text())


def missing(text: str, words: list[str]) -> list[str]:
    return [word for word in words if word not in text]


async def two_listings(client) -> None:
    """Two listings at Dam square, one of them posted three days ago."""
    for title in ("Apples from the tree", "A ladder to lend"):
        fields = {"title": title, "place": "Dam square", "latitude": "52.37", "longitude": "4.89"}
        assert (await post_listing(client, fields)).status == 303
    await client.server.app[POOL].execute(
        "UPDATE listings SET created_at = now() - interval '3 days' "
        "WHERE title = 'Apples from the tree'"
    )


async def test_shared_pages__are_in_french_for_a_reader_of_french(make_client, ada):
    # Given two listings with a place, and a newcomer whose browser asks for French
    await two_listings(ada)
    bob = await make_client()

    # When they register, Then the welcome and its flash are French
    registered = await post_form(bob, "/register", {"username": "bob", "email": "bob@example.org",
                                 "password": DEFAULT_PASSWORD}, headers=FRENCH)  # fmt: skip
    assert registered.status == 200 and registered.url.path == "/welcome"
    welcome = html.unescape(await registered.text())
    assert '<html lang="fr">' in welcome
    assert missing(welcome, ["Bienvenue sur Elm Street Commons ! Votre compte est prêt.",
                             "Bienvenue sur Elm Street Commons, bob", "Vos premiers pas",
                             "Complétez votre profil", "Les règles ici"]) == []  # fmt: skip

    # and every shared page speaks French, the navigation and the phone's menu included
    expected = {
        "/": ["Dernières offres et demandes", "Comment ça marche", "Voir toutes les offres"],
        "/explore?lat=52.36&lon=4.9&km=500": [
            "Offres et demandes", "Filtres", "(actifs)", "Dans les quartiers fédérés",
            "Certains filtres n’ont pas pu être utilisés",
            "Indiquez une distance de 0,1 à 100 km.", "2 annonces",
            "Les plus récentes d’abord", "Les plus proches d’abord", "il y a 3 jours",
        ],
        "/categories/food": ["<h1>Alimentation</h1>", "Catégorie", "Ici", "Partout", "2 annonces"],
        "/following": ["Abonnements", "Suivez des voisins pour voir leurs annonces ici.",
                       "Leurs annonces"],
        "/users/ada": ["Suivre ada", "depuis Mastodon", "en flux :", "Signaler ada"],
        "/follows": ["Personnes que vous suivez", "Vous ne suivez encore personne.",
                     "Personne ne vous suit encore.", "Suivre quelqu’un"],
    }  # fmt: skip
    for path, words in expected.items():
        text = await page(bob, path, **FRENCH)
        assert '<html lang="fr">' in text, path
        assert missing(text, NAVIGATION) == [], path
        assert missing(text, words) == [], (path, missing(text, words))

    # following a neighbour is told in French, and the button turns
    followed = await post_form(bob, "/users/ada/follow", {}, form_path="/users/ada",
                               headers=FRENCH)  # fmt: skip
    profile = html.unescape(await followed.text())
    assert "Vous suivez @ada : ses annonces s’affichent sous Abonnements." in profile
    assert "Ne plus suivre" in profile

    # a distance as French writes it, on the cards of a search around a point
    near = await page(bob, "/explore?lat=52.36&lon=4.9&km=5", **FRENCH)
    assert re.search(rf'<span class="card-distance">[^<]*\d,\d{NNBSP}km', near), near
    assert "1 annonce" not in near and "2 annonces" in near


async def test_shared_pages__stay_english_without_accept_language(make_client, ada):
    await two_listings(ada)
    bob = await make_client()
    registered = await post_form(bob, "/register", {"username": "bob", "email": "bob@example.org",
                                 "password": DEFAULT_PASSWORD})  # fmt: skip
    assert "Welcome to Elm Street Commons! Your account is ready." in await registered.text()

    expected = {
        "/": ["Latest offers and requests", "How it works"],
        "/explore?lat=52.36&lon=4.9&km=500": [
            "Filters", "(in use)", "Enter a distance from 0.1 to 100 km.", "2 listings",
            "Newest first", "3 days ago",
        ],
        "/categories/food": ["<h1>Food</h1>", "Here", "Everywhere", "2 listings"],
        "/following": ["Follow neighbours to see their listings here."],
        "/users/ada": ["Follow ada", "from Mastodon"],
        "/follows": ["People you follow", "You do not follow anyone yet."],
    }  # fmt: skip
    for path, words in expected.items():
        text = await page(bob, path)
        assert '<html lang="en">' in text, path
        assert missing(text, ["Skip to content", "New listing", "Log out"]) == [], path
        assert missing(text, words) == [], (path, missing(text, words))
    near = await page(bob, "/explore?lat=52.36&lon=4.9&km=5")
    assert re.search(r'<span class="card-distance">\d\.\d km away</span>', near)


async def test_refusals_flashes_and_feeds__in_the_readers_language(make_client, ada):
    # the words a feed adds itself (its title, "Where:") follow the reader's language too
    assert (await post_listing(ada, {"place": "Dam square"})).status == 303
    feed = html.unescape(await (await ada.get("/feed.atom", headers=FRENCH)).text())
    assert "Elm Street Commons : offres et demandes" in feed and "Où : Dam square" in feed
    english = html.unescape(await (await ada.get("/feed.atom")).text())
    assert "Elm Street Commons: offers and requests" in english and "Where: Dam square" in english

    # a category that does not exist, a damaged page link, and logging out, in French
    missing_category = await page(ada, "/categories/nothing", 404, **FRENCH)
    assert "Cette catégorie n’existe pas ici." in missing_category, missing_category[-1500:]
    damaged = await page(ada, "/explore?after=damaged", **FRENCH)
    assert "Ce lien de page est abîmé." in damaged
    assert "Pour trier par distance, choisissez un lieu" in await page(
        ada, "/explore?sort=nearest", **FRENCH
    )
    closed = await make_client(registration="closed")
    assert "Les inscriptions sont fermées sur ce nœud." in await page(
        closed, "/register", 403, **FRENCH
    )
    logged_out = await post_form(ada, "/logout", {}, form_path="/", headers=FRENCH)
    assert "Vous êtes déconnecté. À bientôt !" in html.unescape(await logged_out.text())
