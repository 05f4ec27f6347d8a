"""The Jupyter Server extension: the app and its HTTP handlers.

- ``app.py``: :class:`RestifiedApp` (traits, wiring, routes).
- ``base.py``: the handlers' base (JSON errors); ``auth.py``: token, cookie and key access
  to a call; ``requests.py``: reading values and negotiating the response type.
- ``calls.py``: the endpoint; ``specs.py``: spec and OpenAPI routes; ``keys_api.py``: the
  keys API; ``status.py``: the status route.
- ``endpoints.py``: the notebooks behind the endpoints (contents manager, re-warm on save).
"""
