#!/usr/bin/env python3
"""Set-up and run in one step, on a machine that has only Python (>= 3.11) and pip.

    python3 dev.py demo     install what is missing, then run the demo hub on 127.0.0.1:8000
    python3 dev.py test     install what is missing, then run the whole test suite
    python3 dev.py check    ruff, mypy, the import contracts and the migrations check

Dependencies come from requirements.lock (exact versions and hashes) into .venv beside this
file; they are installed again only when the lock or pyproject.toml changes. Anything after the
subcommand goes to ``quanzi demo`` or to pytest (``python3 dev.py test -k ledger``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".quanzi-installed"


def say(text: str) -> None:
    print(f"[dev] {text}", flush=True)


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may be run by an older python3)
        sys.exit(f"[dev] Quanzi needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    say("installing dependencies from requirements.lock")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    subprocess.run([*pip, "--require-hashes", "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted + "\n")


def compile_messages() -> None:
    subprocess.run(
        [str(PYTHON), "-c", "from quanzi.i18n import compile_messages; compile_messages()"],
        check=True,
    )


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium; install it when we may, else they skip."""
    if os.environ.get("QUANZI_CHROMIUM") or Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("installing chromium for the browser tests (apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"], check=False, env=env
        )
    if not Path("/usr/bin/chromium").exists():
        say("chromium is not installed: the browser tests will be skipped")


def run_checks() -> int:
    checks = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports")],
        [str(BIN / "quanzi"), "manage", "makemigrations", "--check", "--dry-run"],
    ]
    failed = 0
    for check in checks:
        say(" ".join(Path(check[0]).name if i == 0 else a for i, a in enumerate(check)))
        failed += subprocess.run(check, check=False).returncode != 0
    return 1 if failed else 0


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test", "check"}:
        sys.exit("usage: python3 dev.py demo [quanzi demo options] | test [pytest options] | check")
    command, rest = sys.argv[1], sys.argv[2:]
    ensure_env()
    compile_messages()
    os.chdir(ROOT)
    if command == "demo":
        os.execv(str(BIN / "quanzi"), [str(BIN / "quanzi"), "demo", *rest])
    if command == "check":
        sys.exit(run_checks())
    ensure_chromium()
    os.execv(str(PYTHON), [str(PYTHON), "-m", "pytest", *rest])


if __name__ == "__main__":
    main()
