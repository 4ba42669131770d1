"""``prospector.notebook.show_replay(...)``: a replay inline in Jupyter (docs/site.md#embed).

The helper belongs to the site generator (``prospector.sitegen.notebook``), a layer above
the game; this module finds it through the ``prospector.hooks`` entry point
``show_replay`` (like the command frame finds the layers' commands), so the game never
imports the site (docs/architecture.md).
"""

from __future__ import annotations

from importlib import metadata


def show_replay(*args, **kwargs):
    """See ``prospector.sitegen.notebook.show_replay``: a replay file, or site= with run= and replay=."""
    hooks = [ep for ep in metadata.entry_points(group="prospector.hooks") if ep.name == "show_replay"]
    if not hooks:
        raise ImportError("show_replay needs the site generator: pip install 'asteroid-prospector[site]'")
    return hooks[0].load()(*args, **kwargs)
