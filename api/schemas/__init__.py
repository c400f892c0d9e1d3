"""Request and response bodies. Keys are the archive's column names (spec/archive.md)."""
