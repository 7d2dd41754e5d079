"""The data folder's record of its node: what later commands take from it, and what it refuses."""

from __future__ import annotations

import pytest

from commonsfed.config import ConfigError, load_settings
from commonsfed.datafolder import NodeRecord, read_record, record_path, write_record


def folder_with(tmp_path, record: NodeRecord):
    write_record(tmp_path, record)
    return {"data_dir": str(tmp_path)}


def test_write_record__reads_back_and_replaces_a_changed_one(tmp_path):
    write_record(tmp_path, NodeRecord(domain="localhost:8090", dev=True))
    write_record(tmp_path, NodeRecord(domain="localhost:8091", dev=True))

    assert read_record(tmp_path) == NodeRecord(domain="localhost:8091", dev=True)
    assert [path.name for path in tmp_path.iterdir()] == ["node.json"]


def test_read_record__none_in_a_new_folder(tmp_path):
    assert read_record(tmp_path / "new") is None


def test_load_settings__a_dev_nodes_folder_gives_later_commands_dev_mode_and_its_name(tmp_path):
    flags = folder_with(tmp_path, NodeRecord(domain="localhost:8090", dev=True))

    settings = load_settings({}, flags, need_domain=True, from_folder=True)

    assert settings.dev and settings.domain == "localhost:8090"
    assert settings.base_url == "http://localhost:8090"


def test_load_settings__serve_takes_neither_mode_nor_name_from_the_folder(tmp_path):
    flags = folder_with(tmp_path, NodeRecord(domain="localhost:8090", dev=True))

    with pytest.raises(ConfigError) as error:
        load_settings({}, flags, need_domain=True)
    dev = load_settings({}, {**flags, "dev": True, "port": "8095"}, need_domain=True)

    assert error.value.setting == "COMMONSFED_DOMAIN"
    assert dev.domain == "localhost:8095"  # the port it is told now, not the one recorded


def test_load_settings__flags_and_environment_win_over_the_folder(tmp_path):
    flags = folder_with(tmp_path, NodeRecord(domain="localhost:8090", dev=True))

    settings = load_settings({"COMMONSFED_DOMAIN": "north.test"}, flags, from_folder=True)

    assert settings.dev and settings.domain == "north.test"


def test_load_settings__a_public_nodes_folder_gives_its_name(tmp_path):
    flags = folder_with(tmp_path, NodeRecord(domain="commons.example.org", dev=False))

    settings = load_settings({}, flags, need_domain=True, from_folder=True)

    assert not settings.dev and settings.base_url == "https://commons.example.org"


@pytest.mark.parametrize("from_folder", [True, False])
@pytest.mark.parametrize(
    ("env", "flags", "named"),
    [
        ({}, {"dev": True}, "--dev"),
        ({"COMMONSFED_DEV": "1"}, {}, "COMMONSFED_DEV"),
    ],
)
def test_load_settings__a_public_nodes_folder_never_runs_in_dev_mode(
    tmp_path, from_folder, env, flags, named
):
    given = {**folder_with(tmp_path, NodeRecord(domain="commons.example.org", dev=False)), **flags}

    with pytest.raises(ConfigError) as error:
        load_settings(env, given, need_domain=False, from_folder=from_folder)

    assert error.value.setting == named
    assert "public node commons.example.org" in error.value.message


def test_load_settings__a_damaged_record_names_its_file(tmp_path):
    record_path(tmp_path).write_text("{not json")

    with pytest.raises(ConfigError) as error:
        load_settings({}, {"data_dir": str(tmp_path)}, need_domain=False, from_folder=True)

    assert error.value.setting == str(tmp_path / "node.json")
    assert "commonsfed serve" in error.value.message
