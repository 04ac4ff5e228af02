"""Load stage: read and validate mediafeed.toml's catalog, feeds/ and episodes/ into models."""
