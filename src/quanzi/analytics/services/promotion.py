"""Promotion detection: which group messages are ads (广告).

A message is promotion when it carries a link, a QR code or a mini-program card, or when its text
pushes people off the group (add me, private chat, scan) or sells (discount, coupon, rebate,
part-time job, daily earnings). The reasons are kept with the message, so an operator sees why.
Red packets and ordinary chat about products ("这个优惠券怎么用?" is a question, not an ad)
are not promotion by themselves; a question about a discount with no contact push stays clean.
"""

from __future__ import annotations

import re

from quanzi.analytics.models import MessageKind

_URL = re.compile(
    r"(https?://|www\.|\b[a-z0-9-]+\.(?:cn|com|net|top|xyz|cc|me|io|vip|shop|link)\b/?"
    r"|\bt\.cn/|\bu\.jd\.com|\bmp\.weixin\.qq\.com|\bv\.douyin\.com|\bxhslink\.com)",
    re.IGNORECASE,
)
# Pushing people off the group to a private channel: the heart of an ad in a WeChat group.
_CONTACT = re.compile(
    # "加我老公进群" is family joining, not a push to a private chat.
    r"(加我(?!老公|老婆|妈|爸|爱人|家人|朋友|同事|闺蜜|孩子)|"
    r"加微|加v|加V|\+v|\+V|vx|VX|威信|薇信|私聊|私信我|私我|扫码|扫一扫|二维码|"
    r"微信号|加群|进群领|联系我|dm me|add me|카톡|오픈채팅|연락주세요)",
    re.IGNORECASE,
)
_SELLING = re.compile(
    r"(优惠|折扣|打折|特价|秒杀|领券|优惠券|返利|返现|佣金|代购|微商|招代理|招募代理|兼职|"
    r"日赚|月入|躺赚|刷单|免费领|限时(?:特价|特惠|抢|秒杀|优惠)|抢购|低价|包邮|团购价|点击链接|下单立减|"
    r"discount|coupon|promo code|\bsale\b|할인|쿠폰|광고|이벤트 참여|무료 증정)",
    re.IGNORECASE,
)
# A mainland mobile number or a WeChat id pasted into the text.
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_WECHAT_ID = re.compile(r"(?:微信|vx|wx|v信)[:：\s]*[a-zA-Z][-_a-zA-Z0-9]{5,19}", re.IGNORECASE)
_QUESTION = re.compile(r"[?？吗呢]\s*$")

CARRIERS = {
    MessageKind.LINK: "link",
    MessageKind.QR: "qr_code",
    MessageKind.MINI_PROGRAM: "mini_program",
}


def promotion_reasons(kind: str, text: str) -> list[str]:
    """Why a message is promotion; empty when it is not."""
    reasons: list[str] = []
    if kind in CARRIERS:
        reasons.append(CARRIERS[MessageKind(kind)])
    body = text or ""
    if kind != MessageKind.LINK and _URL.search(body):
        reasons.append("link")
    if _PHONE.search(body) or _WECHAT_ID.search(body):
        reasons.append("contact_details")
    contact = bool(_CONTACT.search(body))
    selling = bool(_SELLING.search(body))
    if contact:
        reasons.append("contact_push")
    # Selling words alone in a question ("有优惠吗?") are a member asking, not an ad.
    if selling and (contact or reasons or not _QUESTION.search(body)):
        reasons.append("promo_words")
    return sorted(set(reasons), key=reasons.index)


def is_promotion(kind: str, text: str) -> bool:
    return bool(promotion_reasons(kind, text))
