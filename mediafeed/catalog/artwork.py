"""Artwork rules podcast apps enforce: square, 1400–3000 px, JPEG or PNG, RGB without alpha.

`artwork_problems` checks an image's header, then decodes it whole (a truncated or corrupt file is a problem, never
published nor embedded in every MP3). `fix_artwork` writes a compliant copy with Pillow
into build/artwork/, named by the original's content hash, and never touches the original; `usable_artwork` is
what the catalog calls: the image itself when it is fine, its fixed copy when one was made for exactly these bytes,
and otherwise the problems (with the hint to run `mediafeed artwork --fix`).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from mediafeed.content_types import IMAGE_TYPES
from mediafeed.digest import sha256_file
from mediafeed.files import explain

if TYPE_CHECKING:
    pass

MIN_SIZE, MAX_SIZE = 1400, 3000
FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",)}
CONTENT_TYPES = IMAGE_TYPES
MAX_PIXELS = MAX_SIZE * MAX_SIZE * 4  # refuse decompression bombs before decoding (6000×6000 is still fixable)
MAX_FILE_BYTES = 64 * 1024 * 1024  # no artwork is this big; refuse before Pillow reads it
FIX_HINT = "or run `mediafeed artwork --fix` to write a compliant copy"
JPEG_QUALITY = 90

# A truncated image must fail to decode, not come out grey at the bottom; and Pillow's own bomb limit is ours.
ImageFile.LOAD_TRUNCATED_IMAGES = False
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ArtworkError(Exception):
    """An image that cannot be read or fixed safely (the message says why)."""


class UnreadableArtwork(ArtworkError):
    """The file system refused to give the image (no permission, a symlink loop): nothing to fix in the image."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _open(path: Path) -> Image.Image:
    """Open an image for reading its header, refusing huge files and decompression bombs before any decoding."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ArtworkError(f"file is {size / 1e6:.0f} MB, too large to be artwork")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ArtworkError("far too many pixels to decode safely") from None
        except ValueError as exc:  # a huge iCCP/zTXt/iTXt chunk ("Decompressed data too large")
            raise ArtworkError(f"an unsafe image ({exc})") from None
        except UnidentifiedImageError as exc:
            raise ArtworkError(f"not a readable image ({exc.__class__.__name__})") from None
        except OSError as exc:
            if exc.errno is not None:  # the file system refused (no permission, a loop...), not the image format
                raise UnreadableArtwork(*explain(exc)) from None
            raise ArtworkError(f"not a readable image ({exc.__class__.__name__})") from None
        except SyntaxError as exc:
            raise ArtworkError(f"not a readable image ({exc.__class__.__name__})") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise ArtworkError(f"{width}×{height} px is too many pixels to decode safely")
    return image


def _decode(image: Image.Image) -> None:
    """Decode every pixel (Image.load): a truncated or corrupt file raises ArtworkError here, not in an app."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ArtworkError("far too many pixels to decode safely") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ArtworkError(f"the image does not decode: truncated or corrupt ({exc})") from None


def artwork_problems(path: Path) -> list[tuple[str, str]]:
    """(what is wrong, how to fix it) for each rule the image breaks; empty when it is fine."""
    try:
        st = path.stat()
    except OSError as exc:
        return [(f"not a readable image ({exc.__class__.__name__})", "export the artwork again as JPEG or PNG")]
    return list(_problems(str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))


@lru_cache(maxsize=256)
def _problems(name: str, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> tuple[tuple[str, str], ...]:
    """artwork_problems for one file as it is (by stat): decoding 3000 px artwork is worth doing once per run."""
    path = Path(name)
    try:
        with _open(path) as image:
            fmt, (width, height), mode = image.format, image.size, image.mode
            transparent = "transparency" in image.info
            _decode(image)
    except UnreadableArtwork as exc:
        return ((str(exc), exc.hint),)
    except ArtworkError as exc:
        return ((str(exc), "export the artwork again as a JPEG or PNG, 1400–3000 px square"),)
    except OSError as exc:
        return ((f"not a readable image ({exc.__class__.__name__})", "export the artwork again as JPEG or PNG"),)
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
    elif transparent:
        problems.append(("has a transparent colour", "save it as RGB without transparency"))
    return tuple(problems)


def fixed_path(path: Path, build_dir: Path) -> Path:
    """Where the fixed copy of this exact image lives: build/artwork/<sha256[:16]>.<jpg|png>."""
    digest = sha256_file(path)[:16]
    try:
        with _open(path) as image:
            suffix = ".png" if image.format == "PNG" else ".jpg"
    except (ArtworkError, OSError):
        suffix = ".jpg"
    return build_dir / "artwork" / f"{digest}{suffix}"


def fix_artwork(path: Path, build_dir: Path) -> Path:
    """Write a compliant copy of `path` (RGB, centre-cropped square, 1400–3000 px) and return where; raises ArtworkError.

    Colour: CMYK, palette, greyscale and anything with alpha become RGB, transparency flattened on white. Size: small
    images are scaled up to 1400 px, big ones down to 3000 px. Format: PNG stays PNG, everything else becomes a
    quality-90 JPEG. The original is only read; the copy is written atomically and reused when it exists.
    """
    target = fixed_path(path, build_dir)
    if target.is_file() and not artwork_problems(target):
        return target
    with _open(path) as opened:
        fmt = opened.format
        _decode(opened)
        try:
            image = _to_rgb(ImageOps.exif_transpose(opened))
        except (OSError, ValueError) as exc:
            raise ArtworkError(f"cannot convert colour mode {opened.mode} to RGB ({exc})") from None
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    wanted = min(max(side, MIN_SIZE), MAX_SIZE)
    if wanted != side:
        image = image.resize((wanted, wanted), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".artwork-", suffix=target.suffix, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if fmt == "PNG":
                image.save(handle, format="PNG", optimize=True, dpi=(72, 72))
            else:
                image.save(handle, format="JPEG", quality=JPEG_QUALITY, optimize=True, dpi=(72, 72))
        remaining = artwork_problems(Path(temp))  # the copy is checked like any artwork (decoded whole) before it is used
        if remaining:
            raise ArtworkError(f"the fixed copy is still not valid artwork ({remaining[0][0]})")
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def _to_rgb(image: Image.Image) -> Image.Image:
    has_alpha = "A" in image.mode or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def usable_artwork(path: Path, build_dir: Path) -> tuple[Path, list[tuple[str, str]]]:
    """The image to publish for `path` and the problems left (empty when it can be published).

    A fixed copy is used only when it was made from the image's current bytes, so editing the original makes
    `mediafeed artwork --fix` necessary again (and the published key changes with the content either way).
    """
    problems = artwork_problems(path)
    if not problems:
        return path, []
    if not os.access(path, os.R_OK):  # unreadable: no fixed copy can be matched to it, and no fix would help
        return path, problems
    fixed = fixed_path(path, build_dir)
    if fixed.is_file() and not artwork_problems(fixed):
        return fixed, []
    if not fixable(path):
        return path, problems
    return path, [(message, f"{hint}, {FIX_HINT}") for message, hint in problems]


def fixable(path: Path) -> bool:
    """Whether `fix_artwork` can work on this file (it opens as an image of a sane size)."""
    try:
        with _open(path) as image:
            _decode(image)
            return True
    except (ArtworkError, OSError):
        return False


EMBED_LIMIT = 512 * 1024  # bytes: larger artwork is re-encoded before it goes into every media file's tags
EMBED_SIZE = 1400


def embedded_artwork(path: Path) -> tuple[bytes, str]:
    """Artwork bytes to embed in tags: the file itself when small, else a 1400 px JPEG made with Pillow."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if len(data) <= EMBED_LIMIT and suffix in CONTENT_TYPES:
        return data, CONTENT_TYPES[suffix]
    import io

    with Image.open(path) as opened:
        image = opened.convert("RGB")
        image.thumbnail((EMBED_SIZE, EMBED_SIZE))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85, optimize=True)
    return buffer.getvalue(), "image/jpeg"


THUMBNAIL_SIZE = 320


def thumbnail_jpeg(path: Path, size: int = THUMBNAIL_SIZE) -> bytes:
    """A small square JPEG of artwork for web pages (deterministic: no metadata, fixed quality)."""
    import io

    with _open(path) as opened:
        _decode(opened)
        image = _to_rgb(ImageOps.exif_transpose(opened))
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side > size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80, optimize=True, progressive=True)
    return buffer.getvalue()
