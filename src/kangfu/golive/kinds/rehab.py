"""精康 cases in progress, as an institution's former system lists them (`rehab_cases`).

One line is one person served: the institution (or one of its service sites), the case status, the
enrolment date, the responsible worker, the latest follow-up (date, risk level, insight, adherence,
stability, next date), an SDSS total, and whether the person is on the 卫健 or 残联 roster (在册).

Who imports: a rehab worker, for the institution they work for (`runs_rehab`). Cases, follow-ups
and risk levels are clinical data that only the serving institution reads (`access.case_q`); a
civil-affairs role (`rehab_intake`) registers and refers but never sees them, so it does not load
them either. An institution's former system is also where these records come from.

What the model holds honestly, and what it does not:
- the latest follow-up becomes a `FollowUp` with its risk level (every follow-up is a risk
  assessment, 服务规范), and the case's stability and next due date follow from it by the follow-up
  rule of `rehab.services` (`stability_for`, `follow_up_interval`);
- scale scores do not become assessments: an assessment keeps each item's answer and the score the
  server computes from them (`rehab.scales`), and a total from another system has no answers. An
  SDSS total is kept as words in the imported follow-up's note, and counts towards no outcome;
- mode, adherence and insight left blank in the file stay blank on the follow-up (unknown), rather
  than being guessed.

The 卫健 and 残联 rosters themselves come in through the roster import (`rehab.rosters`), which keeps
the register and the applications waiting for referral; this kind only adds people it names as
listed and leaves the register of people already on it alone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Max
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core import events as outbox
from kangfu.core.models import AuditAction, Organisation, OrganisationKind, RegionLevel, User, ancestor_code
from kangfu.core.spreadsheets import text
from kangfu.golive.kinds import (
    CHANGED,
    ID_COLUMN,
    NAME_COLUMN,
    NEW,
    UNCHANGED,
    UNKNOWN_PERSON,
    Column,
    Kind,
    Record,
    choice,
    clean_id,
    dated,
    problems,
    register,
    registered,
)
from kangfu.rehab.models import (
    OPEN_CASE_STATES,
    SERVED_STATES,
    Adherence,
    ApplicationSource,
    Assessment,
    Case,
    CaseEvent,
    CaseStatus,
    ContactMode,
    FollowUp,
    Insight,
    RegisteredPerson,
    Stability,
)
from kangfu.rehab.services import applications as rehab_applications
from kangfu.rehab.services import common as rehab_common
from kangfu.rehab.services import counters as rehab_counters
from kangfu.rehab.services import follow_ups as rehab_follow_ups

NOT_INSTITUTION_STAFF = "只有精神障碍社区康复机构的工作人员能导入本机构的在服档案。"
NO_INSTITUTION = "缺少服务机构。"
UNKNOWN_INSTITUTION = "没有名为“{value}”的在用精神障碍社区康复机构或服务站点。"
AMBIGUOUS_INSTITUTION = "有多家名为“{value}”的康复机构或站点，请联系管理员核实机构名称。"
NOT_YOUR_INSTITUTION = "“{value}”不是您所在的机构或其服务站点：只能导入本机构的档案。"
NO_STATUS = "缺少状态。"
BAD_STATUS = "状态“{value}”应为已建档（已入组）、服务中或暂停服务：只导入正在服务的档案。"
NO_ENROLMENT = "缺少建档日期。"
FOLLOW_UP_BEFORE_ENROLMENT = "最近随访日期早于建档日期。"
BAD_RISK = "危险性等级“{value}”应为 0–5 级。"
FOLLOW_UP_NEEDS_RISK = "有最近随访日期时须填写危险性等级（每次随访都要做危险性评估）。"
BAD_INSIGHT = "自知力“{value}”应为完全、不全或缺失。"
BAD_ADHERENCE = "服药依从性“{value}”应为规律、间断或不服药。"
BAD_MODE = "随访方式“{value}”应为到站、入户、电话、视频或微信。"
BAD_STABILITY = "病情稳定性“{value}”应为稳定、基本稳定或不稳定。"
BAD_SDSS = "SDSS 总分“{value}”应为 0–20 的整数。"
BAD_ROSTER = "名单来源“{value}”应为卫健（严重精神障碍患者名单）、残联（持证精神残疾人名单）或否。"
ROSTER_NEEDS_SOURCE = "在册的须写明名单来源：卫健或残联。"
UNKNOWN_WORKER = "责任社工“{value}”不是“{institution}”的工作人员（按姓名或用户名查找）。"
AMBIGUOUS_WORKER = "“{institution}”有多名叫“{value}”的工作人员，请写用户名。"
PERSON_OUT_OF_SCOPE = "该人员不在您的管辖范围内。"
# Names the rule and never the other institution: where someone is treated is clinical information
# the importing institution has no right to.
SERVED_ELSEWHERE = (
    "一人一档：该人员正在其他机构接受精康服务，同一时间只能由一家机构服务；"
    "须由该机构结案或转介交接后，才能在本机构建档。"
)
STABILITY_ASSUMED = "未填病情稳定性：按{stability}安排下次随访（{next_on}），请核实。"
NEXT_CAPPED = "下次随访日期 {given} 晚于随访规定（病情{stability}时不晚于 {latest}），按 {latest} 安排。"
FOLLOW_UP_KEPT = "系统中已有 {day} 在本系统登记的随访记录，未按文件修改。"
NEWER_IN_SYSTEM = "系统中有更近的随访或危险性评估，档案的病情稳定性和下次随访日期以系统为准。"
NOT_KEPT = "没有最近随访日期，{fields}无处保存，未导入（随访的各项记在随访上）。"

# Marks follow-ups this import wrote, so that a later file corrects them and never touches one a
# worker recorded in the system.
IMPORTED_NOTE = "原系统随访记录（导入）"
SDSS_NOTE = "；SDSS 总分 {total}（原系统，无逐项得分，不作为评估）"

# The words former systems use for each value, grouped by the value they mean.
_STATUS = {
    **dict.fromkeys(("已建档", "建档", "已入组", "入组", "已签约"), CaseStatus.ENROLLED),
    **dict.fromkeys(("服务中", "在服务", "康复中", "正常服务", "在管"), CaseStatus.ACTIVE),
    **dict.fromkeys(("暂停", "暂停服务", "中止", "中止服务"), CaseStatus.SUSPENDED),
}
_INSIGHT = {
    **dict.fromkeys(("完全", "自知力完全", "有"), Insight.FULL),
    **dict.fromkeys(("不全", "部分", "自知力不全"), Insight.PARTIAL),
    **dict.fromkeys(("缺失", "无", "自知力缺失"), Insight.NONE),
}
_ADHERENCE = {
    **dict.fromkeys(("规律", "规律服药"), Adherence.REGULAR),
    **dict.fromkeys(("间断", "间断服药", "不规律"), Adherence.INTERMITTENT),
    **dict.fromkeys(("不服药", "未服药"), Adherence.NONE),
}
_MODE = {
    **dict.fromkeys(("到站", "到站服务", "来站", "门诊"), ContactMode.SITE),
    **dict.fromkeys(("入户", "上门", "家访", "居家"), ContactMode.HOME),
    "电话": ContactMode.PHONE,
    "视频": ContactMode.VIDEO,
    "微信": ContactMode.WECHAT,
}
_STABILITY = {"稳定": Stability.STABLE, "基本稳定": Stability.BASIC, "不稳定": Stability.UNSTABLE}
_ROSTER = {
    **dict.fromkeys(
        (
            "卫健",
            "卫健部门",
            "卫健名单",
            "卫健委",
            "严重精神障碍患者名单",
            ApplicationSource.HEALTH_LIST.label,
        ),
        ApplicationSource.HEALTH_LIST,
    ),
    **dict.fromkeys(
        ("残联", "残联名单", "持证精神残疾人名单", "持证", ApplicationSource.FEDERATION_LIST.label),
        ApplicationSource.FEDERATION_LIST,
    ),
    **dict.fromkeys(("否", "无", "不在册", "未在册"), ""),
}
_LISTED_WITHOUT_SOURCE = {"是", "在册", "已在册"}
_INSTITUTION_KINDS = (OrganisationKind.REHAB_INSTITUTION, OrganisationKind.REHAB_SITE)


def _district(region_id: str) -> str:
    return ancestor_code(region_id, RegionLevel.DISTRICT)


@register
class RehabCasesKind(Kind):
    name = "rehab_cases"
    label = "精康在服档案（含最近随访、在册名单）"
    ability = "runs_rehab"
    description = (
        "一行一名在服人员，由服务机构导入本机构的档案。人员须已登记；同一人同一时间只能由一家机构服务。"
        "最近随访记为一条随访（含危险性等级），下次随访日期按随访规定计算；SDSS 总分只记入随访说明，"
        "不作为评估（没有逐项得分）。名单来源写卫健或残联的，未在册的记入在册名单。"
    )
    columns = [
        ID_COLUMN,
        NAME_COLUMN,
        Column(
            "institution",
            "服务机构",
            ("康复机构", "机构名称", "服务站点", "所属机构", "服务单位"),
            True,
            "本机构或其服务站点的名称",
        ),
        Column(
            "status", "状态", ("档案状态", "服务状态", "在服状态"), True, "已建档（已入组）、服务中、暂停服务"
        ),
        Column(
            "enrolled_on", "建档日期", ("入组日期", "建档时间", "签约日期", "纳入日期", "开始服务日期"), True
        ),
        Column(
            "worker",
            "责任社工",
            ("责任人", "个案管理员", "负责社工", "社工"),
            note="本机构工作人员的姓名或用户名",
        ),
        Column("diagnosis", "诊断", ("疾病诊断", "诊断名称")),
        Column("follow_up_on", "最近随访日期", ("随访日期", "末次随访日期", "最后随访日期", "上次随访日期")),
        Column("risk_level", "危险性等级", ("危险性评估", "危险等级", "危险性"), note="0–5 级"),
        Column("insight", "自知力", (), note="完全、不全、缺失"),
        Column("adherence", "服药依从性", ("服药情况", "服药依从"), note="规律、间断、不服药"),
        Column("mode", "随访方式", ("方式",), note="到站、入户、电话、视频、微信"),
        Column("stability", "病情稳定性", ("病情", "稳定性", "随访分类"), note="稳定、基本稳定、不稳定"),
        Column("next_on", "下次随访日期", ("下次随访", "预约随访日期")),
        Column(
            "sdss", "SDSS总分", ("SDSS", "社会功能缺陷筛选量表总分", "社会功能评分"), note="只记入随访说明"
        ),
        Column("roster", "名单来源", ("是否在册", "在册来源", "在册名单", "在册"), note="卫健、残联或否"),
        Column("listed_on", "在册日期", ("名单日期", "入册日期")),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.audit: list[audit.Row] = []
        self.districts: set[str] = set()
        # One date for the whole import: a file read across midnight is judged by one day.
        self.today = timezone.localdate()

    def check_options(self) -> None:
        if self.actor is not None and self._home is None:
            raise ValidationError(NOT_INSTITUTION_STAFF)

    # -------------------------------------------------------------- what the actor may name

    @cached_property
    def _home(self) -> Organisation | None:
        home = access.rehab_home(self.actor) if self.actor is not None else None
        return home if home is not None and home.kind == OrganisationKind.REHAB_INSTITUTION else None

    @cached_property
    def _organisations(self) -> dict[str, list[dict[str, Any]]]:
        """Every active rehab institution and service site by name, read once for the import."""
        by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
        rows = Organisation.objects.filter(kind__in=_INSTITUTION_KINDS, is_active=True).values(
            "pk", "name", "kind", "parent_id", "region_id"
        )
        for row in rows:
            by_name[row["name"]].append(row)
        return by_name

    @cached_property
    def _by_pk(self) -> dict[int, dict[str, Any]]:
        return {row["pk"]: row for rows in self._organisations.values() for row in rows}

    @cached_property
    def _own(self) -> set[int]:
        return set(access.rehab_org_ids(self.actor)) if self.actor is not None else set()

    @cached_property
    def _staff(self) -> dict[int, dict[str, list[dict[str, Any]]]]:
        """The institutions' workers by full name and by username, read once for the import: a
        worker belongs to the institution or one of its sites and has a rehab role."""
        home_of = {
            pk: (row["parent_id"] if row["kind"] == OrganisationKind.REHAB_SITE else pk)
            for pk, row in self._by_pk.items()
            if self.actor is None or pk in self._own
        }
        staff: dict[int, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        users = User.objects.filter(organisation_id__in=list(home_of), is_active=True).values(
            "pk", "username", "full_name", "role", "organisation_id"
        )
        for user in users:
            if not access.POLICIES.get(user["role"], access.NO_RIGHTS).runs_rehab:
                continue
            home = home_of[user["organisation_id"]]
            staff[home][f"u:{user['username']}"].append(user)
            if user["full_name"]:
                staff[home][f"n:{user['full_name']}"].append(user)
        return staff

    def _institution(self, raw: str, found: list[str]) -> tuple[dict[str, Any] | None, int | None]:
        """(the institution, the site or None) a line names."""
        candidates = [
            row
            for row in self._organisations.get(raw, [])
            if row["kind"] == OrganisationKind.REHAB_INSTITUTION or row["parent_id"] is not None
        ]
        if self.actor is not None:
            mine = [row for row in candidates if row["pk"] in self._own]
            if not mine:
                found.append(
                    NOT_YOUR_INSTITUTION.format(value=raw)
                    if candidates
                    else UNKNOWN_INSTITUTION.format(value=raw)
                )
                return None, None
            candidates = mine
        if not candidates:
            found.append(UNKNOWN_INSTITUTION.format(value=raw))
            return None, None
        if len(candidates) > 1:
            found.append(AMBIGUOUS_INSTITUTION.format(value=raw))
            return None, None
        row = candidates[0]
        if row["kind"] == OrganisationKind.REHAB_SITE:
            parent = self._by_pk.get(row["parent_id"])
            if parent is None or parent["kind"] != OrganisationKind.REHAB_INSTITUTION:
                found.append(UNKNOWN_INSTITUTION.format(value=raw))
                return None, None
            return parent, row["pk"]
        return row, None

    # -------------------------------------------------------------- clean

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        found: list[str] = []
        out: dict[str, Any] = {"id_number": clean_id(values, found), "name": text(values.get("name"))[:50]}
        raw = text(values.get("institution"))
        out["institution"], out["site"] = (None, None)
        if not raw:
            found.append(NO_INSTITUTION)
        else:
            out["institution"], out["site"] = self._institution(raw, found)
        status = text(values.get("status"))
        out["status"] = _STATUS.get(status, "")
        if not status:
            found.append(NO_STATUS)
        elif not out["status"]:
            found.append(BAD_STATUS.format(value=status))
        out["enrolled_on"] = dated(values, "enrolled_on", "建档日期", found, self.today)
        if out["enrolled_on"] is None and not any("建档日期" in p for p in found):
            found.append(NO_ENROLMENT)
        out["worker"] = text(values.get("worker"))[:150]
        out["diagnosis"] = text(values.get("diagnosis"))[:100]
        self._clean_follow_up(values, out, found)
        roster = text(values.get("roster"))
        out["roster"] = ""
        if roster in _LISTED_WITHOUT_SOURCE:
            found.append(ROSTER_NEEDS_SOURCE)
        elif roster:
            out["roster"] = choice(values, "roster", _ROSTER, BAD_ROSTER, found)
        out["listed_on"] = dated(values, "listed_on", "在册日期", found, self.today)
        problems(found)
        return out

    def _clean_follow_up(self, values: dict[str, Any], out: dict[str, Any], found: list[str]) -> None:
        done = dated(values, "follow_up_on", "最近随访日期", found, self.today)
        raw_risk = text(values.get("risk_level")).removesuffix("级")
        risk = None
        if raw_risk:
            if raw_risk.isascii() and raw_risk.isdigit() and 0 <= int(raw_risk) <= 5:
                risk = int(raw_risk)
            else:
                found.append(BAD_RISK.format(value=text(values.get("risk_level"))))
        insight = choice(values, "insight", _INSIGHT, BAD_INSIGHT, found)
        adherence = choice(values, "adherence", _ADHERENCE, BAD_ADHERENCE, found)
        mode = choice(values, "mode", _MODE, BAD_MODE, found)
        stability = choice(values, "stability", _STABILITY, BAD_STABILITY, found)
        next_on = dated(values, "next_on", "下次随访日期", found, self.today, future=True)
        raw_sdss = text(values.get("sdss"))
        sdss = None
        if raw_sdss:
            try:
                number = Decimal(raw_sdss)
            except InvalidOperation:
                number = Decimal(-1)
            if number != number.to_integral_value() or not 0 <= number <= 20:
                found.append(BAD_SDSS.format(value=raw_sdss))
            else:
                sdss = int(number)
        out["follow_up"] = None
        out["sdss"] = sdss
        out["unkept"] = []
        if done is None:
            # Nothing of a follow-up has a place without its date; the check says what was left out.
            out["unkept"] = [
                label
                for label, value in (
                    ("危险性等级", risk),
                    ("自知力", insight),
                    ("服药依从性", adherence),
                    ("随访方式", mode),
                    ("病情稳定性", stability),
                    ("下次随访日期", next_on),
                    ("SDSS 总分", sdss),
                )
                if value not in (None, "")
            ]
            return
        if risk is None:
            if not raw_risk:
                found.append(FOLLOW_UP_NEEDS_RISK)
            return
        if out.get("enrolled_on") and done < out["enrolled_on"]:
            found.append(FOLLOW_UP_BEFORE_ENROLMENT)
        if next_on is not None and next_on <= done:
            found.append(rehab_follow_ups.NEXT_NOT_AFTER)
        out["follow_up"] = {
            "done_on": done,
            "risk_level": risk,
            "insight": insight,
            "adherence": adherence,
            "mode": mode,
            "stability": stability,
            "next_on": next_on,
        }

    # -------------------------------------------------------------- check

    def check(self, records: list[Record]) -> None:
        self._people(records)
        live = [r for r in records if not r.error]
        person_ids = [r.target["person"]["pk"] for r in live]
        open_cases: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in Case.objects.filter(person_id__in=person_ids, status__in=OPEN_CASE_STATES).values(
            "pk",
            "person_id",
            "institution_id",
            "district_id",
            "status",
            "site_id",
            "worker_id",
            "enrolled_on",
            "diagnosis",
            "stability",
            "risk_level",
            "next_follow_up_on",
            "version",
        ):
            open_cases[row["person_id"]].append(row)
        case_ids = [c["pk"] for rows in open_cases.values() for c in rows]
        follow_ups: dict[int, dict[dt.date, dict[str, Any]]] = defaultdict(dict)
        newest: dict[int, dt.date] = {}
        days = {r.values["follow_up"]["done_on"] for r in live if r.values["follow_up"]}
        if case_ids and days:
            for row in FollowUp.objects.filter(case_id__in=case_ids, done_on__in=days).values(
                "pk",
                "case_id",
                "done_on",
                "stability",
                "risk_level",
                "adherence",
                "insight",
                "mode",
                "next_on",
                "note",
            ):
                follow_ups[row["case_id"]][row["done_on"]] = row
            # The newest follow-up or risk assessment of each case: the latest word on its risk.
            for model, day in ((FollowUp, "done_on"), (Assessment, "assessed_on")):
                rows = model.objects.filter(case_id__in=case_ids)
                if model is Assessment:
                    rows = rows.filter(scale__code="risk", amended_by__isnull=True)
                for case_id, last in (
                    rows.values("case_id").annotate(last=Max(day)).values_list("case_id", "last").order_by()
                ):
                    newest[case_id] = max(newest.get(case_id, last), last)
        listed = dict(
            RegisteredPerson.objects.filter(person_id__in=person_ids).values_list("person_id", "district_id")
        )
        for record in live:
            person = record.target["person"]
            institution = record.values["institution"]
            cases = open_cases.get(person["pk"], [])
            if any(c["status"] in SERVED_STATES and c["institution_id"] != institution["pk"] for c in cases):
                record.error = SERVED_ELSEWHERE
                continue
            case = next((c for c in cases if c["institution_id"] == institution["pk"]), None)
            try:
                worker = self._worker(record)
            except ValueError as exc:
                record.error = str(exc)
                continue
            plan: dict[str, Any] = {"worker": worker, "case": case}
            record.target["plan"] = plan
            parts = [
                self._plan_case(record, plan, case),
                self._plan_follow_up(record, plan, case, follow_ups, newest),
                self._plan_register(record, plan, person, listed),
            ]
            if case is None:
                record.change = NEW
            else:
                record.change = CHANGED if any(parts) else UNCHANGED

    def _people(self, records: list[Record]) -> None:
        registered(
            records, self.actor, ("district_id",), unknown=UNKNOWN_PERSON, elsewhere=PERSON_OUT_OF_SCOPE
        )

    def _worker(self, record: Record) -> int | None:
        raw = record.values["worker"]
        if not raw:
            return None
        institution = record.values["institution"]
        staff = self._staff.get(institution["pk"], {})
        by_username = staff.get(f"u:{raw}", [])
        found = by_username or staff.get(f"n:{raw}", [])
        if not found:
            raise ValueError(UNKNOWN_WORKER.format(value=raw, institution=institution["name"]))
        if len(found) > 1:
            raise ValueError(AMBIGUOUS_WORKER.format(value=raw, institution=institution["name"]))
        return found[0]["pk"]

    def _plan_case(self, record: Record, plan: dict[str, Any], case: dict[str, Any] | None) -> bool:
        """What of the case itself changes; empty cells leave what the system holds."""
        values = record.values
        if case is None:
            return True
        wanted = {
            "status": values["status"],
            "enrolled_on": values["enrolled_on"],
            "worker_id": plan["worker"],
            "site_id": values["site"],
            "diagnosis": values["diagnosis"] or None,
        }
        update = {k: v for k, v in wanted.items() if v is not None and case[k] != v}
        plan["update"] = update
        return bool(update)

    def _plan_follow_up(
        self,
        record: Record,
        plan: dict[str, Any],
        case: dict[str, Any] | None,
        follow_ups: dict[int, dict[dt.date, dict[str, Any]]],
        newest: dict[int, dt.date],
    ) -> bool:
        """The latest follow-up as a `FollowUp`, and the case's follow-up state from it when it is
        the newest word on the case."""
        values = record.values
        given = values["follow_up"]
        if given is None:
            if values["unkept"]:
                record.flags.append(NOT_KEPT.format(fields="、".join(values["unkept"])))
            if case is None:
                # No follow-up on file: the first falls due as after an enrolment in the system.
                plan["case_state"] = {
                    "next_follow_up_on": values["enrolled_on"]
                    + dt.timedelta(days=rehab_follow_ups.follow_up_interval(Stability.BASIC))
                }
            return False
        done = given["done_on"]
        judgement = given["stability"]
        if not judgement and given["next_on"] is not None:
            # A next date beyond the two weeks the rule allows otherwise is the former worker's
            # judgement that the person was stable (the floor below still applies).
            short = rehab_follow_ups.follow_up_interval(Stability.BASIC)
            judgement = (
                Stability.STABLE if given["next_on"] > done + dt.timedelta(days=short) else Stability.BASIC
            )
        # The rule's floor (risk level, insight) over the judgement; with no judgement at all, the
        # stricter of the two that remain, so that no follow-up is put off on a guess.
        stability = rehab_follow_ups.stability_for(
            judgement or Stability.BASIC, given["risk_level"], given["insight"]
        )
        latest = done + dt.timedelta(days=rehab_follow_ups.follow_up_interval(stability))
        next_on = given["next_on"] or latest
        if next_on > latest:
            record.flags.append(
                NEXT_CAPPED.format(given=next_on, stability=Stability(stability).label, latest=latest)
            )
            next_on = latest
        if not judgement:
            record.flags.append(
                STABILITY_ASSUMED.format(stability=Stability(stability).label, next_on=next_on)
            )
        note = IMPORTED_NOTE + (SDSS_NOTE.format(total=values["sdss"]) if values["sdss"] is not None else "")
        wanted = {
            "stability": stability,
            "risk_level": given["risk_level"],
            "adherence": given["adherence"],
            "insight": given["insight"],
            "mode": given["mode"],
            "next_on": next_on,
            "note": note,
        }
        state = {"stability": stability, "risk_level": given["risk_level"], "next_follow_up_on": next_on}
        if case is None:
            plan["follow_up"] = {"add": {"done_on": done, **wanted}}
            plan["case_state"] = state
            return True
        changed = False
        known = follow_ups.get(case["pk"], {}).get(done)
        if known is None:
            plan["follow_up"] = {"add": {"done_on": done, **wanted}}
            changed = True
        elif not known["note"].startswith(IMPORTED_NOTE):
            # A worker recorded that day's follow-up here: it stands, and so does what it set.
            record.flags.append(FOLLOW_UP_KEPT.format(day=done))
            return False
        else:
            update = {k: v for k, v in wanted.items() if known[k] != v}
            if update:
                plan["follow_up"] = {"update_pk": known["pk"], "update": update}
                changed = True
        if newest.get(case["pk"], done) > done:
            record.flags.append(NEWER_IN_SYSTEM)
            return changed
        case_update = {k: v for k, v in state.items() if case[k] != v}
        if case_update:
            plan["case_state"] = case_update
            changed = True
        return changed

    def _plan_register(
        self, record: Record, plan: dict[str, Any], person: dict[str, Any], listed: dict[int, str]
    ) -> bool:
        """Add someone the file names as listed and the register does not have. The register of those
        already on it is the roster import's, and is not changed here (nor is its source told)."""
        source = record.values["roster"]
        plan["roster_district"] = listed.get(person["pk"])
        if not source or person["pk"] in listed:
            return False
        plan["register"] = (person["district_id"], source, record.values["listed_on"] or self.today)
        plan["roster_district"] = person["district_id"]
        return True

    # -------------------------------------------------------------- apply

    def apply(self, records: list[Record]) -> None:
        today = self.today
        new = [r for r in records if r.change == NEW]
        cases = [self._new_case(r, today) for r in new]
        Case.objects.bulk_create(cases, batch_size=1000)
        events: list[CaseEvent] = []
        for record, case in zip(new, cases, strict=True):
            record.target["plan"]["case"] = {"pk": case.pk, "district_id": case.district_id}
            self.districts.add(case.district_id)
            events.append(
                CaseEvent(
                    case=case,
                    status=CaseStatus.ENROLLED,
                    on=case.enrolled_on,
                    reason="导入：原系统在服档案",
                    by=self.actor,
                )
            )
            if case.status != CaseStatus.ENROLLED:
                events.append(
                    CaseEvent(
                        case=case,
                        status=case.status,
                        on=today,
                        reason=f"导入时原系统状态为{case.get_status_display()}",
                        by=self.actor,
                    )
                )
            self.audit.append(
                audit.Row(
                    "rehab.case",
                    str(case.pk),
                    case.person_id,
                    f"导入精康在服档案（{case.get_status_display()}，{case.enrolled_on} 建档）",
                )
            )
        for record in records:
            if record.change == CHANGED:
                events.extend(self._update_case(record, today))
        CaseEvent.objects.bulk_create(events, batch_size=1000)
        # As `case_enrol` announces an enrolment, marked `migrated`, in one statement for the batch (no
        # service announces a re-import's changes, a status or a worker, either).
        outbox.record_many(
            kind="rehab.case.enrolled",
            events=[outbox.Event(case, case.district_id, _enrolled(case)) for case in cases],
        )
        self._apply_follow_ups(records)
        self._apply_register(records)
        audit.record_rows(actor=self.actor, action=AuditAction.IMPORT, rows=self.audit)
        self.audit.clear()

    def _new_case(self, record: Record, today: dt.date) -> Case:
        values, plan = record.values, record.target["plan"]
        status = values["status"]
        state = plan.get("case_state", {})
        return Case(
            person_id=record.target["person"]["pk"],
            institution_id=values["institution"]["pk"],
            district_id=_district(values["institution"]["region_id"]),
            # The former system's referral date is not known; the case starts at its enrolment.
            referred_on=values["enrolled_on"],
            eligible=True,
            status=status,
            site_id=values["site"],
            worker_id=plan["worker"],
            enrolled_on=values["enrolled_on"],
            diagnosis=values["diagnosis"],
            stability=state.get("stability", ""),
            risk_level=state.get("risk_level"),
            next_follow_up_on=state.get("next_follow_up_on"),
            roster_district_id=plan["roster_district"],
            suspended_on=today if status == CaseStatus.SUSPENDED else None,
            status_note="导入时原系统状态为暂停服务" if status == CaseStatus.SUSPENDED else "",
        )

    def _update_case(self, record: Record, today: dt.date) -> list[CaseEvent]:
        plan = record.target["plan"]
        case = plan["case"]
        update = dict(plan.get("update", {}))
        update.update(plan.get("case_state", {}))
        if not update:
            return []
        changes = {
            k: [str(case[k]) if case[k] is not None else None, str(v) if v is not None else None]
            for k, v in update.items()
        }
        events = []
        status = update.get("status")
        if status is not None:
            update["suspended_on"] = today if status == CaseStatus.SUSPENDED else None
            update["status_note"] = "导入时原系统状态为暂停服务" if status == CaseStatus.SUSPENDED else ""
            update["eligible"] = True
            events.append(
                CaseEvent(
                    case_id=case["pk"],
                    status=status,
                    on=today,
                    reason=f"导入：原系统状态为{CaseStatus(status).label}",
                    by=self.actor,
                )
            )
        # Only if nobody moved the case since the check (a status is never overwritten blind).
        moved = Case.objects.filter(pk=case["pk"], status=case["status"], version=case["version"]).update(
            version=F("version") + 1, **update
        )
        if moved != 1:
            raise ValidationError(rehab_common.STATE_CHANGED)
        self.districts.add(case["district_id"])
        self.audit.append(
            audit.Row(
                "rehab.case", str(case["pk"]), record.target["person"]["pk"], "导入更新精康档案", changes
            )
        )
        return events

    def _apply_follow_ups(self, records: list[Record]) -> None:
        added, updated = [], []
        for record in records:
            follow_up = record.target["plan"].get("follow_up")
            if not follow_up or record.change == UNCHANGED:
                continue
            case = record.target["plan"]["case"]
            person_id = record.target["person"]["pk"]
            if "add" in follow_up:
                added.append(
                    (
                        FollowUp(
                            case_id=case["pk"], district_id=case["district_id"], by=None, **follow_up["add"]
                        ),
                        person_id,
                    )
                )
            else:
                row = FollowUp(pk=follow_up["update_pk"], **follow_up["update"])
                updated.append((row, follow_up["update"], person_id))
            self.districts.add(case["district_id"])
        FollowUp.objects.bulk_create([f for f, _p in added], batch_size=1000)
        self.audit.extend(
            audit.Row(
                "rehab.followup",
                str(f.pk),
                person_id,
                f"导入随访：{Stability(f.stability).label}，危险性 {f.risk_level} 级，下次 {f.next_on}",
            )
            for f, person_id in added
        )
        fields = sorted({k for _row, update, _p in updated for k in update})
        if updated:
            FollowUp.objects.bulk_update([row for row, _u, _p in updated], fields, batch_size=1000)
        self.audit.extend(
            audit.Row(
                "rehab.followup",
                str(row.pk),
                person_id,
                "导入更正随访记录",
                {k: str(v) for k, v in update.items()},
            )
            for row, update, person_id in updated
        )

    def _apply_register(self, records: list[Record]) -> None:
        groups: dict[tuple[str, str, dt.date], list[int]] = defaultdict(list)
        for record in records:
            listing = record.target["plan"].get("register")
            if listing and record.change != UNCHANGED:
                groups[listing].append(record.target["person"]["pk"])
        for (district_id, source, listed_on), person_ids in groups.items():
            rehab_applications.register_listed(
                person_ids=person_ids, district_id=district_id, source=source, listed_on=listed_on
            )
            self.audit.extend(
                audit.Row(
                    "people.person", str(pk), pk, f"导入：记入在册名单（{ApplicationSource(source).label}）"
                )
                for pk in person_ids
            )

    def finish(self) -> None:
        # Cases and follow-ups written in bulk skip the monthly counters the services keep one by
        # one; rebuild them for each district touched, as after any bulk load.
        for district_id in sorted(self.districts):
            rehab_counters.recount(district_id=district_id)


def _enrolled(case: Case) -> dict:
    return dict(person=case.person_id, enrolled_on=case.enrolled_on, status=case.status, migrated=True)
