"""Training pipeline: PufferLib trainer in windows, evaluator, event log and projections."""

import logging

# PufferLib imports torch.utils.cpp_extension, which warns "No CUDA runtime is found" on
# any machine with an nvcc but no GPU. The pipeline compiles no torch extensions, and
# `train --device cuda` says itself when there is no CUDA device (pipeline/cli.py).
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
