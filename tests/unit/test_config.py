"""mediafeed.toml: settings are normalized, and every problem is reported with its table.key, never as a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_project import CONFIG_TOML, SITE_URL

from mediafeed.config import AudioProfile
from mediafeed.config_file import load_config
from mediafeed.errors import CatalogError, UsageError

S3_TARGET = """
[targets.s3]
type = "s3"
bucket = "example-media"
prefix = "/podcasts/"
region = "us-east-1"
endpoint_url = "http://127.0.0.1:9000"
public_url = "https://media.example.org/"
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "mediafeed.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_good_config_is_normalized(tmp_path: Path) -> None:
    extra = S3_TARGET + '\n[media]\nroots = ["../masters"]\n\n[audio]\nloudness_stereo = -18\n\n[catalog]\ntopics = ["a", "b"]\n'
    config = load_config(write(tmp_path, CONFIG_TOML + extra))
    assert config.site_url == SITE_URL  # the trailing slash in the file is dropped
    assert config.site_title == "Example Psychiatry Media"
    assert config.default_target == "local"
    assert config.targets["local"].path == (tmp_path / "public").resolve()
    s3 = config.targets["s3"]
    assert (s3.bucket, s3.prefix, s3.public_url) == ("example-media", "podcasts", "https://media.example.org")
    assert s3.url_for("feeds/podcast.xml") == "https://media.example.org/feeds/podcast.xml"
    assert config.media_roots == ((tmp_path / "../masters").resolve(),)
    assert config.audio == AudioProfile(loudness_stereo=-18.0)
    assert config.topics == ("a", "b")


def test_target_lookup(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONFIG_TOML + S3_TARGET))
    assert config.target(None).name == "local"
    assert config.target("s3").type == "s3"
    with pytest.raises(UsageError) as info:
        config.target("ftp")
    assert "local" in info.value.hint and "s3" in info.value.hint


def test_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "mediafeed.toml").write_bytes(b"\xef\xbb\xbf" + CONFIG_TOML.encode())
    assert load_config(tmp_path).site_url == SITE_URL


def _replace(old: str, new: str) -> str:
    assert old in CONFIG_TOML
    return CONFIG_TOML.replace(old, new)


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        pytest.param(_replace(f'url = "{SITE_URL}/"', 'url = "www.example.org"'), ["site.url"], id="site-url-relative"),
        pytest.param(_replace(f'url = "{SITE_URL}/"', ""), ["site.url"], id="site-url-missing"),
        pytest.param(_replace('title = "Example Psychiatry Media"', 'title = "  "'), ["site.title"], id="site-title-blank"),
        pytest.param(_replace('type = "local"', 'type = "ftp"'), ["targets.local.type"], id="target-type-unknown"),
        pytest.param(_replace('path = "public"\n', ""), ["targets.local.path"], id="local-path-missing"),
        pytest.param(
            _replace('public_url = "http://127.0.0.1:8000"', 'public_url = "/feeds"'),
            ["targets.local.public_url"],
            id="public-url-relative",
        ),
        pytest.param(
            CONFIG_TOML + S3_TARGET.replace('bucket = "example-media"\n', ""), ["targets.s3.bucket"], id="s3-bucket-missing"
        ),
        pytest.param(_replace('target = "local"', 'target = "s3"'), ["publish.target"], id="default-target-unknown"),
        pytest.param(_replace('target = "local"', 'target = ["local"]'), ["publish.target"], id="default-target-a-list"),
        pytest.param(_replace('target = "local"', "target = 3"), ["publish.target"], id="default-target-a-number"),
        pytest.param(CONFIG_TOML + '[media]\nroots = "/mnt/masters"\n', ["media.roots"], id="roots-not-a-list"),
        pytest.param(CONFIG_TOML + "[audio]\nloudness_stereo = 5\n", ["audio.loudness_stereo"], id="loudness-positive"),
        pytest.param(CONFIG_TOML + "[audio]\ntrue_peak = true\n", ["audio.true_peak"], id="true-peak-bool"),
        pytest.param(CONFIG_TOML + '[audio]\nloudness_mono = "-19"\n', ["audio.loudness_mono"], id="loudness-text"),
        pytest.param(CONFIG_TOML + '[catalog]\ntopics = "general"\n', ["catalog.topics"], id="topics-not-a-list"),
        pytest.param('media = "x"\n' + CONFIG_TOML, ["media"], id="media-not-a-table"),
        pytest.param("[site]\ntitle = true\n", ["site.title", "site.url", "targets"], id="nearly-empty"),
    ],
)
def test_bad_config(tmp_path: Path, text: str, fields: list[str]) -> None:
    with pytest.raises(CatalogError) as info:
        load_config(write(tmp_path, text))
    problems = info.value.problems
    assert sorted(p.field for p in problems) == sorted(fields)
    assert {p.file for p in problems} == {"mediafeed.toml"}
    assert all(p.hint for p in problems)


@pytest.mark.parametrize(
    ("content", "message_part"),
    [
        pytest.param(b"[site\n", "TOML", id="toml-syntax"),
        pytest.param(b'[site]\ntitle = "Caf\xe9"\n', "UTF-8", id="not-utf8"),
        pytest.param(None, "not found", id="missing-file"),
    ],
)
def test_unreadable_config(tmp_path: Path, content: bytes | None, message_part: str) -> None:
    if content is not None:
        (tmp_path / "mediafeed.toml").write_bytes(content)
    with pytest.raises(CatalogError) as info:
        load_config(tmp_path)
    (problem,) = info.value.problems
    assert problem.file == "mediafeed.toml"
    assert message_part in problem.message
    assert problem.hint


def test_fixes_for_mediafeed_toml_are_written_in_toml(tmp_path: Path) -> None:
    """The same check as for YAML files, with the fix in the file's own syntax (`name = value`, not `name: value`)."""
    from mediafeed.config_file import load_config
    from mediafeed.errors import CatalogError

    (tmp_path / "mediafeed.toml").write_text(
        '[site]\ntitle = "T"\nurl = "https://www.example.org"\n[publish]\ntarget = "s3"\n'
        '[targets.s3]\ntype = "s3"\nbucket = "b"\npublic_url = "https://media.example.org"\nprecompress = "yes"\n'
        "presign_days = 2.5\n"
    )
    with pytest.raises(CatalogError) as caught:
        load_config(tmp_path)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "targets.s3.precompress: must be true or false ('yes'); write precompress = true or precompress = false" in text
    assert "targets.s3.presign_days: must be a whole number (2.5); e.g. presign_days = 3" in text
