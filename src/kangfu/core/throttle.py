"""Limits on the public forms, which anyone can post without an account: per address and per ID
number, a simple question after a few tries in a short while, a refusal after many in an hour, and
no text field longer than a form could need. Counted in the database, so every worker process of a
deployment sees the same counts."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db.models import Count, Q
from django.utils import timezone

from kangfu.core import crypto
from kangfu.core.ids import unified
from kangfu.core.models import PublicAttempt

CHALLENGE_AFTER = 5  # tries in CHALLENGE_WINDOW
CHALLENGE_WINDOW = dt.timedelta(minutes=10)
REFUSE_AFTER_IP = 30  # tries in an hour
REFUSE_AFTER_ID = 10
MAX_FIELD = 2000  # characters in any one posted field (the longest form field, an address, is 200)
PASSED = "kangfu_challenge_passed_at"
QUESTION = "kangfu_challenge_answer"

TOO_MANY = "提交过于频繁，请一小时后再试；如需帮助请拨打街道或社区服务电话。"
TOO_LONG = "填写的内容过长，请精简后重新提交。"
WRONG_ANSWER = "答案不正确，请重新计算。"


def keys(request) -> list[str]:
    from kangfu.core.middleware import client_ip

    found = [f"ip:{client_ip(request) or '?'}"]
    number = unified(request.POST.get("id_number", "")).strip().upper()
    if number:
        found.append("id:" + crypto.blind_index(number, purpose="throttle")[:64])
    return found


def judge(request) -> str:
    """'ok', 'challenge' or 'refuse' for this submission, which is counted in any case."""
    now = timezone.now()
    PublicAttempt.objects.filter(at__lt=now - dt.timedelta(hours=1)).delete()
    mine = keys(request)
    PublicAttempt.objects.bulk_create([PublicAttempt(at=now, key=k) for k in mine])
    counts = {
        row["key"]: row
        for row in PublicAttempt.objects.filter(key__in=mine)
        .values("key")
        .annotate(hour=Count("id"), recent=Count("id", filter=Q(at__gte=now - CHALLENGE_WINDOW)))
    }
    limits = {k: REFUSE_AFTER_IP if k.startswith("ip:") else REFUSE_AFTER_ID for k in mine}
    if any(counts[k]["hour"] > limits[k] for k in mine):
        return "refuse"
    passed = request.session.get(PASSED)
    fresh = passed is not None and now.timestamp() - passed < CHALLENGE_WINDOW.total_seconds()
    if not fresh and any(counts[k]["recent"] > CHALLENGE_AFTER for k in mine):
        return "challenge"
    return "ok"


def too_long(request) -> bool:
    return any(len(v) > MAX_FIELD for values in request.POST.lists() for v in values[1])


def new_question(request) -> str:
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    request.session[QUESTION] = a + b
    return f"{a} 加 {b} 等于几？"


def answer(request, given: str) -> bool:
    expected = request.session.pop(QUESTION, None)
    if expected is not None and given.strip() == str(expected):
        request.session[PASSED] = timezone.now().timestamp()
        return True
    return False
