"""The settings dialog keeps the key in the real OS keyring and tests the connection."""

from __future__ import annotations

from typing import Any

import pytest

from maxupload.core.config.secrets import SecretStore, account_name
from maxupload.core.config.settings import load_settings
from maxupload.gui.settings_dialog import SettingsDialog
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS


@pytest.mark.keyring
def test_settings_store_the_key_in_the_keyring_and_test_connection(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, real_keyring: Any
) -> None:
    store = SecretStore(service=real_keyring.service)
    ctx = make_app(key_store=store)
    window = ctx.window
    window.settings_action.trigger()  # Ctrl+,
    dialog: SettingsDialog = ctx.settings_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: "ready" in dialog.health.text().lower(), timeout=TIMEOUT_MS)
    assert "No key saved" in dialog.key_state.text()
    assert dialog.key.echoMode() == dialog.key.EchoMode.Password
    assert dialog.org.text() == sandbox.demo.org_id

    # A read-only key: the test names the missing write permission.
    dialog.key.setText(sandbox.demo.readonly_key)
    with qtbot.waitSignal(dialog.tested, timeout=TIMEOUT_MS) as tested:
        dialog.test_button.click()
    assert tested.args[0].missing_required == ("write:notes",)
    assert "write:notes" in dialog.test_result.text()

    # The full key: organization and scopes shown, then saved to the OS keyring.
    dialog.key.setText(sandbox.demo.api_key)
    with qtbot.waitSignal(dialog.tested, timeout=TIMEOUT_MS) as tested:
        dialog.test_button.click()
    assert tested.args[0].ok
    assert sandbox.demo.org_id in dialog.test_result.text()
    assert "write:notes" in dialog.test_result.text()
    with qtbot.waitSignal(dialog.saved, timeout=TIMEOUT_MS) as saved:
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert saved.args[0].key_persistent
    account = account_name(sandbox.base_url, sandbox.demo.org_id)
    assert real_keyring.lookup(account) == sandbox.demo.api_key
    assert dialog.key.text() == ""  # the key does not linger in the field
    # Settings in this test are not written to the settings file (persist=False)...
    assert load_settings().org_id == ""
    # ...but the window uses the saved key right away.
    window.target.search.setText("Rivera")
    window.target.run_search()
    qtbot.waitUntil(lambda: window.target.patients.count() > 0, timeout=TIMEOUT_MS)


def test_wrong_key_shows_the_reason_and_nothing_is_saved(
    qtbot: Any, make_app: Any, sandbox: SandboxServer
) -> None:
    ctx = make_app()
    ctx.open_settings()
    dialog: SettingsDialog = ctx.settings_dialog
    dialog.key.setText("max_dev_ak_" + "z" * 40)
    with qtbot.waitSignal(dialog.tested, timeout=TIMEOUT_MS) as tested:
        dialog.test_button.click()
    assert isinstance(tested.args[0], Exception)
    assert "did not accept the API key" in dialog.test_result.text()
    dialog.reject()
    assert ctx.key_store.get(sandbox.base_url, sandbox.demo.org_id) == sandbox.demo.api_key
