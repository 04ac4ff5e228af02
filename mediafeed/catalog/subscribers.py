"""Paying subscribers: who may read which private feed, and the secret URL each of them reads it at. Pure.

The store exports a CSV (`id,email,feeds,expires`) that stays out of git. A subscriber's feed lives at
`private/<token>/feeds/<feed>.xml`, where the token is *derived*, never stored:

    key   = HMAC-SHA256(secret, "subscriber\\0" + id)            the subscriber's keyed hash (hex, 128 bits)
    token = base64url(HMAC-SHA256(secret, "token\\0" + key + "\\0" + generation))[:32]   (192 bits)

The secret comes from the environment (MEDIAFEED_SUBSCRIBER_SECRET) at the pipeline's edge. Only keys are ever
written down (the manifest, the rotations file): without the secret a key reveals neither the id nor the token, and
with it a publish can still find, and delete, the feeds of a subscriber the store no longer lists. `rotate` bumps a
subscriber's generation (kept by key in a committed file), which changes the token and so the URL.

Emails appear only in what `subscribers export` writes for a mailer; messages name a CSV line, never an address."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from mediafeed.errors import Problem

SECRET_VARIABLE = "MEDIAFEED_SUBSCRIBER_SECRET"
MIN_SECRET_BYTES = 32
COLUMNS = ("id", "email", "feeds", "expires")
TOKEN_CHARS = 32  # 32 base64url characters = 192 bits
_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Subscriber:
    id: str
    email: str
    feeds: tuple[str, ...]
    expires: date | None  # the last day of access (inclusive, UTC); None: until removed from the file
    line: int  # in the CSV, for messages

    def __repr__(self) -> str:  # never an address in a log or a traceback
        return f"Subscriber(id={self.id!r}, feeds={self.feeds!r}, expires={self.expires!r}, line={self.line})"

    def active(self, now: datetime) -> bool:
        return self.expires is None or now.date() <= self.expires


def parse_subscribers(text: str, file: str, private_feeds: Iterable[str]) -> tuple[list[Subscriber], list[Problem]]:
    """The subscribers a CSV lists, and a problem for every line that cannot be used (naming the line and column,
    never the address). Extra columns (stores export more) are ignored."""
    private = set(private_feeds)
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return [], [Problem(file, "", "empty file", "the first line must be the header: " + ",".join(COLUMNS))]
    except csv.Error as exc:
        return [], [Problem(file, "", f"not CSV ({exc})", "export the subscriber list again as CSV")]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [Problem(file, "", f"the header lacks {', '.join(missing)}", "the first line must be: " + ",".join(COLUMNS))]
    at = {c: header.index(c) for c in COLUMNS}
    found: list[Subscriber] = []
    seen: dict[str, int] = {}
    try:
        rows = list(enumerate(reader, start=2))
    except csv.Error as exc:
        return [], [Problem(file, "", f"not CSV ({exc})", "export the subscriber list again as CSV")]
    for number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        where = f"line {number}"
        if len(row) < len(header):
            problems.append(Problem(file, where, f"{len(row)} columns, the header has {len(header)}", "fill every column"))
            continue
        ident, email, feeds_text, expires_text = (row[at[c]].strip() for c in COLUMNS)
        before = len(problems)
        if not _ID.match(ident):
            problems.append(Problem(file, f"{where}: id", "empty or with control characters", "give every subscriber an id"))
        elif ident in seen:
            problems.append(Problem(file, f"{where}: id", f"{ident!r} already on line {seen[ident]}", "one line per subscriber"))
        if not _EMAIL.match(email):
            problems.append(Problem(file, f"{where}: email", "not an email address", "write the subscriber's address"))
        feeds = tuple(dict.fromkeys(feeds_text.replace(",", " ").split()))
        for feed in feeds:
            if feed not in private:
                problems.append(
                    Problem(
                        file,
                        f"{where}: feeds",
                        f"{feed!r} is not a private feed",
                        f"use the ids of feeds with access: subscribers ({', '.join(sorted(private)) or 'none yet'})",
                    )
                )
        expires = None
        if expires_text:
            try:
                expires = date.fromisoformat(expires_text[:10]) if len(expires_text) >= 10 else None
            except ValueError:
                expires = None
            if expires is None:
                problems.append(
                    Problem(file, f"{where}: expires", f"{expires_text!r} is not a date", "write YYYY-MM-DD, or leave it empty")
                )
        if len(problems) == before:
            seen[ident] = number
            found.append(Subscriber(ident, email, feeds, expires, number))
    return found, problems


def check_secret(secret: str | None) -> bytes | None:
    """The secret's bytes, or None when it is missing or too short to be one."""
    if secret is None or len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        return None
    return secret.encode("utf-8")


def subscriber_key(secret: bytes, subscriber_id: str) -> str:
    """The keyed hash that stands for a subscriber wherever something is written down."""
    return hmac.new(secret, b"subscriber\0" + subscriber_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def token(secret: bytes, key: str, generation: int) -> str:
    digest = hmac.new(secret, f"token\0{key}\0{generation}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:TOKEN_CHARS]


def feed_key(secret: bytes, key: str, generation: int, feed_id: str) -> str:
    """Where one subscriber's copy of one private feed lives in the target."""
    return f"private/{token(secret, key, generation)}/feeds/{feed_id}.xml"


_COPY = re.compile(rf"^private/[A-Za-z0-9_-]{{{TOKEN_CHARS}}}/feeds/[^/]+\.xml$")


def is_copy(key: str) -> bool:
    """A subscriber's copy of a private feed, as feed_key names it (its key holds their token)."""
    return bool(_COPY.match(key))


def generation_of(key: str, rotations: Mapping[str, int]) -> int:
    return int(rotations.get(key, 0))


def rotated(rotations: Mapping[str, int], key: str) -> dict[str, int]:
    """The rotations after one more rotation of `key` (a new token, so a new URL)."""
    return {**rotations, key: generation_of(key, rotations) + 1}


def parse_rotations(data: object, file: str) -> tuple[dict[str, int], list[Problem]]:
    """The committed rotations file: `<key>: <generation>` lines (YAML), keys as `subscriber_key` makes them."""
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return {}, [Problem(file, "", "not a mapping of keys to generations", "restore it from git")]
    found: dict[str, int] = {}
    problems = []
    for key, value in data.items():
        if not (isinstance(key, str) and re.fullmatch(r"[0-9a-f]{32}", key)) or not isinstance(value, int) or value < 0:
            problems.append(Problem(file, str(key), "not a subscriber key with a generation", "restore it from git"))
        else:
            found[key] = value
    return found, problems


def rotations_text(rotations: Mapping[str, int]) -> str:
    lines = [
        "# Token generations of rotated subscribers, by keyed hash (no id, email or token can be read from it).",
        "# Written by `mediafeed subscribers rotate`; commit it. Deleting a line gives that subscriber an old URL back.",
    ]
    lines += [f"{key}: {generation}" for key, generation in sorted(rotations.items())]
    return "\n".join(lines) + "\n"


def expired_count(text: str, today: date) -> int:
    """How many lines of a subscriber CSV have expired by `today`: with the file's bytes, what decides which copies a
    publish keeps (a no-op receipt is only valid while this number stays the same)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
        at = header.index("expires")
        return sum(1 for row in reader if len(row) > at and row[at].strip()[:10] < today.isoformat() and row[at].strip())
    except (StopIteration, ValueError, csv.Error):
        return 0


def fingerprint(secret: bytes) -> str:
    """Stands for the secret in a cache key: changes with it, reveals nothing of it."""
    return hmac.new(secret, b"fingerprint", hashlib.sha256).hexdigest()[:16]
