"""The README's Python example runs and does what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_example_runs_and_prints_what_it_says():
    blocks = python_blocks()
    assert len(blocks) == 1
    code = blocks[0]
    printed = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), namespace)
    # the comment on the print line says what it prints
    claimed = re.search(r"print\(.*\)\s+# (.*?):", code).group(1)
    assert printed.getvalue().strip() == claimed
    assert namespace["info"]["invalid"] is False
    assert namespace["vec"].num_agents == 1024


def test_every_step_in_the_example_is_a_valid_action():
    """Each env.step(spec.A_X) of the example, replayed: none is invalid where it is taken."""
    import gymnasium

    import prospector  # noqa: F401  (registers Prospector-v0)
    from prospector import spec

    code = python_blocks()[0]
    actions = re.findall(r"env\.step\(spec\.(A_\w+)\)", code)
    assert actions, "the example takes no step"
    env = gymnasium.make("Prospector-v0")
    env.reset(seed=int(re.search(r"reset\(seed=(\d+)\)", code).group(1)))
    for name in actions:
        *_, info = env.step(getattr(spec, name))
        assert not info["invalid"], name
