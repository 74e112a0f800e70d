"""``maxupload key ...`` as a separate process against the real Secret Service (gnome-keyring in
the test D-Bus session), checked from outside with ``secret-tool``.

Run: ``bash scripts/test.sh tests/core/test_key_keyring.py``
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.core.api.environments import STAGING_URL
from maxupload.core.config.secrets import SERVICE_NAME
from tests.plugins.keyring_env import RealKeyring, run_maxupload

pytestmark = pytest.mark.keyring


@pytest.fixture
def org(real_keyring: RealKeyring) -> Iterator[str]:
    """An organization id no other test uses; its keyring items are removed afterwards."""
    org_id = f"org_{uuid.uuid4().hex}"
    yield org_id
    real_keyring.secret_tool(
        "clear", "service", SERVICE_NAME, "username", f"{STAGING_URL}|{org_id}"
    )


def test_set_status_delete_through_the_os_keyring(
    real_keyring: RealKeyring, org: str, app_home: Path
) -> None:
    key = "max_dev_ak_" + uuid.uuid4().hex + "Q7x"
    account = f"{STAGING_URL}|{org}"

    done = run_maxupload(app_home, "key", "set", "--org", org, "--env", "staging", stdin=key + "\n")
    assert done.returncode == 0, done.stderr
    assert "in SecretService Keyring" in done.stdout
    assert real_keyring.lookup(account, SERVICE_NAME) == key

    status = run_maxupload(app_home, "key", "status")
    assert status.returncode == 0, status.stderr
    assert "Key store:    SecretService Keyring" in status.stdout
    assert "Health:       ready" in status.stdout
    assert "Stored key:   yes, max_dev_ak_...Q7x" in status.stdout

    deleted = run_maxupload(app_home, "key", "delete")
    assert deleted.returncode == 0, deleted.stderr
    assert "Deleted the API key" in deleted.stdout
    assert real_keyring.lookup(account, SERVICE_NAME) is None

    after = run_maxupload(app_home, "key", "status")
    assert after.returncode == 1
    assert "Stored key:   no" in after.stdout

    everything = "".join(p.stdout + p.stderr for p in (done, status, deleted, after))
    assert key not in everything and key[11:] not in everything
    for path in app_home.rglob("*"):
        if path.is_file():
            assert key[11:] not in path.read_text(encoding="utf-8", errors="replace")
