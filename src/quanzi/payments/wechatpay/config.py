"""The merchant's WeChat Pay credentials, in "platform public key" mode (微信支付公钥).

In that mode WeChat signs its responses and notifications with one RSA key whose public half the
merchant downloads once, named by an id like ``PUB_KEY_ID_0114...``; no platform certificates are
fetched or rotated. Read from the environment, key material from files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from quanzi.core.errors import ApplicationError
from quanzi.payments.wechatpay.signing import load_private_key, load_public_key

DEFAULT_GATEWAY = "https://api.mch.weixin.qq.com"
ENV_PREFIX = "QUANZI_WECHATPAY_"


class WeChatPayConfigError(ApplicationError):
    code = "wechatpay_config_invalid"
    status = 500


@dataclass(frozen=True, slots=True)
class WeChatPayConfig:
    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_private_key: str = field(repr=False)
    apiv3_key: str = field(repr=False)
    platform_public_key: str = field(repr=False)
    platform_public_key_id: str
    notify_url: str
    gateway: str = DEFAULT_GATEWAY

    def __post_init__(self) -> None:
        for name in (
            "mchid",
            "appid",
            "merchant_serial_no",
            "merchant_private_key",
            "platform_public_key",
            "platform_public_key_id",
            "notify_url",
            "gateway",
        ):
            if not getattr(self, name):
                raise WeChatPayConfigError(
                    _("WeChat Pay %(name)s is empty.") % {"name": name}, field=name
                )
        # AES-256-GCM takes the key's bytes as they are: anything but 32 bytes cannot decrypt.
        if len(self.apiv3_key.encode()) != 32:
            raise WeChatPayConfigError(
                _("The WeChat Pay APIv3 key must be 32 characters."), field="apiv3_key"
            )
        # The SDK wraps a bare PKCS#8 body in its own PEM lines, so only that form (WeChat's
        # apiclient_key.pem) survives it.
        if "-----BEGIN PRIVATE KEY-----" not in self.merchant_private_key:
            raise WeChatPayConfigError(
                _("The merchant private key must be a PKCS#8 PEM file (apiclient_key.pem)."),
                field="merchant_private_key",
            )
        try:
            load_private_key(self.merchant_private_key)
        except ValueError:
            raise WeChatPayConfigError(
                _("The merchant private key is not a readable RSA key."),
                field="merchant_private_key",
            ) from None
        try:
            load_public_key(self.platform_public_key)
        except ValueError:
            raise WeChatPayConfigError(
                _("The WeChat Pay public key is not a readable RSA public key."),
                field="platform_public_key",
            ) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WeChatPayConfig | None:
        """The configuration in ``QUANZI_WECHATPAY_*``, or None when WeChat Pay is not set up
        (no ``QUANZI_WECHATPAY_MCHID``). Half a configuration is an error naming what is missing.
        """
        env = os.environ if environ is None else environ

        def value(name: str) -> str:
            text = env.get(ENV_PREFIX + name, "").strip()
            if not text:
                raise WeChatPayConfigError(
                    _("%(variable)s is not set; WeChat Pay is only partly configured.")
                    % {"variable": ENV_PREFIX + name}
                )
            return text

        def file(name: str) -> str:
            path = Path(value(name))
            try:
                return path.read_text(encoding="utf-8")
            except OSError as error:
                raise WeChatPayConfigError(
                    _("%(variable)s names %(path)s, which cannot be read: %(error)s")
                    % {"variable": ENV_PREFIX + name, "path": path, "error": error.strerror}
                ) from None

        if not env.get(ENV_PREFIX + "MCHID", "").strip():
            return None
        return cls(
            mchid=value("MCHID"),
            appid=value("APPID"),
            merchant_serial_no=value("SERIAL_NO"),
            merchant_private_key=file("PRIVATE_KEY_FILE"),
            apiv3_key=value("APIV3_KEY"),
            platform_public_key=file("PUBLIC_KEY_FILE"),
            platform_public_key_id=value("PUBLIC_KEY_ID"),
            notify_url=value("NOTIFY_URL"),
            gateway=env.get(ENV_PREFIX + "GATEWAY", "").strip().rstrip("/") or DEFAULT_GATEWAY,
        )
