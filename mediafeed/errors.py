"""One exception tree for everything mediafeed reports to a user.

Every error carries where the problem is (file, field) and how to fix it (hint), so the CLI can print
`file: field: what is wrong; how to fix` without knowing which stage raised it. Exit codes live in the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the catalog, located precisely enough for a producer to fix it."""

    file: str
    field: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        located = f"{self.file}: {self.field}: " if self.field else f"{self.file}: "
        return located + self.message + (f"; {self.hint}" if self.hint else "")

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "field": self.field, "message": self.message, "hint": self.hint}


class MediafeedError(Exception):
    """Base of every error mediafeed expects and explains (never a bug)."""

    def __init__(self, message: str, *, file: str = "", field: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        return (
            str(Problem(self.file, self.field, self.message, self.hint))
            if self.file
            else (self.message + (f"; {self.hint}" if self.hint else ""))
        )


class CatalogError(MediafeedError):
    """The catalog (mediafeed.toml, feeds/, episodes/) is invalid; carries every problem found, not the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the catalog")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class MediaError(MediafeedError):
    """A media file cannot be probed or processed; only the episode that uses it fails."""


class StorageError(MediafeedError):
    """A publish target refused or failed an operation."""


class EnvironmentProblem(MediafeedError):
    """Something outside the catalog is missing or broken: ffmpeg, credentials, a target folder."""


class UsageError(MediafeedError):
    """The command line asks for something that cannot be done (unknown target, bad --now)."""
