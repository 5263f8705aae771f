"""``motionmap demo``: serve the artist preview page on this machine (loopback by default).

Example::

    motionmap demo --checkpoint runs/lpc/checkpoints/last.ckpt            # then open http://127.0.0.1:7860/
    motionmap demo --port 0                                               # any free port; the URL is printed
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from motionmap.commands.options import add_refine_steps


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "demo",
        help="serve a local web page to preview transfers (drop in a source and a target, download the result)",
        description=(
            "Serve the artist preview page: pick or drop in a source animation and a target character, watch source, "
            "target and result side by side, download the result (GIF, PNG sheet, zip of frames), or transfer a "
            "whole LPC sheet. Works offline; listens on loopback unless --host says otherwise."
        ),
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; another address, e.g. 0.0.0.0, "
                        "exposes it to the network and needs --allow-remote)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host: anyone who can reach it can use the page. Browsers must then "
                        "open it by the --host name (or, for 0.0.0.0, this machine's own name or address): other "
                        "Host names are refused (DNS rebinding)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860; 0 picks a free one and prints it)")
    p.add_argument("--checkpoint", type=Path, default=None, metavar="CKPT",
                   help="model checkpoint (default: the model shipped with motionmap)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    add_refine_steps(p)
    p.add_argument("--max-upload-mb", type=float, default=8.0, metavar="MB", help="largest upload accepted (default 8)")
    p.add_argument("--max-frames", type=int, default=64, metavar="N", help="most frames per animation (default 64)")
    # One CPU thread for the model by default: a 64x64 sprite gives torch's OpenMP pool too little work per op, and
    # on 2 busy cores (a browser animating the page, another job) 2 threads measured 1.1 s per 8-frame animation
    # against 0.022 s with 1 (best LPC checkpoint, median of 15; every waiting thread stalls each parallel op).
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="CPU threads for the model (default 1: fastest for sprites on a busy machine)")
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(func=run)
    return p


def _stop_on_sigterm() -> None:
    """Turn SIGTERM (a service manager, ``kill``) into the same clean stop as Ctrl+C: the temp folder is removed."""
    import signal
    import threading

    def stop(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def run(args: argparse.Namespace) -> int:
    from motionmap.web.config import DemoConfig, is_loopback
    from motionmap.web.server import make_server
    from motionmap.errors import MotionmapError
    from motionmap.core import is_device

    if not is_device(args.device, allow_auto=False):
        raise MotionmapError(f"--device {args.device!r}: use cpu or cuda")
    from motionmap.retarget import check_threads

    check_threads(args.threads, flag=True)
    import torch

    torch.set_num_threads(args.threads)  # this process is the demo: the setting is ours to make
    config = DemoConfig(
        host=args.host, port=args.port, checkpoint=args.checkpoint, device=args.device,
        refine_steps=args.refine_steps, threads=args.threads,
        max_upload_mb=args.max_upload_mb, max_frames=args.max_frames, quiet=not args.verbose,
        allow_remote=args.allow_remote,
    )
    server = make_server(config)
    _stop_on_sigterm()
    if not is_loopback(args.host):
        print(f"motionmap demo: warning: listening on {args.host}: anyone who can reach this machine can use the page",
              file=sys.stderr)
    print(f"motionmap demo: serving {server.url} (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("motionmap demo: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
