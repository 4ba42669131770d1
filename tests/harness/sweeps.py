"""The tiny search space of the sweep tests (tests/test_sweep.py, tests/test_sweep_site.py):
PufferLib's Random over three settings of a tiny config, trials of two 1,024-step windows."""

TINY_SPACE = """\
[sweep]
method = "Random"
trials = {trials}
trial_steps = 2048
windows = 2
parallel = 1
validation_episodes = 4
validation_time_max = 300
early_stop = false

[base]
envs = 32
workers = 1
backend = "serial"
bptt_horizon = 16
minibatch_size = 512
time_max = 1000
eval_episodes = 1

[space.learning_rate]
distribution = "log_normal"
min = 0.0003
max = 0.03

[space.gamma]
distribution = "logit_normal"
min = 0.9
max = 0.999

[space.policy]
values = ["mlp", "lstm"]
"""
