"""JSON-LD normalisation of incoming ActivityPub documents, offline.

`normalise(doc)` returns a document whose terms are named as `OUR_CONTEXT` names them, so the
rest of the code can read `doc["content"]` without caring how the sender spelled its context.

Two paths:

- fast: the `@context` holds only bundled context URLs and inline term definitions that give
  each term the IRI we give it (what Mastodon, GoToSocial and Misskey send). The terms
  already mean what we think, so the document is returned as is, with our `@context` (and
  `Public` spelled in full in its addressing).
- slow: anything else goes through pyld (expand with the offline loader, compact against the
  read context, then tidy so the result looks like the fast path).

No context is ever fetched. Bundled URLs answer from `contexts/`; any other URL (a litepub
context from Pleroma or Akkoma, `https://evil.example/ctx`) is answered with an empty context,
so its terms stay undefined. Refusing such URLs instead would make every Pleroma document
unreadable. Undefined terms keep their plain name (see `_plain_key`).

Hostile input: documents nested deeper than `MAX_DEPTH` or with more than `MAX_NODES` keys and
items are refused with `DocumentTooComplexError` before any JSON-LD processing.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

AS2 = "https://www.w3.org/ns/activitystreams"
AS2_NS = AS2 + "#"
PUBLIC = AS2_NS + "Public"
SECURITY_V1 = "https://w3id.org/security/v1"
DATA_INTEGRITY_V1 = "https://w3id.org/security/data-integrity/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
GOTOSOCIAL_NS = "https://gotosocial.org/ns"
VALUEFLOWS_NS = "https://w3id.org/valueflows/ont/vf#"
COMMONSFED_NS = "https://commonsfed.org/ns#"

MAX_DEPTH = 32
MAX_NODES = 10_000
# Caches of contexts: entries, and the largest context (serialised) worth remembering.
_CONTEXT_CACHE_SIZE = 256
_CACHEABLE_CONTEXT_BYTES = 16_384

# Context URLs answered from the package, never from the network. activitystreams.json and
# security-v1.json are the published documents (as the apmodel package ships them);
# data-integrity-v1.json and multikey-v1.json are written from the W3C/CCG definitions;
# gotosocial-ns.json from the terms GoToSocial documents under https://gotosocial.org/ns#.
BUNDLED_CONTEXTS: dict[str, str] = {
    AS2: "activitystreams.json",
    "http://www.w3.org/ns/activitystreams": "activitystreams.json",
    "https://www.w3.org/ns/activitystreams.jsonld": "activitystreams.json",
    "http://www.w3.org/ns/activitystreams.jsonld": "activitystreams.json",
    SECURITY_V1: "security-v1.json",
    DATA_INTEGRITY_V1: "data-integrity-v1.json",
    MULTIKEY_V1: "multikey-v1.json",
    GOTOSOCIAL_NS: "gotosocial-ns.json",
}

# Term files without a URL of their own: FEP-0837 spells its Valueflows terms inline, and so
# do Mastodon, Misskey and Lemmy for theirs. They feed the fast-path check and the read context.
_INLINE_TERM_FILES = ("valueflows.json", "fediverse-terms.json")

# The @context of every document we serve. FEP-0837 maps hasUnit and hasNumericalValue to the
# Ontology of units of Measure (om2), not to vf:, so we do too.
OUR_CONTEXT: list[Any] = [
    AS2,
    SECURITY_V1,
    {
        "vf": VALUEFLOWS_NS,
        "om2": "http://www.ontology-of-units-of-measure.org/resource/om-2/",
        "Proposal": "vf:Proposal",
        "Intent": "vf:Intent",
        "Agreement": "vf:Agreement",
        "Commitment": "vf:Commitment",
        "purpose": "vf:purpose",
        "publishes": "vf:publishes",
        "reciprocal": "vf:reciprocal",
        "unitBased": "vf:unitBased",
        "action": "vf:action",
        "provider": "vf:provider",
        "receiver": "vf:receiver",
        "resourceConformsTo": "vf:resourceConformsTo",
        "resourceQuantity": "vf:resourceQuantity",
        "availableQuantity": "vf:availableQuantity",
        "minimumQuantity": "vf:minimumQuantity",
        "stipulates": "vf:stipulates",
        "stipulatesReciprocal": "vf:stipulatesReciprocal",
        "satisfies": "vf:satisfies",
        "hasUnit": "om2:hasUnit",
        "hasNumericalValue": "om2:hasNumericalValue",
        "toot": "http://joinmastodon.org/ns#",
        "sensitive": "as:sensitive",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "Hashtag": "as:Hashtag",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "Emoji": "toot:Emoji",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        # a thanks after a completed exchange names the listing it thanks for (ap/thanks.py)
        "commonsfed": COMMONSFED_NS,
        "thanksFor": {"@id": "commonsfed:thanksFor", "@type": "@id"},
        # a neighbourhood project's needs, one Intent each (ap/projects.py)
        "needs": "commonsfed:needs",
        # a lend listing's booked days (ap/loan_days.py)
        "booked": "commonsfed:booked",
    },
]

_ADDRESSING = ("to", "cc", "bto", "bcc", "audience")
# Inline context keywords that leave every term's IRI alone; anything else (@vocab, @base,
# @import, @propagate) sends the document down the slow path.
_HARMLESS_CONTEXT_KEYWORDS = frozenset({"@version", "@language", "@direction", "@protected"})
_PLAIN_DEFINITION_KEYS = frozenset({"@id", "@type", "@container", "@protected"})
_CONTAINERS = {None: None, "@set": None, "@list": "@list", "@language": "@language"}

Definition = tuple[str, str | None]  # (IRI, container)


class JsonLdError(ValueError):
    """The document cannot be read as JSON-LD."""


class DocumentTooComplexError(JsonLdError):
    """The document is nested too deep or has too many nodes: refused as hostile."""


# --- bundled contexts and the offline loader -------------------------------------------


@functools.cache
def _context_file(name: str) -> dict[str, Any]:
    from importlib import resources  # costs ~10 ms to import, so only when first needed

    data = resources.files("commonsfed.ap").joinpath("contexts", name).read_bytes()
    return orjson.loads(data)


def bundled_context(url: str) -> dict[str, Any] | None:
    """The bundled context document for `url`, or None when we have none."""
    name = BUNDLED_CONTEXTS.get(url)
    return _context_file(name) if name else None


def offline_document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that never touches the network.

    Bundled URLs answer with the bundled document, tagged "static" so pyld keeps the
    processed context between documents; any other URL answers with an empty context (not
    cached), so the terms it would define stay undefined.
    """
    document = bundled_context(url)
    remote = {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url}
    if document is None:
        return {**remote, "document": {"@context": {}}}
    return {**remote, "document": document, "tag": "static"}


# --- term tables -------------------------------------------------------------------------


def _prefixes_of(definitions: dict[str, Any]) -> dict[str, str]:
    """Terms usable as prefixes: those mapped straight to an IRI ending in # or /."""
    return {
        term: value
        for term, value in definitions.items()
        if isinstance(value, str) and value.endswith(("#", "/")) and not term.startswith("@")
    }


def _resolve(value: str, prefixes: dict[str, str]) -> str:
    prefix, colon, suffix = value.partition(":")
    if colon and prefix in prefixes and not suffix.startswith("//"):
        return prefixes[prefix] + suffix
    return value


def _definition(value: Any, prefixes: dict[str, str], strict: bool) -> Definition | None:
    """(IRI, container) of one term definition; None when it is not a plain mapping.

    Strict mode (for what peers send) refuses scoped contexts, @reverse, @nest and friends,
    whose effect the fast path cannot vouch for; @type is ignored since it never changes
    which property a key names.
    """
    if isinstance(value, str):
        return _resolve(value, prefixes), None
    if not isinstance(value, dict) or not isinstance(value.get("@id"), str):
        return None
    if strict and (not value.keys() <= _PLAIN_DEFINITION_KEYS or value.get("@type") == "@json"):
        return None
    container = value.get("@container")
    if not isinstance(container, str | None) or container not in _CONTAINERS:
        return None
    return _resolve(value["@id"], prefixes), _CONTAINERS[container]


def _context_terms(definitions: dict[str, Any], prefixes: dict[str, str]) -> dict[str, Definition]:
    usable = {**prefixes, **_prefixes_of(definitions)}
    terms: dict[str, Definition] = {}
    for term, value in definitions.items():
        found = None if term.startswith("@") else _definition(value, usable, strict=False)
        if found:
            terms[term] = found
    return terms


def _definitions(document: dict[str, Any]) -> dict[str, Any]:
    context = document["@context"]
    return context if isinstance(context, dict) else {}


@functools.cache
def _bundled_prefixes(url: str) -> dict[str, str]:
    return _prefixes_of(_definitions(bundled_context(url) or {"@context": {}}))


@functools.cache
def _read_context() -> list[Any]:
    """What the slow path compacts against: OUR_CONTEXT plus every term the fast path knows.

    Peer terms (atomUri, _misskey_content, stickied ...) then come out under their usual
    names on both paths.
    """
    inline: dict[str, Any] = {}
    for name in _INLINE_TERM_FILES:
        inline.update(_definitions(_context_file(name)))
    inline.update(OUR_CONTEXT[2])
    return [AS2, SECURITY_V1, GOTOSOCIAL_NS, DATA_INTEGRITY_V1, MULTIKEY_V1, inline]


@functools.cache
def _read_prefixes() -> dict[str, str]:
    prefixes: dict[str, str] = {}
    for entry in _read_context():
        definitions = entry if isinstance(entry, dict) else _definitions(bundled_context(entry))
        prefixes.update(_prefixes_of(definitions))
    return prefixes


@functools.cache
def _known_terms() -> dict[str, Definition]:
    """Every term of the read context with the IRI and container it stands for."""
    prefixes = _read_prefixes()
    known: dict[str, Definition] = {}
    for entry in _read_context():
        definitions = entry if isinstance(entry, dict) else _definitions(bundled_context(entry))
        known.update(_context_terms(definitions, prefixes))
    return known


@functools.cache
def _term_for_iri() -> dict[str, str]:
    """IRI -> term, for renaming keys pyld could only write as IRIs.

    Plain terms first (`content`, not `contentMap`), then list terms (`focalPoint`, whose
    values look the same in JSON whether the sender declared the list or not).
    """
    reverse: dict[str, str] = {}
    for wanted in (None, "@list"):
        for term, (iri, container) in _known_terms().items():
            if container == wanted and iri not in _prefix_iris():
                reverse.setdefault(iri, term)
    return reverse


@functools.cache
def _prefix_iris() -> frozenset[str]:
    return frozenset(_read_prefixes().values())


@functools.cache
def _id_valued_terms() -> frozenset[str]:
    """Terms whose string values are IRIs, which pyld may shorten to `as:Public` and the like."""
    terms = {"id"}
    for entry in _read_context():
        definitions = entry if isinstance(entry, dict) else _definitions(bundled_context(entry))
        for term, value in definitions.items():
            if isinstance(value, dict) and value.get("@type") == "@id":
                terms.add(term)
    return frozenset(terms)


# --- hostile input guard -----------------------------------------------------------------


def _require_object(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise JsonLdError("an ActivityPub document must be a JSON object")


def _walk(root: Any, nodes: int, check_keywords: bool) -> tuple[int, bool]:
    """Count nodes and depth without recursion, stopping at the first limit passed."""
    keywords = False
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DocumentTooComplexError(f"document nested deeper than {MAX_DEPTH} levels")
        nodes += len(value) + 1
        if nodes > MAX_NODES:
            raise DocumentTooComplexError(f"document has more than {MAX_NODES} nodes")
        children = value
        if type(value) is dict:
            children = value.values()
            if check_keywords and not keywords:
                keywords = any(key.__class__ is str and key[:1] == "@" for key in value)
        for item in children:
            if type(item) is dict or type(item) is list:
                stack.append((item, depth + 1))
    return nodes, keywords


def _scan(doc: dict[str, Any], check_keywords: bool = True) -> bool:
    """Enforce the size limits before pyld runs; True when the body uses JSON-LD keywords
    (always False when not `check_keywords`).

    A nested @context or an @id/@type/@value key outside the top-level @context means the
    fast path cannot vouch for the document.
    """
    body = {key: value for key, value in doc.items() if key != "@context"}
    nodes, keywords = _walk(body, 0, check_keywords)
    if "@context" in doc:
        _walk([doc["@context"]], nodes, check_keywords=False)
    return keywords


def check_size(doc: dict[str, Any]) -> None:
    """Refuse (DocumentTooComplexError) a document past MAX_DEPTH or MAX_NODES: what
    `normalise` would refuse later, for callers that must answer before storing it. The
    keywords are left to `normalise`: looking at every key was a fifth of what the inbox
    spent on an activity before answering."""
    _require_object(doc)
    _scan(doc, check_keywords=False)


# --- fast path ---------------------------------------------------------------------------


def _context_entries(context: Any) -> list[Any]:
    return context if isinstance(context, list) else [context]


def _inline_is_known(definitions: dict[str, Any], prefixes: dict[str, str]) -> bool:
    known = _known_terms()
    usable = {**prefixes, **_prefixes_of(definitions)}
    for term, value in definitions.items():
        if term.startswith("@"):
            if term not in _HARMLESS_CONTEXT_KEYWORDS:
                return False
        elif term not in known or _definition(value, usable, strict=True) != known[term]:
            return False
    return True


def _context_is_known(context: Any) -> bool:
    """True when every context entry gives each term the IRI our read context gives it.

    A missing @context counts as AS2, which Activity Streams 2.0 Core says always applies.
    Each server sends the same few contexts again and again, so answers are remembered.
    """
    if context is None or isinstance(context, str):
        return context is None or context in BUNDLED_CONTEXTS
    try:
        key = orjson.dumps(context, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return False
    if len(key) > _CACHEABLE_CONTEXT_BYTES:
        return _check_context(context)
    return _serialised_context_is_known(key)


@functools.lru_cache(maxsize=_CONTEXT_CACHE_SIZE)
def _serialised_context_is_known(key: bytes) -> bool:
    return _check_context(orjson.loads(key))


def _check_context(context: Any) -> bool:
    prefixes = dict(_bundled_prefixes(AS2))
    for entry in _context_entries(context):
        if isinstance(entry, str) and entry in BUNDLED_CONTEXTS:
            prefixes.update(_bundled_prefixes(entry))
        elif isinstance(entry, dict) and _inline_is_known(entry, prefixes):
            prefixes.update(_prefixes_of(entry))
        else:
            return False
    return True


def is_fast_path(doc: dict[str, Any]) -> bool:
    """Whether `normalise` can return `doc` without running pyld (for tests and metrics).

    Raises JsonLdError for a document that `normalise` would refuse.
    """
    _require_object(doc)
    return not _scan(doc) and _context_is_known(doc.get("@context"))


# --- slow path ---------------------------------------------------------------------------


@functools.cache
def _pyld() -> Any:
    # Imported on first use: the fast path never needs it, and importing it costs.
    from pyld import jsonld

    return jsonld


def _with_as2(doc: dict[str, Any]) -> dict[str, Any]:
    """Put AS2 first when the document lacks it: AS2 Core says its context always applies."""
    entries = [] if "@context" not in doc else _context_entries(doc["@context"])
    as2_urls = {url for url, name in BUNDLED_CONTEXTS.items() if name == "activitystreams.json"}
    if any(isinstance(entry, str) and entry in as2_urls for entry in entries):
        return doc
    return {**doc, "@context": [AS2, *entries]}


class _BoundedCache(dict[str, Any]):
    """pyld's resolved-context cache, bounded: each hostile document may bring new inline
    contexts (pyld keys them by their JSON), and emptying the cache now and then only costs
    a re-parse."""

    def __setitem__(self, key: str, value: Any) -> None:
        if len(key) > _CACHEABLE_CONTEXT_BYTES:
            return
        if len(self) >= _CONTEXT_CACHE_SIZE:
            self.clear()
        super().__setitem__(key, value)


@functools.cache
def _context_cache() -> _BoundedCache:
    return _BoundedCache()


def _pyld_options(**extra: Any) -> dict[str, Any]:
    # Our own context resolver and cache (an internal pyld option): pyld's default cache is
    # shared with any other pyld user in the process, which could put a fetched context there.
    from pyld.context_resolver import ContextResolver

    resolver = ContextResolver(_context_cache(), offline_document_loader)
    # No base: pyld would otherwise resolve relative IRIs ("Public") against example.org.
    options = {"base": None, "documentLoader": offline_document_loader}
    return {**options, "contextResolver": resolver, **extra}


def _pyld_reason(exc: BaseException) -> str:
    # pyld wraps the real reason ("tried to redefine a protected term") in generic ones.
    while isinstance(exc.__cause__, _pyld().JsonLdError):
        exc = exc.__cause__
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _pyld_round_trip(doc: dict[str, Any]) -> dict[str, Any]:
    jsonld = _pyld()
    try:
        expanded = jsonld.expand(_with_as2(doc), _pyld_options())
        compacted = jsonld.compact(expanded, _read_context(), _pyld_options(skipExpansion=True))
    except jsonld.JsonLdError as exc:
        raise JsonLdError(f"not a readable JSON-LD document: {_pyld_reason(exc)}") from exc
    compacted.pop("@context", None)
    if "@graph" in compacted:
        raise JsonLdError("document holds several top-level objects; expected one")
    return compacted


def _full_iri(value: Any) -> Any:
    """Undo pyld's shortening of IRI values (`as:Public`) in id-valued terms."""
    if isinstance(value, str):
        return _resolve(value, _read_prefixes())
    if isinstance(value, list):
        return [_full_iri(item) for item in value]
    return value


def _plain_key(key: str) -> str:
    """The term a compacted key stands for.

    `_:name` is an undefined term (AS2's context maps undefined terms to `_:` + name): it
    keeps its plain name, as Mastodon reads it. A key pyld could only write as an IRI gets
    its term back when that IRI is the one our read context gives the term; a term an
    unknown context mapped elsewhere (`http://evil.example/content`) keeps its IRI.
    """
    if key.startswith("_:"):
        return key[2:]
    if ":" in key:
        return _term_for_iri().get(_resolve(key, _read_prefixes()), key)
    return key


def _plain_type(value: Any) -> Any:
    """`_:Hashtag` -> `Hashtag`: a type the sender left undefined (GoToSocial does not define
    Hashtag or Emoji) expands against AS2's `_:` vocabulary, and pyld cannot shorten it back
    because our context defines a term of that name."""
    if isinstance(value, list):
        return [_plain_type(item) for item in value]
    if isinstance(value, str) and value.startswith("_:"):
        return value[2:]
    return value


def _unwrap(value: dict[str, Any]) -> Any:
    """A value object or list object left by compaction, as the plain JSON a peer sends."""
    if "@value" in value:
        return value["@value"]
    if "@list" in value:
        return value["@list"]
    return value


def _move_undetermined_language(node: dict[str, Any]) -> None:
    # Pleroma and Akkoma send {"@language": "und"}: every string then compacts into a
    # language map (contentMap: {"und": ...}) instead of the plain term.
    for term in ("content", "name", "summary"):
        language_map = node.get(term + "Map")
        if term not in node and isinstance(language_map, dict) and "und" in language_map:
            node[term] = language_map.pop("und")
            if not language_map:
                del node[term + "Map"]


def _tidy(value: Any, original: Any) -> Any:
    """Make pyld's output look like the fast path, following the shape of the original."""
    if isinstance(value, list):
        originals = original if isinstance(original, list) and len(original) == len(value) else []
        return [_tidy(item, originals[i] if originals else None) for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    unwrapped = _unwrap(value)
    if unwrapped is not value:
        return _tidy(unwrapped, original)
    return _tidy_node(value, original if isinstance(original, dict) else {})


def _tidy_node(node: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    tidy: dict[str, Any] = {}
    for key, value in node.items():
        name = _plain_key(key)
        if name != key and (name in node or name in tidy):
            name = key
        item = _tidy(value, original.get(name))
        if name in _id_valued_terms():
            item = _full_iri(item)
        elif name == "type":
            item = _plain_type(item)
        tidy[name] = _shaped_like(item, original.get(name))
    _move_undetermined_language(tidy)
    return tidy


def _shaped_like(value: Any, original: Any) -> Any:
    # pyld writes a one-element array as a scalar, and an object with only an id as that id;
    # give them back the shape the sender used.
    if isinstance(original, list) and not isinstance(value, list):
        return [value]
    if isinstance(original, dict) and original.keys() == {"id"} and isinstance(value, str):
        return {"id": value}
    return value


def _slow_path(doc: dict[str, Any]) -> dict[str, Any]:
    return _tidy_node(_pyld_round_trip(doc), doc)


# --- entry point -------------------------------------------------------------------------


def _public_in(values: Any) -> Any:
    # AS2 lets senders write the Public collection as "as:Public" or "Public".
    if isinstance(values, list):
        return [_public_in(value) for value in values]
    return PUBLIC if values in ("as:Public", "Public") else values


def _full_public(node: dict[str, Any]) -> dict[str, Any]:
    fixed = {key: _public_in(node[key]) for key in _ADDRESSING if key in node}
    return {**node, **fixed} if fixed else node


def normalise(doc: dict[str, Any], *, force_slow: bool = False) -> dict[str, Any]:
    """`doc` with its terms named as OUR_CONTEXT names them, and OUR_CONTEXT as @context.

    The result shares nested values with `doc` (fast path) and with OUR_CONTEXT: treat it as
    read-only. `force_slow` runs pyld even when the fast path applies (tests, comparisons).
    Raises JsonLdError (DocumentTooComplexError for hostile sizes) when it cannot.
    """
    _require_object(doc)
    keywords = _scan(doc)
    if force_slow or keywords or not _context_is_known(doc.get("@context")):
        body = _slow_path(doc)
    else:
        body = {key: value for key, value in doc.items() if key != "@context"}
    out = _full_public({"@context": OUR_CONTEXT, **body})
    if isinstance(out.get("object"), dict):
        out["object"] = _full_public(out["object"])
    return out


# --- helpers for readers of normalised documents -----------------------------------------


def as_list(value: Any) -> list[Any]:
    """None -> [], a list -> itself, anything else -> [value]."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first_id(value: Any) -> str | None:
    """The id of a reference: a string id, an object with an `id`, or a list of those."""
    for item in as_list(value):
        if isinstance(item, str):
            return item
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return item["id"]
    return None


__all__ = [
    "AS2",
    "BUNDLED_CONTEXTS",
    "DocumentTooComplexError",
    "JsonLdError",
    "MAX_DEPTH",
    "MAX_NODES",
    "OUR_CONTEXT",
    "PUBLIC",
    "as_list",
    "bundled_context",
    "check_size",
    "first_id",
    "is_fast_path",
    "normalise",
    "offline_document_loader",
]
