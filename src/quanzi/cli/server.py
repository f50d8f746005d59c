"""``quanzi serve``: gunicorn (sync workers) in front of the Django app, the job worker beside it."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
from typing import Any

import click
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from quanzi.wsgi import application

        return application


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port"
            ) from None


def serve(*, host: str, port: int, workers: int | None, with_worker: bool) -> None:
    from quanzi.cli.setup import pending_migrations

    pending = pending_migrations()
    if pending:
        raise click.ClickException(
            f"the database needs {pending} migration(s); run 'quanzi migrate' first"
        )
    _check_port(host, port)
    count = (
        workers
        or int(os.environ.get("QUANZI_WORKERS", 0))
        or min(2 * multiprocessing.cpu_count() + 1, 9)
    )
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    # The migration check opened a connection in this process; gunicorn forks the workers from
    # it, and a connection shared by forked processes mixes up their transactions. Close it.
    from django.db import connections

    connections.close_all()
    jobs = None
    if with_worker:
        jobs = subprocess.Popen([sys.executable, "-m", "quanzi", "worker"])
    try:
        _Gunicorn(
            {
                "bind": bind,
                "workers": count,
                "worker_class": "sync",
                "timeout": 60,
                "graceful_timeout": 20,
                "max_requests": 5000,
                "max_requests_jitter": 500,
                "accesslog": "-",
                "errorlog": "-",
                "proc_name": "quanzi",
                # One hub per data folder may run beside another; no shared control socket.
                "control_socket_disable": True,
            }
        ).run()
    finally:
        if jobs is not None:
            jobs.terminate()
            try:
                jobs.wait(timeout=10)
            except subprocess.TimeoutExpired:
                jobs.kill()
