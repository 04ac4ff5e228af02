"""Probe and prepare stages: ffmpeg runner, loudness, encode, tags, s3:// masters."""
