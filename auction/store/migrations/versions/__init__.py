"""The revisions, oldest first: 0001 to 0003 are the numbered migrations before Alembic."""
