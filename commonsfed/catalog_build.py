"""The wheel compiles the translation catalogs as it is built (pyproject.toml's
`[tool.setuptools.cmdclass]`), so an installed node ships `.mo` files; the checkout keeps only
the `.po` sources (`make install` compiles those in place for the editable install)."""

from __future__ import annotations

from pathlib import Path

from setuptools.command.build_py import build_py


class BuildWithCatalogs(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads the checkout, compiled by `make install`
        from commonsfed.i18n import compile_catalogs

        # the sources being built (not an installed commonsfed's)
        source = Path(self.get_package_dir("commonsfed")) / "locale"
        out = Path(self.build_lib) / "commonsfed" / "locale"
        for mo in compile_catalogs(source, out):
            self.announce(f"compiled {mo}", level=2)
