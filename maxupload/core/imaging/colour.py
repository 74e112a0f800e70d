"""Colour profiles: the sRGB profile a prepared copy carries, and cached transforms into it."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import ImageCms


@lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=1)
def _srgb_bytes() -> bytes:
    return _srgb_profile().tobytes()


@lru_cache(maxsize=32)
def _transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform:
    """A cached colour transform to sRGB. NOCACHE turns off lcms's one-pixel cache, which is
    what would make sharing a transform between worker threads unsafe."""
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.buildTransform(
        src,
        _srgb_profile(),
        in_mode,
        out_mode,
        ImageCms.Intent.PERCEPTUAL,
        flags=ImageCms.Flags.NOCACHE,
    )


def _profile_name(icc: bytes) -> str | None:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return (ImageCms.getProfileDescription(profile) or "").strip() or "unnamed"
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
