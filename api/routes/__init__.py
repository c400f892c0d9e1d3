"""The routers of the REST API (spec/api.md)."""
