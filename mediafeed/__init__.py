"""mediafeed: publish podcast and video feeds from a catalog of Markdown episodes."""

__version__ = "0.1.0"
