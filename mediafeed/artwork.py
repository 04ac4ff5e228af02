"""Artwork rules podcast apps enforce: square, 1400–3000 px, JPEG or PNG, RGB without alpha."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

MIN_SIZE, MAX_SIZE = 1400, 3000
FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",)}
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
MAX_PIXELS = MAX_SIZE * MAX_SIZE * 4  # refuse decompression bombs before decoding


def artwork_problems(path: Path) -> list[tuple[str, str]]:
    """(what is wrong, how to fix it) for each rule the image breaks; empty when it is fine."""
    try:
        with Image.open(path) as image:
            fmt, (width, height), mode = image.format, image.size, image.mode
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        return [(f"not a readable image ({exc.__class__.__name__})", "export the artwork again as JPEG or PNG")]
    problems = []
    if fmt not in FORMATS:
        problems.append((f"{fmt} image", "save it as JPEG or PNG"))
    elif path.suffix.lower() not in FORMATS[fmt]:
        problems.append((f"a {fmt} image named {path.suffix}", f"rename it to {path.stem}{FORMATS[fmt][0]}"))
    if width != height:
        problems.append((f"not square ({width}×{height} px)", "crop it to a square"))
    if not MIN_SIZE <= max(width, height) <= MAX_SIZE or not min(width, height) >= MIN_SIZE:
        problems.append((f"{width}×{height} px", f"resize it to between {MIN_SIZE} and {MAX_SIZE} px square"))
    if mode not in ("RGB", "L") or "A" in mode or (mode == "P" and fmt == "PNG"):
        problems.append((f"colour mode {mode}", "save it as RGB without transparency"))
    return problems


EMBED_LIMIT = 512 * 1024  # bytes: larger artwork is re-encoded before it goes into every media file's tags
EMBED_SIZE = 1400


def embedded_artwork(path: Path) -> tuple[bytes, str]:
    """Artwork bytes to embed in tags: the file itself when small, else a 1400 px JPEG made with Pillow."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if len(data) <= EMBED_LIMIT and suffix in CONTENT_TYPES:
        return data, CONTENT_TYPES[suffix]
    import io

    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((EMBED_SIZE, EMBED_SIZE))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85, optimize=True)
    return buffer.getvalue(), "image/jpeg"
