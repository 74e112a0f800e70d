"""Preparation: upright pixels, no identifying metadata, right format and colours, sizes."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat

from maxupload.core.imaging.estimate import estimate_size
from maxupload.core.imaging.prepare import (
    DEFAULT_PRESET,
    PRESETS,
    ImageRejected,
    Prepared,
    get_preset,
    prepare,
)
from maxupload.core.imaging.thumbnails import preview, thumbnail
from tests.plugins.images import (
    SECRET_OWNER,
    SECRET_SERIAL,
    adobe_rgb_icc,
    marker_image,
    photo,
    psnr,
    worst_preset_psnr,
    write_alpha_png,
    write_animated_gif,
    write_bomb_png,
    write_cmyk_jpeg,
    write_format,
    write_heic,
    write_jpeg,
    write_mpo,
    write_oriented_jpeg,
    write_palette_gif,
    write_phone_jpeg_with_thumbnail,
    write_png16,
    write_png48,
    write_text_as_jpg,
    write_tiff48,
    write_truncated_jpeg,
)


def _open(p: Prepared) -> Image.Image:
    im = Image.open(io.BytesIO(p.data))
    im.load()
    return im


def _mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3


# --- orientation ------------------------------------------------------------------------------
@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(
    ("size", "preset", "sent"),
    [
        ((120, 80), "original", (120, 80)),
        ((2400, 1600), "standard", (2000, 1333)),  # shrunk, then turned
    ],
)
def test_every_exif_orientation_gives_the_same_upright_pixels(
    images_dir: Path,
    orientation: int,
    size: tuple[int, int],
    preset: str,
    sent: tuple[int, int],
) -> None:
    upright = marker_image(*size)
    path = write_oriented_jpeg(images_dir / f"o{orientation}.jpg", upright, orientation, quality=95)

    prepared = prepare(path, preset)
    out = _open(prepared)

    assert out.size == sent
    assert _mean_abs_diff(out, upright.resize(sent, Image.Resampling.LANCZOS)) < 4.0
    assert out.getexif().get(0x0112) is None
    if orientation != 1:
        assert any(f"EXIF orientation {orientation}" in c for c in prepared.receipt.changes)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_thumbnail_and_preview_are_upright(images_dir: Path, orientation: int) -> None:
    upright = marker_image(600, 400)
    path = write_oriented_jpeg(images_dir / "t.jpg", upright, orientation, quality=95)

    thumb = thumbnail(path, 256)
    big = preview(path, 1024)

    assert thumb.size == (256, 171) and thumb.mode == "RGB"
    assert _mean_abs_diff(thumb, upright.resize(thumb.size, Image.Resampling.LANCZOS)) < 4.0
    assert big.size == (600, 400), "previews never enlarge"
    assert _mean_abs_diff(big, upright) < 4.0


def test_heic_orientation_is_applied_once(images_dir: Path) -> None:
    upright = marker_image(120, 80)
    path = write_heic(
        images_dir / "o.heic", upright.transpose(Image.Transpose.ROTATE_90), orientation=6
    )
    out = _open(prepare(path, "original"))
    assert out.size == (120, 80)
    assert _mean_abs_diff(out, upright) < 8.0


# --- metadata ---------------------------------------------------------------------------------
_LEAKS = (
    SECRET_SERIAL.encode(),
    SECRET_OWNER.encode(),
    b"Patient",
    b"MRN",
    b"MAKERNOTE",
    b"ExampleCam",
    b"Exif\x00\x00",
    b"http://ns.adobe.com/xap",
    b"Photoshop 3.0",
    b"2026:03:20",
)


def _assert_clean(p: Prepared) -> None:
    for secret in _LEAKS:
        assert secret not in p.data, f"{secret!r} leaked into the output"
    im = _open(p)
    exif = im.getexif()
    assert len(exif) == 0
    assert not exif.get_ifd(0x8825), "GPS survived"
    assert not {"exif", "xmp", "comment", "XML:com.adobe.xmp", "photoshop"} & set(im.info)
    if im.format == "JPEG":
        markers = {m for m, _ in im.applist}  # type: ignore[attr-defined]
        assert markers <= {"APP0", "APP2"}, markers  # JFIF and the ICC profile only


def test_prepared_jpeg_carries_no_identifying_metadata(phone_jpeg: Path) -> None:
    source = phone_jpeg.read_bytes()
    assert SECRET_SERIAL.encode() in source and b"Photoshop 3.0" in source  # the test is real

    prepared = prepare(phone_jpeg)

    _assert_clean(prepared)
    removed = prepared.receipt.removed
    for item in (
        "GPS location",
        "camera serial number",
        "owner/artist name",
        "maker notes",
        "XMP data",
        "IPTC data (captions, keywords, names)",
        "comments and descriptions",
    ):
        assert item in removed
    assert "removed GPS location" in " ".join(prepared.receipt.lines())


def test_heic_in_jpeg_out_without_metadata(heic_photo: Path) -> None:
    prepared = prepare(heic_photo)
    assert prepared.mime_type == "image/jpeg" and _open(prepared).format == "JPEG"
    assert "converted HEIC to JPEG" in prepared.receipt.changes
    assert "GPS location" in prepared.receipt.removed
    _assert_clean(prepared)


def test_png_text_and_exif_are_removed(images_dir: Path) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Patient John Doe")
    im = photo(64, 48).convert("RGBA")
    im.putpixel((0, 0), (0, 0, 0, 0))
    path = images_dir / "a.png"
    im.save(path, "PNG", pnginfo=info, exif=photo_exif_bytes())
    prepared = prepare(path)
    assert prepared.mime_type == "image/png"
    assert "text notes" in prepared.receipt.removed and "GPS location" in prepared.receipt.removed
    _assert_clean(prepared)


def photo_exif_bytes() -> bytes:
    from tests.plugins.images import identifying_exif

    return identifying_exif().tobytes()


def test_output_names_and_hashes(images_dir: Path) -> None:
    path = write_jpeg(images_dir / "Smith_John_MRN123456_wound.jpg", photo(64, 48))
    prepared = prepare(path)
    assert re.fullmatch(r"photo-[0-9a-f]{8}\.jpg", prepared.file_name)
    assert prepared.file_name == f"photo-{prepared.sha256_output[:8]}.jpg"
    assert prepared.sha256_output == hashlib.sha256(prepared.data).hexdigest()
    assert prepared.sha256_original == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prepared.preset == DEFAULT_PRESET.name == "standard"


# --- formats and modes ------------------------------------------------------------------------
def test_cmyk_jpeg_becomes_srgb_with_right_colours(images_dir: Path) -> None:
    path = write_cmyk_jpeg(images_dir / "print.jpg", (200, 150))
    reference = Image.open(path).convert("RGB")
    prepared = prepare(path)
    out = _open(prepared)
    assert out.mode == "RGB"
    assert "converted CMYK to sRGB" in prepared.receipt.changes
    assert _mean_abs_diff(out, reference) < 6.0


def test_16_bit_greyscale_png_keeps_its_tones(images_dir: Path) -> None:
    path = write_png16(images_dir / "xray.png", (256, 64))
    prepared = prepare(path)
    out = _open(prepared).convert("L")
    assert "converted 16-bit greyscale to 8-bit" in prepared.receipt.changes
    assert out.getpixel((2, 32)) < 10  # black end of the ramp (not clipped to white)
    assert 110 < out.getpixel((128, 32)) < 145  # middle stays middle grey
    assert out.getpixel((253, 32)) > 245


@pytest.mark.parametrize("name", ["deep.png", "deep.tif"])
def test_48_bit_png_and_tiff(images_dir: Path, name: str) -> None:
    writer = write_png48 if name.endswith(".png") else write_tiff48
    prepared = prepare(writer(images_dir / name))
    out = _open(prepared)
    assert prepared.mime_type == "image/jpeg" and out.size == (64, 48)
    assert "converted 16-bit colour to 8-bit" in prepared.receipt.changes
    r, g, b = out.getpixel((63, 0))  # type: ignore[misc]
    assert r > 240 and g < 15 and 140 < b < 170  # 40000/65535 of full blue


def test_transparent_png_stays_png_with_alpha(images_dir: Path) -> None:
    path = write_alpha_png(images_dir / "cutout.png", (200, 150))
    prepared = prepare(path)
    out = _open(prepared)
    assert prepared.mime_type == "image/png" and prepared.file_name.endswith(".png")
    assert out.mode == "RGBA"
    assert out.getpixel((2, 2))[3] == 0 and out.getpixel((100, 75))[3] == 255  # type: ignore[index]


def test_transparent_png_flattened_on_white_when_preset_forces_jpeg(images_dir: Path) -> None:
    path = write_alpha_png(images_dir / "cutout.png", (200, 150))
    prepared = prepare(path, "custom:2000:85:jpeg")
    out = _open(prepared)
    assert prepared.mime_type == "image/jpeg" and out.mode == "RGB"
    assert "flattened transparency onto white" in prepared.receipt.changes
    assert min(out.getpixel((3, 3))) > 245  # type: ignore[arg-type]


def test_greyscale_with_alpha_png(images_dir: Path) -> None:
    prepared = prepare(write_alpha_png(images_dir / "la.png", (120, 90), mode="LA"))
    out = _open(prepared)
    assert prepared.mime_type == "image/png" and out.mode == "LA"


def test_opaque_png_becomes_jpeg(images_dir: Path) -> None:
    path = write_format(images_dir / "scan.png", "PNG", photo(120, 90).convert("RGBA"))
    prepared = prepare(path)
    assert prepared.mime_type == "image/jpeg"
    assert "converted PNG to JPEG (no transparency to keep)" in prepared.receipt.changes


def test_palette_gif(images_dir: Path) -> None:
    path = write_palette_gif(images_dir / "p.gif")
    prepared = prepare(path)
    out = _open(prepared)
    assert prepared.mime_type == "image/jpeg" and out.mode == "RGB"
    assert _mean_abs_diff(out, Image.open(path).convert("RGB")) < 6.0


def test_animated_gif_says_first_frame_only(images_dir: Path) -> None:
    path = write_animated_gif(images_dir / "anim.gif", frames=12)
    prepared = prepare(path)
    assert "GIF: first frame only of 12" in prepared.receipt.changes
    first = Image.open(path).convert("RGB")
    assert _mean_abs_diff(_open(prepared), first) < 6.0


def test_mpo_first_image(images_dir: Path) -> None:
    prepared = prepare(write_mpo(images_dir / "stereo.mpo"))
    assert prepared.mime_type == "image/jpeg"
    assert any(c.startswith("MPO: first image only of 2") for c in prepared.receipt.changes)
    _assert_clean(prepared)


@pytest.mark.parametrize(
    ("fmt", "name"), [("WEBP", "WebP"), ("TIFF", "TIFF"), ("BMP", "BMP"), ("AVIF", "AVIF")]
)
def test_other_formats_become_jpeg(images_dir: Path, fmt: str, name: str) -> None:
    Image.init()
    if fmt not in Image.SAVE:
        pytest.skip(f"this Pillow cannot write {fmt}")
    source = photo(160, 120)
    prepared = prepare(write_format(images_dir / f"x.{fmt.lower()}", fmt, source))
    assert prepared.mime_type == "image/jpeg"
    assert f"converted {name} to JPEG" in prepared.receipt.changes
    assert _mean_abs_diff(_open(prepared), Image.open(images_dir / f"x.{fmt.lower()}")) < 6.0


# --- colour profiles --------------------------------------------------------------------------
def test_wide_gamut_profile_is_converted_to_srgb(images_dir: Path) -> None:
    icc = adobe_rgb_icc()
    src = Image.new("RGB", (64, 64), (60, 160, 60))
    path = write_jpeg(images_dir / "wide.jpg", src, metadata=False, icc=icc, quality=98)
    prepared = prepare(path)
    out = _open(prepared)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(out.info["icc_profile"]))
    assert "sRGB" in ImageCms.getProfileDescription(profile)
    assert prepared.receipt.colour == "colour profile Wide Gamut Test RGB converted to sRGB"
    # Adobe RGB green is more saturated than sRGB green: in sRGB numbers red drops to about 0
    # (unconverted it would stay near 60).
    r, g, _b = out.getpixel((32, 32))  # type: ignore[misc]
    assert r < 25 and 150 < g < 175


def test_srgb_profile_is_kept(images_dir: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = write_jpeg(images_dir / "s.jpg", photo(64, 48), metadata=False, icc=srgb)
    prepared = prepare(path)
    assert _open(prepared).info["icc_profile"] == srgb
    assert prepared.receipt.colour.startswith("colour profile kept")


# --- presets and sizes ------------------------------------------------------------------------
def test_presets_resize_the_long_edge_and_never_upscale(images_dir: Path) -> None:
    path = write_jpeg(images_dir / "big.jpg", photo(2400, 1600), orientation=6)
    expected = {"original": (1600, 2400), "high": (1600, 2400), "standard": (1333, 2000)}
    expected["small"] = (800, 1200)
    for name, size in expected.items():
        prepared = prepare(path, name)
        assert (prepared.width, prepared.height) == size, name
        assert _open(prepared).size == size
        resized = [c for c in prepared.receipt.changes if c.startswith("resized")]
        if name in ("standard", "small"):
            assert resized == [f"resized to {size[0]}x{size[1]} (long edge {max(size)} px)"]
        else:
            assert resized == []
    small = write_jpeg(images_dir / "small.jpg", photo(300, 200))
    assert (prepare(small, "custom:1600:80").width, prepare(small, "high").height) == (300, 200)


def test_get_preset_parses_names_and_custom() -> None:
    assert get_preset("Standard") is PRESETS["standard"]
    custom = get_preset("custom:1600:80")
    assert (custom.long_edge, custom.quality, custom.force_jpeg) == (1600, 80, False)
    assert get_preset("custom:800:70:jpeg").force_jpeg
    for bad in ("huge", "custom:10:80", "custom:1600:99", "custom:x:80", "custom:1600:80:gif"):
        with pytest.raises(ValueError):
            get_preset(bad)


def test_fast_path_matches_a_full_quality_resize(images_dir: Path) -> None:
    """DCT-scaled decoding plus LANCZOS looks the same as decoding everything and resizing."""
    path = write_jpeg(images_dir / "q.jpg", photo(2400, 1800), metadata=False, quality=95)
    full = Image.open(path).convert("RGB")
    for size in (256, 1024, 1300):
        fast = preview(path, size)
        exact = full.resize(fast.size, Image.Resampling.LANCZOS)
        assert psnr(fast, exact) > 40.0, size


PHONE_SIZES = [(4032, 3024), (4000, 3000), (4080, 3072), (8064, 6048)]


@pytest.mark.parametrize("size", PHONE_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_fast_path_matches_a_full_quality_resize_on_phone_sizes(
    images_dir: Path, size: tuple[int, int]
) -> None:
    """On the sizes phones produce, the pixels sent (Standard and High) stay > 40 dB PSNR from
    a full decode + LANCZOS, whatever mix of DCT scaling, ``reduce`` and resample they took."""
    # Shapes and edges at a quarter of the size, scaled up, plus fine grain: quick at 48 MP.
    small = photo(size[0] // 4, size[1] // 4, seed=size[0])
    big = small.resize(size, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(size, 20).convert("RGB")
    path = write_jpeg(
        images_dir / "phone.jpg", Image.blend(big, grain, 0.15), metadata=False, quality=92
    )
    full = Image.open(path).convert("RGB")
    assert worst_preset_psnr(path, full, ("standard", "high")) > 40.0, size


def test_estimate_is_close_to_the_real_size(images_dir: Path) -> None:
    path = write_jpeg(images_dir / "e.jpg", photo(2600, 1950), orientation=6, quality=92)
    for preset in ("standard", "high", "small", "original"):
        real = prepare(path, preset).size
        estimate = estimate_size(path, preset)
        assert abs(estimate - real) / real < 0.25, (preset, estimate, real)


def test_estimate_of_small_outputs_is_exact(images_dir: Path) -> None:
    path = write_alpha_png(images_dir / "a.png", (300, 200))
    assert estimate_size(path) == prepare(path).size


# --- rejections -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "writer", "words"),
    [
        ("cut.jpg", write_truncated_jpeg, "cut off"),
        ("text.jpg", write_text_as_jpg, "not an image"),
        ("bomb.png", write_bomb_png, "too large"),
    ],
)
def test_unusable_files_raise_with_reason_and_next_step(
    images_dir: Path, name: str, writer: object, words: str
) -> None:
    path = writer(images_dir / name)  # type: ignore[operator]
    for call in (prepare, thumbnail, estimate_size):
        with pytest.raises(ImageRejected) as info:
            call(path)
        if call is prepare:
            assert words in info.value.reason and info.value.next_step


def test_zero_byte_and_missing_files(images_dir: Path) -> None:
    (images_dir / "zero.jpg").write_bytes(b"")
    with pytest.raises(ImageRejected, match="empty"):
        prepare(images_dir / "zero.jpg")
    with pytest.raises(ImageRejected, match="no longer exists"):
        prepare(images_dir / "gone.jpg")


@pytest.mark.parametrize("call", [thumbnail, preview, estimate_size])
def test_display_and_estimate_name_a_gone_file_or_a_folder(images_dir: Path, call: object) -> None:
    """A file removed after it was added is named as gone, not as a damaged image."""
    assert callable(call)
    with pytest.raises(ImageRejected, match="no longer exists") as gone:
        call(images_dir / "gone.jpg")
    assert gone.value.next_step == "Check the folder and add it again."
    (images_dir / "folder.jpg").mkdir()
    with pytest.raises(ImageRejected, match="a folder, not a photo"):
        call(images_dir / "folder.jpg")


def test_exif_transpose_agrees_with_prepare(phone_jpeg: Path) -> None:
    reference = ImageOps.exif_transpose(Image.open(phone_jpeg)).convert("RGB")
    out = _open(prepare(phone_jpeg, "original"))
    assert out.size == reference.size
    assert _mean_abs_diff(out, reference) < 3.0


def test_same_input_gives_the_same_bytes_and_threads_agree(images_dir: Path) -> None:
    """The engine prepares on worker threads and compares hashes later: output is deterministic."""
    from concurrent.futures import ThreadPoolExecutor

    icc = adobe_rgb_icc()
    paths = [
        write_jpeg(images_dir / f"p{i}.jpg", photo(900, 600, seed=i), orientation=6, icc=icc)
        for i in range(4)
    ] + [write_cmyk_jpeg(images_dir / "c.jpg"), write_heic(images_dir / "h.heic", photo(200, 150))]
    sequential = [prepare(p, "small").sha256_output for p in paths]
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(lambda p: prepare(p, "small").sha256_output, paths * 3))
    assert threaded == sequential * 3


# --- embedded EXIF thumbnails (display only) ----------------------------------------------------
def test_list_thumbnails_use_the_phones_exif_thumbnail_but_sending_never_does(
    images_dir: Path,
) -> None:
    """Main image blue, EXIF thumbnail red: a small display thumbnail comes from the EXIF one
    (turned upright the same way), what is sent from the main image."""
    main = Image.new("RGB", (1600, 1200), (0, 0, 255))
    red = Image.new("RGB", (160, 120), (255, 0, 0))
    path = write_phone_jpeg_with_thumbnail(
        images_dir / "IMG.JPG", main, thumbnail=red, orientation=6
    )
    small = thumbnail(path, 128)
    assert small.size == (96, 128)  # upright
    assert small.getpixel((10, 10))[0] > 200  # type: ignore[index]
    sent = Image.open(io.BytesIO(prepare(path, "small").data))
    assert sent.getpixel((10, 10))[2] > 200  # type: ignore[index]
    larger = thumbnail(path, 256)  # larger than the EXIF thumbnail: the main image
    assert larger.size == (192, 256) and larger.getpixel((10, 10))[2] > 200  # type: ignore[index]


def test_an_exif_thumbnail_of_another_shape_is_not_used(images_dir: Path) -> None:
    """A photo cropped by an editor that kept the old thumbnail: decoded in full instead."""
    main = Image.new("RGB", (1600, 900), (0, 0, 255))
    red = Image.new("RGB", (160, 120), (255, 0, 0))
    path = write_phone_jpeg_with_thumbnail(images_dir / "crop.jpg", main, thumbnail=red)
    small = thumbnail(path, 128)
    assert small.size == (128, 72) and small.getpixel((10, 10))[2] > 200  # type: ignore[index]
