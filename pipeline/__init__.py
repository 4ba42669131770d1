"""Training pipeline: PufferLib trainer in windows, evaluator, event log and projections."""
