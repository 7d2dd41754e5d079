"""The draft-cavage Signature header parser reads exactly what the original pattern read.

The quoted-string pattern was rewritten for speed ("unrolled": runs of plain characters
between escapes, instead of one alternation per character); these tests hold it to the
original on every shape of header we could think of, accepted or refused.
"""

from __future__ import annotations

import itertools
import re

from commonsfed import signatures
from commonsfed.signatures import SignatureError

# the pattern as it was before the rewrite, and the parse around it, verbatim
_ORIGINAL_PARAM = re.compile(
    r"[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*"
    r'(?:"((?:[^"\\]|\\.)*)"|([!#$%&\'*+.^_`|~0-9A-Za-z-]+))'
    r"[ \t]*(?:,|\Z)"
)


def original_parse(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    position = 0
    while position < len(value.rstrip(" \t")):
        match = _ORIGINAL_PARAM.match(value, position)
        if match is None:
            raise SignatureError("Signature header is malformed")
        name = match[1].lower()
        if name in params:
            raise SignatureError(f"Signature header repeats {name}")
        quoted = match[2]
        params[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match[3]
        position = match.end()
    for needed, label in (("keyid", "keyId"), ("signature", "signature")):
        if not params.get(needed):
            raise SignatureError(f"Signature header has no {label}")
    return params


def outcome(parse, value: str) -> tuple[str, object]:
    try:
        return "ok", parse(value)
    except SignatureError as exc:
        return "refused", str(exc)


# pieces of quoted values: plain text, escapes of every kind, quotes, line breaks, non-ASCII
QUOTED_PIECES = ["", "a", "abc def", '\\"', "\\\\", "\\a", "\\", '"', "\n", "\\\n", "é", "=,"]
SIGNATURE = "QUJDRA" * 57 + "=="  # a signature's length, so the speed path is exercised


def headers() -> list[str]:
    values = [
        f'keyId="{a}{b}{c}",signature="{SIGNATURE}"'
        for a, b, c in itertools.product(QUOTED_PIECES, repeat=3)
    ]
    values += [
        f'keyId="https://a.example/k",algorithm=hs2019,headers="(request-target) host",'
        f'signature="{SIGNATURE}"',
        f'keyId = "k" , signature= "{SIGNATURE}" ,',
        f'\tkeyId="k",\tsignature="{SIGNATURE}"\t',
        f'keyId="k",keyid="j",signature="{SIGNATURE}"',
        f'keyId="k",signature="{SIGNATURE}',  # unterminated
        f'keyId="k" signature="{SIGNATURE}"',  # no comma
        f'keyId="k",signature="{SIGNATURE}"garbage',
        f'keyId="k\\",signature="{SIGNATURE}"',  # the escape eats the closing quote
        f'keyId="",signature="{SIGNATURE}"',
        'keyId="k",signature=""',
        "keyId=k,signature=abc",
        'keyId="k",signature="a\\"b"',
        "",
        " \t",
        ",",
        f'1keyId="k",signature="{SIGNATURE}"',
    ]
    return values


def test_parse_cavage_params__reads_what_the_original_pattern_read():
    values = headers()

    differ = [
        value
        for value in values
        if outcome(signatures._parse_cavage_params, value) != outcome(original_parse, value)
    ]

    assert differ == []
    # both kinds of outcome were tried
    assert {outcome(original_parse, value)[0] for value in values} == {"ok", "refused"}


def test_parse_cavage_params__unescapes_quoted_values():
    params = signatures._parse_cavage_params(r'keyId="a\"b\\c\d",signature="s"')

    assert params["keyid"] == 'a"b\\cd'
