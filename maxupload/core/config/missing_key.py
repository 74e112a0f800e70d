"""Why no API key could be found, in words that fit the cause.

"Run key set" is only the answer when no key is stored: a locked key store hides a stored key
(unlock it), and a computer without a key store cannot keep one (use MAXUPLOAD_API_KEY).
"""

from __future__ import annotations

from maxupload.core.config.secrets import ENV_API_KEY, SecretStore


def no_key_problem(base_url: str, org_id: str, store: SecretStore | None = None) -> tuple[str, str]:
    """The message and the next step for "no key for ``org_id`` at ``base_url``"."""
    health = (store or SecretStore()).health()
    where = f"organization {org_id} at {base_url}"
    if health.state == "locked":
        return (
            f"The API key for {where} cannot be read: the key store ({health.backend}) is locked.",
            "Unlock the key store, then run the command again (on Linux: open 'Passwords and "
            "Keys' and unlock the 'Login' keyring, or log out and back in; on macOS: unlock the "
            f"login keychain). For scripts, set {ENV_API_KEY} instead.",
        )
    if health.state == "missing":
        return (
            f"No API key for {where}, and there is no key store on this computer to keep one.",
            f"Set {ENV_API_KEY} for this session, or use a computer with a keyring "
            "(see 'maxupload key status').",
        )
    return (
        f"No API key for {where}.",
        f"Run 'maxupload key set --org {org_id}' (or set {ENV_API_KEY} for scripts).",
    )
