"""Media uploaded by apps: through the photo pipeline at once, kept for the resident until a
status uses it, described before posting, pruned after a day when no status did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PIL import Image

from commonsfed.services.jobs import ScheduledJobs
from commonsfed.services.photos import media_dir
from commonsfed.web.keys import POOL, SETTINGS
from tests.api.helpers import resident, upload
from tests.api.schema import check
from tests.builders import photo_bytes


async def test_upload__v2_answers_200_with_the_cleaned_photo(client):
    # Given a photo with its camera's EXIF
    alice = await resident(client.app, "alice")
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    # When an app uploads it with a description
    response = await upload(client, alice, photo_bytes(size=(3000, 2000), exif=exif),
                            description="A green drill")  # fmt: skip
    # Then it is done at once: resized, its metadata gone, served from the node
    assert response.status == 200, await response.text()
    body = await response.json()
    check("MediaAttachment", body)
    assert (body["type"], body["description"]) == ("image", "A green drill")
    assert body["meta"]["original"]["width"] == 1600
    name = body["url"].rsplit("/", 1)[1]
    stored = media_dir(client.app[SETTINGS]) / name
    with Image.open(stored) as image:
        assert not image.getexif()
    served = await client.get(f"/media/{name}")
    assert served.status == 200


async def test_upload__v1_and_a_photo_over_the_apps_1_mib_body_limit(client):
    # a noisy photo makes a file of several MB, past the 1 MiB that forms may send
    import io
    import os

    alice = await resident(client.app, "alice")
    noise = Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert len(out.getvalue()) > 2 * 1024 * 1024
    response = await upload(client, alice, out.getvalue(), path="/api/v1/media")
    assert response.status == 200, await response.text()


async def test_upload__not_a_photo_is_422_with_the_pipelines_message(client):
    alice = await resident(client.app, "alice")
    response = await upload(client, alice, b"%PDF-1.4 not a photo")
    assert response.status == 422
    assert "not a photo" in (await response.json())["error"]
    assert await client.app[POOL].fetchval("SELECT count(*) FROM media_uploads") == 0


async def test_upload__a_photo_over_10_mb_is_422(client):
    alice = await resident(client.app, "alice")
    response = await upload(client, alice, b"\xff\xd8" + b"0" * (10 * 1024 * 1024 + 10))
    assert response.status == 422
    assert "larger than 10 MB" in (await response.json())["error"]


async def test_upload__without_a_file_is_422(client):
    alice = await resident(client.app, "alice")
    response = await client.post("/api/v2/media", json={"description": "x"}, headers=alice)
    assert response.status == 422
    assert "file" in (await response.json())["error"]


async def test_upload__a_description_too_long_is_422(client):
    alice = await resident(client.app, "alice")
    response = await upload(client, alice, description="x" * 501)
    assert response.status == 422
    assert "500 characters" in (await response.json())["error"]


async def test_upload__needs_the_write_media_scope(client):
    alice = await resident(client.app, "alice", scopes="read")
    assert (await upload(client, alice)).status == 403


async def test_media__read_and_described_by_its_owner_only(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    media = await (await upload(client, alice, description="Before")).json()
    path = f"/api/v1/media/{media['id']}"
    response = await client.put(path, json={"description": "After"}, headers=alice)
    assert (await response.json())["description"] == "After"
    got = await (await client.get(path, headers=alice)).json()
    check("MediaAttachment", got)
    assert got["description"] == "After"
    assert (await client.get(path, headers=bob)).status == 404
    assert (await client.put(path, json={"description": "Mine"}, headers=bob)).status == 404


async def test_media__unposted_uploads_are_pruned_after_a_day(client):
    # Given an upload nobody posted, and one posted with a listing
    alice = await resident(client.app, "alice")
    lonely = await (await upload(client, alice)).json()
    used = await (await upload(client, alice)).json()
    status = "#offer #give #tools Hammer"
    response = await client.post("/api/v1/statuses", headers=alice,
                                 json={"status": status, "media_ids": [used["id"]]})  # fmt: skip
    assert response.status == 200
    settings = client.app[SETTINGS]
    # When the scheduled jobs run two days later
    jobs = ScheduledJobs(client.app[POOL], settings,
                         clock=lambda: datetime.now(UTC) + timedelta(days=2))  # fmt: skip
    await jobs.tick()
    # Then the lonely upload and its file are gone; the posted one stays
    ids = {row[0] for row in await client.app[POOL].fetch("SELECT id FROM media_uploads")}
    assert ids == {int(used["id"])}
    assert not (media_dir(settings) / lonely["url"].rsplit("/", 1)[1]).exists()
    assert (media_dir(settings) / used["url"].rsplit("/", 1)[1]).exists()
