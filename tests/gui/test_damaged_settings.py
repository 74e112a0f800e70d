"""A damaged settings file is said in the window at start, naming the file: the window does not
quietly carry on with production defaults."""

from __future__ import annotations

from typing import Any

from maxupload.app import AppContext, MemoryKeyStore
from maxupload.core.config.settings import load_settings, settings_path
from tests.gui.conftest import close_app


def test_the_window_names_the_damaged_settings_file(qtbot: Any) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"base_url": "http://clinic.example/v3"}', encoding="utf-8")
    ctx = AppContext(settings=load_settings(), key_store=MemoryKeyStore(), persist_settings=False)
    try:
        ctx.start()
        qtbot.waitExposed(ctx.window)
        notice = ctx.window.notice
        assert notice.isVisible()
        assert str(path) in notice.text() and "damaged" in notice.text()
        assert "Open Settings" in notice.text()
    finally:
        close_app(ctx)
