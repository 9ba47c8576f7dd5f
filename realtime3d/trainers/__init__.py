"""Training (importable as realtime3d.trainers): one spine, one module per method.

- base.py: the spine. Method (models, losses, a step) and Trainer (data, schedules,
  logging, evaluation, checkpoints, resume, DDP, bf16); train() and open_run().
- config.py, configs/: experiments as TOML files, `--set` overrides, the method registry, each
  key's help (dataclass field metadata) and the tables of docs/training.md.
- sampling.py: seeded, sharded random streams and the 2D pose sampler.
- evaluation.py: validation (model selection) and cmu-test metrics (logged only).
- checkpoint.py, logs.py, distributed.py, plot.py: checkpoints and best.pt, CSV and
  TensorBoard, torchrun/DDP glue, curves to PNG.
- the methods, one module each (config.METHODS): drover.py, baselines.py (supervised),
  distill.py, svmac.py, cycle.py (with flow_prior.py), skeleton_net.py (with footage.py),
  chen.py, chen_regression.py, yang.py; losses.py: losses they share. Their papers, recipes
  and verdicts: docs/methods.md.
"""
