"""Webhooks: other systems' addresses that are told of the outbox's events (core.OutboxEvent), and
one delivery row per (webhook, event) that says how far its sending has come."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.fields import EncryptedTextField
from kangfu.core.models import OutboxEvent, Region


class Webhook(models.Model):
    """A receiver: every event of the kinds it asked for (all when none), placed in its region, is
    POSTed to `url`, signed with its secret. `cursor` is the outbox position up to which deliveries
    have been made for it; `lease_until` keeps two delivery passes from sending to it at once."""

    name = models.CharField("名称", max_length=100)
    url = models.URLField("接收地址", max_length=500)
    secret = EncryptedTextField("签名密钥")
    kinds = models.JSONField("订阅的事件类型", default=list, blank=True, help_text="为空表示全部类型。")
    region = models.ForeignKey(Region, verbose_name="范围", on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField("启用", default=True)
    cursor = models.BigIntegerField(default=0, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "事件推送地址"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", "待发送"
    DELIVERED = "delivered", "已送达"
    DEAD = "dead", "已放弃"


class Delivery(models.Model):
    """One event for one webhook: sent in `position` order, retried with a growing pause, given up
    (`dead`) once it has been retried for `events.delivery.RETRY_FOR`, and sent again on request."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="+")
    position = models.BigIntegerField()
    state = models.CharField(
        "状态", max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", default=timezone.now)
    last_status = models.PositiveSmallIntegerField("最近响应码", null=True, blank=True)
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "事件推送记录"
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], name="delivery_once_per_webhook_event")
        ]
        indexes = [models.Index(fields=["webhook", "state", "position"], name="delivery_queue")]

    def __str__(self) -> str:
        return f"{self.webhook} #{self.position} {self.get_state_display()}"
