"""The run store: every run is an append-only event log from which everything else is
projected (docs/architecture.md#the-run-store).

It imports the game (``prospector``) and its storage libraries (pyarrow, zstandard, numpy, the
standard library) and nothing else: not torch, PufferLib or W&B, and no other module of
the pipeline. The trainer, the evaluator, ``prospector runs``, the benchmark, the sweep
and the site generator all read and write runs through it.

Reading order:

1. :mod:`.layout`: the run directory (``runs/{run_id}/``), run ids, paths stored
   relative to the run, durable writes (temp file, fsync, rename).
2. :mod:`.events`: the event types, each declared once (fields, kinds, docs row); the
   writer's validation, the reader's check and the docs' table come from them.
3. :mod:`.log`: ``events.jsonl``: the writer lock, the per-append lock, fsync, torn
   tails, and the reader that checks every line.
4. :mod:`.replays`: replay files (zstd JSON Lines): the one shape of a header and a frame.
5. :mod:`.projections`: ``metrics/windows.parquet`` and ``replay_index.sqlite``, rebuilt
   from the log at any time.
6. :mod:`.run`: :class:`~.run.Run`, the operations a run has and the views readers use.
7. :mod:`.sweeps`: a sweep's log (``runs/sweeps/{id}/``) folded into a record, its typed
   appends and the Constellation document.
8. :mod:`.policy_file`: the policy files the site's page runs (the export from a
   checkpoint, which needs torch, is pipeline/policy_export.py).

Public API: ``Run`` (``create``, ``resume``, ``open``, ``follow``, ``from_bytes``; views
``started``, ``train_config``, ``env_config``, ``windows``, ``window``, ``checkpoints``,
``last_checkpoint``, ``replays``, ``best_replay``, ``benchmarks``, ``eval_failures``,
``finished``, ``status``, ``resume_point``, ``checkpoint_bytes``; writes ``start``,
``resumed``, ``close_window``, ``close_recovered_window``, ``record_eval_failure``,
``finish``, and beside the trainer ``record_replay``, ``record_video``,
``record_benchmark``), ``StoreError``; the event classes of :mod:`.events`; from
:mod:`.log` the errors readers catch (``CorruptLogError``, ``RunLockedError``,
``EventLogWriteError``) and ``EventLog`` for logs that are not runs (a sweep's);
:mod:`.replays`' ``read_replay``, ``decode_replay``, ``make_header``, ``ReplayError``;
:mod:`.sweeps`' ``read_sweep``, ``append_event``, ``constellation``, ``SweepError``;
:mod:`.policy_file`'s ``load_exported``, ``check_header``, ``PolicyFileError``.
"""
