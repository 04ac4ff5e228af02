"""Render stage: RSS + iTunes + Podcasting 2.0 feeds, OPML and JSON indexes, lint rules."""
