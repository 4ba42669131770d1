"""The Python blocks of the pages a new user copies from (docs/envs.md and
docs/ecosystem.md) run as they are, each as a script in a fresh process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ("envs.md", "ecosystem.md")


def python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


BLOCKS = [(page, i) for page in PAGES for i in range(len(python_blocks(page)))]


@pytest.mark.parametrize("page, index", BLOCKS, ids=[f"{p}-{i}" for p, i in BLOCKS])
def test_docs_python_block_runs(page, index, tmp_path):
    code = python_blocks(page)[index]
    script = tmp_path / "block.py"
    script.write_text(
        "import torch\ntorch.set_num_threads(1)\n" + code if "sb3" in code or "pufferlib" in code else code
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, f"{page} block {index}:\n{code}\n{proc.stderr[-3000:]}"


def test_every_page_makes_the_env_by_the_importing_id():
    """Gymnasium 1.x loads no plugins: the docs make envs with "prospector:Prospector-v0"."""
    for page in (*PAGES, "index.md", "training.md"):
        for code in python_blocks(page):
            assert not re.search(r"""make(_vec)?\(\s*["']Prospector-v0""", code), page
