"""The ``quanzi`` command as an operator uses it: real processes on a fresh data folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from quanzi.cli import main


def quanzi(
    *args: str, home: Path, timeout: int = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environ.update(QUANZI_HOME=str(home), **env)
    return subprocess.run(
        [sys.executable, "-m", "quanzi", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def demo_first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One demo set-up shared by the module's tests (it takes a while): its folder and output."""
    home = tmp_path_factory.mktemp("home")
    first = quanzi("demo", "--no-serve", home=home)
    assert first.returncode == 0, first.stderr
    assert "Sign in as demo / " in first.stdout
    return home, first.stdout


@pytest.fixture(scope="module")
def demo_home(demo_first_run: tuple[Path, str]) -> Path:
    return demo_first_run[0]


def test_help_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "quanzi", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for command in ("demo", "serve", "worker", "migrate", "createoperator", "token", "manage"):
        assert f"  {command}" in result.stdout


def test_unknown_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = quanzi("demo", "--bogus", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "quanzi: No such option '--bogus'. Did you mean '--host'? (see 'quanzi demo --help')"
    ]


def test_malformed_database_url_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = quanzi("migrate", home=tmp_path, DATABASE_URL="postgres//nohost")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("quanzi: configuration: DATABASE_URL")
    assert "Traceback" not in result.stderr


def test_demo_creates_database_in_data_folder_and_second_run_keeps_data(demo_home: Path) -> None:
    assert (demo_home / "quanzi.sqlite3").exists()
    assert (demo_home / "secret_key").stat().st_mode & 0o777 == 0o600

    again = quanzi("demo", "--no-serve", home=demo_home)

    assert again.returncode == 0, again.stderr
    assert "Sign in as" not in again.stdout  # the password is shown once only
    assert "Operator 'demo' exists" in again.stdout
    count = quanzi(
        "manage",
        "shell",
        "-c",
        "from quanzi.members.models import Member; print(Member.objects.count())",
        home=demo_home,
    )
    assert int(count.stdout.strip().splitlines()[-1]) == 740


def test_demo_password_signs_in_to_console(demo_first_run: tuple[Path, str]) -> None:
    home, stdout = demo_first_run
    password = stdout.split("Sign in as demo / ")[1].split()[0]
    check = quanzi(
        "manage",
        "shell",
        "-c",
        f"from django.contrib.auth import authenticate; print(authenticate(username='demo', password='{password}') is not None)",
        home=home,
    )
    assert check.stdout.strip().splitlines()[-1] == "True"


def test_serve_answers_health_and_stops_on_sigterm(demo_home: Path) -> None:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environ["QUANZI_HOME"] = str(demo_home)
    server = subprocess.Popen(
        [sys.executable, "-m", "quanzi", "serve", "--port", str(port), "--workers", "2"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/health", timeout=2
                ) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.1)
        assert body == {"status": "ok", "database": "sqlite", "version": "0.1.0"}

        busy = quanzi("serve", "--port", str(port), home=demo_home)
        assert busy.returncode == 1
        assert busy.stderr.strip().splitlines() == [
            f"quanzi: cannot listen on 127.0.0.1:{port} (Address already in use); pass another --port"
        ]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0


def test_serve_refuses_unmigrated_database(tmp_path: Path) -> None:
    result = quanzi("serve", "--port", str(free_port()), home=tmp_path)
    assert result.returncode == 1
    assert "run 'quanzi migrate' first" in result.stderr


def test_worker_once_runs_due_jobs_and_unknown_job_is_refused(demo_home: Path) -> None:
    once = quanzi("worker", "--once", home=demo_home)
    assert once.returncode == 0, once.stderr
    unknown = quanzi("worker", "--run", "nope", home=demo_home)
    assert unknown.returncode == 1
    (line,) = unknown.stderr.strip().splitlines()
    assert line.startswith("quanzi: No job named 'nope'; known jobs: ")
    assert "core.ledger_verify" in line
    verify = quanzi("worker", "--run", "core.ledger_verify", home=demo_home)
    assert verify.returncode == 0
    assert verify.stdout.strip() == "core.ledger_verify: done - ledger consistent"


def test_production_profile_passes_deploy_check(tmp_path: Path) -> None:
    result = quanzi(
        "manage",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        home=tmp_path,
        QUANZI_PROFILE="production",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_local_profile_is_flagged_by_deploy_check(tmp_path: Path) -> None:
    result = quanzi("manage", "check", "--deploy", "--fail-level", "WARNING", home=tmp_path)
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stderr + result.stdout


@pytest.mark.django_db
def test_createoperator_then_token_create_gives_a_working_token(capsys, client) -> None:
    with pytest.raises(SystemExit) as created:
        main(["createoperator", "lin"])
    assert created.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("Operator lin created.\nPassword (shown once): ")

    with pytest.raises(SystemExit) as duplicate:
        main(["createoperator", "lin"])
    assert duplicate.value.code == 1
    assert capsys.readouterr().err == "quanzi: An operator named 'lin' exists already.\n"

    with pytest.raises(SystemExit) as issued:
        main(["token", "create", "lin", "--name", "excel-sync"])
    assert issued.value.code == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("qz_")

    ok = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
    wrong = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}x"})
    assert ok.status_code == 200
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"


@pytest.mark.django_db
def test_token_for_unknown_operator_is_refused(capsys) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["token", "create", "ghost"])
    assert refused.value.code == 1
    assert capsys.readouterr().err == "quanzi: No active operator named 'ghost'.\n"
