"""Policy export (pipeline/policy_export.py) and the site's policy files (sitegen/policies.py).

A real tiny training run gives the checkpoints. The exported files, read back by the
numpy reader, give the checkpoint's own probabilities (torch) on observations from real
play; the mask rule written as data is the training mask; an LSTM checkpoint is marked
unsupported; bad files fail with a clear PolicyFileError; the site build writes every
window's files once (a rebuild does not touch them) and lists them in policies.json.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from harness.observations import real_observations
from harness.testing import tiny_config
from prospector.pipeline import policy_export as PE
from prospector.pipeline.evaluator import load_checkpoint
from prospector.pipeline.policy import MASKED_LOGIT, obs_action_mask, policy_for_checkpoint
from prospector.pipeline.store import policy_file as PF
from prospector.pipeline.store.log import read_events
from prospector.pipeline.store.replays import read_replay
from prospector.pipeline.trainer import train
from prospector.sitegen.build import ROOT, build_site
from prospector.sitegen.policies import decode_obs, encode_obs, replay_observations

from prospector import spec as S
from prospector.masks import purchase_credit_thresholds


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real 2-window run of the default MLP (masked, 128 wide)."""
    root = tmp_path_factory.mktemp("policy_runs")
    return train(tiny_config(root, windows=2, hidden_size=128, time_max=40, eval_episodes=1))


@pytest.fixture(scope="module")
def observations():
    return real_observations()


def checkpoints(run_dir):
    return [e for e in read_events(run_dir) if e["type"] == "checkpoint_saved"]


def torch_probs(policy, obs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        logits, _ = policy.forward_eval(torch.as_tensor(obs))
        return torch.softmax(logits.float(), dim=-1).numpy()


def test_mask_rule_is_the_training_mask(observations):
    # real observations, and random ones with every flag and fraction at its edges
    rng = np.random.default_rng(3)
    edges = np.array([0.0, 0.25, 0.5, 0.5000001, 0.75, 0.9999999, 1.0, -0.5], dtype=np.float32)
    synthetic = rng.choice(edges, size=(4000, S.OBS_DIM)).astype(np.float32)
    credits = np.float32(purchase_credit_thresholds())  # on and a float32 step either side of them
    credits = np.concatenate([credits, np.nextafter(credits, np.float32(-1)), np.nextafter(credits, np.float32(2))])
    synthetic[::2, S.O_CREDITS] = rng.choice(credits, 2000)
    for obs in (observations, synthetic):
        want = obs_action_mask(torch.as_tensor(obs)).numpy()
        got = PF.eval_mask(PF.mask_rule(), obs)
        assert got.shape == (obs.shape[0], S.N_ACTIONS)
        assert (got == want).all(), np.argwhere(got != want)[:5]
    assert PF.MASKED_LOGIT == MASKED_LOGIT
    # it can fail: a wrong rule differs from training somewhere
    broken = PF.mask_rule()
    broken[S.A_DOCK] = ["and"]
    assert (PF.eval_mask(broken, synthetic) != obs_action_mask(torch.as_tensor(synthetic)).numpy()).any()


def test_round_trip_gives_the_checkpoints_probabilities(trained, observations):
    assert observations.shape[0] >= 1000
    saved = checkpoints(trained)
    assert len(saved) == 2
    for ev in saved:
        policy, state = load_checkpoint(trained / ev["path"], ev["sha256"])
        assert state["policy_kind"] == "mlp" and state["action_mask"] is True
        header, weights = PE.export_checkpoint_file(
            trained / ev["path"], run_id=trained.name, window_id=ev["window_id"], checkpoint_sha256=ev["sha256"]
        )
        exported = PF.load_exported(PF.header_bytes(header), weights)
        want = torch_probs(policy, observations)
        got = exported.probs(observations)
        assert np.abs(got - want).max() < 1e-5
        assert (got.argmax(axis=1) == want.argmax(axis=1)).all()
        # masked actions get no probability, as in training
        masked = ~obs_action_mask(torch.as_tensor(observations)).numpy()
        assert got[masked].max() < 1e-30


def test_header_says_what_the_forward_pass_needs(trained):
    ev = checkpoints(trained)[-1]
    header, weights = PE.export_checkpoint_file(trained / ev["path"], run_id=trained.name, window_id=ev["window_id"])
    h = 128
    floats = S.OBS_DIM * h + h + h * h + h + h * S.N_ACTIONS + S.N_ACTIONS
    assert header["format"] == PF.FORMAT and header["version"] == PF.VERSION and header["supported"] is True
    assert [(lay["in"], lay["out"], lay["activation"]) for lay in header["layers"]] == [
        (S.OBS_DIM, h, "gelu"),
        (h, h, "gelu"),
        (h, S.N_ACTIONS, None),
    ]
    assert header["floats"] == floats and header["bytes"] == len(weights) == 4 * floats
    assert header["dtype"] == "float32" and header["byte_order"] == "little"
    assert header["obs_normalization"] is None and header["masked_logit"] == MASKED_LOGIT
    assert header["action_names"] == list(S.ACTION_NAMES)
    assert header["action_mask"] == PF.mask_rule()  # the run played the default prices
    assert header["weights_file"] == PF.file_names(ev["window_id"])[1]
    assert len(PF.header_bytes(header)) < 8000  # the header is small next to the weights


def test_the_exported_mask_and_a_loaded_checkpoint_use_the_runs_item_prices():
    """A run whose env config has other item prices: its policy file's rule and its loaded
    policy mask BUY_DECOY by that config's decoy_price (250), not the default 100."""
    from prospector.pipeline.checkpoint import CheckpointError, checkpoint_policy

    config = S.make_config(decoy_price=250)
    policy = policy_for_checkpoint("mlp", 8, True)
    state = {"policy": policy.state_dict(), "policy_kind": "mlp", "hidden_size": 8, "action_mask": True}
    header, _ = PE.export_checkpoint({**state, "env_config": config}, window_id=1)
    assert header["action_mask"] == PF.mask_rule(config) != PF.mask_rule()
    obs = np.zeros((2, S.OBS_DIM), np.float32)
    obs[:, S.O_DOCKED] = 1.0
    obs[:, S.O_CREDITS] = np.log1p([200, 250]) / np.log1p(S.CREDITS_CAP)
    assert PF.eval_mask(header["action_mask"], obs)[:, S.A_BUY_DECOY].tolist() == [False, True]
    loaded = checkpoint_policy({**state, "env_config": config}, "run.pt")
    assert loaded.credit_thresholds == purchase_credit_thresholds(config)
    with torch.no_grad():
        logits, _ = loaded.forward_eval(torch.as_tensor(obs))
    assert logits[:, S.A_BUY_DECOY].tolist()[0] == MASKED_LOGIT != logits[1, S.A_BUY_DECOY]
    with pytest.raises(CheckpointError, match="decoy_price"):
        checkpoint_policy({**state, "env_config": {"decoy_price": "free"}}, "run.pt")


def test_lstm_checkpoint_is_marked_unsupported():
    policy = policy_for_checkpoint("lstm", 32, True)
    header, weights = PE.export_checkpoint(
        {"policy": policy.state_dict(), "policy_kind": "lstm", "hidden_size": 32, "action_mask": True}, window_id=4
    )
    assert weights is None and header["supported"] is False and "LSTM" in header["reason"]
    with pytest.raises(PF.PolicyFileError, match="cannot run outside the trainer: the LSTM"):
        PF.load_exported(PF.header_bytes(header), None)


def test_bad_files_give_clear_errors(trained):
    ev = checkpoints(trained)[0]
    header, weights = PE.export_checkpoint_file(trained / ev["path"], window_id=0)
    raw = PF.header_bytes(header)
    with pytest.raises(PF.PolicyFileError, match="weights are 1000 bytes"):
        PF.load_exported(raw, weights[:1000])
    with pytest.raises(PF.PolicyFileError, match="version 99 is not supported"):
        PF.load_exported(PF.header_bytes({**header, "version": 99}), weights)
    with pytest.raises(PF.PolicyFileError, match="not JSON"):
        PF.load_exported(raw[:50], weights)
    with pytest.raises(PF.PolicyFileError, match="missing"):
        PF.load_exported(raw, None)
    wrong = json.loads(raw)
    wrong["layers"][1]["in"] = 64
    with pytest.raises(PF.PolicyFileError, match="takes 64 inputs"):
        PF.load_exported(json.dumps(wrong).encode(), weights)
    wrong = json.loads(raw)
    wrong["n_actions"] = 70
    with pytest.raises(PF.PolicyFileError, match="not 70 action logits"):
        PF.load_exported(json.dumps(wrong).encode(), weights)


def test_site_build_writes_policies_once_and_lists_them(trained, tmp_path, observations):
    runs = tmp_path / "runs"
    shutil.copytree(trained, runs / trained.name, ignore=shutil.ignore_patterns("*.lock", "wandb"))
    out = tmp_path / "public"
    report = build_site(runs, out, docs=False)
    assert not report.problems, [str(p) for p in report.problems]
    index = json.loads((out / "data/runs.json").read_text())
    entry = index["runs"][0]
    catalog = json.loads((out / entry["policies_url"]).read_text())
    assert [p["window_id"] for p in catalog["policies"]] == [0, 1]
    for p in catalog["policies"]:
        assert p["status"] == "ok" and p["reason"] is None
        header = (out / p["header_url"]).read_bytes()
        weights = (out / p["weights_url"]).read_bytes()
        assert p["bytes"] == len(weights) == json.loads(header)["bytes"]
        assert (out / p["header_url"]).parent / json.loads(header)["weights_file"] == out / p["weights_url"]
        ev = next(e for e in checkpoints(trained) if e["window_id"] == p["window_id"])
        policy, _ = load_checkpoint(trained / ev["path"], ev["sha256"])
        got = PF.load_exported(header, weights).probs(observations[:200])
        assert np.abs(got - torch_probs(policy, observations[:200])).max() < 1e-5
    # a second build does not write them again (the key is the checkpoint's sha256) ...
    again = build_site(runs, out, docs=False)
    assert not [r for r in again.rendered if "/policies" in r], again.rendered
    # ... and a deleted output comes back
    (out / catalog["policies"][0]["weights_url"]).unlink()
    third = build_site(runs, out, docs=False)
    assert catalog["policies"][0]["weights_url"] in third.rendered
    # a checkpoint that no longer matches its sha256: listed with that status, no files, the build goes on
    ckpt = runs / trained.name / checkpoints(trained)[1]["path"]
    ckpt.write_bytes(ckpt.read_bytes()[:-10])
    bad = build_site(runs, out, docs=False, clean=True)
    catalog = json.loads((out / entry["policies_url"]).read_text())
    assert catalog["policies"][0]["status"] == "ok"
    assert catalog["policies"][1]["status"] == "sha_mismatch" and catalog["policies"][1]["header_url"] is None
    assert [(p.kind, p.window_id) for p in bad.problems] == [("sha_mismatch", 1)]  # a problem: --strict fails


def test_the_site_reaches_the_exporter_through_its_entry_point_and_keys_exports_by_its_source():
    """sitegen/policies.py imports no exporter (docs/design-choices.md, the site's import
    contract): it loads the prospector.hooks entry point, and its cache key is a digest of
    the format's module and the exporter's module file, so a changed exporter re-exports."""
    from prospector.sitegen import policies

    assert policies._exporter() is PE.policy_from_checkpoint
    digest = hashlib.sha256(Path(PF.__file__).read_bytes() + Path(PE.__file__).read_bytes()).hexdigest()[:16]
    assert policies.exporter_version() == digest


def test_the_exporter_hook_gives_one_line_problems_for_unusable_checkpoints(trained, tmp_path):
    ev = checkpoints(trained)[0]
    ids = {"name": ev["path"], "run_id": trained.name, "window_id": ev["window_id"]}
    header, weights, problem = PE.policy_from_checkpoint(trained / ev["path"], sha256=ev["sha256"], **ids)
    assert problem is None and header["supported"] and len(weights) == header["bytes"]
    for path, sha256, status in (
        (trained / ev["path"], "0" * 64, "sha_mismatch"),
        (tmp_path / "gone.pt", ev["sha256"], "missing_file"),
    ):
        header, weights, problem = PE.policy_from_checkpoint(path, sha256=sha256, **ids)
        assert (header, weights) == (None, None) and problem.startswith(f"{status}: checkpoint {ev['path']}")
        assert "\n" not in problem


def test_policy_files_are_cached_as_immutable():
    rules = json.loads((ROOT / "vercel.json").read_text())["headers"]
    policy_rules = [r for r in rules if "(policies|obs)/" in r["source"]]
    assert policy_rules and "immutable" in policy_rules[0]["headers"][0]["value"]
    catalog = [r for r in rules if "policies" in r["source"] and r not in policy_rules]
    assert catalog and "must-revalidate" in catalog[0]["headers"][0]["value"]


def test_replay_observations_are_rebuilt_and_checked(trained, tmp_path):
    replays = [e for e in read_events(trained) if e["type"] == "replay_recorded"]
    assert replays
    for ev in replays:
        header, frames = read_replay(trained / ev["path"])
        obs = replay_observations(header, frames)
        assert obs.shape == (len(frames), S.OBS_DIM) and obs.dtype == np.float32
        assert (decode_obs(encode_obs(obs)) == obs).all()
        # the recorded probabilities were computed on the state before each action
        policy, _ = load_checkpoint(
            trained / next(e for e in checkpoints(trained) if e["window_id"] == ev["window_id"])["path"]
        )
        probs = torch_probs(policy, obs[:-1])
        for t in range(1, len(frames)):
            assert [a for a, _ in frames[t]["probs"]] == list(np.argsort(-probs[t - 1], kind="stable")[:3])
        # a replay the game does not reproduce is refused
        frames[len(frames) // 2]["reward"] += 1e-9
        with pytest.raises(ValueError, match="does not reproduce"):
            replay_observations(header, frames)
    # the site build writes them once and lists them
    runs = tmp_path / "runs"
    shutil.copytree(trained, runs / trained.name, ignore=shutil.ignore_patterns("*.lock", "wandb"))
    out = tmp_path / "public"
    build_site(runs, out, docs=False)
    catalog = json.loads((out / f"data/runs/{trained.name}/policies.json").read_text())
    assert set(catalog["replay_obs"]) == {e["replay_id"] for e in replays}
    for ev in replays:
        entry = catalog["replay_obs"][ev["replay_id"]]
        header, frames = read_replay(trained / ev["path"])
        assert entry["status"] == "ok" and entry["frames"] == len(frames)
        assert (decode_obs((out / entry["url"]).read_bytes()) == replay_observations(header, frames)).all()
    again = build_site(runs, out, docs=False)
    assert not [r for r in again.rendered if "/obs/" in r]


def test_an_lstm_run_is_listed_as_unsupported_with_the_reason(tmp_path):
    run = train(tiny_config(tmp_path / "runs", windows=1, hidden_size=128, time_max=40, eval_episodes=1, policy="lstm"))
    out = tmp_path / "public"
    report = build_site(tmp_path / "runs", out, docs=False)
    assert not report.problems, [str(p) for p in report.problems]
    [entry] = json.loads((out / f"data/runs/{run.name}/policies.json").read_text())["policies"]
    assert entry["status"] == "unsupported" and "LSTM" in entry["reason"]
    assert entry["weights_url"] is None and entry["bytes"] is None
    header = json.loads((out / entry["header_url"]).read_text())
    assert header["supported"] is False and header["reason"] == entry["reason"]
    assert not list((out / f"data/runs/{run.name}/policies").glob("*.bin"))
