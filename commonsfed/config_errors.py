"""The error every check of a setting raises (commonsfed.config, commonsfed.config_mail)."""

from __future__ import annotations


class ConfigError(Exception):
    """A setting has a value we cannot use. `setting` names it as the admin typed it."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting
        self.message = message
