"""Put pip into a virtual environment made with --without-pip.

Debian's python3 lacks `ensurepip` unless the python3-venv package is installed, so
`python3 -m venv` fails on a fresh machine. This fetches pip's wheel from PyPI and lets pip
install itself: `python3 deploy/bootstrap_pip.py .venv/bin/python`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

INDEX = "https://pypi.org/pypi/pip/json"


def main(venv_python: str) -> int:
    with urllib.request.urlopen(INDEX, timeout=60) as response:
        release = json.load(response)
    wheel = next(f for f in release["urls"] if f["packagetype"] == "bdist_wheel")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / wheel["filename"]
        # some PyPI mirrors answer with addresses relative to the index page
        urllib.request.urlretrieve(urllib.parse.urljoin(INDEX, wheel["url"]), path)
        if hashlib.sha256(path.read_bytes()).hexdigest() != wheel["digests"]["sha256"]:
            print("bootstrap_pip: the downloaded pip does not match PyPI's digest", file=sys.stderr)
            return 1
        # a wheel is a zip that Python can run from: pip installs itself from its own wheel
        return subprocess.call([venv_python, f"{path}/pip", "install", "--quiet", str(path)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
