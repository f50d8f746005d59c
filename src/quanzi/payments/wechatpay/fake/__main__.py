"""Run the fake by hand: ``python -m quanzi.payments.wechatpay.fake --write-config DIR``.

Writes (or reuses) keys in DIR, prints the QUANZI_WECHATPAY_* variables that point Quanzi at the
fake, and serves until interrupted. Pay an order with
``curl -X POST http://HOST:PORT/_fake/orders/<out_trade_no>/pay``; the fake then sends the
notification to the order's notify_url.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import threading
from collections.abc import Sequence
from pathlib import Path

from quanzi.payments.wechatpay.fake.credentials import (
    DEFAULT_NOTIFY_URL,
    FakeCredentials,
    generate_credentials,
)
from quanzi.payments.wechatpay.fake.server import FakeWeChatPay

CREDENTIALS_FILE = "fake-credentials.json"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m quanzi.payments.wechatpay.fake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--write-config",
        metavar="DIR",
        type=Path,
        required=True,
        help="where the key files go; keys already there are reused",
    )
    parser.add_argument("--notify-url", default=DEFAULT_NOTIFY_URL)
    args = parser.parse_args(argv)

    credentials = load_or_create(args.write_config, notify_url=args.notify_url)
    fake = FakeWeChatPay(credentials, host=args.host, port=args.port).start()
    for name, value in environment(credentials, args.write_config, fake.url).items():
        print(f"export {name}={shlex.quote(value)}")
    print(f"# pay an order:    curl -X POST {fake.url}/_fake/orders/OUT_TRADE_NO/pay")
    print(f"# finish a refund: curl -X POST {fake.url}/_fake/refunds/OUT_REFUND_NO/complete")
    print(f"# see everything:  curl {fake.url}/_fake/state", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


def load_or_create(directory: Path, *, notify_url: str) -> FakeCredentials:
    """The credentials kept in ``directory``, made and written there the first time."""
    saved = directory / CREDENTIALS_FILE
    if saved.exists():
        credentials = FakeCredentials.from_json(saved.read_text(encoding="utf-8"))
    else:
        _, credentials = generate_credentials()
    credentials = dataclasses.replace(credentials, notify_url=notify_url)
    directory.mkdir(parents=True, exist_ok=True)
    _write_secret(saved, credentials.to_json())
    _write_secret(directory / "merchant_private_key.pem", credentials.merchant_private_key)
    (directory / "wechatpay_public_key.pem").write_text(
        credentials.platform_public_key, encoding="utf-8"
    )
    return credentials


def environment(credentials: FakeCredentials, directory: Path, url: str) -> dict[str, str]:
    prefix = "QUANZI_WECHATPAY_"
    return {
        prefix + "MCHID": credentials.mchid,
        prefix + "APPID": credentials.appid,
        prefix + "SERIAL_NO": credentials.merchant_serial_no,
        prefix + "PRIVATE_KEY_FILE": str((directory / "merchant_private_key.pem").resolve()),
        prefix + "APIV3_KEY": credentials.apiv3_key,
        prefix + "PUBLIC_KEY_FILE": str((directory / "wechatpay_public_key.pem").resolve()),
        prefix + "PUBLIC_KEY_ID": credentials.platform_public_key_id,
        prefix + "GATEWAY": url,
        prefix + "NOTIFY_URL": credentials.notify_url,
    }


def _write_secret(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


if __name__ == "__main__":
    main()
