"""The durable store: SQLite by default, PostgreSQL in production (SQLAlchemy Core)."""

from auction.store.engine import DEFAULT_URL, Store
from auction.store.migrate import migrate

__all__ = ["DEFAULT_URL", "Store", "migrate"]
