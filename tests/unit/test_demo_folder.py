"""The demo's folder: made, kept, made anew when asked or when its seeding never finished,
and never one that holds something else; and the demo's plan covers every kind."""

from __future__ import annotations

from datetime import date

import pytest

from commonsfed.demo_folder import DemoError, prepare_folder, read_marker, write_marker
from commonsfed.demo_seed import NEIGHBOURHOODS, dated, demo_photo
from commonsfed.models import KINDS, PURPOSES
from commonsfed.services.listing_forms import validate_listing_form
from commonsfed.services.photos import process_photo


def test_prepare_folder__none_yet__made_and_not_seeded(tmp_path):
    folder = tmp_path / "demo"

    assert prepare_folder(folder, 8081, fresh=False) is False
    assert read_marker(folder) == {"first_port": 8081, "seeded": False}


def test_prepare_folder__a_finished_demo__kept(tmp_path):
    folder = tmp_path / "demo"
    prepare_folder(folder, 8081, fresh=False)
    write_marker(folder, 8081, seeded=True)
    (folder / "postgres").mkdir()

    assert prepare_folder(folder, 8081, fresh=False) is True
    assert (folder / "postgres").exists()


@pytest.mark.parametrize(("seeded", "fresh"), [(False, False), (True, True)])
def test_prepare_folder__fresh_or_seeding_unfinished__made_anew(tmp_path, seeded, fresh):
    folder = tmp_path / "demo"
    prepare_folder(folder, 8081, fresh=False)
    write_marker(folder, 8081, seeded=seeded)
    (folder / "postgres").mkdir()

    assert prepare_folder(folder, 8081, fresh=fresh) is False
    assert not (folder / "postgres").exists()
    assert read_marker(folder) == {"first_port": 8081, "seeded": False}


def test_prepare_folder__made_for_other_ports__refused_unless_fresh(tmp_path):
    folder = tmp_path / "demo"
    prepare_folder(folder, 8081, fresh=False)
    write_marker(folder, 8081, seeded=True)

    with pytest.raises(DemoError, match="made for ports 8081-8083; run it with --first-port 8081"):
        prepare_folder(folder, 9001, fresh=False)
    assert prepare_folder(folder, 9001, fresh=True) is False
    assert read_marker(folder)["first_port"] == 9001


@pytest.mark.parametrize("fresh", [False, True])
def test_prepare_folder__a_folder_with_other_things__refused_and_left_alone(tmp_path, fresh):
    (tmp_path / "notes.txt").write_text("mine")

    with pytest.raises(DemoError, match="is not empty and holds no demo"):
        prepare_folder(tmp_path, 8081, fresh=fresh)
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_prepare_folder__a_damaged_record__refused(tmp_path):
    (tmp_path / "demo.json").write_text("{not json")

    with pytest.raises(DemoError, match="cannot be read"):
        prepare_folder(tmp_path, 8081, fresh=True)


def test_demo_plan__every_kind_and_purpose__each_listing_a_valid_form():
    planned = [p for hood in NEIGHBOURHOODS for p in hood.listings]

    assert {p.form["kind"] for p in planned} == set(KINDS)
    assert {p.form["purpose"] for p in planned} == set(PURPOSES)
    for p in planned:
        form = {name: dated(value, date.today()) for name, value in p.form.items()}
        assert validate_listing_form(form, p.form["kind"])[1] == {}, p.key


def test_demo_photo__a_photo_the_pipeline_takes():
    processed = process_photo(demo_photo("A crate of apples", "#6a9a3a"))

    assert (processed.width, processed.height) == (800, 600)
