"""Photos (listings' photos, residents' avatars): read with Pillow, cleaned, resized,
re-encoded, stored under server-made names.

A listing's photo is also kept in smaller renditions (RENDITION_WIDTHS, never wider than the
photo), made from the same cleaned pixels at upload time and stored beside it as
<name>-<width>w.<ext>, so a page of cards offers them with `srcset` and a phone downloads a
few kilobytes instead of the full photo. A photo stored before renditions existed gets them
on first request (`ensure_rendition`), from its stored file: the names are derived from the
photo's own, so no row records which renditions exist.

Nothing of what the browser sent survives but the pixels: the type is read from the bytes
(the file name and the declared content type are ignored), EXIF (GPS position, camera serial
numbers), XMP and ICC data are dropped, and the file name is made here.
"""

from __future__ import annotations

import asyncio
import io
import math
import os
import re
import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError, features

from commonsfed.config import Settings

MAX_PHOTOS = 4
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # per photo, as uploaded
MAX_SIDE = 1600  # long side of the stored photo, in pixels
AVATAR_SIDE = 400  # avatars are square, cropped to the middle (as Mastodon crops them)
# a 40-megapixel phone photo fits; a small file claiming 100,000 x 100,000 pixels (a
# "decompression bomb") is refused from its header, before any pixel is decoded
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{22}\.(webp|jpg)$")
RENDITION_WIDTHS = (320, 640)  # a card's thumbnail at 1x and 2x on a phone's full width
RENDITION_RE = re.compile(r"^(.+)-(320|640)w\.(webp|jpg)$")
CONTENT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}

NOT_A_PHOTO = "This file is not a photo (JPEG, PNG, WebP or GIF)."
TOO_LARGE = "This photo is larger than 10 MB. Choose a smaller one, or resize it first."
TOO_MANY_PIXELS = "This photo has too many pixels (more than 40 megapixels). Resize it first."


@dataclass(frozen=True)
class Upload:
    """One file from a form. `field` is the form's field name (photo_1 ...), for messages."""

    field: str
    filename: str  # only ever shown back to the person, never used to store anything
    data: bytes
    too_large: bool = False  # more than MAX_UPLOAD_BYTES arrived; `data` is incomplete


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    extension: str
    width: int
    height: int
    renditions: tuple[ProcessedPhoto, ...] = ()  # narrower copies, one per RENDITION_WIDTHS


class PhotoRejected(Exception):
    """The upload cannot become a photo; str(error) is the message for the person."""


def check_upload(upload: Upload) -> None:
    if upload.too_large or len(upload.data) > MAX_UPLOAD_BYTES:
        raise PhotoRejected(TOO_LARGE)


def process_photo(data: bytes, *, square: bool = False) -> ProcessedPhoto:
    """Decode, orient, strip, resize and re-encode one photo. CPU-bound: call it in a thread.

    `square`: an avatar, cropped to its middle square of at most AVATAR_SIDE pixels.
    """
    try:
        with warnings.catch_warnings():
            # Pillow only warns at its own (larger) limit; any such warning means "refuse"
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                clean = _clean(image, AVATAR_SIDE if square else None)
                return _with_renditions(clean) if not square else _encode(clean)
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected(TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        # Pillow reports truncated or corrupt files with any of these
        raise PhotoRejected(NOT_A_PHOTO) from None


def _clean(image: Image.Image, square: int | None = None) -> Image.Image:
    """A new image holding only the first frame's pixels, upright and at most MAX_SIDE, or
    its middle square of at most `square` pixels."""
    if image.width * image.height > MAX_PIXELS:
        raise PhotoRejected(TOO_MANY_PIXELS)
    _draft(image, square)
    image.seek(0)  # an animated GIF or WebP: its first frame
    upright = ImageOps.exif_transpose(image)  # before EXIF is dropped, or photos lie sideways
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    clean = upright.convert("RGBA" if has_alpha else "RGB")
    clean.info = {}  # EXIF, XMP, ICC, comments: none of it is written back
    if square:
        side = min(square, clean.width, clean.height)
        return ImageOps.fit(clean, (side, side), Image.Resampling.LANCZOS)
    clean.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return clean


def _draft(image: Image.Image, square: int | None = None) -> None:
    # JPEG can decode at 1/2, 1/4 or 1/8 scale directly: far less memory for a big photo
    # (a square keeps its short side, so that is the side that must stay large enough)
    if square:
        scale = square / min(image.width, image.height)
    else:
        scale = MAX_SIDE / max(image.width, image.height)
    if image.format == "JPEG" and scale < 1:
        image.draft(None, (math.ceil(image.width * scale), math.ceil(image.height * scale)))


def _encode(image: Image.Image, *, jpeg: bool = False) -> ProcessedPhoto:
    """WebP where Pillow has it, else (or when `jpeg`, a rendition of a JPEG) JPEG."""
    out = io.BytesIO()
    if features.check("webp") and not jpeg:
        image.save(out, "WEBP", quality=82, method=4, exif=b"", icc_profile=None)
        extension = "webp"
    else:  # a Pillow built without libwebp: JPEG has no alpha, so flatten on white
        if image.mode == "RGBA":
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
        extension = "jpg"
    return ProcessedPhoto(out.getvalue(), extension, image.width, image.height)


def _with_renditions(clean: Image.Image) -> ProcessedPhoto:
    """The photo and its renditions, each resized from the same cleaned pixels."""
    full = _encode(clean)
    smaller = tuple(_encode(_narrowed(clean, width)) for width in rendition_widths(clean.width))
    return ProcessedPhoto(full.data, full.extension, full.width, full.height, smaller)


def _narrowed(image: Image.Image, width: int) -> Image.Image:
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def rendition_widths(width: int | None) -> tuple[int, ...]:
    """The renditions a photo `width` pixels wide has: only narrower ones."""
    return tuple(w for w in RENDITION_WIDTHS if width and w < width)


def rendition_name(name: str, width: int) -> str:
    """ "abc.webp", 320 -> "abc-320w.webp" """
    stem, extension = name.rsplit(".", 1)
    return f"{stem}-{width}w.{extension}"


def srcset(src: str | None, width: int | None) -> str:
    """A `srcset` for the photo at `src`: its renditions and itself, by width; "" when it
    has no renditions (the plain `src` says it all)."""
    widths = rendition_widths(width)
    if not src or not widths:
        return ""
    return ", ".join([*(f"{rendition_name(src, w)} {w}w" for w in widths), f"{src} {width}w"])


def make_rendition(original: Path, width: int) -> Path | None:
    """Write the rendition of a stored photo (one kept before renditions were made at
    upload); its path, or None when the photo is missing or not wider than `width`. Written
    through a temporary name, so two requests at once never serve half a file. CPU-bound:
    call it in a thread."""
    target = original.with_name(rendition_name(original.name, width))
    try:
        with Image.open(original, formats=ACCEPTED_FORMATS) as image:
            if width not in rendition_widths(image.width):
                return None
            image.load()
            narrowed = _narrowed(image.convert(_mode(image)), width)
            photo = _encode(narrowed, jpeg=original.suffix == ".jpg")
    except (OSError, UnidentifiedImageError, ValueError):
        return None  # gone, or damaged (Pillow reports a truncated file as OSError)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    partial.write_bytes(photo.data)
    os.replace(partial, target)
    return target


def _mode(image: Image.Image) -> str:
    return "RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB"


async def ensure_rendition(original: Path, width: int) -> Path | None:
    """The file of the photo at `original`'s rendition `width` pixels wide, made now when it
    is missing; None when the photo has no such rendition."""
    target = original.with_name(rendition_name(original.name, width))
    if target.is_file():
        return target
    return await asyncio.to_thread(make_rendition, original, width)


def original_name(name: str) -> tuple[str, int] | None:
    """ "abc-320w.webp" -> ("abc.webp", 320); None when `name` names no rendition."""
    match = RENDITION_RE.fullmatch(name)
    return (f"{match[1]}.{match[3]}", int(match[2])) if match else None


async def process_upload(upload: Upload, *, square: bool = False) -> ProcessedPhoto:
    check_upload(upload)
    return await asyncio.to_thread(process_photo, upload.data, square=square)


# --- storage -------------------------------------------------------------------------------


def media_dir(settings: Settings) -> Path:
    return settings.data_dir / "media"


def new_name(extension: str) -> str:
    return f"{secrets.token_urlsafe(16)}.{extension}"


def media_path(settings: Settings, name: str) -> Path | None:
    """Where a server-made name lives; None for anything else (so no path can escape)."""
    if not NAME_RE.fullmatch(name):
        return None
    return media_dir(settings) / name


async def photo_file(
    path_of: Callable[[Settings, str], Path | None], settings: Settings, name: str
) -> Path | None:
    """The file to serve for `name`: a stored photo, or one of its renditions (made now for
    a photo stored before they were made at upload); None for anything else. `path_of` maps
    a photo's name to its path, None unless it is a name the node makes (media_path, or
    remote_media.file_path for the cache of remote photos), so no path can escape."""
    path = path_of(settings, name)
    if path is not None:
        return path if path.is_file() else None
    rendition = original_name(name)
    original = path_of(settings, rendition[0]) if rendition else None
    if rendition is None or original is None:
        return None
    return await ensure_rendition(original, rendition[1])


def _write(folder: Path, photo: ProcessedPhoto) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    name = new_name(photo.extension)
    # O_EXCL: a (vanishingly unlikely) repeated name fails rather than overwriting a photo
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(photo.data)
    try:
        for rendition in photo.renditions:
            (folder / rendition_name(name, rendition.width)).write_bytes(rendition.data)
    except BaseException:
        for file in with_renditions(folder / name):
            file.unlink(missing_ok=True)
        raise
    return name


def with_renditions(path: Path) -> list[Path]:
    """A stored photo's file and those of the renditions it may have."""
    return [path, *(path.with_name(rendition_name(path.name, w)) for w in RENDITION_WIDTHS)]


async def store_photos(settings: Settings, photos: list[ProcessedPhoto]) -> list[str]:
    """Write the photos; their new names, in order. On failure, nothing stays written."""
    names: list[str] = []
    try:
        for photo in photos:
            names.append(await asyncio.to_thread(_write, media_dir(settings), photo))
    except BaseException:
        await remove_photos(settings, names)
        raise
    return names


async def remove_photos(settings: Settings, names: list[str]) -> None:
    def remove() -> None:
        for name in names:
            path = media_path(settings, name)
            for file in with_renditions(path) if path is not None else []:
                file.unlink(missing_ok=True)

    await asyncio.to_thread(remove)
