"""Registering webhooks and sending a given-up delivery again: the city administrator's changes,
each audited in its own transaction. The sending itself is `events.delivery`."""

from __future__ import annotations

import secrets
import urllib.parse
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kangfu.core import access, audit, events
from kangfu.core.models import AuditAction, Region, RegionLevel, User
from kangfu.core.transitions import advance
from kangfu.events import delivery
from kangfu.events.models import Delivery, DeliveryState, Webhook

BAD_URL = "接收地址须以 http:// 或 https:// 开头，并写明主机。"
BAD_KIND = "未知的事件类型：{kinds}。"
BAD_REGION = "范围须是市或区，且在您的管辖范围内。"
NEEDS_NAME = "请填写名称。"
CHANGED = "该推送地址已被他人修改，请刷新后再试。"
NOT_DEAD = "该推送记录已不是“已放弃”状态，请刷新后查看。"
NOTHING_DEAD = "没有已放弃的推送记录。"


@dataclass
class WebhookData:
    name: str
    url: str
    region: Region
    kinds: list[str] = field(default_factory=list)


def _check(actor: User, data: WebhookData) -> None:
    errors: dict[str, list[str]] = {}
    if not data.name.strip():
        errors["name"] = [NEEDS_NAME]
    parts = urllib.parse.urlsplit(data.url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors["url"] = [BAD_URL]
    else:
        try:
            delivery.check_url(data.url.strip())
        except delivery.AddressRefused as refused:
            errors["url"] = [str(refused)]
        except ValueError:  # a port that is not a number
            errors["url"] = [BAD_URL]
    unknown = [k for k in data.kinds if k not in events.KINDS]
    if unknown:
        errors["kinds"] = [BAD_KIND.format(kinds="、".join(unknown))]
    if data.region.level not in (RegionLevel.CITY, RegionLevel.DISTRICT) or not access.region_in_jurisdiction(
        actor, data.region.code
    ):
        errors["region"] = [BAD_REGION]
    if errors:
        raise ValidationError(errors)


def webhook_create(*, actor: User, data: WebhookData) -> tuple[Webhook, str]:
    """Register a receiver; return it with its new secret, shown once (it is stored encrypted). It is
    sent only events that happen from now on: its cursor starts at the outbox's end."""
    access.require(actor, "sets_standards")
    _check(actor, data)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        events.sequence()
        webhook = Webhook.objects.create(
            name=data.name.strip(),
            url=data.url.strip(),
            secret=secret,
            kinds=list(data.kinds),
            region=data.region,
            cursor=events.last_position(),
            created_by=actor,
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=webhook,
            summary=f"登记事件推送地址 {webhook.name}（{webhook.url}）",
            changes={
                "url": webhook.url,
                "kinds": webhook.kinds,
                "region": webhook.region_id,
                "secret": "（已生成）",
            },
        )
    return webhook, secret


def webhook_set_active(*, actor: User, webhook: Webhook, active: bool, version: int) -> Webhook:
    """Pause or resume a receiver; paused, its events wait (nothing is lost) until it is resumed."""
    access.require(actor, "sets_standards")
    with transaction.atomic():
        advance(
            Webhook.objects.filter(pk=webhook.pk),
            field="active",
            expected=[not active],
            version=version,
            message=CHANGED,
            active=active,
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=webhook,
            summary=f"{'启用' if active else '暂停'}事件推送地址 {webhook.name}",
            changes={"active": [not active, active]},
        )
    webhook.refresh_from_db()
    return webhook


def deliveries_replay(*, actor: User | None, webhook: Webhook) -> int:
    """Send the webhook's given-up deliveries again, from the next pass on, in their order: they are
    pending again with a fresh three days to go. Returns how many."""
    if actor is not None:
        access.require(actor, "sets_standards")
    now = timezone.now()
    with transaction.atomic():
        n = Delivery.objects.filter(webhook=webhook, state=DeliveryState.DEAD).update(
            state=DeliveryState.PENDING, next_attempt_at=now, created_at=now, attempts=0
        )
        if not n:
            raise ValidationError(NOTHING_DEAD)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=webhook,
            summary=f"重新推送 {webhook.name} 已放弃的 {n} 条事件",
        )
    transaction.on_commit(_queue_pass)
    return n


def _queue_pass() -> None:
    from kangfu.events.tasks import deliver

    deliver.enqueue()
