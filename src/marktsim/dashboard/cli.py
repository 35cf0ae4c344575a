"""``marktsim-dashboard``: serve the dashboard with Solara on this machine (127.0.0.1 by default)."""

from __future__ import annotations

import argparse
import os
import sys

from marktsim.extras import MissingExtra, require


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="marktsim-dashboard", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--lang", choices=["de", "en"], default="en", help="language at start (switchable on the page)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port}: allowed: 1 to 65535")
    try:
        require("dashboard", "marktsim-dashboard")
    except MissingExtra as exc:
        print(f"marktsim-dashboard: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    os.environ["MARKTSIM_LANG"] = args.lang
    command = [sys.executable, "-m", "solara", "run", "marktsim.dashboard.app", "--host", args.host,
               "--port", str(args.port), "--production", "--no-open",
               "--no-check-version"]  # Solara's upgrade advice would break the pinned, offline page
    print(f"marktsim-dashboard: http://{args.host}:{args.port}/", flush=True)
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
