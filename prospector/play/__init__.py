"""The human-play service (SYSTEM.md 8): a small Sanic app on the C core.

    from prospector.play import create_app
    app = create_app(ttl_seconds=900, max_sessions=1000)

``prospector play-server`` runs it; docs/play-api.md describes the API, and
``prospector.play.openapi`` builds its OpenAPI description.
"""

from .server import create_app, serve

__all__ = ["create_app", "serve"]
