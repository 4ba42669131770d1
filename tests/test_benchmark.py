"""``prospector benchmark`` (pipeline/benchmark.py): a smoke run of the real command
(a handful of steps and seeds; the table's shape, the ``benchmark`` event, finite
numbers -- never the outcome), the seeds file, the statistics, the policy's action
mask and sampler, the throughput sweep's single point, the W&B table.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from prospector.pipeline import benchmark as B
from prospector.pipeline.store.log import EventLog, EventValidationError, read_events

from prospector import spec as S
from prospector.botbench import eval_seeds
from prospector.bots import BOT_NAMES
from prospector.cli import main

TINY_TOML = "envs = 32\nbptt_horizon = 16\nminibatch_size = 512\nhidden_size = 32\ntime_max = 400\neval_episodes = 1\n"
EPISODES = 6


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One real `prospector benchmark --json` run: training 2 tiny windows, then PPO and
    every bot on the first 6 committed seeds with a 300-tick budget."""
    root = tmp_path_factory.mktemp("bench")
    cfg = root / "tiny.toml"
    cfg.write_text(TINY_TOML)
    out = root / "out.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(
            [
                "benchmark",
                "--steps",
                "1024",
                "--config",
                str(cfg),
                "--episodes",
                str(EPISODES),
                "--eval-time-max",
                "300",
                "--runs-dir",
                str(root / "runs"),
                "--run-id",
                "smoke",
                "--no-wandb",
                "--json",
            ]
        )
    out.write_text(buf.getvalue())
    assert rc == 0
    return root / "runs" / "smoke", json.loads(buf.getvalue())


def finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def test_smoke_table_shape_and_numbers(smoke):
    run_dir, result = smoke
    rows = result["rows"]
    assert [r["policy"] for r in rows] == ["ppo", *BOT_NAMES]
    assert result["columns"] == [c[0] for c in B.COLUMNS]
    for row in rows:
        assert row["episodes"] == EPISODES
        for col in result["columns"]:
            lo, hi = row[col + "_ci95"]
            assert finite(row[col]) and finite(lo) and finite(hi), (row["policy"], col)
            assert lo <= row[col] + 1e-9 and row[col] <= hi + 1e-9, (row["policy"], col)
        assert 0 <= row["survival_rate"] <= 1
    assert set(result["ppo_beats"]) == set(BOT_NAMES)
    assert isinstance(result["ppo_beats_all_bots"], bool)
    assert result["episodes"] == EPISODES and result["time_max"] == 300
    assert result["seeds_sha256"] == B.seeds_digest(B.read_seeds()[:EPISODES])


def test_smoke_writes_one_benchmark_event(smoke):
    run_dir, result = smoke
    events = list(read_events(run_dir))
    bench = [e for e in events if e["type"] == "benchmark"]
    assert len(bench) == 1
    ev = bench[0]
    saved = [e for e in events if e["type"] == "checkpoint_saved"]
    assert ev["window_id"] == saved[-1]["window_id"] and ev["checkpoint"] == saved[-1]["path"]
    assert ev["env_steps_total"] == [e for e in events if e["type"] == "window_closed"][-1]["env_steps_total"]
    assert ev["rows"] == result["rows"]
    assert ev["seq"] > max(e["seq"] for e in events if e["type"] == "run_finished")


def test_text_table_has_a_line_per_policy(smoke):
    _, result = smoke
    text = B.format_table(result)
    lines = text.splitlines()
    for name in ["ppo", *BOT_NAMES]:
        assert sum(line.startswith(name + " ") for line in lines) == 1
    assert "bootstrap" in text and "seeded sampling" in text


def test_benchmark_existing_run_appends_again_and_is_deterministic(smoke, capsys):
    run_dir, first = smoke
    rc = main(
        [
            "benchmark",
            "--run",
            run_dir.name,
            "--runs-dir",
            str(run_dir.parent),
            "--episodes",
            str(EPISODES),
            "--eval-time-max",
            "300",
            "--bots",
            "random",
            "--no-wandb",
            "--json",
        ]
    )
    assert rc == 0
    again = json.loads(capsys.readouterr().out)
    assert [r["policy"] for r in again["rows"]] == ["ppo", "random"]
    for a, b in zip(again["rows"], first["rows"][:2]):  # same checkpoint, seeds, sampling seed
        assert {k: a[k] for k in again["columns"]} == {k: b[k] for k in first["columns"]}
    assert len([e for e in read_events(run_dir) if e["type"] == "benchmark"]) == 2


def test_cli_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "seeds.txt"
    bad.write_text("# nothing\n12\nnot-a-seed\n")
    assert main(["benchmark", "--run", "nope", "--runs-dir", str(tmp_path), "--no-wandb"]) == 2
    assert "no run 'nope'" in capsys.readouterr().err
    assert main(["benchmark", "--seeds", str(bad), "--run", "x", "--runs-dir", str(tmp_path)]) == 2
    assert "line 3" in capsys.readouterr().err
    assert main(["benchmark", "--bots", "nobody", "--run", "x"]) == 2
    assert "unknown bot" in capsys.readouterr().err


# ------------------------------------------------------------------ seeds and statistics


def test_committed_seeds_file_is_the_documented_list():
    seeds = B.read_seeds()
    assert len(seeds) == 1000 and len(set(seeds)) == 1000
    assert seeds == eval_seeds(1000, 0)
    assert B.SEEDS_FILE.read_text().startswith("#")


def test_read_seeds_rejects_bad_files(tmp_path):
    for text, why in (
        ("", "no seeds"),
        ("-1\n", "out of range"),
        (f"{2**64}\n", "out of range"),
        ("1.5\n", "not an integer"),
    ):
        p = tmp_path / "s.txt"
        p.write_text(text)
        with pytest.raises(B.BenchmarkError, match=why):
            B.read_seeds(p)
    with pytest.raises(B.BenchmarkError, match="cannot read"):
        B.read_seeds(tmp_path / "missing.txt")


def fake_infos(values, **extra):
    return [
        {
            "net_profit": v,
            "survival": 1.0,
            "profit_per_tick": v / 100,
            "overheat_ticks": 0.0,
            "pirate_encounters": 2.0,
            "end_reason": "timeout",
            "episode_length": 10,
            "time_remaining": 0,
            "episode_return": 1.0,
            **extra,
        }
        for v in values
    ]


def test_bootstrap_intervals_cover_the_statistic_and_are_reproducible():
    values = np.random.default_rng(3).normal(1000, 300, 400)
    row = B.bootstrap_rows(fake_infos(values))
    lo, hi = row["mean_net_profit_ci95"]
    assert lo < values.mean() < hi
    se = values.std(ddof=1) / math.sqrt(len(values))  # bootstrap ~ t interval here
    assert abs((hi - lo) - 2 * 1.96 * se) < 0.2 * 2 * 1.96 * se
    assert row == B.bootstrap_rows(fake_infos(values))
    assert row["pirate_encounters_mean_ci95"] == [2.0, 2.0]
    assert row["timeout_share"] == 1.0


# ------------------------------------------------------------------ event schema and W&B


def test_benchmark_event_schema(tmp_path):
    row = {"policy": "ppo", "kind": "ppo", "episodes": 3, "mean_net_profit": 1.0, "mean_net_profit_ci95": [0, 2]}
    base = {
        k: None
        for k in (
            "window_id",
            "checkpoint",
            "env_steps_total",
            "episodes",
            "time_max",
            "seeds_file",
            "seeds_sha256",
            "policy_eval",
            "ci_method",
            "ppo_beats_all_bots",
        )
    }
    base["window_id"] = 0
    with EventLog.open(tmp_path / "r") as log:
        log.append("benchmark", **base, columns=["mean_net_profit"], rows=[row])
        with pytest.raises(EventValidationError, match="missing payload keys"):
            log.append("benchmark", columns=["mean_net_profit"], rows=[row])
        with pytest.raises(EventValidationError, match="misses"):
            log.append("benchmark", **base, columns=["mean_net_profit", "survival_rate"], rows=[row])
        with pytest.raises(EventValidationError, match="interval"):
            log.append("benchmark", **base, columns=["mean_net_profit"], rows=[{**row, "mean_net_profit_ci95": [0]}])
        with pytest.raises(EventValidationError, match="non-empty"):
            log.append("benchmark", **base, columns=["mean_net_profit"], rows=[])


def test_wandb_sink_logs_the_table():
    from prospector.pipeline.wandb_sink import WandbSink

    logged, summary = [], {}

    class FakeRun:
        def __init__(self):
            self.summary = summary

        def log(self, values, **kw):
            logged.append(values)

    sink = WandbSink.__new__(WandbSink)
    sink.run = FakeRun()
    payload = {
        "columns": ["mean_net_profit"],
        "ppo_beats_all_bots": False,
        "rows": [
            {"policy": "ppo", "mean_net_profit": 5.0, "mean_net_profit_ci95": [4.0, 6.0]},
            {"policy": "random", "mean_net_profit": -1.0, "mean_net_profit_ci95": [-2.0, 0.0]},
        ],
    }
    sink.log_benchmark(payload)
    table = logged[0]["benchmark/table"]
    assert table.columns == ["policy", "mean_net_profit", "mean_net_profit_ci_low", "mean_net_profit_ci_high"]
    assert table.data == [["ppo", 5.0, 4.0, 6.0], ["random", -1.0, -2.0, 0.0]]
    assert summary["benchmark/random/mean_net_profit"] == -1.0
    assert summary["benchmark/ppo_beats_all_bots"] is False


# ------------------------------------------------------------------ policy: mask and sampler


def test_observation_mask_never_hides_a_valid_action():
    """Along bot-driven and random-valid trajectories, every action the env calls valid
    (CASH_OUT aside, which the mask never allows) is allowed by the observation mask."""
    from prospector.pipeline.policy import obs_action_mask

    from prospector.bots import make_bot
    from prospector.envs import ProspectorEnv

    rng = np.random.default_rng(0)
    checked = 0
    for seed in range(40):
        if checked >= 3000:
            break
        name = ("greedy_miner", "cautious_scanner", "market_timer")[seed % 3]
        env = ProspectorEnv(S.make_config())
        obs, _ = env.reset(seed=seed)
        bot = make_bot(name, 1, seed)
        for _ in range(1500):
            valid = env.action_mask()
            allowed = obs_action_mask(torch.as_tensor(obs)[None])[0].numpy()
            assert not allowed[S.A_CASH_OUT]
            valid[S.A_CASH_OUT] = False
            hidden = np.flatnonzero(valid & ~allowed)
            assert not len(hidden), [S.ACTION_NAMES[a] for a in hidden]
            checked += 1
            action = bot.act(obs)
            if rng.random() < 0.3:
                action = int(rng.choice(np.flatnonzero(valid)))
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
    assert checked >= 3000


def test_masked_policy_samples_only_allowed_actions():
    from prospector.pipeline.policy import make_policy, obs_action_mask, sample_logits

    from prospector.vector import VecProspector

    vec = VecProspector(64, seed=0)
    obs, _ = vec.reset()
    policy = make_policy("mlp", 32, None, action_mask=True)
    x = torch.as_tensor(obs)
    logits, _ = policy.forward_eval(x)
    action, logprob, entropy = sample_logits(logits)
    allowed = obs_action_mask(x)
    assert allowed[torch.arange(64), action.long()].all()
    assert torch.isfinite(logprob).all() and torch.isfinite(entropy).all()


# ------------------------------------------------------------------ throughput


def test_throughput_point_is_measured():
    from prospector.pipeline.throughput import format_point, measure

    point = measure(64, 1, 0.2, {"hidden_size": 32, "bptt_horizon": 16, "minibatch_size": 1024})
    assert point["steps"] >= 2 * 64 * 16 and point["sps"] > 0
    assert point["cpu_seconds"] > 0 and point["sps_per_cpu_second"] >= point["sps"] * 0.5
    for key in ("env_share", "policy_share", "learn_share"):
        assert 0 <= point[key] <= 1
    assert abs(point["env_share"] + point["policy_share"] + point["learn_share"] - 1) < 0.05
    assert "steps/s" in format_point(point)


def test_a_second_seed_list_says_how_it_was_made(tmp_path):
    # results are reported on a second seed list too (docs/results.md): its file must name
    # the list it holds, not the committed one's recipe
    path = B.write_seeds_file(tmp_path / "seeds2.txt", 5, 1)
    text = path.read_text()
    assert "eval_seeds(5, 1)" in text and "write_seeds_file(PATH, 5, 1)" in text
    assert "eval_seeds(1000, 0)" not in text
    assert B.read_seeds(path) == list(eval_seeds(5, 1))
