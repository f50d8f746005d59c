"""The ``quanzi`` command prints refusals in English unless QUANZI_LANGUAGE asks otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

from quanzi.cli import main
from quanzi.communities.services.setup import community_create


def quanzi(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "QUANZI_LANGUAGE", "LANG", "LANGUAGE", "LC_ALL"}
    }
    environ.update(QUANZI_HOME=str(home), LANG="zh_CN.UTF-8", **env)
    return subprocess.run(
        [sys.executable, "-m", "quanzi", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("home")
    assert quanzi("migrate", home=folder).returncode == 0
    created = quanzi("community", "create", "english", "--name", "英语学习圈", home=folder)
    assert created.returncode == 0, created.stderr
    return folder


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "A community with slug 'english' exists already."),
        ("fr", "A community with slug 'english' exists already."),
        ("zh-CN", "链接短名为 'english' 的社群已存在。"),
        ("zh_Hans", "链接短名为 'english' 的社群已存在。"),
        ("ko", "링크용 짧은 이름이 'english'인 커뮤니티가 이미 있습니다."),
    ],
)
def test_a_refusal_is_english_unless_quanzi_language_says_otherwise(
    home: Path, language: str | None, message: str
) -> None:
    env = {"QUANZI_LANGUAGE": language} if language else {}

    again = quanzi("community", "create", "english", "--name", "Again", home=home, **env)

    assert (again.returncode, again.stderr) == (1, f"quanzi: {message}\n")


def test_in_process_the_cli_speaks_english_whatever_was_active(
    capsys: pytest.CaptureFixture[str], db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUANZI_LANGUAGE", raising=False)
    community_create(slug="english", name="英语学习圈", kind="resource")

    with translation.override("zh-hans"), pytest.raises(SystemExit) as ended:
        main(["community", "create", "english", "--name", "Again"])

    assert ended.value.code == 1
    assert capsys.readouterr().err == "quanzi: A community with slug 'english' exists already.\n"
