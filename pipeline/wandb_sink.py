"""Weights & Biases: one log per window, model / replay / replay-index artifacts.

Offline by default, so a run needs no account and no network; online when the user
is logged in (WANDB_API_KEY or a netrc entry) or sets WANDB_MODE.  Nothing in
training depends on W&B: with ``--no-wandb`` every method here does nothing.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path

PROJECT = "asteroid-prospector"


def logged_in() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        host = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai").split("//")[-1]
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_mode() -> str:
    return os.environ.get("WANDB_MODE") or ("online" if logged_in() else "offline")


class WandbSink:
    def __init__(self, cfg, run_dir: Path, run_id: str):
        self.run = None
        self.run_id = run_id
        self.url = None
        if not cfg.wandb:
            return
        import wandb

        os.environ.setdefault("WANDB_SILENT", "true")
        # Keep W&B's artifact staging inside the run, so an offline run is self-contained
        # (``wandb sync`` it later) and nothing lands in the user's home directory.
        os.environ.setdefault("WANDB_DATA_DIR", str(Path(run_dir) / "wandb" / "data"))
        self.run = wandb.init(
            project=PROJECT,
            name=run_id,
            id=run_id,
            group=cfg.experiment,
            config=cfg.to_dict(),
            dir=str(run_dir),
            mode=wandb_mode(),
            resume="allow",
            job_type="train",
            settings=wandb.Settings(console="off"),
        )
        if wandb_mode() == "online":
            self.url = self.run.url

    def log_window(self, row: dict) -> None:
        if self.run is None:
            return
        values = {f"window/{k}": v for k, v in row.items() if isinstance(v, (int, float)) and v is not None}
        self.run.log(values, step=int(row["env_steps_total"]))

    def log_checkpoint(self, path: Path, window_id: int, aliases=("latest",)) -> None:
        if self.run is None:
            return
        import wandb

        artifact = wandb.Artifact(f"model-{self.run_id}", type="model", metadata={"window_id": window_id})
        artifact.add_file(str(path))
        self.run.log_artifact(artifact, aliases=list(aliases))

    def log_replay(self, run_dir: Path, event: dict) -> None:
        if self.run is None:
            return
        import wandb

        name = f"replay-{self.run_id}-{event['window_id']}-{event['replay_id']}"
        artifact = wandb.Artifact(
            name,
            type="replay",
            metadata={k: event[k] for k in ("window_id", "replay_id", "tags", "seed", "return", "net_profit", "steps")},
        )
        artifact.add_file(str(run_dir / event["path"]))
        self.run.log_artifact(artifact, aliases=["latest"])
        if "best_so_far" in event["tags"]:
            from .store.layout import checkpoint_path

            ckpt = checkpoint_path(run_dir, event["window_id"])
            if ckpt.is_file():
                self.log_checkpoint(ckpt, event["window_id"], aliases=("best",))

    def log_video(self, run_dir: Path, event: dict) -> None:
        """A window's every_window replay as a W&B video (``train --wandb-video``), under
        ``replay/video`` at the window's step, the window and replay in the caption."""
        if self.run is None:
            return
        import wandb

        caption = f"window {event['window_id']} · replay {event['replay_id']}"
        self.run.log(
            {
                "replay/video": wandb.Video(str(run_dir / event["path"]), caption=caption, format="mp4"),
                "replay/video_window": event["window_id"],
            }
        )

    def log_benchmark(self, payload: dict) -> None:
        """The benchmark table (``prospector benchmark``) as a W&B table plus summary values."""
        if self.run is None:
            return
        import wandb

        columns = ["policy"] + [k for c in payload["columns"] for k in (c, c + "_ci_low", c + "_ci_high")]
        table = wandb.Table(columns=columns)
        for row in payload["rows"]:
            table.add_data(
                row["policy"],
                *[v for c in payload["columns"] for v in (row[c], row[c + "_ci95"][0], row[c + "_ci95"][1])],
            )
        self.run.log({"benchmark/table": table})
        for row in payload["rows"]:
            for c in payload["columns"]:
                self.run.summary[f"benchmark/{row['policy']}/{c}"] = row[c]
        self.run.summary["benchmark/ppo_beats_all_bots"] = payload["ppo_beats_all_bots"]

    def finish(self, run_dir: Path) -> None:
        if self.run is None:
            return
        import wandb

        index = run_dir / "replay_index.sqlite"
        if index.is_file():
            artifact = wandb.Artifact(f"replay_index-{self.run_id}", type="replay_index")
            artifact.add_file(str(index))
            self.run.log_artifact(artifact, aliases=["latest"])
        self.run.finish()
        self.run = None
