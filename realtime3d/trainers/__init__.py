"""Training (importable as realtime3d.trainers): one spine, one module per method.

- base.py: the spine. Method (models, losses, a step) and Trainer (data, schedules,
  logging, evaluation, checkpoints, resume, DDP, bf16); train() and open_run().
- config.py, configs/: experiments as TOML files, `--set` overrides, the method registry.
- sampling.py: seeded, sharded random streams and the 2D pose sampler.
- evaluation.py: validation (model selection) and cmu-test metrics (logged only).
- checkpoint.py, logs.py, distributed.py, plot.py: checkpoints and best.pt, CSV and
  TensorBoard, torchrun/DDP glue, curves to PNG.
- drover.py, baselines.py: the methods; losses.py: losses they share; common.py: the
  script form's flags.
"""
