"""Artwork: the problems apps reject, the compliant copy `fix_artwork` writes, and how the catalog picks it up.

Each bad image is checked twice: `artwork_problems` names what is wrong, then the copy `fix_artwork` writes has no
problem left, has the expected size and format, and the original is byte-for-byte untouched.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from catalog_project import Project, png_bytes
from PIL import Image

from mediafeed.catalog import artwork
from mediafeed.catalog.artwork import (
    FIX_HINT,
    ArtworkError,
    artwork_problems,
    fix_artwork,
    fixable,
    fixed_path,
    usable_artwork,
)
from mediafeed.catalog.load import catalog_images
from mediafeed.config_file import load_config
from mediafeed.digest import sha256_file


def encoded(mode: str, size: tuple[int, int], fmt: str, colour: object = None, **save: object) -> bytes:
    image = Image.new(mode, size, colour if colour is not None else 0)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def half_transparent_png() -> bytes:
    """1400 px RGBA: left half opaque blue, right half fully transparent (must become white)."""
    image = Image.new("RGBA", (1400, 1400), (0, 0, 255, 255))
    image.paste((0, 0, 0, 0), (700, 0, 1400, 1400))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def palette_png_with_transparency() -> bytes:
    image = Image.new("P", (1400, 1400), 1)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    return buffer.getvalue()


def rgb_png_with_transparent_colour() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1400, 1400), (10, 20, 30)).save(buffer, "PNG", transparency=(10, 20, 30))
    return buffer.getvalue()


BAD = [
    # (id, file name, bytes, what the problems mention, fixed copy: (suffix, side))
    ("cmyk-jpeg", "art.jpg", lambda: encoded("CMYK", (1400, 1400), "JPEG", (0, 200, 200, 0)), ["CMYK"], (".jpg", 1400)),
    ("rgba-png", "art.png", half_transparent_png, ["RGBA"], (".png", 1400)),
    ("la-png", "art.png", lambda: encoded("LA", (1500, 1500), "PNG"), ["LA"], (".png", 1500)),
    ("palette-png-transparent", "art.png", palette_png_with_transparency, ["colour mode P"], (".png", 1400)),
    ("rgb-png-transparent-colour", "art.png", rgb_png_with_transparent_colour, ["transparent"], (".png", 1400)),
    ("800px", "art.png", lambda: png_bytes((800, 800)), ["800×800"], (".png", 1400)),
    ("4000px", "art.jpg", lambda: encoded("RGB", (4000, 4000), "JPEG", (90, 90, 90)), ["4000×4000"], (".jpg", 3000)),
    ("not-square", "art.png", lambda: png_bytes((1400, 2000)), ["not square"], (".png", 1400)),
    ("wide-and-big", "art.jpg", lambda: encoded("RGB", (5000, 3200), "JPEG"), ["not square", "5000×3200"], (".jpg", 3000)),
    ("png-named-jpg", "art.jpg", lambda: png_bytes((1400, 1400)), ["PNG image named .jpg"], (".png", 1400)),
    ("jpeg-named-png", "art.png", lambda: encoded("RGB", (1400, 1400), "JPEG"), ["JPEG image named .png"], (".jpg", 1400)),
    ("gif", "art.gif", lambda: encoded("P", (1400, 1400), "GIF"), ["GIF image", "colour mode P"], (".jpg", 1400)),
]


@pytest.mark.parametrize(("name", "make", "parts", "expected"), [pytest.param(*row[1:], id=row[0]) for row in BAD])
def test_bad_artwork_is_reported_then_fixed(
    tmp_path: Path, name: str, make: Callable[[], bytes], parts: list[str], expected: tuple[str, int]
) -> None:
    original = tmp_path / "project" / "artwork" / name
    original.parent.mkdir(parents=True)
    original.write_bytes(make())
    before = original.read_bytes()
    problems = artwork_problems(original)
    assert len(problems) == len(parts), problems
    for part in parts:
        assert any(part in message for message, _ in problems), (part, problems)
    assert all(hint for _, hint in problems)

    build = tmp_path / "project" / "build"
    fixed = fix_artwork(original, build)
    suffix, side = expected
    assert fixed == build / "artwork" / f"{sha256_file(original)[:16]}{suffix}"
    assert artwork_problems(fixed) == []
    with Image.open(fixed) as image:
        assert image.size == (side, side) and image.mode == "RGB"
        assert image.format == ("PNG" if suffix == ".png" else "JPEG")
    assert original.read_bytes() == before  # never touched
    assert fix_artwork(original, build) == fixed  # made once, then reused


@pytest.mark.parametrize(
    ("name", "make"),
    [
        pytest.param("art.jpeg", lambda: encoded("RGB", (1400, 1400), "JPEG"), id="jpeg-extension-accepted"),
        pytest.param("art.jpg", lambda: encoded("RGB", (3000, 3000), "JPEG"), id="jpeg-3000"),
        pytest.param("art.png", lambda: png_bytes((1400, 1400)), id="png-1400"),
        pytest.param("art.jpg", lambda: encoded("L", (1400, 1400), "JPEG"), id="greyscale-jpeg"),
    ],
)
def test_good_artwork_has_no_problems(tmp_path: Path, name: str, make: Callable[[], bytes]) -> None:
    path = tmp_path / name
    path.write_bytes(make())
    assert artwork_problems(path) == []
    assert usable_artwork(path, tmp_path / "build") == (path, [])


def test_transparency_is_flattened_on_white(tmp_path: Path) -> None:
    original = tmp_path / "art.png"
    original.write_bytes(half_transparent_png())
    with Image.open(fix_artwork(original, tmp_path / "build")) as image:
        assert image.getpixel((100, 700)) == (0, 0, 255)
        assert image.getpixel((1300, 700)) == (255, 255, 255)


def test_non_square_is_centre_cropped(tmp_path: Path) -> None:
    image = Image.new("RGB", (2000, 1500), (255, 0, 0))
    image.paste((0, 255, 0), (250, 0, 1750, 1500))  # the centre 1500 px are green, the sides red
    original = tmp_path / "art.png"
    image.save(original, "PNG")
    with Image.open(fix_artwork(original, tmp_path / "build")) as fixed:
        assert fixed.size == (1500, 1500)
        assert fixed.getpixel((0, 0)) == fixed.getpixel((1499, 1499)) == (0, 255, 0)


def test_usable_artwork_uses_the_fixed_copy_only_for_the_same_bytes(tmp_path: Path) -> None:
    original = tmp_path / "art.png"
    build = tmp_path / "build"
    original.write_bytes(png_bytes((800, 800)))
    path, problems = usable_artwork(original, build)
    assert path == original and problems and all(hint.endswith(FIX_HINT) for _, hint in problems)
    fixed = fix_artwork(original, build)
    assert usable_artwork(original, build) == (fixed, [])
    original.write_bytes(png_bytes((900, 900)))  # the producer edits the image: fix again
    path, problems = usable_artwork(original, build)
    assert path == original and problems
    assert fixed_path(original, build) != fixed


# --- guards ---------------------------------------------------------------------------------------------------------


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size without carrying the pixels: what a decompression bomb looks like to Image.open."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("size", "message"),
    [
        pytest.param((7000, 7000), "too many pixels", id="7000px"),
        pytest.param((100_000, 100_000), "far too many pixels", id="decompression-bomb"),
    ],
)
def test_decompression_bombs_are_refused_before_decoding(tmp_path: Path, size: tuple[int, int], message: str) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(*size))
    ((problem, hint),) = artwork_problems(path)
    assert message in problem and "export" in hint
    assert not fixable(path)
    with pytest.raises(ArtworkError):
        fix_artwork(path, tmp_path / "build")
    assert usable_artwork(path, tmp_path / "build")[1] == [(problem, hint)]  # no --fix hint: it cannot help


def test_absurdly_large_files_are_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(png_bytes((1400, 1400)))
    monkeypatch.setattr(artwork, "MAX_FILE_BYTES", 100)
    ((problem, _),) = artwork_problems(path)
    assert "too large to be artwork" in problem
    assert not fixable(path)


def test_not_an_image_cannot_be_fixed(tmp_path: Path) -> None:
    path = tmp_path / "art.png"
    path.write_bytes(b"not an image")
    assert not fixable(path)
    with pytest.raises(ArtworkError):
        fix_artwork(path, tmp_path / "build")


# --- the catalog ----------------------------------------------------------------------------------------------------


def test_the_catalog_publishes_the_fixed_copy(project: Project) -> None:
    project.write_bytes("artwork/podcast.png", png_bytes((1400, 1400), "RGBA"))
    project.write_bytes("episodes/should-you-test-mthfr/cover.jpg", encoded("CMYK", (2000, 1600), "JPEG"))
    project.write_episode(image="cover.jpg")
    problems = project.problems()
    assert sorted((p.file, p.field) for p in problems) == [
        ("episodes/should-you-test-mthfr/index.md", "image"),
        ("episodes/should-you-test-mthfr/index.md", "image"),
        ("feeds/podcast.yaml", "image"),
    ]
    assert all("mediafeed artwork --fix" in p.hint for p in problems)

    config = load_config(project.root)
    images = catalog_images(config)
    assert [(file, path.name) for file, path in images] == [
        ("feeds/podcast.yaml", "podcast.png"),
        ("episodes/should-you-test-mthfr/index.md", "cover.jpg"),
    ]
    fixed = [fix_artwork(path, project.root / "build") for _, path in images]
    _, catalog = project.load()
    assert catalog.feeds[0].image == fixed[0] and fixed[0].suffix == ".png"
    assert catalog.episodes[0].image == fixed[1] and fixed[1].suffix == ".jpg"


def test_catalog_images_reads_a_catalog_that_does_not_load(project: Project) -> None:
    project.write_feed(image="artwork/podcast.png", title=None, explicit="maybe")
    project.write_episode(image="missing.png")  # left for `check` to report
    assert [file for file, _ in catalog_images(load_config(project.root))] == ["feeds/podcast.yaml"]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@pytest.mark.parametrize("kind", [b"zTXt", b"iCCP"])
@pytest.mark.parametrize("late", [False, True], ids=["before-pixels", "after-pixels"])
def test_a_png_chunk_that_inflates_to_hundreds_of_mb_is_a_problem(tmp_path: Path, kind: bytes, late: bool) -> None:
    png = encoded("RGB", (1400, 1400), "PNG", "white")
    bomb = _png_chunk(kind, b"name\0\0" + zlib.compress(b"\0" * (200 << 20), 9))  # ~200 KB inflating to 200 MB
    at = png.rfind(b"IEND") - 4 if late else 33  # after the pixels, or right after IHDR
    path = tmp_path / "bomb.png"
    path.write_bytes(png[:at] + bomb + png[at:])
    problems = artwork_problems(path)
    assert problems and "too large" in problems[0][0]
    assert not fixable(path)


def test_a_truncated_png_is_a_problem_and_is_not_fixed(tmp_path: Path) -> None:
    png = encoded("RGB", (1400, 1400), "PNG", (200, 30, 30), compress_level=0)
    path = tmp_path / "cut.png"
    path.write_bytes(png[: len(png) * 2 // 3])
    [(message, _)] = artwork_problems(path)
    assert "truncated or corrupt" in message
    assert not fixable(path)
    with pytest.raises(ArtworkError, match="truncated or corrupt"):
        fix_artwork(path, tmp_path / "build")
    assert not (tmp_path / "build" / "artwork").exists() or not list((tmp_path / "build" / "artwork").iterdir())
