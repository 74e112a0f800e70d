"""What identifying metadata a source image carries, named in plain words for the receipt.

MaxUpload never copies metadata into the sent image (it writes a fresh file with only pixels and
a colour profile), so this module only *describes* what was left behind, for the user's record.
"""

from __future__ import annotations

from PIL import ExifTags, Image

# EXIF tags by the plain-language item they belong to (IFD0 and the Exif sub-IFD).
_SERIAL_TAGS = (0xA431, 0xA435, 0xC62F)  # BodySerialNumber, LensSerialNumber, CameraSerialNumber
_OWNER_TAGS = (0xA430, 0x013B, 0x8298, 0x9C9D)  # CameraOwnerName, Artist, Copyright, XPAuthor
_COMMENT_TAGS = (0x9286, 0x010E, 0x9C9C, 0x9C9B, 0x9C9E, 0x9C9F)  # comments, titles, keywords
_DATE_TAGS = (0x9003, 0x9004, 0x0132)  # DateTimeOriginal, DateTimeDigitized, DateTime
_CAMERA_TAGS = (0x010F, 0x0110, 0xA433, 0xA434)  # Make, Model, LensMake, LensModel
_UNIQUE_ID_TAG = 0xA420
_MAKER_NOTE_TAG = 0x927C
_ORIENTATION_TAG = 0x0112
_TIFF_XMP_TAG = 700
_TIFF_IPTC_TAG = 33723


def exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8) of an opened image; 1 when absent or invalid."""
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # damaged EXIF must not stop the photo
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def found_metadata(im: Image.Image) -> list[str]:
    """Plain names of the metadata present in ``im`` (all of it is dropped from the output)."""
    found: list[str] = []

    def note(item: str) -> None:
        if item not in found:
            found.append(item)

    try:
        exif = im.getexif()
        exif_ifd = dict(exif.get_ifd(ExifTags.IFD.Exif))
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except Exception:
        exif, exif_ifd, gps, ifd1 = Image.Exif(), {}, {}, {}
        note("damaged EXIF data")
    tags = {**dict(exif), **exif_ifd}
    if gps:
        note("GPS location")
    if any(t in tags for t in _SERIAL_TAGS):
        note("camera serial number")
    if any(t in tags for t in _OWNER_TAGS):
        note("owner/artist name")
    if _MAKER_NOTE_TAG in tags:
        note("maker notes")
    if _UNIQUE_ID_TAG in tags:
        note("unique image ID")
    if any(t in tags for t in _COMMENT_TAGS):
        note("comments and descriptions")
    if any(t in tags for t in _DATE_TAGS):
        note("date and time taken")
    if any(t in tags for t in _CAMERA_TAGS):
        note("camera make and model")
    if ifd1 or "thumbnail" in {k.lower() for k in im.info if isinstance(k, str)}:
        note("embedded thumbnail")
    if im.info.get("thumbnails"):  # HEIF
        note("embedded thumbnail")
    if exif_ifd:
        note("other camera settings (EXIF)")

    info_keys = {k for k in im.info if isinstance(k, str)}
    tiff_tags = getattr(im, "tag_v2", {})
    app_markers = [(m, d[:30]) for m, d in getattr(im, "applist", [])]
    if (
        "xmp" in info_keys
        or "XML:com.adobe.xmp" in info_keys
        or _TIFF_XMP_TAG in tiff_tags
        or any(m == "APP1" and d.startswith(b"http://ns.adobe.com/xap") for m, d in app_markers)
    ):
        note("XMP data")
    if (
        _TIFF_IPTC_TAG in tiff_tags
        or any(m == "APP13" and d.startswith(b"Photoshop 3.0") for m, d in app_markers)
        or "photoshop" in info_keys
    ):
        note("IPTC data (captions, keywords, names)")
    if "comment" in info_keys or "COM" in {m for m, _ in app_markers}:
        note("comments and descriptions")
    text = getattr(im, "text", None) if im.format == "PNG" else None
    if text:
        note("text notes")
    if im.info.get("depth_images"):
        note("depth map")
    return found
