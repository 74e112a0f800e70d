"""``maxupload key set|status|delete|test``: the API key in the OS keyring, from the command line.

The key is read from a hidden prompt, or from standard input when it is not a terminal
(``printf %s "$KEY" | maxupload key set``), never from the command line, where it would stay
in the shell history. ``--org``/``--env`` default to the saved settings; only ``key set`` saves
them as the new defaults.

Exit codes: 0 done; 1 failed (no key, connection test failed); 2 bad input; 3 no secure key
store (the key was not saved, or cannot be deleted while the store is locked); 4 the key works
but something needs attention (missing permission, other organization).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TextIO

from maxupload.commands.managed_args import effective_settings
from maxupload.core.api.environments import environment_name, resolve_base_url
from maxupload.core.config.missing_key import no_key_problem
from maxupload.core.config.secrets import (
    ENV_API_KEY,
    ConnectionReport,
    KeyFormatError,
    KeyStoreError,
    SecretStore,
    check_connection,
    check_key_prefix,
    mask_key,
    normalize_key,
    resolve_api_key,
)
from maxupload.core.config.settings import (
    Settings,
    SettingsError,
    id_problem,
    is_allowed_base_url,
    require_intact,
    save_settings,
    settings_path,
)
from maxupload.core.errors import MaxUploadError
from maxupload.core.system.logsetup import (
    install_cli_redaction,
    looks_like_secret,
    redact,
    register_secret,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_STORE = 3
EXIT_WARNINGS = 4

_NEVER_ARGV = (
    "Never type the API key on the command line: it stays in your shell history. If you "
    "just did, consider generating a new key. Run 'maxupload key set' and paste the key at "
    'the hidden prompt, or pipe it in: printf %s "$KEY" | maxupload key set'
)


_EPILOG = """examples:
  maxupload key set --org ORG_ID --env staging   paste the key at the hidden prompt
  printf %s "$KEY" | maxupload key set --org ORG_ID
  maxupload key status
  maxupload key test

exit codes: 0 done, 1 failed or no key, 2 bad input, 3 no secure key store (not saved),
4 the key works but lacks a permission or answers for another organization
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "key",
        help="store, check, test or delete the API key (kept in the OS keyring)",
        description=(
            "The Max AI API key, kept in the operating system's keyring (one per environment "
            "and organization). --org and --env default to the saved settings; 'key set' "
            "saves them as the new defaults."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    actions = parser.add_subparsers(dest="key_action", metavar="ACTION")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--org", metavar="ID", help="organization id (default: saved setting)")
        sub.add_argument(
            "--env",
            metavar="ENV",
            help="production, staging or a base URL (default: saved setting)",
        )
        return sub

    set_parser = add(
        "set", "store the key: read from a hidden prompt, or from standard input if piped"
    )
    set_parser.add_argument(
        "--test", action="store_true", help="also test the connection with the key"
    )
    # Catch a key typed on the command line so argparse never echoes it back in an error.
    set_parser.add_argument("stray", nargs="*", help=argparse.SUPPRESS)
    set_parser.add_argument("--key", "--api-key", dest="argv_key", help=argparse.SUPPRESS)
    set_parser.set_defaults(func=run_set)
    add("status", "show the key store, its health, and whether a key is stored").set_defaults(
        func=run_status
    )
    add("delete", "delete the stored key").set_defaults(func=run_delete)
    add("test", "test the connection: organization and permissions of the key").set_defaults(
        func=run_test
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _err(text: str) -> None:
    print(redact(text), file=sys.stderr)


def _out(text: str) -> None:
    print(redact(text))


class _Target:
    """Environment and organization for one command, from the options or the settings."""

    def __init__(self, args: argparse.Namespace, settings: Settings) -> None:
        self.base_url = resolve_base_url(args.env) if args.env else settings.base_url
        self.org_id = (args.org or settings.org_id or "").strip()

    @property
    def label(self) -> str:
        return f"organization {self.org_id} on {environment_name(self.base_url)} ({self.base_url})"

    def problem(self) -> str | None:
        if not is_allowed_base_url(self.base_url):
            return (
                f"'{self.base_url}' is not a usable environment: give production, staging or "
                "an https:// URL (plain http only for this computer)."
            )
        if not self.org_id:
            return (
                "No organization: pass --org ID (your clinic's organization id, e.g. org_...), "
                "or save one with 'maxupload key set --org ID'."
            )
        if looks_like_secret(self.org_id):
            return f"--org looks like an API key, not an organization id. {_NEVER_ARGV}"
        problem = id_problem(self.org_id)
        if problem:
            return f"'{self.org_id}' is not an organization id ({problem})."
        return None


def _load(args: argparse.Namespace) -> tuple[Settings, _Target]:
    """Mask keys in all output, read the settings (saying what was wrong in them), pick a target."""
    install_cli_redaction()
    settings = effective_settings(args)
    if not args.env:
        require_intact(settings)  # a damaged file never points a key command at production
    for warning in settings.warnings:
        _err(f"Warning: {warning}")
    return settings, _Target(args, settings)


def _prepare(args: argparse.Namespace) -> tuple[Settings, _Target] | int:
    """The settings and a usable target, or EXIT_USAGE after saying what is wrong."""
    settings, target = _load(args)
    problem = target.problem()
    if problem:
        _err(problem)
        return EXIT_USAGE
    return settings, target


def _could_be_key(text: str) -> bool:
    """A stray argument that may be a key: never echo it back."""
    return looks_like_secret(text) or len(text) >= 16


def _read_key(target: _Target, stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass(f"API key for {target.label} (typing is hidden): ")
    return stdin.read()


def run_set(args: argparse.Namespace) -> int:
    install_cli_redaction()
    if args.argv_key or any(_could_be_key(a) for a in args.stray):
        _err(_NEVER_ARGV)
        return EXIT_USAGE
    if args.stray:
        _err(
            f"Unexpected argument(s): {' '.join(args.stray)}. Use --org ID and --env "
            "production|staging|URL; the key is asked for after you press Enter."
        )
        return EXIT_USAGE
    prepared = _prepare(args)
    if isinstance(prepared, int):
        return prepared
    settings, target = prepared
    try:
        key = normalize_key(_read_key(target, sys.stdin))
    except (EOFError, KeyboardInterrupt):
        _err("\nCancelled: nothing was saved.")
        return EXIT_FAILED
    except KeyFormatError as exc:
        _err(f"{exc} Nothing was saved. {exc.next_step}")
        return EXIT_USAGE
    warning = check_key_prefix(key, target.base_url)
    if warning:
        _err(f"Warning: {warning}")
    store = SecretStore()
    saved = store.set(target.base_url, target.org_id, key)
    code = EXIT_OK
    if saved:
        _out(f"Saved the API key {mask_key(key)} for {target.label} in {store.backend_name}.")
    else:
        _err(f"The API key was NOT saved. {store.health().message}")
        code = EXIT_NO_STORE
    _save_defaults(settings, target)
    if args.test:
        test_code = _connection_test(target, key)
        code = code if code != EXIT_OK else test_code
    return code


def _save_defaults(settings: Settings, target: _Target) -> None:
    if settings.base_url == target.base_url and settings.org_id == target.org_id:
        return
    if settings.damaged:  # writing defaults over it would lose what the user had set
        _err(
            f"Warning: {target.label} was not saved as the default: the settings file "
            f"{settings_path()} is damaged ({settings.damaged}). Fix or delete it, then run "
            "'maxupload key set' again."
        )
        return
    settings.base_url = target.base_url
    settings.org_id = target.org_id
    try:
        save_settings(settings)
    except (OSError, SettingsError) as exc:
        _err(f"Warning: could not save the organization and environment as defaults: {exc}")
        return
    _out(f"Default organization and environment are now {target.label}.")


def run_status(args: argparse.Namespace) -> int:
    _settings, target = _load(args)
    store = SecretStore()
    health = store.health()
    _out(f"Key store:    {store.backend_name}")
    _out(f"Health:       {health.state}: {health.message}")
    _out(f"Environment:  {environment_name(target.base_url)} ({target.base_url})")
    _out(f"Organization: {target.org_id or 'not set (use --org ID or maxupload key set)'}")
    problem = target.problem()
    if problem:
        _err(problem)
        return EXIT_USAGE
    stored = store.get(target.base_url, target.org_id) if health.ready else None
    if stored:
        _out(f"Stored key:   yes, {mask_key(stored)}")
        prefix_warning = check_key_prefix(stored, target.base_url)
        if prefix_warning:
            _err(f"Warning: {prefix_warning}")
    elif health.state == "locked":
        _out("Stored key:   unknown until the key store is unlocked")
    else:
        _out("Stored key:   no")
    env_key = os.environ.get(ENV_API_KEY, "").strip()
    if env_key:
        register_secret(env_key)
        _out(f"{ENV_API_KEY} is set ({mask_key(env_key)}) and is used instead of a stored key.")
        return EXIT_OK
    if stored:
        return EXIT_OK
    if health.state == "locked":
        _err(f"The stored key for {target.label} cannot be read: {health.message}")
    else:
        _err(f"No API key for {target.label}: run 'maxupload key set'.")
    return EXIT_FAILED


def run_delete(args: argparse.Namespace) -> int:
    prepared = _prepare(args)
    if isinstance(prepared, int):
        return prepared
    _settings, target = prepared
    store = SecretStore()
    health = store.health()
    if health.state == "missing":
        _err(f"No key store could be reached, so nothing was deleted. {health.message}")
        return EXIT_NO_STORE
    try:
        deleted = store.delete(target.base_url, target.org_id)
    except KeyStoreError as exc:
        _err(f"{exc} {exc.next_step}")
        return EXIT_NO_STORE
    if deleted:
        _out(f"Deleted the API key for {target.label} from {store.backend_name}.")
    else:
        _out(f"No API key was stored for {target.label}; nothing to delete.")
    return EXIT_OK


def run_test(args: argparse.Namespace) -> int:
    prepared = _prepare(args)
    if isinstance(prepared, int):
        return prepared
    _settings, target = prepared
    key = resolve_api_key(target.base_url, target.org_id)
    if not key:
        message, step = no_key_problem(target.base_url, target.org_id)
        _err(f"{message} {step}")
        return EXIT_FAILED
    return _connection_test(target, key)


def _connection_test(target: _Target, key: str) -> int:
    _out(f"Testing the key {mask_key(key)} with {target.label}...")
    try:
        report = check_connection(target.base_url, key, target.org_id)
    except MaxUploadError as exc:
        _err(f"Connection test failed: {exc}")
        _err(exc.next_step)
        return EXIT_FAILED
    return _print_report(report)


def _print_report(report: ConnectionReport) -> int:
    info = report.info
    _out("Connection OK.")
    _out(f"Organization: {info.organization_id or 'not reported'}")
    if info.app_id:
        _out(f"App:          {info.app_id}")
    _out(f"Permissions:  {', '.join(info.scopes) or 'none reported'}")
    for warning in report.warnings:
        _err(f"Warning: {warning}")
    if report.missing_helpful:
        _out(
            "Note: without "
            + ", ".join(f"'{s}'" for s in report.missing_helpful)
            + " you will need to type note ids instead of searching for patients or providers."
        )
    return EXIT_OK if report.ok else EXIT_WARNINGS
