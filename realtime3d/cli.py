"""The `realtime3d` command: thin subcommands that parse flags and call the modules."""
from __future__ import annotations

import argparse
import json
import sys

from .io.bvh import BVHError
from .io.poses import PoseFileError


class CLIError(Exception):
    """An error to report as one line, with a non-zero exit code."""


def _cmd_models(args) -> int:
    from .lifting import DEFAULT_MODEL, available_models, model_card
    for name in available_models():
        card = model_card(name)
        note = " (default)" if name == DEFAULT_MODEL else ""
        p = card.get("cmu_test", {}).get("p_mpjpe_mm")
        score = f"  cmu-test P-MPJPE {p:.1f} mm" if p is not None else ""
        print(f"{name}{note}{score}  {card.get('description', '')}".rstrip())
    return 0


def _cmd_eval(args) -> int:
    import os

    from .evaluate import as_json, baselines, evaluate, format_table, load_dataset
    from .io._atomic import atomic_write_text
    from .lifting import MIN_VISIBLE_JOINTS, Lifter
    from .skeleton import H36M17

    most = H36M17.num_joints - MIN_VISIBLE_JOINTS
    if not 0 <= args.drop_joints <= most:
        raise CLIError(f"--drop-joints must be between 0 and {most}, got {args.drop_joints}")
    if args.json:  # fail before the work, not after it
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise CLIError(f"--json: cannot write into {folder}")
    model = Lifter.from_pretrained(args.model)
    data_name, seq = load_dataset(args.data)
    methods = {"model": model, **baselines()}
    result = evaluate(seq, methods, drop_joints=args.drop_joints, seed=args.seed)
    print(f"data {data_name}, model {model.name}, drop_joints {args.drop_joints}, seed {args.seed}")
    print(format_table(result, list(methods)))
    if args.json:
        atomic_write_text(args.json, json.dumps(as_json(result, model.name, data_name, args.drop_joints,
                                                        args.seed), indent=2) + "\n")
    return 0


def _cmd_train(args) -> int:
    if args.method == "drover":
        from .trainers.drover import main
    else:
        from .trainers.baselines import main
    main(args.rest)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="realtime3d", description="Live and offline 3D human skeletons "
                                     "from 2D poses; training and evaluation of lifting networks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("eval", help="score a lifter and the two baselines on 3D data",
                       description="Score a lifting model, the constant-depth baseline and the supervised "
                       "baseline on the same frames, per clip and overall.")
    p.add_argument("--data", required=True, metavar="FILE.npz|FILE.bvh|cmu-test",
                   help="a pose-sequence .npz file, a CMU-dialect .bvh file, or cmu-test "
                   "(the held-out CMU subjects 09, 13, 14)")
    p.add_argument("--model", default="drover", metavar="NAME|PATH",
                   help="a shipped model name (see `realtime3d models`) or a .pt checkpoint (default: drover)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    p.add_argument("--drop-joints", type=int, default=0, metavar="K",
                   help="hide K random joints per frame, to measure the cost of missing joints (default: 0)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of the random cameras and of the dropped joints (default: 0)")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("models", help="list the shipped models", description="List the shipped models.")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("train", help="train a lifter (drover or supervised)",
                       description="Train a lifter. Flags after the method go to its trainer; "
                       "see `realtime3d train drover --help`.")
    p.add_argument("method", choices=["drover", "supervised"], help="the training method")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the trainer's own flags")
    p.set_defaults(func=_cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, PoseFileError, BVHError, ValueError, FileNotFoundError, PermissionError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        print(f"realtime3d: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("realtime3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
