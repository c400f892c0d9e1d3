"""Request and response bodies. Keys are the archive's column names (docs/archive.md)."""
