"""The ``bian animate`` subcommand's arguments (added to the CLI's parser by :mod:`bian.cli`)."""
from __future__ import annotations

import argparse

from .motions import DEFAULT, PRESETS


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("animate", help="make the faces of a still portrait blink, smile and look around",
                       description="Animate the faces of a photograph into a short video or GIF: blinks, a "
                       "smile, glances, a nod, breathing (presets, eased, seeded), or the motion of a face in a "
                       "driving video. Offline and CPU-only by default.")
    p.add_argument("photo", help="the portrait (PNG, JPEG, TIFF, WebP, BMP)")
    p.add_argument("-o", "--output", required=True, help="output .mp4/.mov/.mkv (H.264) or .gif")
    p.add_argument("--motion", metavar="LIST", default=None,
                   help=f"comma-separated presets from {','.join(PRESETS)}, or all (default {','.join(DEFAULT)})")
    p.add_argument("--driving", metavar="VIDEO", help="copy the motion of the face in this video instead")
    p.add_argument("--audio", action="store_true", help="keep the driving video's audio")
    p.add_argument("--duration", type=float, metavar="S", help="seconds (default 6, or the driving video's length)")
    p.add_argument("--fps", type=float, metavar="N", help="frames per second (default 25, or the driving video's)")
    p.add_argument("--gif", action="store_true", help="also write a GIF beside the video")
    p.add_argument("--face", type=int, metavar="N", help="animate only face N (0 = largest; default all faces)")
    p.add_argument("--seed", type=int, default=0, help="random variation of the presets (default 0)")
    p.add_argument("--strength", type=float, default=1.0, metavar="X", help="scale of the preset motions, 0-2")
    p.add_argument("--engine", choices=("auto", "offline", "neural"), default="auto",
                   help="offline landmark-driven warp (always available) or the neural Thin-Plate Spline Motion "
                   "Model (needs its weights and --driving); auto takes neural when both are there")
    p.add_argument("--restore", action="store_true", help="restore the photo's faces first (bian restore --faces)")
    p.add_argument("--crf", type=int, metavar="N", help="H.264 quality, lower is better (default 18)")
    p.add_argument("--face-detector", choices=("auto", "yunet", "dlib"), default="auto", help="face detector")
    return p


def run(args) -> dict:
    from .api import animate
    return animate(args.photo, args.output, motion=args.motion, driving=args.driving, duration=args.duration,
                   fps=args.fps, gif=args.gif, face=args.face, seed=args.seed, strength=args.strength,
                   engine=args.engine, audio=args.audio, restore=args.restore, crf=args.crf,
                   detector=args.face_detector, quiet=args.quiet)
