"""The store's Alembic environment: ``env.py``, the revision template and ``versions/``.

Shipped inside the package so that an installed server upgrades its store on start
(``auction.store.migrate``); developers write new revisions with the ``alembic`` command.
"""
