"""The human-play service (docs/play-api.md): a small Sanic app on the C core.

    from prospector.play import create_app
    app = create_app(ttl_seconds=900, max_sessions=1000)

``prospector play-server`` runs it; ``prospector.play.openapi`` builds its OpenAPI
description. Sanic comes with the ``play`` extra, so it is imported on first use.
"""

__all__ = ["create_app", "serve"]


def __getattr__(name):
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'prospector.play' has no attribute {name!r}")
