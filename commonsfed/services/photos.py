"""Photos (listings' photos, residents' avatars): read with Pillow, cleaned, resized,
re-encoded, stored under server-made names.

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
                return _encode(_clean(image, AVATAR_SIDE if square else None))
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


def _encode(image: Image.Image) -> ProcessedPhoto:
    out = io.BytesIO()
    if features.check("webp"):
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


def _write(folder: Path, photo: ProcessedPhoto) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    name = new_name(photo.extension)
    # O_EXCL: a (vanishingly unlikely) repeated name fails rather than overwriting a photo
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(photo.data)
    return name


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
            if path is not None:
                path.unlink(missing_ok=True)

    await asyncio.to_thread(remove)
