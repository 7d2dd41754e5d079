"""The listing side in the reader's language: a resident whose browser asks for French posts
a listing (a bad form first: its messages in French, nothing typed lost), reads its page
(kind, purpose, state and dates in French), and goes through an exchange with a neighbour:
answer, reservation, completion, thanks, each with its flash message in French; then their
listings, answers and notifications. The same walk without Accept-Language stays English.
Real nodes on a real PostgreSQL, through the web as a browser uses it."""

from __future__ import annotations

import html
import re

import pytest

from tests.builders import post_form

DRILL = {"purpose": "offer", "kind": "lend", "title": "Cordless drill", "category": "tools",
         "description": "Two batteries, a case of bits.", "place": "Elm Street",
         "loan_days": "7"}  # fmt: skip
TOO_LONG = "x" * 501  # the thanks' limit is 500 characters

# what each step shows, in each language
WORDS = {
    "fr": {
        "form": ["Nouvelle offre : prêt", "Durée du prêt, en jours", "Étape 2 sur 4 : l’essentiel",
                 'data-next="Suivant"', "Publier"],
        "refused": ["Veuillez corriger les champs signalés ci-dessous.",
                    "Donnez un titre à votre annonce.",
                    "Saisissez un nombre entier supérieur ou égal à 1.",
                    "Saisissez un nombre qui ne dépasse pas 100\u202f000."],
        "published": ["Votre offre est publiée.", "Prêt", "Offre", "Ouvert", "Outils",
                      "Durée du prêt", "7 jours", "Publiée par", "Gérer cette annonce"],
        "weekdays": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
        "to_answer": ["Répondre en privé", "Seul @alice lira ceci."],
        "answered": ["Réponse envoyée. Vous serez prévenu quand la personne répondra.",
                     "Votre réponse à @alice", "En attente dans la file",
                     "Numéro 1 dans la file."],
        "reserved": ["Réservée pour cette personne ; elle est prévenue.", "Réservé"],
        "reserved_listing": ["Cette annonce est réservée pour quelqu’un en ce moment.",
                             "Vous avez répondu à cette annonce : <strong>réservé</strong>."],
        "completed": ["Marquée comme terminée. Vous pouvez laisser un remerciement ci-dessous.",
                      "Terminé", "Remercier @bob"],
        "thanked": ["Remerciement envoyé. Il apparaît sur son profil.",
                    "Votre remerciement public, affiché sur son profil"],
        "too_long": ["Utilisez au plus 500 caractères ; ce remerciement en compte 501.",
                     "@alice vous a remercié le"],
        "mine": ["Mes annonces", "Nouvelle annonce", "Prêt", "Terminé"],
        "my_answers": ["Mes réponses", "de @alice · réponse du", "annonce : terminé"],
        "notifications": ["@alice vous a réservé “Cordless drill”.",
                          "@alice a marqué l’annonce “Cordless drill” comme terminée avec vous."],
    },
    "en": {
        "form": ["New offer: lend", "Loan period, in days", "Step 2 of 4: the essentials",
                 'data-next="Next"', "Publish"],
        "refused": ["Please correct the fields marked below.", "Give your listing a title.",
                    "Enter a whole number of 1 or more.", "Enter a number no larger than 100,000."],
        "published": ["Your offer is published.", "Lend", "Offer", "Open", "Tools",
                      "Loan period", "7 days", "Posted by", "Manage this listing"],
        "weekdays": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                     "Sunday"],
        "to_answer": ["Answer privately", "Only @alice will read this."],
        "answered": ["Answer sent. You will be told when they reply.", "Your answer to @alice",
                     "Waiting in line", "Number 1 in line."],
        "reserved": ["Reserved for them; they are told.", "Reserved"],
        "reserved_listing": ["This listing is reserved for someone at the moment.",
                             "You answered this listing: <strong>reserved</strong>."],
        "completed": ["Marked done. You can leave them a thanks below.", "Completed",
                      "Say thanks to @bob"],
        "thanked": ["Thanks sent. It shows on their profile.",
                    "Your public thanks, shown on their profile"],
        "too_long": ["Use at most 500 characters; this thanks has 501.", "@alice thanked you"],
        "mine": ["My listings", "New listing", "Lend", "Completed"],
        "my_answers": ["My answers", "by @alice · answered", "listing completed"],
        "notifications": ["@alice reserved “Cordless drill” for you.",
                          "@alice marked “Cordless drill” completed with you."],
    },
}  # fmt: skip


def missing(text: str, words: list[str]) -> list[str]:
    return [word for word in words if word not in text]


async def read(response, status: int = 200) -> str:
    assert response.status == status, (response.url, response.status, await response.text())
    return html.unescape(await response.text())


async def page(client, path: str, headers: dict) -> str:
    return await read(await client.get(path, headers={"Accept": "text/html", **headers}))


async def submit(client, path: str, data: dict, headers: dict, form_path: str | None = None):
    """A form posted as a browser does (its page's CSRF token), redirects followed."""
    return await post_form(client, path, data, form_path=form_path, headers=headers)


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_listing_walk__speaks_the_readers_language(make_resident, language):
    words = WORDS[language]
    headers = {"Accept-Language": "fr"} if language == "fr" else {}
    alice, bob = await make_resident("alice"), await make_resident("bob")
    new = "/listings/new?purpose=offer&kind=lend"

    # Given the form for lending something, in the reader's language
    assert missing(await page(alice, new, headers), words["form"]) == []

    # When Alice sends it without a title, with a loan period that is not a number and too
    # many of them (its limit written as her language writes numbers)
    bad = {**DRILL, "title": "", "loan_days": "a week", "quantity": "100001"}
    refused = await read(await submit(alice, "/listings/new", bad, headers, new), 422)

    # Then each field says what is wrong in her language, and nothing she typed is lost
    assert missing(refused, words["refused"]) == []
    assert "Two batteries, a case of bits." in refused and 'value="a week"' in refused

    # When she sends it right, Then her listing's page says so, its names in her language
    published = await read(await submit(alice, "/listings/new", DRILL, headers, new))
    assert missing(published, words["published"]) == []
    posted_by = re.search(r"<dd><a href=\"/users/alice\">@alice</a>, <time[^>]*>([^<]+)</time>",
                          published)  # fmt: skip
    assert posted_by and any(day in posted_by[1] for day in words["weekdays"]), posted_by
    listing = re.search(r'action="/listings/([^/"]+)/state"', published)[1]

    # When Bob answers it
    path = f"/listings/{listing}"
    assert missing(await page(bob, path, headers), words["to_answer"]) == []
    answered = await read(await submit(bob, f"{path}/answers", {"message": "May I borrow it?"},
                                       headers, path))  # fmt: skip
    assert missing(answered, words["answered"]) == []
    conversation = "/conversations/" + re.search(r'action="/conversations/(\d+)/', answered)[1]

    # and Alice reserves it for him, then marks the exchange completed and thanks him
    reserved = await read(await submit(alice, f"{conversation}/reserve", {}, headers, conversation))
    assert missing(reserved, words["reserved"]) == []
    assert missing(await page(bob, path, headers), words["reserved_listing"]) == []
    completed = await read(await submit(alice, f"{conversation}/complete", {}, headers,
                                        conversation))  # fmt: skip
    assert missing(completed, words["completed"]) == []
    thanks = {"thanks": "Thank you, Bob!"}
    thanked = await read(await submit(alice, f"{conversation}/thanks", thanks, headers,
                                      conversation))  # fmt: skip
    assert missing(thanked, words["thanked"]) == []

    # Then Bob's thanks too long is refused in his language, beside Alice's thanks to him
    too_long = await read(await submit(bob, f"{conversation}/thanks", {"thanks": TOO_LONG},
                                       headers, conversation), 422)  # fmt: skip
    assert missing(too_long, words["too_long"]) == []

    # and their own pages speak it as well
    assert missing(await page(alice, "/my/listings", headers), words["mine"]) == []
    assert missing(await page(bob, "/my/answers", headers), words["my_answers"]) == []
    assert missing(await page(bob, "/notifications", headers), words["notifications"]) == []
