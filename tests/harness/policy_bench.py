"""The in-page policy: file sizes, JS-vs-torch parity and forward-pass time in Chromium
(a script, not a timed test; docs/benchmarks.md#the-agent-in-the-browser).

A real tiny training run (the default MLP, 128 wide, masked) gives the checkpoints; the
site build exports them; headless Chromium loads each window's files with
static/policy.js and runs it on observations from real play: the largest absolute
difference from torch's probabilities, and the time of one forward pass (probs() on one
observation, after a warm-up; timed in blocks of 50 passes, since Chromium coarsens
performance.now() to 0.1 ms), median and p99 over the blocks of several rounds.

    .venv/bin/python -m tests.harness.policy_bench [--obs 2000] [--rounds 5] [--hidden 128] [--work DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import torch
from prospector.pipeline.evaluator import load_checkpoint
from prospector.pipeline.store.log import read_events
from prospector.pipeline.trainer import train
from prospector.sitegen.build import build_site
from prospector.sitegen.serve import serve_in_thread

from .observations import real_observations
from .testing import launch_chromium, tiny_config

TIME_JS = """async ([src, url, rows, rounds]) => {
    const { load } = await import(src);
    const policy = await load(url);
    const obs = rows.map((o) => Float32Array.from(o));
    const probs = obs.map((o) => Array.from(policy.probs(o)));
    for (let i = 0; i < 500; i++) policy.probs(obs[i % obs.length]);      // warm-up (JIT)
    // Chromium coarsens performance.now() to 0.1 ms here: time blocks of 50 passes
    const perPass = [];
    for (let r = 0; r < rounds; r++) {
        for (let i = 0; i + 50 <= obs.length; i += 50) {
            const t0 = performance.now();
            for (let k = i; k < i + 50; k++) policy.probs(obs[k]);
            perPass.push((performance.now() - t0) / 50);
        }
    }
    return { probs, perPass };
}"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--obs", type=int, default=2000, help="observations from real play (default 2000)")
    ap.add_argument("--rounds", type=int, default=5, help="timing rounds over all observations (default 5)")
    ap.add_argument("--hidden", type=int, default=128, help="hidden size of the trained MLP (default 128)")
    ap.add_argument("--work", help="working directory (default: a temporary one)")
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="policy_bench_"))
    run = train(tiny_config(work / "runs", windows=2, hidden_size=args.hidden, time_max=40, eval_episodes=1))
    out = work / "public"
    report = build_site(work / "runs", out, docs=False)
    catalog = json.loads((out / f"data/runs/{run.name}/policies.json").read_text())
    obs = real_observations(args.obs, seed=11)
    server, base = serve_in_thread(out)
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_before": os.getloadavg(),
        "hidden": args.hidden,
        "observations": args.obs,
        "problems": [str(p) for p in report.problems],
        "windows": [],
    }
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page()
            page.goto(base + "/404.html")
            for entry in catalog["policies"]:
                ev = next(
                    e
                    for e in read_events(run).events
                    if e["type"] == "checkpoint_saved" and e["window_id"] == entry["window_id"]
                )
                policy, _ = load_checkpoint(run / ev["path"], ev["sha256"])
                with torch.no_grad():
                    want = torch.softmax(policy.forward_eval(torch.as_tensor(obs))[0], dim=-1).numpy()
                got = page.evaluate(
                    TIME_JS, [base + "/static/policy.js", f"{base}/{entry['header_url']}", obs.tolist(), args.rounds]
                )
                diff = np.abs(np.asarray(got["probs"]) - want)
                times = np.asarray(got["perPass"]) * 1000.0  # microseconds per pass, by blocks of 50
                weights = (out / entry["weights_url"]).read_bytes()
                header = (out / entry["header_url"]).read_bytes()
                result["windows"].append(
                    {
                        "window_id": entry["window_id"],
                        "weights_bytes": len(weights),
                        "header_bytes": len(header),
                        "weights_gzip_bytes": len(gzip.compress(weights, 6)),
                        "header_gzip_bytes": len(gzip.compress(header, 6)),
                        "parity_max_abs": float(diff.max()),
                        "parity_mean_abs": float(diff.mean()),
                        "argmax_agree": float((np.asarray(got["probs"]).argmax(1) == want.argmax(1)).mean()),
                        "forward_us_median": float(np.median(times)),
                        "forward_us_p99": float(np.percentile(times, 99)),
                        "forward_us_min": float(times.min()),
                        "timed_blocks_of_50": int(times.size),
                    }
                )
            browser.close()
    finally:
        server.shutdown()
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
