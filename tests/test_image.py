"""Tests of safe image decoding and the seed image front end."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from search.errors import ImageDecodeError, ImageTooLargeError
from search.image import load_image, seed_image_tensor

LIMIT = 40_000_000
WHITE = (255, 255, 255)
EXIF_ORIENTATION = 0x0112


@pytest.fixture(scope="module")
def telegram_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "telegram"


def png_bytes(width: int, height: int, bit_depth: int, color_type: int, rows: bytes) -> bytes:
    """Build a PNG by hand, for layouts Pillow cannot write (16-bit RGB, huge headers)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, **options)
    return buffer.getvalue()


def test_seed_tensor_matches_seed(shared_dir: Path) -> None:
    folder = shared_dir / "fixtures" / "seed-image"
    expected = np.load(folder / "elephant_photo.pixels.npy")

    output = seed_image_tensor(load_image(folder / "elephant_photo.jpg", LIMIT)).numpy()
    max_diff = float(np.abs(output - expected).max())

    assert output.shape == expected.shape
    assert max_diff <= 1e-4, f"max abs diff {max_diff:.2e}"


def test_seed_tensor_shape_ignores_aspect() -> None:
    tensor = seed_image_tensor(Image.new("RGB", (640, 120), (10, 200, 30)))

    assert tuple(tensor.shape) == (3, 224, 224)
    assert tensor.dtype.is_floating_point
    assert str(tensor.dtype) == "torch.float32"


def test_seed_tensor_normalises_colour() -> None:
    tensor = seed_image_tensor(Image.new("RGB", (50, 50), WHITE))

    # (1 - mean) / std for each channel.
    assert float(tensor[0].mean()) == pytest.approx((1 - 0.43216) / 0.22803, abs=1e-5)
    assert float(tensor[1].mean()) == pytest.approx((1 - 0.394666) / 0.224, abs=1e-5)
    assert float(tensor[2].mean()) == pytest.approx((1 - 0.37645) / 0.225, abs=1e-5)


def test_load_rgb_jpeg_from_bytes() -> None:
    image = load_image(jpeg_bytes(Image.new("RGB", (30, 20), (200, 40, 40))), LIMIT)

    assert image.mode == "RGB"
    assert image.size == (30, 20)


def test_load_palette_with_transparency(tmp_path: Path) -> None:
    palette_image = Image.new("P", (4, 4), 0)
    palette_image.putpalette([0, 0, 255] + [255, 0, 0] * 255)
    palette_image.putpixel((0, 0), 1)
    path = tmp_path / "palette.png"
    palette_image.save(path, transparency=0)

    image = load_image(path, LIMIT)

    assert image.mode == "RGB"
    assert image.getpixel((1, 1)) == WHITE
    assert image.getpixel((0, 0)) == (255, 0, 0)


def test_load_palette_without_transparency(tmp_path: Path) -> None:
    palette_image = Image.new("P", (4, 4), 0)
    palette_image.putpalette([0, 0, 255] * 256)
    path = tmp_path / "palette.gif"
    palette_image.save(path)

    assert load_image(path, LIMIT).getpixel((2, 2)) == (0, 0, 255)


def test_load_rgba_flattens_on_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    rgba.putpixel((1, 0), (0, 0, 0, 128))
    path = tmp_path / "alpha.png"
    rgba.save(path)

    image = load_image(path, LIMIT)

    assert image.mode == "RGB"
    assert image.getpixel((3, 3)) == WHITE
    assert image.getpixel((0, 0)) == (0, 0, 255)
    assert image.getpixel((1, 0)) == (127, 127, 127)


def test_load_la_flattens_on_white(tmp_path: Path) -> None:
    la = Image.new("LA", (4, 4), (0, 0))
    la.putpixel((0, 0), (0, 255))
    path = tmp_path / "gray_alpha.png"
    la.save(path)

    image = load_image(path, LIMIT)

    assert image.getpixel((2, 2)) == WHITE
    assert image.getpixel((0, 0)) == (0, 0, 0)


def test_load_16bit_gray_scales(tmp_path: Path) -> None:
    values = np.full((4, 4), 40000, dtype=np.uint16)
    values[0, 0] = 65535
    path = tmp_path / "gray16.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as stored:
        assert stored.mode == "I;16"

    image = load_image(path, LIMIT)

    # 40000 / 65535 * 255 = 155.6; clipping would give 255.
    assert image.getpixel((1, 1)) == (156, 156, 156)
    assert image.getpixel((0, 0)) == WHITE


def test_load_16bit_rgb_scales() -> None:
    pixel = struct.pack(">HHH", 0x8000, 0x4000, 0xFFFF)
    rows = b"".join(b"\x00" + pixel * 3 for _ in range(2))
    data = png_bytes(3, 2, bit_depth=16, color_type=2, rows=rows)

    image = load_image(data, LIMIT)

    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (128, 64, 255)


def test_load_cmyk_jpeg() -> None:
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))
    data = jpeg_bytes(cmyk)
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.mode == "CMYK"

    red, green, blue = load_image(data, LIMIT).getpixel((4, 4))

    assert red > 240
    assert green < 15
    assert blue < 15


def test_load_grayscale_jpeg() -> None:
    image = load_image(jpeg_bytes(Image.new("L", (8, 8), 100)), LIMIT)

    assert image.mode == "RGB"
    assert image.getpixel((4, 4)) == (100, 100, 100)


def test_load_webp(tmp_path: Path) -> None:
    path = tmp_path / "photo.webp"
    Image.new("RGBA", (10, 6), (0, 128, 0, 255)).save(path, lossless=True)

    image = load_image(path, LIMIT)

    assert image.size == (10, 6)
    assert image.getpixel((5, 3)) == (0, 128, 0)


def test_load_applies_exif_rotation() -> None:
    stored = Image.new("RGB", (40, 20), (0, 0, 0))
    stored.paste((255, 0, 0), (0, 0, 10, 10))
    exif = Image.Exif()
    # 6: the camera was turned clockwise, so the viewer rotates the image 90° clockwise.
    exif[EXIF_ORIENTATION] = 6
    data = jpeg_bytes(stored, exif=exif.tobytes())

    image = load_image(data, LIMIT)
    red, _, _ = image.getpixel((15, 5))

    assert image.size == (20, 40)
    assert red > 200


def test_load_fixture_exif_upright(telegram_dir: Path) -> None:
    path = telegram_dir / "photo_dog_exif_rotated.jpg"
    with Image.open(path) as raw:
        stored_width, stored_height = raw.size
        orientation = raw.getexif().get(EXIF_ORIENTATION)
    assert orientation in (5, 6, 7, 8)

    image = load_image(path, LIMIT)

    assert image.size == (stored_height, stored_width)


def test_load_fixture_alpha_on_white(telegram_dir: Path) -> None:
    path = telegram_dir / "photo_dog_alpha.png"
    with Image.open(path) as raw:
        alpha = np.asarray(raw.getchannel("A"))
    transparent = alpha == 0
    assert transparent.any()

    pixels = np.asarray(load_image(path, LIMIT))

    assert pixels.shape == alpha.shape + (3,)
    assert (pixels[transparent] == 255).all()


def test_load_rejects_truncated_jpeg() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = jpeg_bytes(Image.fromarray(noise))

    with pytest.raises(ImageDecodeError, match="The image is truncated or corrupt"):
        load_image(data[: len(data) // 2], LIMIT)


def test_load_rejects_text_as_jpg(tmp_path: Path) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_text("these are not the pixels you are looking for\n")

    with pytest.raises(ImageDecodeError, match="The file is not an image in a format that can be read"):
        load_image(path, LIMIT)


def test_load_rejects_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")

    with pytest.raises(ImageDecodeError, match="The image file is empty"):
        load_image(path, LIMIT)


def test_load_rejects_empty_bytes() -> None:
    with pytest.raises(ImageDecodeError, match="The image file is empty"):
        load_image(b"", LIMIT)


def test_load_rejects_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="does not exist"):
        load_image(tmp_path / "absent.jpg", LIMIT)


def test_load_rejects_over_limit() -> None:
    data = jpeg_bytes(Image.new("RGB", (100, 50)))

    with pytest.raises(ImageTooLargeError, match="The image is 100×50 pixels; the limit is 4,999 pixels."):
        load_image(data, max_pixels=4999)


def test_load_accepts_at_limit() -> None:
    data = jpeg_bytes(Image.new("RGB", (100, 50)))

    assert load_image(data, max_pixels=5000).size == (100, 50)


def test_load_checks_size_before_pixels() -> None:
    # The header promises 10000×5000 pixels but holds almost no data, so
    # only a size check made before decoding can reject it as too large.
    data = png_bytes(10000, 5000, bit_depth=8, color_type=2, rows=b"\x00" * 100)

    with pytest.raises(ImageTooLargeError, match="The image is 10000×5000 pixels; the limit is 40,000,000 pixels."):
        load_image(data, max_pixels=LIMIT)


def test_load_rejects_decompression_bomb() -> None:
    # Pillow itself refuses headers of more than about 179 million pixels.
    data = png_bytes(30000, 30000, bit_depth=8, color_type=2, rows=b"\x00" * 100)

    with pytest.raises(ImageTooLargeError, match="too many pixels to decode safely"):
        load_image(data, max_pixels=10**9)


def test_load_rejects_bad_limit() -> None:
    with pytest.raises(ValueError, match="max_pixels must be positive"):
        load_image(b"\x00", max_pixels=0)


def test_load_rejects_corrupt_header() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"garbage" * 20

    with pytest.raises(ImageDecodeError, match="The image header is corrupt"):
        load_image(data, LIMIT)


def test_load_rejects_corrupt_pixel_data() -> None:
    data = png_bytes(8, 8, bit_depth=8, color_type=2, rows=b"\x00" * 10)

    with pytest.raises(ImageDecodeError, match="The image is truncated or corrupt"):
        load_image(data, LIMIT)


def test_load_returns_independent_image(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    Image.new("RGB", (5, 5), (1, 2, 3)).save(path)

    image = load_image(path, LIMIT)
    path.unlink()

    assert image.getpixel((2, 2)) == (1, 2, 3)
