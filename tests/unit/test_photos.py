"""Photo processing: type from the bytes, metadata stripped, orientation applied, resized."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from commonsfed.config import Settings
from commonsfed.services import photos
from commonsfed.services.photos import (
    AVATAR_SIDE,
    MAX_SIDE,
    NOT_A_PHOTO,
    PhotoRejected,
    Upload,
    check_upload,
    media_path,
    process_photo,
)
from tests.builders import photo_bytes

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # camera make
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (52.0, 22.0, 7.5)  # latitude
    gps[3], gps[4] = "E", (4.0, 53.0, 30.0)  # longitude
    return exif


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_fixture__the_source_jpeg_really_carries_gps():
    source = reopen(photo_bytes(exif=exif_with_gps()))

    assert source.getexif().get_ifd(GPS_IFD)[2] == (52.0, 22.0, 7.5)


def test_process_photo__strips_exif_gps_and_all_metadata():
    result = process_photo(photo_bytes(exif=exif_with_gps()))

    image = reopen(result.data)
    assert dict(image.getexif()) == {}
    assert not image.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
    assert b"PhoneMaker" not in result.data and b"Exif" not in result.data


def test_process_photo__applies_the_exif_orientation():
    # orientation 6: the camera was turned; the stored pixels are landscape
    result = process_photo(photo_bytes(size=(400, 200), exif=exif_with_gps(orientation=6)))

    assert (result.width, result.height) == (200, 400)
    assert reopen(result.data).size == (200, 400)


def test_process_photo__resizes_the_long_side_to_the_maximum():
    result = process_photo(photo_bytes(size=(4000, 2000)))

    assert (result.width, result.height) == (MAX_SIDE, MAX_SIDE // 2)


def test_process_photo__small_photos_are_not_enlarged():
    result = process_photo(photo_bytes(size=(320, 240)))

    assert (result.width, result.height) == (320, 240)


def test_process_photo__an_avatar_is_the_middle_square_without_metadata():
    # a wide photo: red on the left, green in the middle, blue on the right
    image = Image.new("RGB", (3000, 1000), "green")
    image.paste("red", (0, 0, 1000, 1000))
    image.paste("blue", (2000, 0, 3000, 1000))
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif_with_gps())

    result = process_photo(out.getvalue(), square=True)

    assert (result.width, result.height) == (AVATAR_SIDE, AVATAR_SIDE) == (400, 400)
    avatar = reopen(result.data).convert("RGB")
    assert not avatar.getexif() and "exif" not in avatar.info
    for x in (10, 200, 390):  # nothing of the red or the blue
        red, green, blue = avatar.getpixel((x, 200))
        assert green > 100 and red < 60 and blue < 60


def test_process_photo__a_small_avatar_is_squared_not_enlarged():
    result = process_photo(photo_bytes(size=(120, 90)), square=True)

    assert (result.width, result.height) == (90, 90)


def test_process_photo__reencodes_to_a_server_chosen_format():
    result = process_photo(photo_bytes(fmt="PNG"))

    assert reopen(result.data).format == {"webp": "WEBP", "jpg": "JPEG"}[result.extension]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_process_photo__accepts_the_four_formats(fmt):
    assert process_photo(photo_bytes(fmt=fmt)).width == 800


def test_process_photo__a_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (60, 40), color) for color in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])

    image = reopen(process_photo(out.getvalue()).data).convert("RGB")

    red, green, blue = image.getpixel((30, 20))
    assert red > 200 and blue < 60


def test_process_photo__a_png_named_jpg_is_read_as_the_png_it_is():
    # the name and declared type never matter: only the bytes do
    upload = Upload("photo_1", "holiday.jpg", photo_bytes(fmt="PNG", size=(300, 200)))

    result = process_photo(upload.data)

    assert (result.width, result.height) == (300, 200)


def test_process_photo__a_text_file_named_jpg_is_refused():
    with pytest.raises(PhotoRejected, match=r"not a photo \(JPEG, PNG, WebP or GIF\)"):
        process_photo(b"Dear neighbour, this is not a picture at all.\n" * 10)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "PDF"])
def test_process_photo__other_image_formats_are_refused(fmt):
    out = io.BytesIO()
    Image.new("RGB", (50, 50)).save(out, fmt)

    with pytest.raises(PhotoRejected) as error:
        process_photo(out.getvalue())
    assert str(error.value) == NOT_A_PHOTO


def test_process_photo__a_truncated_jpeg_is_refused():
    data = photo_bytes(size=(800, 600))

    with pytest.raises(PhotoRejected):
        process_photo(data[: len(data) // 3])


def test_process_photo__a_decompression_bomb_is_refused_from_its_header(monkeypatch):
    # a 100 x 100 PNG stands in for a huge one: lower the limit rather than build gigapixels
    monkeypatch.setattr(photos, "MAX_PIXELS", 100 * 100 - 1)

    with pytest.raises(PhotoRejected, match="too many pixels"):
        process_photo(photo_bytes(fmt="PNG", size=(100, 100)))


def claim_size(png: bytes, width: int, height: int) -> bytes:
    """The same PNG with a header that claims another size (and a valid checksum)."""
    ihdr = png[12:29]  # b"IHDR" + 13 bytes of fields
    fields = struct.pack(">II", width, height) + ihdr[12:]
    new = b"IHDR" + fields
    return png[:12] + new + struct.pack(">I", zlib.crc32(new)) + png[33:]


def test_process_photo__a_png_claiming_900_megapixels_is_refused_without_decoding():
    bomb = claim_size(photo_bytes(fmt="PNG", size=(10, 10)), 30_000, 30_000)

    with pytest.raises(PhotoRejected, match="too many pixels"):
        process_photo(bomb)


def test_check_upload__over_10_mb_is_refused_with_a_message():
    with pytest.raises(PhotoRejected, match="larger than 10 MB"):
        check_upload(Upload("photo_1", "big.jpg", b"x" * 10, too_large=True))


def test_media_path__only_server_made_names():
    settings = Settings(data_dir=Path("/srv/data"))

    assert media_path(settings, "A" * 22 + ".webp") is not None
    for name in (
        "../secret.key",
        "..%2Fsecret.key",
        "a.webp",
        "A" * 22 + ".webp/..",
        "A" * 22 + ".svg",
        "A" * 22 + ".html",
        "/etc/passwd",
        "A" * 21 + "/.webp",
    ):
        assert media_path(settings, name) is None, name


# --- renditions ------------------------------------------------------------------------------


def test_process_photo__makes_narrower_renditions_from_the_same_pixels():
    processed = process_photo(photo_bytes(size=(1000, 500), exif=exif_with_gps()))

    assert [(r.width, r.height) for r in processed.renditions] == [(320, 160), (640, 320)]
    for rendition in processed.renditions:
        image = reopen(rendition.data)
        assert rendition.extension == processed.extension
        assert image.size == (rendition.width, rendition.height)
        assert not image.getexif() and "icc_profile" not in image.info


def test_process_photo__no_rendition_as_wide_as_the_photo_nor_for_an_avatar():
    assert [r.width for r in process_photo(photo_bytes(size=(640, 480))).renditions] == [320]
    assert process_photo(photo_bytes(size=(300, 200))).renditions == ()
    assert process_photo(photo_bytes(size=(900, 900)), square=True).renditions == ()


def test_srcset__lists_the_renditions_and_the_photo_by_width():
    assert photos.srcset("/media/a.webp", 800) == (
        "/media/a-320w.webp 320w, /media/a-640w.webp 640w, /media/a.webp 800w"
    )
    assert photos.srcset("/media/a.webp", 500) == "/media/a-320w.webp 320w, /media/a.webp 500w"
    assert photos.srcset("/media/a.webp", 320) == "" and photos.srcset(None, 800) == ""


def test_original_name__only_for_the_widths_the_node_makes():
    assert photos.original_name("abc-320w.webp") == ("abc.webp", 320)
    assert photos.original_name("abc-640w.jpg") == ("abc.jpg", 640)
    assert photos.original_name("abc-480w.webp") is None
    assert photos.original_name("abc.webp") is None


def test_make_rendition__of_a_stored_photo_keeps_its_format(tmp_path):
    # a JPEG kept by a node whose Pillow had no WebP: its rendition is a JPEG too
    original = tmp_path / ("a" * 22 + ".jpg")
    original.write_bytes(photo_bytes(size=(800, 600)))

    made = photos.make_rendition(original, 320)

    assert made == tmp_path / ("a" * 22 + "-320w.jpg")
    assert reopen(made.read_bytes()).format == "JPEG" and reopen(made.read_bytes()).width == 320
    assert photos.make_rendition(original, 640) is not None
    assert photos.make_rendition(tmp_path / "missing.jpg", 320) is None
    assert not list(tmp_path.glob(".*part"))
