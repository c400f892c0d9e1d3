"""The doors to the engine, in three places.

- ``api.http``: the REST server (FastAPI app, authentication, routes, request and answer
  schemas). Routes only translate HTTP: every change goes through a service; a route
  that only reads may call the store's read functions (never SQL, never its tables).
- ``api.cli``: the ``vba`` command line (one module per command family).
- ``api.services``: what both doors do with the store and the domain packages, one
  function per step of the product's life (accounts, auctions, dispatch, settlement).

Imports run downward: ``cli`` → ``http`` → ``services`` → the domain packages.
"""
