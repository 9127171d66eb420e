"""The `bian` command. Thin: parses arguments, calls the API, prints one line per error.

Flags of the restore stages are generated from the options each stage module declares.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .errors import BianError, OptionError
from .media.sequence import output_name
from .pipeline import plan as plan_module
from .pipeline.options import Option

COMMANDS = ("restore", "demo", "serve", "animate")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other bian error."""

    def error(self, message):
        raise OptionError(message, hint=f"see `{self.prog} --help`")


def _add_option(group, option: Option) -> None:
    names = [option.short, option.flag] if option.short else [option.flag]
    if option.is_flag:
        group.add_argument(*names, dest=option.name, action="store_true", default=None, help=option.help)
    else:
        group.add_argument(*names, dest=option.name, default=None, metavar=option.metavar,
                           choices=option.choices, nargs="+" if option.many else None, help=option.help)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bian", description="Bring old photographs and film back to life.",
                     epilog="Run `bian restore --help` for the restore options.")
    parser.add_argument("--version", action="version", version=f"bian {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    restore = sub.add_parser("restore", help="restore images, videos or folders",
                             description="Restore an image, a video or a folder of them. A stopped run "
                             "resumes when the same command is run again.")
    restore.add_argument("inputs", nargs="*", metavar="INPUT", help="image, video or folder")
    restore.add_argument("-i", "--input", dest="more_inputs", action="append", default=[], metavar="INPUT",
                         help="input (may be repeated; same as a positional INPUT)")
    restore.add_argument("-o", "--output", required=True, help="output file, or folder for several inputs")
    _add_common(restore)
    restore.add_argument("--fresh", action="store_true", help="ignore earlier unfinished work and start over")
    restore.add_argument("--plan", action="store_true", help="print the plan (stages, encoder) and exit")
    restore.add_argument("--summary", metavar="FILE", help="also write the JSON run summary to FILE")
    scale = restore.add_argument_group("cluster (docs/SCALE.md)")
    scale.add_argument("--executor", choices=("local", "ray"), default="local", help="local (this process, "
                       "default) or ray: all inputs as one job on a Ray cluster, one task per segment")
    scale.add_argument("--address", metavar="ADDR", help="Ray cluster: auto, host:port or ray://host:port "
                       "(default: $RAY_ADDRESS, else a Ray started on this machine)")
    scale.add_argument("--task-cpus", type=float, default=1.0, metavar="N", help="CPUs each Ray task reserves "
                       "(default 1)")
    scale.add_argument("--task-gpus", type=float, metavar="N", help="GPUs each Ray task reserves (default 1 "
                       "when the cluster has GPUs, else 0; 0.5 runs two tasks per GPU)")
    general = restore.add_argument_group("output")
    for option in plan_module.GENERAL_OPTIONS:
        _add_option(general, option)
    for module in plan_module.STAGE_MODULES:
        group = restore.add_argument_group(module.__name__.rsplit(".", 1)[-1])
        for option in module.OPTIONS:
            _add_option(group, option)

    demo = sub.add_parser("demo", help="age a real photograph into an old film, restore it, show before/after",
                          description="Makes an 'old film' from a photograph shipped with scikit-image "
                          "(grain, dust, scratches, flicker, gate weave), restores it with bian's "
                          "default chain, and writes the restored video and a before/after still.")
    demo.add_argument("-o", "--output", default="demo-out", help="folder for the results (default demo-out)")
    demo.add_argument("--seconds", type=float, default=4.0, help="length of the film (default 4)")
    _add_common(demo)

    from .animate.cli import add_parser as add_animate_parser
    _add_common(add_animate_parser(sub))

    serve = sub.add_parser("serve", help="the web UI: restore and animate in the browser",
                           description="Serve the web UI (needs `pip install bian[web]`). Jobs run one at a "
                           "time, live in folders under --data and resume after a restart.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this "
                       "machine only)")
    serve.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    serve.add_argument("--data", metavar="DIR", help="folder for jobs (default ~/.local/share/bian/web)")
    serve.add_argument("--max-upload", type=float, default=1024, metavar="MB", help="largest upload accepted, "
                       "in MB (default 1024)")
    serve.add_argument("--jobs", type=int, default=1, metavar="N", help="jobs run at the same time (default 1)")
    serve.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def _add_common(parser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        argv.insert(0, "restore")  # `bian -i in.mp4 -o out.mp4` means restore
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        if args.command == "serve":
            from .web import serve
            serve(args.host, args.port, args.data and Path(args.data), args.max_upload, args.jobs)
            return 0
        if args.command == "animate":
            from .animate.cli import run as run_animate
            summary = run_animate(args)
        elif args.command == "demo":
            from .demo import run_demo
            summary = run_demo(Path(args.output), seconds=args.seconds, quiet=args.quiet)
        else:
            summary = _restore(args)
        if summary is not None:
            print(json.dumps(summary, default=str))
        return 0
    except BianError as exc:
        if debug:
            raise
        print(f"bian: error: {exc.line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nbian: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  (one line for the user; --debug shows the traceback)
        if debug:
            raise
        print(f"bian: internal error: {type(exc).__name__}: {exc} (rerun with --debug and report it)",
              file=sys.stderr)
        return 70


def _restore(args) -> dict | None:
    from . import api

    inputs = [Path(p) for p in args.inputs + args.more_inputs]
    if not inputs:
        raise OptionError("no input given", hint="bian restore INPUT -o OUTPUT")
    output = Path(args.output)
    names = {o.name for o in plan_module.all_options()}
    options = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.plan:
        target = output / output_name(inputs[0]) if output.is_dir() else output
        return api.plan(inputs[0], target, **options).describe()
    summary = api.restore(inputs if len(inputs) > 1 else inputs[0], output, fresh=args.fresh, quiet=args.quiet,
                          executor=args.executor, address=args.address, task_cpus=args.task_cpus,
                          task_gpus=args.task_gpus, **options)
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary, indent=1, default=str))
    return summary


if __name__ == "__main__":
    sys.exit(main())
