from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _compiled_messages() -> None:
    """Translations are compiled at install; compile here too so a fresh checkout's tests see them."""
    from quanzi.i18n import compile_messages

    compile_messages()
