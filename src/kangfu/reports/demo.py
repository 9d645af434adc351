"""The report day, walkable: the districts' reports of the last closed months and quarter made
through the services, in every state the city meets — submitted on time, late, returned with a
reason, a draft not yet sent — and the city's aggregate of an earlier month, submitted.

Sign in as shi.admin (统计 → 统计上报 → 各区上报情况) to return, aggregate and export; as
nankai.admin to regenerate and resubmit the returned month; as xiqing.admin to submit its draft.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

from kangfu.core.models import User
from kangfu.reports import services
from kangfu.reports.models import Report
from kangfu.reports.rules import last_closed


def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def _backdate(report: Report, day: dt.date, hour: int = 16) -> None:
    """Demo history: a submission made on `day` rather than now (a late one needs a past date)."""
    when = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
    Report.objects.filter(pk=report.pk).update(submitted_at=when, generated_at=when - dt.timedelta(hours=2))


def _file(actor: User, code: str, period, *, submit: bool = True, on: dt.date | None = None, note: str = ""):
    report = services.report_generate(actor=actor, code=code, period=period)
    if submit:
        report = services.report_submit(actor=actor, report=report, note=note)
        if on is not None:
            _backdate(report, on)
    return report


def load(out) -> None:
    city, hexi, nankai, xiqing = (
        _user(u) for u in ("shi.admin", "hexi.admin", "nankai.admin", "xiqing.admin")
    )
    if None in (city, hexi, nankai, xiqing) or Report.objects.exists():
        return
    out.write("建立各区统计报表的上报记录（按时、逾期、退回、待上报）和市级汇总 …")
    today = timezone.localdate()
    last, before = last_closed("month", today, 2)
    try:
        # The month before last: every demo district submitted, 南开 late; the city aggregated and
        # submitted its own.
        for actor in (hexi, xiqing):
            _file(actor, "subsidy-monthly", before, on=before.due_on(3), note="数据已与财务拨付核对一致。")
        _file(nankai, "subsidy-monthly", before, on=before.due_on(8), note="因系统上线迁移延迟上报。")
        aggregate = services.report_generate(actor=city, code="subsidy-monthly", period=before)
        aggregate = services.report_submit(actor=city, report=aggregate, note="汇总河西、南开、西青三区。")
        _backdate(aggregate, before.due_on(9))
        # The last month: 河西 on time; 南开 submitted and returned; 西青 generated, not yet sent.
        _file(hexi, "subsidy-monthly", last, note="本月新增、停发已逐人核对。")
        returned = _file(nankai, "subsidy-monthly", last)
        services.report_return(
            actor=city, report=returned, reason="发放金额与区财政拨付单不一致，请核对后重新上报。"
        )
        _file(xiqing, "subsidy-monthly", last, submit=False)
        # 精康: the last quarter from 西青, on time.
        quarter = last_closed("quarter", today, 1)[0]
        _file(
            xiqing,
            "rehab-quarterly",
            quarter,
            on=quarter.due_on(8),
            note="覆盖率低于年度目标，已安排入户随访。",
        )
    except ValidationError as exc:  # a demo loaded on a day with nothing closed yet
        out.write(f"  未能建立上报记录：{exc.messages[0]}")
        return
    out.write(
        f"  {before.label}：三区已上报（南开逾期），市级已汇总上报；{last.label}：河西已上报，南开被退回，西青待上报"
    )
