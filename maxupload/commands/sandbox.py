"""``maxupload sandbox``: run the local Max AI API sandbox with the demo clinic until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from maxupload.commands.argtypes import port
from maxupload.core.api.environments import is_loopback_host

if TYPE_CHECKING:  # the server is loaded only when this command runs, not for every command
    from maxupload.sandbox import SandboxConfig, SandboxServer

#: Start-up fault options: flag, Faults field (also the argparse dest), metavar, help.
_FAULT_OPTIONS = (
    ("--fail-ehr", "ehr_fail", "N", "502, image kept as pending_upload"),
    ("--error-500", "error_500", "N", "500 answers"),
    ("--latency-ms", "latency_ms", "MS", "delay every upload answer"),
    ("--drop-connection", "drop_connection", "N", "process, then hang up unanswered"),
    ("--drop-before-read", "drop_before_read", "N", "reset before reading the body"),
    ("--burst-429", "rate_limit_burst", "N", "429 for the next N API requests"),
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sandbox",
        help="run a local Max AI API sandbox with demo data (for trying MaxUpload and for tests)",
        description=(
            "Serve the Max AI API contract on this computer with a demo clinic. Prints the base "
            "URL, a demo key, the organization and note IDs, and an upload command to paste."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=0, help="port (default: any free port)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a host other than this computer (demo data only, no TLS)",
    )
    p.add_argument(
        "--rate-limit", type=int, default=1000, metavar="N", help="requests per window (1000)"
    )
    p.add_argument(
        "--rate-window", type=float, default=60.0, metavar="S", help="window in seconds (60)"
    )
    p.add_argument(
        "--status",
        choices=("synced", "pending_upload"),
        default="synced",
        help="status a successful upload answers with (synced)",
    )
    p.add_argument(
        "--url-ttl", type=int, default=3600, metavar="S", help="signed URL lifetime (3600)"
    )
    p.add_argument(
        "--max-upload-bytes",
        type=int,
        default=20_000_000,
        metavar="N",
        help="largest file accepted (20 MB)",
    )
    p.add_argument(
        "--write-labels",
        metavar="DIR",
        help="write a printable wristband label (PNG) for each demo patient into DIR and exit",
    )
    faults = p.add_argument_group("faults (each hits the next N uploads; -1 = every one)")
    for flag, field, metavar, text in _FAULT_OPTIONS:
        faults.add_argument(flag, dest=field, type=int, default=0, metavar=metavar, help=text)
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> SandboxConfig:
    from maxupload.sandbox import Faults, SandboxConfig

    return SandboxConfig(
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit,
        rate_window_s=args.rate_window,
        max_upload_bytes=args.max_upload_bytes,
        upload_status=args.status,
        url_ttl_s=args.url_ttl,
        faults=Faults(**{field: getattr(args, field) for _, field, _, _ in _FAULT_OPTIONS}),
    )


def command_name() -> str:
    """How to run this MaxUpload from this terminal: ``maxupload`` when it is on PATH,
    else the path of the program that is running (e.g. ``.venv/bin/maxupload``)."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    on_path = shutil.which("maxupload")
    if program is None or program.name != "maxupload" or not program.exists():
        return "maxupload" if on_path else f"{shlex.quote(sys.executable)} -m maxupload"
    if on_path and Path(on_path).resolve() == program.resolve():
        return "maxupload"
    try:
        shown = program.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = program.resolve()
    return shlex.quote(str(shown))


def banner(srv: SandboxServer) -> str:
    """What to paste: base URL, demo key, IDs and a ready upload command."""
    d = srv.demo
    readonly_note = "no write:notes; uploads answer 403"
    upload = (
        f"MAXUPLOAD_API_KEY={d.api_key} {command_name()} upload "
        f"--base-url {shlex.quote(srv.base_url)} --org {d.org_id} "
        f"--note {d.open_note_id} --provider {d.provider_id} photo.jpg"
    )
    lines = [
        "Max AI API sandbox (demo data only) is running.",
        f"  Base URL:        {srv.base_url}",
        f"  Demo key:        {d.api_key}",
        f"  Read-only key:   {d.readonly_key}  ({readonly_note})",
        f"  Organization:    {d.org_id}",
        f"  Open note:       {d.open_note_id}",
        f"  Signed note:     {d.signed_note_id}  (uploads answer 409)",
        f"  Provider:        {d.provider_id}",
        f"  Uploads so far:  {srv.root_url}/_sandbox/uploads",
        f"  Request log:     {srv.root_url}/_sandbox/requests",
        "",
        "Upload a photo to the demo note:",
        f"  {upload}",
        "",
        "Printable wristband labels of the demo patients (for the label check):",
        "  maxupload sandbox --write-labels DIR",
        "",
        "These keys are made fresh for this run and work only with this sandbox.",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def write_labels(folder: str) -> int:
    """``--write-labels DIR``: one label PNG per demo patient, for photographing or dropping."""
    try:
        from maxupload.sandbox.labels import write_demo_labels

        written = write_demo_labels(Path(folder))
    except OSError as exc:
        print(f"maxupload sandbox: cannot write the labels into {folder}: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    print(
        f"Wrote {len(written)} demo patient labels. Photograph one (or drop the PNG) with a "
        "batch for another patient and MaxUpload blocks it."
    )
    return 0


def run(args: argparse.Namespace) -> int:
    if args.write_labels:
        return write_labels(args.write_labels)
    if not is_loopback_host(args.host) and not args.allow_remote:
        print(
            f"maxupload sandbox: refusing to listen on {args.host}: other computers could reach "
            "it. Use --host 127.0.0.1, or add --allow-remote if that is what you want.",
            file=sys.stderr,
        )
        return 2
    try:
        config = build_config(args)
    except ValueError as exc:
        print(f"maxupload sandbox: {exc}", file=sys.stderr)
        return 2
    from maxupload.sandbox import SandboxServer

    srv = SandboxServer(config, echo=lambda line: print(line, flush=True))
    try:
        srv.start()
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        print(f"maxupload sandbox: cannot listen on {where}: {exc}", file=sys.stderr)
        return 1
    # The demo keys are made by this run and open only this loopback sandbox; the user needs
    # them to try an upload, so the banner deliberately bypasses the command line's key mask.
    raw_stdout = getattr(sys.stdout, "target", sys.stdout)
    print(banner(srv), file=raw_stdout, flush=True)
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):  # stdout may already be closed (e.g. piped to head)
            print("\nStopping the sandbox.", flush=True)
    finally:
        srv.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
