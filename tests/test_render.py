"""render_mode "rgb_array" and "ansi" in the single and the vector env, RecordVideo
decoded back, and the renderer's colours held equal to the site player's."""

from __future__ import annotations

import re
from pathlib import Path

import av
import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import prospector  # noqa: F401 (registers the id)
from prospector import render as R
from prospector import spec as S
from prospector.gym_vector import ProspectorVectorEnv

ROOT = Path(__file__).resolve().parents[1]
NO_PACKS = "/nonexistent-kenney-folder"  # simple shapes instead of the Kenney sprites


def play(env, steps: int, seed: int = 4):
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        mask = env.unwrapped.action_masks()
        mask[S.A_CASH_OUT] = False
        _, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
        if terminated or truncated:
            break


@pytest.mark.parametrize("assets_dir", [None, NO_PACKS])
def test_rgb_array_frame_of_the_single_env(assets_dir):
    env = gymnasium.make("prospector:Prospector-v0", render_mode="rgb_array", assets_dir=assets_dir)
    assert env.metadata["render_modes"] == ["rgb_array", "ansi"] and env.render_mode == "rgb_array"
    play(env, 30)
    frame = env.render()
    assert frame.shape == (540, 960, 3) and frame.dtype == np.uint8
    assert frame.std() > 10  # a scene, not a blank
    assert (env.render() == frame).all()  # the same state draws the same frame
    # the HUD panel (bottom left) and the mini-map (top right) are where the player has them
    assert frame[400:520, 20:240].mean() != frame[200:300, 400:500].mean()
    env.close()


def test_frame_size_and_end_banner():
    env = gymnasium.make("prospector:Prospector-v0", render_mode="rgb_array", render_size=(480, 270), time_max=5)
    env.reset(seed=1)
    for _ in range(5):
        env.step(S.A_HOLD)
    frame = env.render()
    assert frame.shape == (270, 480, 3)
    # the banner's dark band across the middle
    band = frame[125:145].astype(int)
    assert band.mean() < frame[:40].astype(int).mean() + 40


def test_ansi_text_hud():
    env = gymnasium.make("prospector:Prospector-v0", render_mode="ansi")
    play(env, 10)
    text = env.render()
    assert isinstance(text, str) and text.endswith("\n")
    for word in ("Node", "credits", "fuel", "hull", "heat", "tool", "alert", "cargo", "exit 0"):
        assert word in text


@pytest.mark.parametrize("mode", ["human", "rgb", 3])
def test_unknown_render_mode_is_refused_alike(mode):
    with pytest.raises(gymnasium.error.UnsupportedMode, match="no render mode"):
        prospector.ProspectorEnv(render_mode=mode)
    with pytest.raises(gymnasium.error.UnsupportedMode, match="no render mode"):
        gymnasium.make_vec("prospector:Prospector-v0", num_envs=2, render_mode=mode)


def test_render_before_reset_and_without_mode():
    env = prospector.ProspectorEnv(render_mode="ansi")
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.render()
    envs = ProspectorVectorEnv(2, render_mode="rgb_array")
    with pytest.raises(gymnasium.error.ResetNeeded):
        envs.render()
    plain = ProspectorVectorEnv(2)
    plain.reset(seed=0)
    assert plain.render() is None


def test_vector_env_renders_every_game_like_the_single_env():
    seeds = [3, 8, 13]
    envs = gymnasium.make_vec(
        "prospector:Prospector-v0", num_envs=3, render_mode="rgb_array", autoreset_mode=AutoresetMode.NEXT_STEP
    )
    envs.reset(seed=seeds)
    actions = np.array([S.A_TRAVEL, S.A_HOLD, S.A_DOCK])
    envs.step(actions)
    frames = envs.render()
    assert isinstance(frames, tuple) and len(frames) == 3
    for seed, action, frame in zip(seeds, actions, frames):
        single = prospector.ProspectorEnv(render_mode="rgb_array")
        single.reset(seed=seed)
        single.step(int(action))
        assert (single.render() == frame).all()
    texts = ProspectorVectorEnv(2, render_mode="ansi")
    texts.reset(seed=0)
    assert all(isinstance(t, str) and "Node" in t for t in texts.render())


def test_record_video_writes_a_playable_video(tmp_path):
    env = gymnasium.make("prospector:Prospector-v0", render_mode="rgb_array", render_size=(480, 272), time_max=40)
    env = gymnasium.wrappers.RecordVideo(
        env, str(tmp_path / "videos"), episode_trigger=lambda episode: True, disable_logger=True
    )
    env.reset(seed=2)
    steps, last = 0, None
    while True:
        _, _, terminated, truncated, _ = env.step(S.A_HOLD)
        steps += 1
        if terminated or truncated:
            last = env.unwrapped.render()
            break
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1
    with av.open(str(videos[0])) as container:
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == steps + 1  # the reset's frame and one per step
    assert decoded[-1].shape == (272, 480, 3)
    # lossy, but the last decoded frame is the last rendered one
    assert np.abs(decoded[-1].astype(int) - last.astype(int)).mean() < 12


def js_colors(path: str, name: str) -> dict:
    text = (ROOT / path).read_text()
    body = re.search(rf"{name} = \{{(.*?)\}};", text, re.S).group(1)
    return dict(re.findall(r"(\w+): '(#[0-9a-f]{6})'", body))


def test_colours_are_the_site_players():
    assert R.NODE_COLORS == js_colors("sitegen/static/render.js", "NODE_COLORS")
    assert R.COMMODITY_COLORS == js_colors("sitegen/static/util.js", "COMMODITY_COLORS")
    hud = (ROOT / "sitegen/static/hud.js").read_text()
    bars = dict(re.findall(r"\['(\w+)', '\w+', '[\w.]+', '(#[0-9a-f]{6})'\]", hud))
    assert R.BAR_COLORS == bars
    assert list(R.COMMODITY_COLORS) == list(S.COMMODITIES)


def test_layout_generator_is_the_players(tmp_path):
    """render.js's rng(seed), run by node, and its Python port give the same numbers, so
    asteroids sit where the player puts them."""
    import subprocess

    source = (ROOT / "sitegen/static/render.js").read_text()
    function = re.search(r"export function rng\(seed\) \{.*?\n\}\n", source, re.S).group(0)
    seeds = [0, 1, 17, 8 * 7919 + 3 * 104729 + 17, 2**31 + 5]
    script = (
        function.replace("export ", "")
        + f"for (const s of {seeds}) {{ const r = rng(s); console.log(r(), r(), r()); }}\n"
    )
    (tmp_path / "rng.js").write_text(script)
    out = subprocess.run(["node", str(tmp_path / "rng.js")], capture_output=True, text=True, timeout=60, check=True)
    for seed, line in zip(seeds, out.stdout.splitlines()):
        draw = R.mulberry32(seed)
        assert [float(v) for v in line.split()] == [draw(), draw(), draw()], seed
