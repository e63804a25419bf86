"""Safe image decoding, and the image front end of the seed image encoder.

Photos come from users, so decoding guards against files that are not
images, truncated uploads and images so large that their pixels would not
fit in memory. The pixel count is read from the header and checked before
any pixel is decoded. Every accepted image leaves here as upright 8-bit RGB,
whatever its mode (palette, alpha, 16-bit, CMYK, grayscale).

The seed front end resizes to 224x224 without antialiasing, because the
torchvision of 2021 that the seed image tower was trained with did not
antialias tensors.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from search.errors import ImageDecodeError, ImageTooLargeError

logger = logging.getLogger(__name__)

SEED_IMAGE_SIZE = 224
SEED_MEAN = (0.43216, 0.394666, 0.37645)
SEED_STD = (0.22803, 0.224, 0.225)

# Modes whose samples use more than 8 bits. Their values are scaled to
# 0..255, because Pillow's own conversion to "L" or "RGB" clips them.
_WIDE_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}


def load_image(source: str | Path | bytes, max_pixels: int) -> Image.Image:
    """Decode an image to upright 8-bit RGB.

    Raises ImageTooLargeError when the header states more than `max_pixels`
    pixels, and ImageDecodeError for an empty file, a file that is not an
    image, or a truncated or corrupt image.
    """
    if max_pixels <= 0:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    image = _open_checked(_image_input(source), max_pixels)
    try:
        _decode_pixels(image, max_pixels)
        rgb = _to_rgb(_upright(image))
        # The caller gets an image that owns its pixels, so the source file can be closed.
        return rgb if rgb is not image else image.copy()
    finally:
        image.close()


def seed_image_tensor(image: Image.Image) -> torch.Tensor:
    """Convert an RGB image to the `(3, 224, 224)` float32 input of the seed image tower."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    tensor = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0)

    resized = F.interpolate(
        tensor,
        size=(SEED_IMAGE_SIZE, SEED_IMAGE_SIZE),
        mode="bilinear",
        align_corners=False,
        antialias=False,
    )[0]

    mean = torch.tensor(SEED_MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(SEED_STD, dtype=torch.float32).view(3, 1, 1)
    return ((resized - mean) / std).contiguous()


def _decode_pixels(image: Image.Image, max_pixels: int) -> None:
    try:
        image.load()
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except (OSError, SyntaxError, ValueError) as error:
        # Pillow reports a truncated file as OSError ("image file is truncated").
        logger.info("Pillow could not decode an image: %s", error)
        raise ImageDecodeError("The image is truncated or corrupt, so its pixels could not be decoded.") from None


def _image_input(source: str | Path | bytes) -> Path | io.BytesIO:
    """Return what Image.open reads: the path itself, so a large file is not read whole, or the bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageDecodeError("The image file is empty.")
        return io.BytesIO(bytes(source))

    path = Path(source)
    if not path.is_file():
        raise ImageDecodeError("The image file does not exist or is not a regular file.")
    if path.stat().st_size == 0:
        raise ImageDecodeError("The image file is empty.")
    return path


def _open_checked(image_input: Path | io.BytesIO, max_pixels: int) -> Image.Image:
    """Open the image lazily and check its pixel count before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about large images before raising for huge ones;
            # the explicit limit below decides instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(image_input)
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except UnidentifiedImageError:
        raise ImageDecodeError(
            "The file is not an image in a format that can be read (for example JPEG, PNG or WebP)."
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        logger.info("Pillow could not read an image header: %s", error)
        raise ImageDecodeError("The image header is corrupt, so the image could not be read.") from None

    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageTooLargeError(
            f"The image is {width}×{height} pixels; the limit is {max_pixels:,} pixels."
        )
    if width == 0 or height == 0:
        image.close()
        raise ImageDecodeError("The image has no pixels.")
    return image


def _too_many_pixels(max_pixels: int) -> ImageTooLargeError:
    # Pillow rejects images of more than about 179 million pixels before it
    # reports their size, whatever max_pixels allows.
    return ImageTooLargeError(
        f"The image has too many pixels to decode safely; the limit is {max_pixels:,} pixels."
    )


def _upright(image: Image.Image) -> Image.Image:
    """Rotate or mirror the image as its EXIF orientation tag says."""
    try:
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, KeyError, TypeError) as error:
        # A damaged EXIF block should not cost the user the whole photo.
        logger.info("Ignoring unreadable EXIF orientation: %s", error)
        return image
    return upright if upright is not None else image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, flattening transparency onto white."""
    if image.mode in _WIDE_MODES:
        return _wide_to_rgb(image)
    if image.mode == "RGB":
        return image

    if image.mode == "P":
        # A palette image with transparency keeps it only through RGBA.
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("1", "L", "CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    elif image.mode == "PA":
        image = image.convert("RGBA")
    elif image.mode in ("RGBa", "La"):
        image = image.convert("RGBA")

    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        return _flatten_on_white(image)
    return image.convert("RGB")


def _flatten_on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _wide_to_rgb(image: Image.Image) -> Image.Image:
    """Scale a 16-bit or 32-bit single-channel image to 8-bit gray, shown as RGB.

    16-bit formats span 0..65535. Integer images in mode "I" usually hold 16-bit
    PNG data too, so they are scaled by 65535 unless their values exceed it.
    Float images are assumed to lie in 0..1.
    """
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        full_scale = 1.0
    else:
        full_scale = max(65535.0, float(values.max()))
    gray = np.clip(np.round(values / full_scale * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L").convert("RGB")
