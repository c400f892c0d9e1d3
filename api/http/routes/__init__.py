"""The routers of the REST API (docs/api.md)."""
