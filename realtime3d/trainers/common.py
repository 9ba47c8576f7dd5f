"""Flags of the script form of a method: `python -m realtime3d.trainers.drover --width 64 --minutes 4`.

One --flag per key of the spine's TrainConfig and of the method's Config; the defaults
are the method's shipped config, and each flag becomes a `--set` override. Scripts
(benchmarks/bench_drover_stability.py) use this form; `realtime3d train CONFIG --set
...` is the command for people.
"""
from __future__ import annotations

import argparse
import dataclasses

from .config import SHIPPED, TRAIN_HELP, TrainConfig, load_experiment, method_class

#: One line of help per method config key, for the script flags and docs/training.md.
CONFIG_HELP = {
    "teacher": "the lifter to distil: a shipped model's name or the path of a lifter .pt",
    "width": "width of the residual blocks (chen-views: channels of the encoders' and decoders' first level)",
    "g_blocks": "residual blocks in the generator",
    "d_blocks": "residual blocks in the discriminator",
    "d_width": "discriminator width (drover: 0 = the same as width)",
    "blocks": "residual blocks in the lifting network",
    "lr": "Adam learning rate (peak of the cosine decay)",
    "lr_g": "generator Adam learning rate",
    "lr_d": "discriminator Adam learning rate",
    "betas": "Adam betas of both networks",
    "views": "drover: random projections of each generated pose per step; svmac: n, the angles (theta_0 = 0 included); "
             "chen: fixed random cameras per labelled pose (random-projection; fixed-camera: the clip's 4)",
    "label_smooth": "discriminator target for real poses is 1 - this",
    "r1_gamma": "weight of the R1 gradient penalty on real poses (0 = off)",
    "max_drop": "at most this many joints are hidden in a training pose",
    "drop_prob": "probability that a training pose has hidden joints",
    "fill_weight": "weight of the 2D loss on the predicted position of hidden joints",
    "mirror": "also train on the mirror image of every mocap pose (left and right swapped)",
    "composed_real": "draw the discriminator's real 2D poses through two composed random cameras",
    "train_elevation_max": "camera elevation range of the 2D training poses, 0 to this (degrees)",
    "fake_elevation_max": "elevation range of the random projection layer, 0 to this (degrees)",
    "bone_sym_weight": "weight of the left/right bone-length symmetry prior (0 = off)",
    "flat_init": "start the generator at the trivial baseline (zero depth offsets)",
    "ema": "decay of the exponential moving average of the generator's weights (0 = off)",
    "cycle_weight": "weight of the rotation-cycle consistency (skeleton-net: L_base of Omega's 2D through Lambda; 0 = off)",
    "elevation": "cycle: 'learned' (each pose's predicted elevation, new views from its batch normal) or "
                 "'fixed' (Drover's random projection layer)",
    "elevation_init_deg": "cycle: the learned elevation at the start (degrees; its sign picks the depth "
                          "orientation, see realtime3d/trainers/cycle.py)",
    "fixed_elevation_max": "cycle: with elevation = 'fixed', the new views' elevation is uniform in 0 to this (degrees)",
    "cycle_elevation_grad": "cycle: the cycle losses also train the elevation (false: only the flow prior does)",
    "cycle2d_weight": "cycle: weight of the 2D reprojection of the cycle, L_2d (eq. 5)",
    "cycle3d_weight": "cycle: weight of the 3D consistency of the re-lifted new view, L_3d (eq. 4)",
    "deform_weight": "cycle: weight of the pairwise deformation loss, L_def (eq. 6)",
    "flow_weight": "cycle, skeleton-net: weight of the 2D flow prior's NLL of the new views, L_NF (eq. 8; 0 = off, no fit)",
    "bone_weight": "cycle, skeleton-net: weight of the anthropometric relative bone-length prior, L_bl (eq. 10; 0 = off)",
    "pca_dim": "cycle, skeleton-net: PCA axes of the 2D poses that the flow prior models",
    "flow_steps": "cycle, skeleton-net: Adam steps of the flow prior's fit, made in the first training step",
    "shared_blocks": "svmac: residual blocks of the generator's shared trunk",
    "head_blocks": "svmac: residual blocks of the generator's pose path and of its camera path",
    "angle_max_deg": "svmac: the turn angles about the vertical are uniform in [-this, this] (degrees)",
    "adversarial": "svmac: train with the WGAN-GP critic (false: without it, Table 4's w/o Disc)",
    "n_critic": "svmac: critic steps per generator step",
    "gp_weight": "svmac: weight of the WGAN-GP gradient penalty (lambda_gp)",
    "angle_weight": "svmac: weight of the facing (depth-inversion) angle loss (lambda_1)",
    "camera_weight": "svmac: weight of the weak-camera and camera-equality losses (lambda_2)",
    "sym_weight": "svmac: weight of the left/right bone-length symmetry loss (lambda_3)",
    "relift_weight": "svmac: weight of the 3D consistency of the re-lifted turned views, L_3D (lambda_4)",
    "svmac_weight": "svmac: weight of the multi-angle mixed-reprojection consistency, L_svmac (lambda_5)",
    "phi_width": "skeleton-net: channels of Phi's first level (image -> skeleton image U-Net)",
    "phi_output": "skeleton-net: Phi's output, 'image' (a free skeleton image, the paper's) or 'keypoints' "
                  "(joint heatmaps rendered by kappa)",
    "omega_width": "skeleton-net: channels of Omega's first level (skeleton image -> 2D)",
    "decoder_width": "skeleton-net: channels of the conditional decoder's first level",
    "lifter": "skeleton-net: Lambda, the frozen rotation-cycle lifter (a shipped name or a lifter .pt)",
    "adv_weight": "skeleton-net: weight of Phi's adversarial loss against the skeleton-image discriminator (eq. 3)",
    "omega_weight": "skeleton-net: weight of Omega's loss on the prior's skeleton images (eq. 9, first term)",
    "kappa_weight": "skeleton-net: lambda of eq. 9, the weight of |kappa(y) - s|^2",
    "recon_weight": "skeleton-net: weight of the decoder's image reconstruction (0 = the paper's loss, no decoder)",
    "d_minibatch_std": "skeleton-net: the discriminator also sees the spread of its features over the batch "
                       "(against one skeleton drawn for every crop)",
    "init": "the weights to start from, a shipped name or a .pt (skeleton-net: a trained skeleton net, its decoder "
            "too; yang: the pretrained lifter, e.g. supervised)",
    "footage": "skeleton-net: a folder or file of your own unlabelled videos and photos to adapt to (realtime3d/trainers/footage.py)",
    "box_file": "skeleton-net: person boxes of the footage, CSV file,frame,cx,cy,side (empty: MediaPipe's 2D, framed)",
    "footage_share": "skeleton-net: share of each batch drawn from the footage (the rest: synthetic renders)",
    "equivariance_weight": "skeleton-net: weight of |Phi(T x) - T Phi(x)|^2 under random similarity warps T (0 = off)",
    "equivariance_on": "skeleton-net: what the equivariance term compares: 'image' (Phi's skeleton images) or "
                       "'keypoints' (Omega's 2D, which a blank or constant image cannot satisfy)",
    "recon_only_steps": "skeleton-net: first steps in which Phi and the decoder learn from the reconstruction alone",
    "prior_warmup": "skeleton-net: steps over which Phi's other terms (adversarial, kappa, through Lambda) then ramp up from 0",
    "render_share": "skeleton-net: share of the CMU train clips drawn as images (the others make the 2D prior)",
    "backgrounds": "skeleton-net: a folder of your photos for the renders' backgrounds (empty: procedural only)",
    "kernel_backend": "realtime3d.kernels backend of the rendered maps (skeleton-net: the skeleton images; yang: the "
                      "heatmaps and depth maps; chen-views, chen: the skeleton maps): auto, cpu, reference, triton",
    "adv": "yang: fine-tune against the multi-source discriminator (false: Table 2's Baseline, the pose loss alone)",
    "sources": "yang: the discriminator's information sources, comma-separated: pose (the 2D, the paper's image), "
               "map (heatmaps with depth maps), geo (the pairwise geometric descriptor)",
    "cls_weight": "yang: lambda of eq. 5, the weight of the generator's fooling loss L_cls beside L_pose",
    "map_size": "yang: side of the heatmaps and depth maps, pixels (a multiple of 4)",
    "map_sigma": "yang: sigma of the heatmaps' Gaussians, pixels",
    "map_channels": "yang: channels of the first convolution of the maps' embedding",
    "adv_batch": "yang: the discriminator's real samples per step, and as many fakes",
    "media": "yang: unlabelled photos and videos whose MediaPipe 2D are fakes (files or folders, comma-separated; "
             "empty: the shared media folder)",
    "media_cache": "yang: a JSON cache of the media's MediaPipe 2D, read when it matches the media (empty: detect "
                   "at the start); benchmarks/bench_yang.py writes runs/yang/media_2d.json",
    "media_share": "yang: share of the fakes from the media's 2D",
    "new_camera_share": "yang: share of the fakes from CMU train poses seen by new cameras (the rest: labelled views)",
    "new_elevation_deg": "yang: the new cameras' elevation range, degrees (the training views: 0-20)",
    "points": "chen-views: M, the 3D points of the latent G",
    "rc_weight": "chen-views: weight of the representation-consistency loss L_rc (eq. 3; 0 = two independent view "
                 "syntheses)",
    "elevation_max": "chen-views: both cameras' elevation range under random-projection, 0 to this (degrees)",
    "encoder": "chen: the frozen chen-views encoder, a shipped name (realtime3d/weights/encoders/) or a run's best.pt",
    "input": "chen: the regressor's input, 'latent' (G of the encoder: the chen lifter) or 'coords' (the 2D: "
             "the paper's Baseline#1)",
    "label_fraction": "chen: share of the CMU train poses whose 3D labels are read (a seeded subset)",
    "label_seed": "chen: the seed of the labelled subset",
    "holdout": "chen: share of the labelled poses held out to select the checkpoint (never trained on)",
    "hidden": "chen: units of Regression#1's hidden layer",
}


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def config_parser(config_cls, description: str, prog: str | None = None, defaults=None):
    """An argparse parser with one --flag per field of a config dataclass (tuples excepted);
    defaults from `defaults` (an instance) or the dataclass."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_config_flags(parser, config_cls, defaults)
    return parser


def add_config_flags(parser, config_cls, defaults=None, help_text=None) -> None:
    help_text = help_text or {**TRAIN_HELP, **CONFIG_HELP}
    for f in dataclasses.fields(config_cls):
        default = getattr(defaults, f.name) if defaults is not None else f.default
        kind = type(f.default)
        if kind is tuple:
            continue
        parser.add_argument("--" + f.name.replace("_", "-"), type=_parse_bool if kind is bool else kind,
                            default=None, help=f"{help_text.get(f.name, '')} (default: {default})".strip())


def script_main(method: str, argv=None) -> None:
    """Train the method's shipped config, with flags as overrides."""
    from .base import train

    base = load_experiment(SHIPPED[method])
    parser = argparse.ArgumentParser(prog=f"python -m realtime3d.trainers.{method_class(method).__module__.split('.')[-1]}",
                                     description=f"Train {method} (the shipped config {base.name}); "
                                     "every flag overrides one config key.")
    add_config_flags(parser, TrainConfig, base.train)
    add_config_flags(parser, method_class(method).Config, base.params)
    parser.add_argument("--run-dir", default=f"runs/{base.name}", help="folder for the run's files")
    parser.add_argument("--resume", nargs="?", const="last", metavar="CKPT",
                        help="go on from the run folder's last checkpoint, or from CKPT")
    args = vars(parser.parse_args(argv))
    train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
    overrides = [f"{'train' if k in train_keys else 'params'}.{k}={v}" for k, v in args.items()
                 if v is not None and k not in ("run_dir", "resume")]
    summary = train(load_experiment(SHIPPED[method], overrides), args["run_dir"], args["resume"])
    if summary["rank"] == 0:
        print(f"best {summary['criterion']} {summary['best_score']:.2f} after {summary['steps']} steps")


def config_table(config_cls, section: str) -> str:
    """The markdown table of a config dataclass's keys (docs/training.md "Config keys"; a test
    checks the docs hold it): key, script flag, default, meaning."""
    rows = ["| key | script flag | default | meaning |", "|---|---|---|---|"]
    help_text = {**TRAIN_HELP, **CONFIG_HELP}
    for f in dataclasses.fields(config_cls):
        flag = "-" if type(f.default) is tuple else f"`--{f.name.replace('_', '-')}`"
        rows.append(f"| `{section}.{f.name}` | {flag} | `{f.default}` | {help_text.get(f.name, '')} |")
    return "\n".join(rows)


def doc_tables() -> str:
    """Every config table of docs/training.md: [train], then each method's [params]."""
    from .config import METHODS
    parts = ["### [train]\n\n" + config_table(TrainConfig, "train")]
    parts += [f"### [params] of {name}\n\n" + config_table(method_class(name).Config, "params") for name in METHODS]
    return "\n\n".join(parts)


if __name__ == "__main__":
    print(doc_tables())
