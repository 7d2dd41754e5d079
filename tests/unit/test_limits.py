"""The connection limits `serve` takes from its settings and the open-file limit."""

from __future__ import annotations

import pytest

from commonsfed.config import ConfigError, Settings, load_settings
from commonsfed.connections import RESERVED_FILES, Limits, is_loopback, max_connections_for


def test_limits__defaults__10_s_for_headers_30_s_for_a_body_at_500_bytes_a_second():
    limits = Limits.from_settings(load_settings({}, {"dev": True}), open_files=1024)

    assert (limits.header_timeout, limits.body_timeout, limits.body_min_rate) == (10, 30, 500)
    assert limits.per_address == 64
    assert limits.max_connections == 1024 - RESERVED_FILES


def test_limits__read_from_the_environment_and_flags():
    env = {"COMMONSFED_HEADER_TIMEOUT": "2.5", "COMMONSFED_MAX_CONNECTIONS": "100",
           "COMMONSFED_CONNECTIONS_PER_ADDRESS": "0"}

    settings = load_settings(env, {"dev": True, "body_timeout": "60"})
    limits = Limits.from_settings(settings, open_files=4096)

    assert (limits.header_timeout, limits.body_timeout) == (2.5, 60)
    assert (limits.max_connections, limits.per_address) == (100, 0)


def test_limits__more_connections_than_open_files_allow__are_cut_to_what_fits(caplog):
    settings = Settings(max_connections=5000)

    limits = Limits.from_settings(settings, open_files=1024)

    assert limits.max_connections == 1024 - RESERVED_FILES
    assert "LimitNOFILE" in caplog.text


def test_max_connections_for__leaves_room_for_the_pool_and_outgoing_http():
    assert max_connections_for(65536) == 65536 - RESERVED_FILES
    assert max_connections_for(256) == 64  # a quarter, however tight the limit
    assert max_connections_for(None) == 1024 - RESERVED_FILES


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("::ffff:127.0.0.1", True),
     ("192.0.2.10", False), ("2001:db8::1", False), ("", False)],
)
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


@pytest.mark.parametrize(
    ("env", "named"),
    [({"COMMONSFED_HEADER_TIMEOUT": "0"}, "COMMONSFED_HEADER_TIMEOUT"),
     ({"COMMONSFED_BODY_TIMEOUT": "soon"}, "COMMONSFED_BODY_TIMEOUT"),
     ({"COMMONSFED_BODY_TIMEOUT": "nan"}, "COMMONSFED_BODY_TIMEOUT"),
     ({"COMMONSFED_MAX_CONNECTIONS": "3"}, "COMMONSFED_MAX_CONNECTIONS"),
     ({"COMMONSFED_CONNECTIONS_PER_ADDRESS": "-1"}, "COMMONSFED_CONNECTIONS_PER_ADDRESS"),
     ({"COMMONSFED_ACCESS_LOG": "sometimes"}, "COMMONSFED_ACCESS_LOG")],
)
def test_load_settings__bad_connection_settings_name_the_setting(env, named):
    with pytest.raises(ConfigError) as error:
        load_settings(env, {"dev": True})

    assert error.value.setting == named


def test_load_settings__access_log_is_on_unless_turned_off():
    assert load_settings({}, {"dev": True}).access_log is True
    assert load_settings({"COMMONSFED_ACCESS_LOG": "off"}, {"dev": True}).access_log is False
    assert load_settings({}, {"dev": True, "access_log": False}).access_log is False
