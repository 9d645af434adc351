"""The demo year of 精康 (seed 002): 西青区 screens the 卫健 roster by phone and home visits and enrols about
one in ten, serves them at its two sites with the nine kinds of service, follows them up by the rule,
refers relapses to 安定医院 and places some at 津康烘焙坊; 北辰区 runs a smaller caseload with weekly
peer support. Everything is made through the services, day by day over the last twelve months, so the
worklists, the case files, the outcomes and the counters all show what the services would have left.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
import random
import struct
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from kangfu.core.demo import BEICHEN, XIQING
from kangfu.core.ids import check_character
from kangfu.core.models import Organisation, OrganisationKind, Region, RegionLevel, Role, User
from kangfu.people.models import Guardian, GuardianRelation, IncomePeriod, Person, VitalStatus
from kangfu.people.services import id_hash
from kangfu.people.synth import GIVEN_CHARS, SURNAMES
from kangfu.rehab import scales
from kangfu.rehab.models import (
    NO_REVISIT_REASONS,
    SCORED_FIELDS,
    SERVED_STATES,
    Activity,
    ActivityForm,
    Application,
    ApplicationSource,
    Approval,
    Assessment,
    Case,
    CaseStatus,
    ContactMode,
    DeclineReason,
    DischargeReason,
    EmploymentType,
    FollowUp,
    InstitutionLevel,
    MonthlyCount,
    Placement,
    PlacementOutcome,
    Profession,
    RecurringGroup,
    Revisit,
    SatisfactionSurvey,
    Scale,
    ServiceType,
    SharePart,
    Stability,
    StaffMember,
    Transfer,
    TransferKind,
    revisit_due_dates,
)
from kangfu.rehab.services import activities as activity_services
from kangfu.rehab.services import (
    applications,
    assessments,
    counters,
    emergency,
    enrolment,
    follow_ups,
    institutions,
    placements,
    plans,
    rosters,
    transfers,
)
from kangfu.rehab.services import approvals as approval_services
from kangfu.rehab.services import cases as case_services
from kangfu.rehab.services import groups as group_services
from kangfu.rehab.services import revisits as revisit_services
from kangfu.rehab.services import satisfaction as satisfaction_services

SEED = 2002
SCALE_CODES = ("sdss", "psp", "risk", "psychosocial", "mental_status", "social_adaptation")
XIQING_CENTRE = "西青区精神障碍社区康复服务中心"
BEICHEN_CENTRE = "北辰区精神障碍社区康复服务中心"
BAKERY = "津康烘焙坊（辅助性就业）"
# The two catchment areas of seed 002: 天津建发医院 serves the towns, 赤龙南街 the streets.
JIANFA_STREETS = ("120111100", "120111101", "120111102", "120111103", "120111104")
PILOT_STREETS = ("120111101", "120111100", "120111003", "120111001", "120111002")  # the five pilot streets

DIAGNOSES = [
    ("精神分裂症", "F20", 60),
    ("双相情感障碍", "F31", 14),
    ("分裂情感性障碍", "F25", 6),
    ("偏执性精神病", "F22", 5),
    ("癫痫所致精神障碍", "F06", 6),
    ("精神发育迟滞伴发精神障碍", "F70", 9),
]
MEDICATION = {
    "F20": [
        "利培酮片 2mg 每日两次",
        "奥氮平片 10mg 每晚一次",
        "阿立哌唑片 10mg 每日一次",
        "帕利哌酮缓释片 6mg 每日一次",
    ],
    "F31": ["碳酸锂缓释片 0.3g 每日两次", "丙戊酸钠缓释片 0.5g 每日两次", "喹硫平片 200mg 每晚一次"],
    "F25": ["奥氮平片 10mg 每晚一次，丙戊酸钠缓释片 0.5g 每日两次"],
    "F22": ["利培酮片 2mg 每日两次", "阿立哌唑片 15mg 每日一次"],
    "F06": ["丙戊酸钠缓释片 0.5g 每日两次，利培酮片 1mg 每日两次"],
    "F70": ["利培酮片 1mg 每日两次"],
}
HOSPITALS = ["天津市安定医院", "天津市安定医院", "天津市精神卫生中心", "天津市西青医院"]

# SDSS items → (problem found, rehabilitation goal) for the personal plan.
GOALS = {
    "work": ("职业和工作能力下降", "坚持每周参加两次职业康复训练，完成简单的手工作业"),
    "withdrawal": ("社会性退缩，很少与人交往", "每周至少参加一次小组活动，并主动与一名组员交流"),
    "outside_activities": ("家庭外社会活动少", "每月参加一次社区融合活动"),
    "home_activities": ("家庭内活动过少，白天卧床时间长", "作息规律，每天完成一项家务"),
    "family_role": ("家庭职能缺陷", "固定承担买菜、做饭等一项家务"),
    "self_care": ("个人生活自理较差", "能独立完成洗漱、换洗衣物，保持个人卫生"),
    "interest": ("对外界缺乏兴趣和关心", "培养一项兴趣爱好，每周练习两次"),
    "responsibility": ("缺乏责任心和计划性", "能按周计划表完成安排的事项"),
    "marriage": ("夫妻沟通较少，关系紧张", "与配偶共同参加家庭支持活动，每周谈心一次"),
    "parenting": ("难以承担照顾子女的责任", "每天陪伴子女完成一项活动"),
}
TITLES = {
    ServiceType.MEDICATION: ["认识我的药物", "按时服药有办法", "药物副作用的识别与应对", "服药记录卡的使用"],
    ServiceType.RELAPSE: ["识别复发的早期信号", "制订我的复发预防计划", "压力与情绪管理", "睡眠与复发"],
    ServiceType.PHYSICAL: ["八段锦练习", "健康饮食与体重管理", "血压血糖自我监测", "康复健步走"],
    ServiceType.LIVING: ["超市购物实践", "家常菜烹饪", "整理房间小能手", "乘坐公交出行练习", "手机支付练习"],
    ServiceType.SOCIAL: ["认识新朋友", "学会倾听与表达", "如何拒绝与求助", "小组合作游戏", "电话沟通练习"],
    ServiceType.VOCATIONAL: ["手工串珠", "烘焙体验课", "简历与面试模拟", "包装作业训练", "工作礼仪与守时"],
    ServiceType.PSYCHOLOGICAL: ["正念放松练习", "认识自己的情绪", "绘画表达", "音乐放松", "积极心理小组"],
    ServiceType.PEER: ["同伴分享：我的康复故事", "同伴互助小组", "康复之星经验交流", "同伴支持：走出家门"],
    ServiceType.FAMILY: ["家属课堂：如何与患者沟通", "照护者减压", "家属课堂：识别复发先兆", "家庭心理教育"],
}
GROUP_TYPES = [
    ServiceType.MEDICATION,
    ServiceType.SOCIAL,
    ServiceType.LIVING,
    ServiceType.RELAPSE,
    ServiceType.PHYSICAL,
    ServiceType.VOCATIONAL,
    ServiceType.PSYCHOLOGICAL,
]
FESTIVALS = {
    (12, 21): "冬至包饺子",
    (2, 10): "迎新春写福字",
    (3, 3): "元宵节猜灯谜",
    (5, 20): "社区运动会",
    (6, 17): "端午节包粽子",
    (9, 23): "中秋游园会",
    (10, 10): "世界精神卫生日宣传",
}

# How screening ends for people on a roster, in percent: 西青 found 117 suited among 1,673 (seed 002).
SCREENING_SHARES = {
    "xq": {"eligible": 12, "unwilling": 44, "unsuitable": 20, "unreachable": 11, "elsewhere": 7, "other": 6},
    "bc": {"eligible": 26, "unwilling": 36, "unsuitable": 21, "unreachable": 10, "elsewhere": 7},
}
# People in community rehabilitation are mostly stable: symptoms score lower than social functioning.
SEVERITY_FACTOR = {"mental_status": 0.55, "psp": 0.8}
# Screening by its outcome: the contacts made, each (days after the previous one, how, reached, person
# willing, guardian willing, notes, chance it happens), and the decision (decline reason, note).
_PHONE, _HOME = ContactMode.PHONE, ContactMode.HOME
SCREENING = {
    "eligible": (
        [
            (0, _PHONE, True, True, True, ["电话联系，介绍社区康复服务，本人和家属愿意进一步了解"], 1),
            ((2, 9), _HOME, True, True, True, ["入户评估：病情稳定，生活基本自理，本人和家属同意参加社区康复"], 1),
        ],
        ("", "病情稳定，有康复需求和参加意愿"),
    ),
    "unwilling": (
        [
            (0, _PHONE, True, False, None, ["本人表示病情稳定，不愿参加集体活动", "家属担心被邻居知道，婉拒",
                                            "本人白天在外打零工，没有时间参加", "本人表示只想在家休养"], 1),
            ((4, 15), _HOME, True, False, False, ["入户再次动员，本人和家属仍不愿参加，留下联系方式"], 0.4),
        ],
        (DeclineReason.UNWILLING, "本人或监护人不愿参加"),
    ),
    "unsuitable": (
        [
            (0, _PHONE, True, None, True, ["家属称患者近期病情有波动"], 1),
            ((3, 10), _HOME, True, None, True, ["入户评估：幻听明显，需先到医院调整药物",
                                                "入户评估：年老体弱，长期卧床，难以到站",
                                                "入户评估：合并严重躯体疾病，目前以治疗为主"], 1),
        ],
        (DeclineReason.UNSUITABLE, "病情目前不适合社区康复"),
    ),
    "unreachable": (
        [
            (0, _PHONE, False, None, None, ["电话无人接听"], 1),
            ((2, 6), _PHONE, False, None, None, ["号码已停机", "号码为空号"], 1),
            ((7, 15), _HOME, False, None, None, ["入户未遇，邻居称已搬走多年，社区也无联系方式"], 1),
        ],
        (DeclineReason.UNREACHABLE, "电话和入户均联系不上"),
    ),
    "elsewhere": (
        [(0, _PHONE, True, False, None, ["已在街道温馨家园（日间照料）参加康复活动", "已在残联阳光家园接受托养服务"], 1)],
        (DeclineReason.SERVED_ELSEWHERE, "已在其他机构接受服务"),
    ),
    "other": (
        [(0, _PHONE, True, None, None, ["本人长期在外地务工，暂不在本区居住"], 1)],
        (DeclineReason.OTHER, "长期在外地居住"),
    ),
}  # fmt: skip

_NINE = list(ServiceType.values)
# The register of institutions: (organisation, who records it, level, services, capacity, opened, note).
PROFILES = [
    ("xq", "xq", InstitutionLevel.DISTRICT, _NINE, 120, dt.date(2023, 5, 8),
     "区级康复中心；天津市安定医院康复科团队技术指导；下设两个试点站点"),
    ("jianfa", "xq", InstitutionLevel.STREET, _NINE[:7], 60, dt.date(2023, 6, 1), "服务杨柳青镇、中北镇等片区"),
    ("chilong", "xq", InstitutionLevel.STREET, [*_NINE[:7], "family"], 60, dt.date(2023, 6, 1),
     "服务赤龙南街、西营门街、李七庄街等片区"),
    ("bc", "bc", InstitutionLevel.DISTRICT, _NINE, 80, dt.date(2020, 9, 1),
     "全市率先试点；委托北辰安津医院评估，联合社区卫生服务中心开展同伴支持"),
    ("anding", "anding", InstitutionLevel.CITY, ["medication", "relapse", "psychological", "family"], 0, None,
     "市级精神卫生专业机构：技术指导、复发住院和出院转介"),
    ("anjin", "city", InstitutionLevel.DISTRICT, ["medication", "relapse", "peer"], 0, None,
     "北辰区精神卫生专科医院：患者基础评估和同伴支持"),
]  # fmt: skip
# What the intake interview (入组面谈) finds, to choose from.
INTAKE = {
    "mental": ["目前病情稳定，无明显幻觉妄想", "残留少量阴性症状，情感较平淡、话少",
               "偶有幻听，能自行识别并不受其支配", "情绪稳定，睡眠尚可"],
    "physical": ["身体状况一般，无重大躯体疾病", "体重偏重，血脂偏高", "患有高血压，规律服药",
                 "服药后有嗜睡、手抖等副作用", "2 型糖尿病，饮食控制中"],
    "family": ["家庭关系和睦", "照护压力较大", "经济来源主要靠低保和家人"],
    "living": ["楼房二层，居住条件较好，距站点约 2 公里", "平房独院，生活设施齐全，距站点约 4 公里",
               "老旧小区六层无电梯，出行不便", "村内自建房，交通靠电动车"],
    "growth": ["初中毕业后进厂工作，", "高中毕业后当兵两年，", "大专毕业后在超市工作，", "从小性格内向，学习成绩一般，"],
    "after": ["辞去工作", "多次住院", "长期在家休养"],
    "interests": ["喜欢听戏曲和看电视", "喜欢下象棋", "喜欢书法和绘画", "喜欢做手工和烘焙", "喜欢散步和广场舞",
                  "喜欢打乒乓球", "喜欢唱歌"],
}  # fmt: skip
# (name, profession, certificate, login, where they work, joined, training hours this year, direct service);
# 西青 has the six full-time staff of seed 002, a peer worker and 安定医院's consultant.
XIQING_STAFF = [
    ("李静", Profession.SOCIAL_WORKER, "社会工作师（中级）", "rehab", "xq", dt.date(2023, 5, 8), 32, True),
    ("王海燕", Profession.SOCIAL_WORKER, "助理社会工作师", "jianfa", "jianfa", dt.date(2023, 6, 1), 24, True),
    ("张博", Profession.SOCIAL_WORKER, "助理社会工作师", "chilong", "chilong", dt.date(2024, 3, 11), 14, True),
    ("刘洋", Profession.THERAPIST, "康复医学治疗技术（初级）", "", "jianfa", dt.date(2023, 6, 1), 22, True),
    ("陈雪", Profession.COUNSELLOR, "心理治疗（初级）", "", "xq", dt.date(2023, 9, 4), 26, True),
    ("赵敏", Profession.NURSE, "护士执业证书", "", "chilong", dt.date(2023, 6, 1), 20, True),
    ("周凯", Profession.PEER, "同伴支持员培训合格证", "", "xq", dt.date(2026, 4, 1), 8, True),
    ("孙立新", Profession.PSYCHIATRIST, "精神科 副主任医师", "", "xq", dt.date(2023, 5, 8), 6, False),
]  # fmt: skip
BEICHEN_STAFF = [
    ("郑丽", Profession.SOCIAL_WORKER, "社会工作师（中级）", "rehab", "bc", dt.date(2021, 3, 1), 24, True),
    ("何建国", Profession.SOCIAL_WORKER, "助理社会工作师", "", "bc", dt.date(2025, 7, 1), 12, True),
    ("马春梅", Profession.PEER, "同伴辅导员培训合格证", "", "bc", dt.date(2022, 5, 1), 20, True),
    ("韩冬", Profession.PSYCHIATRIST, "精神科 主治医师", "", "bc", dt.date(2021, 3, 1), 16, True),
]  # fmt: skip
TRAINING_TOPICS = [
    ("精神疾病症状与评估", "天津市安定医院康复科"),
    ("精神疾病常见问题及药物治疗", "天津市安定医院康复科"),
    ("精神健康急救", "天津市安定医院"),
    ("社会功能评估量表（SDSS、PSP）的使用", "天津市精神卫生中心"),
    ("个案管理与个性化康复计划制订", "天津市民政局"),
    ("精神障碍社区康复服务规范", "天津市民政局"),
    ("家庭心理教育与照护者支持", "天津市安定医院康复科"),
    ("同伴支持服务实务", "北辰安津医院"),
]


def _aware(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _workday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _png(tint: int, width: int = 96, height: int = 64) -> bytes:
    """A small PNG standing in for a photo or a scan: a soft gradient, made without an imaging library."""
    base = [(250, 226, 180), (190, 225, 200), (200, 215, 245), (245, 245, 240)][tint % 4]
    rows = b"".join(b"\x00" + bytes(max(0, c - y) for c in base) * width for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


@dataclass
class Track:
    """What the demo knows of one case beyond the database: who the person is and where they go."""

    case_id: int
    person: Person
    inst: str  # "xq" or "bc"
    actor: User
    site: Organisation | None
    diagnosis: tuple[str, str]
    family: tuple[str, str]  # name, relation
    marital: str  # 未婚 / 已婚 / 离异 / 丧偶
    status: str = CaseStatus.REFERRED
    enrolled_on: dt.date | None = None
    severity: float = 0.5
    step: float = 0.0
    trend: str = "unchanged"
    risk: int = 0
    fate: str = ""
    neglect: bool = False
    quick: bool = False
    onset: int = 0
    planned: bool = False
    relapsed_on: dt.date | None = None
    follow_seq: int = 0
    offsets: dict[str, dict[str, float]] = field(default_factory=dict)
    last_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    latest: dict[str, int] = field(default_factory=dict)  # scale code → latest assessment id


def load(out) -> None:
    def org(name: str, kind: str) -> Organisation | None:
        return Organisation.objects.filter(name=name, kind=kind).first()

    orgs = {
        "xq": org(XIQING_CENTRE, OrganisationKind.REHAB_INSTITUTION),
        "bc": org(BEICHEN_CENTRE, OrganisationKind.REHAB_INSTITUTION),
        "anding": org("天津市安定医院", OrganisationKind.PSYCHIATRIC_HOSPITAL),
        "anjin": org("北辰安津医院", OrganisationKind.PSYCHIATRIC_HOSPITAL),
        "bakery": org(BAKERY, OrganisationKind.EMPLOYER),
    }
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERS)}
    if any(o is None for o in orgs.values()) or len(users) < len(DEMO_USERS):
        return
    if Case.objects.filter(institution=orgs["xq"]).exists():
        out.write("西青区精康演示数据已存在，跳过。")
        return
    if not Person.objects.filter(district_id=XIQING).exists():
        return
    out.write("建立西青区、北辰区精康服务一年的名单、筛查、个案和服务记录 …")
    import time_machine  # installed with the development tools, as `make demo` does

    with transaction.atomic():
        demo = _Demo(out, orgs, users, time_machine)
        demo.run()
    demo.report()


DEMO_USERS = ("xiqing.admin", "xiqing.rehab", "beichen.rehab", "anding.doctor", "shi.admin")


class _Demo:
    def __init__(self, out, orgs: dict[str, Organisation], users: dict[str, User], clock):
        self.out = out
        self.clock = clock  # time_machine: every step runs on the day it happened
        self.rng = random.Random(SEED)
        self.today = timezone.localdate()
        self.start = self.today - dt.timedelta(days=364)
        self.orgs = orgs
        self.admin = users["xiqing.admin"]
        self.city = users["shi.admin"]
        self.xq_rehab = users["xiqing.rehab"]
        self.bc_rehab = users["beichen.rehab"]
        self.doctor = users["anding.doctor"]
        sites = list(Organisation.objects.filter(parent=orgs["xq"], kind=OrganisationKind.REHAB_SITE))
        self.jianfa_site = next((s for s in sites if s.region_id.startswith("120111101")), None)
        self.chilong_site = next((s for s in sites if s.region_id.startswith("120111003")), None)
        self.jianfa = self._site_worker("xiqing.jianfa", "王海燕（建发站点 社工）", self.jianfa_site)
        self.chilong = self._site_worker("xiqing.chilong", "张博（赤龙南街站点 社工）", self.chilong_site)
        self.scales = {
            code: scale
            for code in SCALE_CODES
            if (scale := Scale.objects.filter(code=code, is_current=True).order_by("-version").first())
        }
        self.heap: list[tuple] = []
        self.seq = 0
        self.tracks: dict[int, Track] = {}
        self.failures: Counter = Counter()
        self.hashes = set(Person.objects.values_list("id_number_hash", flat=True))
        self.used_people: set[int] = set()
        self.fates = {
            "xq": Counter(
                relapse_resume=1,
                relapse_stay=1,
                relapse_declined=1,
                recovered=3,
                employed=2,
                moved=1,
                withdrew=2,
                bakery=4,
                bakery_left=1,
                bakery_declined=1,
                bakery_pending=1,
                bakery_cancel=1,
                neglect=4,
            ),
            "bc": Counter(recovered=1, withdrew=1, relapse_pending=1, neglect=1),
        }
        self.roster_lines: dict[str, tuple[str, str]] = {}  # id hash → diagnosis
        self.emergency_done = False
        self.families: dict[int, tuple[tuple[str, str], str]] = {}
        # 回访 and 满意度 draw from their own generator, so the rest of the year stays as it was.
        self.aftercare_rng = random.Random(SEED + 4)

    # ------------------------------------------------------------------ the clock

    def at(self, day: dt.date, fn: Callable, *args, prio: int = 5) -> None:
        if day > self.today:
            return
        self.seq += 1
        heapq.heappush(self.heap, (day, prio, self.seq, fn, args))

    def run(self) -> None:
        real_now = timezone.now()
        self.at(self.start, self.setup, prio=0)
        self.plan_channels()
        self.plan_activities()
        current = None
        while self.heap:
            day = self.heap[0][0]
            if current is not None and day < current:
                day = current  # an event made for an earlier day runs on the day it was made
            current = day
            # Today's steps happen a little before now, not later in the day.
            moment = _aware(day) if day < self.today else min(_aware(day), real_now - dt.timedelta(minutes=5))
            with self.clock.travel(moment, tick=False):
                while self.heap and self.heap[0][0] <= day:
                    _day, _prio, _seq, fn, args = heapq.heappop(self.heap)
                    try:
                        with transaction.atomic():
                            fn(day, *args)
                    except (ValidationError, PermissionDenied) as exc:
                        message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
                        self.failures[(fn.__name__, message)] += 1
        self.final()

    # ------------------------------------------------------------------ people

    def _site_worker(self, username: str, full_name: str, site: Organisation | None) -> User:
        if site is None:
            return self.xq_rehab
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "full_name": full_name,
                "role": Role.REHAB_WORKER,
                "organisation": site,
                "jurisdiction_id": XIQING,
            },
        )
        if created:
            user.set_unusable_password()  # a colleague on the case files, not a demo login
            user.save()
        return user

    def _name(self, surname: str | None = None) -> str:
        rng = self.rng
        surname = surname or rng.choices(SURNAMES, weights=[1 / (i + 8) for i in range(len(SURNAMES))])[0]
        return surname + "".join(rng.choice(GIVEN_CHARS) for _ in range(1 if rng.random() < 0.3 else 2))

    def _phone(self) -> str:
        return f"1{self.rng.choice('35789')}{self.rng.randint(0, 999999999):09d}"

    def _identity(self, district: str) -> dict[str, Any]:
        rng = self.rng
        while True:
            age = rng.choices([rng.randint(18, 34), rng.randint(35, 54), rng.randint(55, 72)], [3, 5, 2])[0]
            born = dt.date(self.today.year - age, rng.randint(1, 12), rng.randint(1, 28))
            male = rng.random() < 0.52
            area = district[:6] if rng.random() < 0.92 else rng.choice(["130981", "370102", "130102"])
            first17 = f"{area}{born:%Y%m%d}{rng.randint(0, 499) * 2 + (1 if male else 0):03d}"
            number = first17 + check_character(first17)
            digest = id_hash(number)
            if digest not in self.hashes:
                self.hashes.add(digest)
                return {"name": self._name(), "id_number": number, "hash": digest}

    def _pool(self, district: str, streets: tuple[str, ...] = ()) -> list[Person]:
        """People of the registry in a district, of working age and alive, not yet used by this demo."""
        low = self.today.replace(year=self.today.year - 66)
        high = self.today.replace(year=self.today.year - 18)
        people = Person.objects.filter(
            district_id=district, vital_status=VitalStatus.NORMAL, birth_date__gte=low, birth_date__lte=high
        ).order_by("pk")
        found = [p for p in people if p.pk not in self.used_people]
        if streets:
            found = [p for p in found if p.street_id[:9] in streets]
        self.rng.shuffle(found)
        return found

    def _take(self, pool: list[Person]) -> Person | None:
        while pool:
            person = pool.pop()
            if person.pk not in self.used_people:
                self.used_people.add(person.pk)
                return person
        return None

    def _family(self, person: Person) -> tuple[tuple[str, str], str]:
        """The carer the worker deals with, and the person's marital status (the same each time)."""
        if person.pk not in self.families:
            self.families[person.pk] = self._make_family(person)
        return self.families[person.pk]

    def _make_family(self, person: Person) -> tuple[tuple[str, str], str]:
        rng = self.rng
        age = person.age_on(self.today)
        guardian = Guardian.objects.filter(person=person).first()
        if guardian is not None:
            relation, marital = {
                GuardianRelation.PARENT: (rng.choice(["母亲", "父亲"]), "未婚"),
                GuardianRelation.SPOUSE: ("妻子" if person.sex == "M" else "丈夫", "已婚"),
                GuardianRelation.CHILD: (rng.choice(["儿子", "女儿"]), rng.choice(["丧偶", "离异", "已婚"])),
                GuardianRelation.SIBLING: (rng.choice(["哥哥", "姐姐"]), rng.choice(["未婚", "离异"])),
            }.get(guardian.relation, ("", ""))
            plausible = {"母亲": age < 60, "父亲": age < 60, "儿子": age >= 50, "女儿": age >= 50}.get(
                relation, True
            )
            if relation and plausible:
                return (guardian.name, relation), marital
        if age > 30 and rng.random() < (0.35 if age < 45 else 0.6):
            return (self._name(), "妻子" if person.sex == "M" else "丈夫"), "已婚"
        if age < 55:
            relation = rng.choice(["母亲", "母亲", "父亲"])
            marital = "未婚" if age < 35 or rng.random() < 0.7 else "离异"
            return (self._name(person.name[0] if relation == "父亲" else None), relation), marital
        relation = rng.choice(["姐姐", "哥哥", "侄子"])
        return (self._name(person.name[0]), relation), rng.choice(["未婚", "离异", "丧偶"])

    def _site_for(self, person: Person) -> tuple[Organisation | None, User]:
        in_jianfa = person.street_id[:9] in JIANFA_STREETS
        site = self.jianfa_site if in_jianfa else self.chilong_site
        worker = (self.jianfa if in_jianfa else self.chilong) if self.rng.random() < 0.55 else self.xq_rehab
        return site, worker

    def _track(self, case: Case, inst: str, diagnosis: tuple[str, str] | None = None) -> Track:
        person = case.person
        family, marital = self._family(person)
        if inst == "xq":
            site, actor = self._site_for(person)
        else:
            site, actor = None, self.bc_rehab
        if diagnosis is None:
            name, code, _w = self.rng.choices(DIAGNOSES, [w for *_x, w in DIAGNOSES])[0]
            diagnosis = (name, code)
        track = Track(
            case_id=case.pk,
            person=person,
            inst=inst,
            actor=actor,
            site=site,
            diagnosis=diagnosis,
            family=family,
            marital=marital,
        )
        self.tracks[case.pk] = track
        self.used_people.add(person.pk)
        return track

    def case(self, t: Track) -> Case:
        return Case.objects.get(pk=t.case_id)

    # ------------------------------------------------------------------ the register

    def setup(self, day: dt.date) -> None:
        xq, bc = self.orgs["xq"], self.orgs["bc"]
        orgs = {**self.orgs, "jianfa": self.jianfa_site, "chilong": self.chilong_site}
        actors = {"xq": self.xq_rehab, "bc": self.bc_rehab, "anding": self.doctor, "city": self.city}
        for key, actor, level, kinds, capacity, opened, note in PROFILES:
            if orgs.get(key) is None:
                continue
            institutions.institution_profile_save(
                actor=actors[actor],
                organisation=orgs[key],
                values={
                    "level": level,
                    "services": kinds,
                    "capacity": capacity,
                    # The register is written on the demo's first day: nothing in it may be later.
                    "opened_on": opened and min(opened, day),
                    "note": note,
                },
            )
        # 西青's centre has 审核人 named by the district: its two workers (each decides the other's).
        colleague = User.objects.filter(username="xiqing.rehab2").first()
        approval_services.approvers_set(
            actor=self.admin, institution=xq, users=[u for u in (self.xq_rehab, colleague) if u is not None]
        )
        logins = {"rehab": self.xq_rehab, "jianfa": self.jianfa, "chilong": self.chilong}
        linked: set[int] = set()
        places = {"xq": xq, "bc": bc, "jianfa": self.jianfa_site or xq, "chilong": self.chilong_site or xq}
        for staff_list, actor, logins_here in (
            (XIQING_STAFF, self.xq_rehab, logins),
            (BEICHEN_STAFF, self.bc_rehab, {"rehab": self.bc_rehab}),
        ):
            for i, (name, profession, certificate, login, where, joined, hours, direct) in enumerate(
                staff_list
            ):
                joined = min(joined, day)
                org = places[where]
                user = logins_here.get(login)
                if user is not None and user.pk in linked:
                    user = None
                if user is not None:
                    linked.add(user.pk)
                staff = institutions.staff_save(
                    actor=actor,
                    organisation=org,
                    values={
                        "name": name,
                        "profession": profession,
                        "certificate": certificate,
                        "certificate_number": f"{joined.year}{org.region_id[:6]}{i + 1:04d}",
                        "direct_service": direct,
                        "joined_on": joined,
                        "user": user,
                    },
                )
                self.plan_trainings(staff, actor, joined, hours)

    def plan_trainings(self, staff, actor: User, joined: dt.date, hours: int) -> None:
        """This year's hours in sessions of 2–8 hours, and a session late last year for the old hands."""
        rng = self.rng
        year_start = dt.date(self.today.year, 1, 1)
        first = max(year_start, joined, self.start)
        topics = list(TRAINING_TOPICS)
        rng.shuffle(topics)
        left, i = hours, 0
        while left > 0:
            chunk = min(left, rng.choice([2, 4, 4, 6, 8]))
            held = first + dt.timedelta(days=rng.randint(0, max(0, (self.today - first).days - 4)))
            topic, provider = topics[i % len(topics)]
            self.at(_workday(held), self.training, staff, actor, chunk, topic, provider)
            left -= chunk
            i += 1
        if joined < self.start:
            held = dt.date(self.today.year - 1, 12, rng.randint(1, 20))
            if held >= self.start:
                self.at(
                    held, self.training, staff, actor, 6, "年度业务培训：精神障碍社区康复服务", "天津市民政局"
                )

    def training(self, day, staff, actor, hours, topic, provider) -> None:
        institutions.training_add(
            actor=actor, staff=staff, held_on=day, hours=Decimal(hours), topic=topic, provider=provider
        )

    # ------------------------------------------------------------------ the ways in

    def plan_channels(self) -> None:
        rng, start, today = self.rng, self.start, self.today
        xq_people = self._pool(XIQING, PILOT_STREETS)
        self.xq_roster_known = [p for p in (self._take(xq_people) for _ in range(55)) if p]
        xq_any = self._pool(XIQING)
        bc_any = self._pool(BEICHEN)
        # 卫健's full list first, then its quarterly updates; the last one came a few days ago.
        self.at(start + dt.timedelta(days=6), self.roster, "xq", 0, 255, prio=1)
        for n, offset in enumerate((97, 188, 279), start=1):
            self.at(_workday(start + dt.timedelta(days=offset)), self.roster, "xq", n, 26, prio=1)
        self.at(_workday(today - dt.timedelta(days=14)), self.roster, "xq", 4, 30, prio=1)
        # 北辰's 残联 list of 持证精神残疾人.
        self.at(_workday(start + dt.timedelta(days=16)), self.roster, "bc", 0, 66, prio=1)
        self.at(_workday(start + dt.timedelta(days=150)), self.roster, "bc", 1, 10, prio=1)
        self.at(_workday(today - dt.timedelta(days=20)), self.roster, "bc", 2, 12, prio=1)
        # Applications from people, their families, hospitals and communities, through the year.
        # The first few came in as the year began and were served within days.
        sources = (
            [ApplicationSource.SELF] * 6 + [ApplicationSource.MEDICAL] * 5 + [ApplicationSource.OTHER] * 3
        )
        rng.shuffle(sources)
        for i, source in enumerate(sources):
            day = (
                start + dt.timedelta(days=i)
                if i < 4
                else start + dt.timedelta(days=20 + i * 24 + rng.randint(0, 8))
            )
            person = self._take(xq_any)
            if person is not None:
                self.at(_workday(day), self.apply, person, source, "xq", "fast" if i < 4 else "refer")
        for i in range(4):
            person = self._take(bc_any)
            if person is not None:
                day = start + dt.timedelta(days=1 if i == 0 else 30 + i * 80 + rng.randint(0, 20))
                self.at(
                    _workday(day),
                    self.apply,
                    person,
                    ApplicationSource.MEDICAL,
                    "bc",
                    "fast" if i == 0 else "refer",
                )
        # Enrolled a few days ago, before the plan: one in each district.
        for inst, pool in (("xq", xq_any), ("bc", bc_any)):
            person = self._take(pool)
            if person is not None:
                source = ApplicationSource.SELF if inst == "xq" else ApplicationSource.MEDICAL
                self.at(_workday(today - dt.timedelta(days=13)), self.apply, person, source, inst, "fast")
        # Left for the intake worklist: one overdue for the initial check, one new, two waiting to be
        # referred (inside the deadline), and one found not to qualify.
        for days_ago, stop in (
            (14, "received"),
            (1, "received"),
            (4, "registered"),
            (6, "registered"),
            (40, "reject"),
        ):
            person = self._take(xq_any)
            if person is not None:
                self.at(
                    today - dt.timedelta(days=days_ago),
                    self.apply,
                    person,
                    ApplicationSource.SELF,
                    "xq",
                    stop,
                )
        # 安定医院 refers discharged patients to community rehabilitation.
        for offset, outcome in ((55, "accept"), (150, "accept"), (236, "accept"), (120, "wrong_district")):
            pool = bc_any if outcome == "wrong_district" else xq_any
            person = self._take(pool)
            if person is not None:
                self.at(_workday(start + dt.timedelta(days=offset)), self.h2c, person, outcome)
        for pool, outcome in ((xq_any, "pending"), (bc_any, "pending_beichen")):
            person = self._take(pool)
            if person is not None:
                self.at(today - dt.timedelta(days=2), self.h2c, person, outcome)

    def _roster_rows(self, inst: str, number: int, size: int) -> tuple[list[list[str]], list[str]]:
        """Lines of a roster file: new people, people the registry knows, and a few bad lines."""
        rng = self.rng
        district = XIQING if inst == "xq" else BEICHEN
        communities = list(
            Region.objects.filter(code__startswith=district[:6], level=RegionLevel.COMMUNITY).order_by("code")
        )
        if inst == "xq":
            communities = [c for c in communities if c.code[:9] in PILOT_STREETS]
        names = Counter(c.name for c in communities)
        rows: list[list[str]] = []

        def where(code: str) -> str:
            region = next((c for c in communities if c.code == code), None)
            if region is None or names[region.name] > 1 or rng.random() < 0.2:
                return code
            return region.name

        def tail(id_number: str, diagnosis: str) -> list[str]:
            """卫健 lists the diagnosis, 残联 the certificate number (ID, category 6 精神, grade)."""
            return [diagnosis] if inst == "xq" else [f"{id_number}6{rng.choice([1, 2, 2, 3, 3, 4])}"]

        known: list[Person] = []
        if number == 0 and inst == "xq":
            known = self.xq_roster_known
        elif number == 0:
            known = [p for p in (self._take(self._pool(BEICHEN)) for _ in range(8)) if p]
        for _ in range(size - len(known)):
            who = self._identity(district)
            community = rng.choice(communities)
            diagnosis = rng.choices(DIAGNOSES, [w for *_x, w in DIAGNOSES])[0]
            self.roster_lines[who["hash"]] = (diagnosis[0], diagnosis[1])
            rows.append(
                [
                    who["name"],
                    who["id_number"],
                    where(community.code),
                    self._phone() if rng.random() < 0.9 else "",
                    f"{community.name}{rng.randint(1, 60)}号楼{rng.randint(1, 6)}门{rng.randint(101, 602)}",
                    *tail(who["id_number"], diagnosis[0]),
                ]
            )
        for person in known:
            diagnosis = rng.choices(DIAGNOSES, [w for *_x, w in DIAGNOSES])[0]
            self.roster_lines[id_hash(person.id_number)] = (diagnosis[0], diagnosis[1])
            rows.append(
                [
                    person.name,
                    person.id_number,
                    where(person.community_id),
                    person.phone,
                    person.address,
                    *tail(person.id_number, diagnosis[0]),
                ]
            )
        if number > 0:
            # The updates list again some people already served, whom the import skips.
            served = [
                t for t in self.tracks.values() if t.inst == inst and t.status in ("enrolled", "active")
            ]
            for t in rng.sample(served, min(4, len(served))):
                p = t.person
                rows.append(
                    [
                        p.name,
                        p.id_number,
                        p.community_id,
                        p.phone,
                        p.address,
                        *tail(p.id_number, t.diagnosis[0]),
                    ]
                )
        rng.shuffle(rows)
        bad = []
        if rows:
            template = list(rows[0])
            if number == 0:
                wrong = template[1][:-1] + ("0" if template[1][-1] != "0" else "1")
                bad = [
                    [template[0], wrong, *template[2:]],  # check character wrong
                    ["", self._identity(district)["id_number"], *template[2:]],  # no name
                    [self._name(), self._identity(district)["id_number"], "幸福里第九社区", *template[3:]],
                    list(rows[len(rows) // 2]),  # the same person twice
                ]
                if inst == "xq":
                    bad.append(
                        [
                            self._name(),
                            self._identity(district)["id_number"],
                            template[2],
                            "8862731",
                            *template[4:],
                        ]
                    )
            else:
                bad = [[self._name(), self._identity(district)["id_number"][:17], *template[2:]]]  # 17 digits
        for line in bad:
            rows.insert(rng.randint(1, len(rows)), line)
        if inst == "xq":
            header = ["姓名", "身份证号", "现住社区", "联系电话", "现住址", "诊断"]
        else:
            header = ["姓名", "身份证号", "所属社区", "联系电话", "居住地址", "残疾人证号"]
        return rows, header

    def roster(self, day: dt.date, inst: str, number: int, size: int) -> None:
        district = Region.objects.get(code=XIQING if inst == "xq" else BEICHEN)
        actor = self.admin if inst == "xq" else self.city
        source = ApplicationSource.HEALTH_LIST if inst == "xq" else ApplicationSource.FEDERATION_LIST
        rows, header = self._roster_rows(inst, number, size)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        office = "区卫生健康委" if inst == "xq" else "区残疾人联合会"
        kind = "严重精神障碍患者名单" if inst == "xq" else "持证精神残疾人名单"
        writer.writerow([f"{district.name}{kind}（{'全量' if number == 0 else '季度新增'}，{office}提供）"])
        writer.writerow(["序号", *header])
        for i, row in enumerate(rows, start=1):
            writer.writerow([i, *row])
        raw = buffer.getvalue().encode("gbk" if number == 0 else "utf-8-sig")
        file_name = f"{district.name}{kind}_{day:%Y%m}.csv"
        received = day - dt.timedelta(days=1 if number else 3)
        preview = rosters.roster_preview(
            actor=actor, district=district, source=source, file_name=file_name, raw=raw, received_on=received
        )
        done = rosters.roster_confirm(actor=actor, roster=preview)
        result = done.result
        self.out.write(
            f"  {day}：导入{district.name}{kind}，{done.total} 行：新登记 {result['created']} 人，"
            f"已在册 {result['linked']} 人，跳过 {result['skipped']} 行，有误 {result['errors']} 行"
        )
        ids = list(
            Application.objects.filter(roster_digest=done.digest, district=district)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        self.rng.shuffle(ids)
        count = 5 if len(ids) > 60 else 1
        waves = [ids[i::count] for i in range(count)]
        for w, wave in enumerate(waves):
            self.at(_workday(day + dt.timedelta(days=2 + 7 * w)), self.refer_wave, inst, number, wave, prio=1)

    def refer_wave(self, day: dt.date, inst: str, number: int, ids: list[int]) -> None:
        actor = self.admin if inst == "xq" else self.city
        applications.applications_refer(actor=actor, ids=ids, institution=self.orgs[inst])
        cases = list(Case.objects.filter(application_id__in=ids).select_related("person").order_by("pk"))
        rng = self.rng
        shares = SCREENING_SHARES[inst]
        outcomes = [o for o, w in shares.items() for _ in range(round(w * len(cases) / 100))]
        outcomes += ["unwilling"] * (len(cases) - len(outcomes))
        rng.shuffle(outcomes)
        spread = 110 if number == 0 and inst == "xq" else 40
        for case, outcome in zip(cases, outcomes, strict=False):
            diagnosis = self.roster_lines.get(id_hash(case.person.id_number))
            t = self._track(case, inst, diagnosis)
            first = day + dt.timedelta(days=rng.randint(2, spread))
            if (self.today - day).days < 30:  # the latest list is being screened now
                first = day + dt.timedelta(days=rng.randint(0, 8))
            self.plan_screening(t, outcome, first)

    def apply(self, day: dt.date, person: Person, source: str, inst: str, stop: str) -> None:
        rng = self.rng
        actor = self.admin if inst == "xq" else self.city
        family, _marital = self._family(person)
        if source == ApplicationSource.MEDICAL:
            org = "天津市安定医院" if inst == "xq" else "北辰安津医院"
            data = applications.ApplicationData(
                source=source,
                received_on=day,
                applicant_name=self._name(),
                applicant_org=org,
                applicant_phone="022-8818" + f"{rng.randint(1000, 9999)}",
                reason="出院随访患者，病情稳定，建议参加社区康复",
            )
        elif source == ApplicationSource.OTHER:
            community = Region.objects.filter(code=person.community_id).first()
            data = applications.ApplicationData(
                source=source,
                received_on=day,
                applicant_name=self._name(),
                applicant_org=f"{community.name if community else ''}居民委员会"[:100],
                applicant_phone=self._phone(),
                reason="网格员走访发现，家属有康复服务需求",
            )
        else:
            data = applications.ApplicationData(
                source=source,
                received_on=day,
                applicant_name=family[0],
                applicant_phone=self._phone(),
                reason=rng.choice(
                    [
                        "家属陪同到街道申请，希望参加康复活动、多与人交往",
                        "本人病情稳定，想学习做饭等生活技能，将来能找份工作",
                        "监护人申请：患者长期在家不出门，希望得到专业帮助",
                    ]
                ),
            )
        application = applications.application_create(actor=actor, person=person, data=data)
        if stop == "received":
            return
        delay = 1 if stop == "fast" else rng.randint(1, 3)
        self.at(_workday(day + dt.timedelta(days=delay)), self.register, application, inst, stop)

    def register(self, day: dt.date, application: Application, inst: str, stop: str) -> None:
        actor = self.admin if inst == "xq" else self.city
        if stop == "reject":
            applications.application_reject(
                actor=actor,
                application=application,
                reason="经核实，申请人户籍和居住地均不在本区，已告知向居住地申请",
            )
            return
        application = applications.application_register(actor=actor, application=application, on=day)
        if stop == "registered":
            return
        delay = 1 if stop == "fast" else self.rng.randint(1, 4)
        self.at(_workday(day + dt.timedelta(days=delay)), self.refer_one, application, inst, stop == "fast")

    def refer_one(self, day: dt.date, application: Application, inst: str, quick: bool) -> None:
        actor = self.admin if inst == "xq" else self.city
        case = applications.application_refer(
            actor=actor, application=application, institution=self.orgs[inst], on=day
        )
        case = Case.objects.select_related("person").get(pk=case.pk)
        t = self._track(case, inst)
        t.quick = quick
        outcome = "eligible" if quick or self.rng.random() < 0.9 else "unwilling"
        self.plan_screening(t, outcome, day + dt.timedelta(days=1 if quick else self.rng.randint(1, 6)))

    def h2c(self, day: dt.date, person: Person, outcome: str) -> None:
        to_org = self.orgs["bc"] if outcome in ("to_beichen", "pending_beichen") else self.orgs["xq"]
        transfer = transfers.transfer_send(
            actor=self.doctor,
            person=person,
            data=transfers.TransferData(
                to_org=to_org,
                kind=TransferKind.HOSPITAL_TO_COMMUNITY,
                reason=self.rng.choice(
                    [
                        "住院治疗后病情稳定出院，需社区康复巩固疗效、预防复发",
                        "出院患者，阳性症状消失，社会功能待恢复，建议转介社区康复",
                    ]
                ),
                shared=[],
                sent_on=day,
            ),
        )
        if outcome.startswith("pending"):
            return
        self.at(_workday(day + dt.timedelta(days=self.rng.randint(1, 3))), self.h2c_answer, transfer, outcome)

    def h2c_answer(self, day: dt.date, transfer, outcome: str) -> None:
        if outcome == "wrong_district":
            transfers.transfer_decline(
                actor=self.xq_rehab,
                transfer=transfer,
                reason="患者现居北辰区，按就近原则建议转介北辰区精神障碍社区康复服务中心",
                on=day,
            )
            self.at(day + dt.timedelta(days=1), self.h2c, transfer.person, "to_beichen")
            return
        receiver = self.bc_rehab if transfer.to_org_id == self.orgs["bc"].pk else self.xq_rehab
        transfer = transfers.transfer_accept(actor=receiver, transfer=transfer, on=day)
        case = Case.objects.select_related("person").get(pk=transfer.received_case_id)
        t = self._track(case, "bc" if receiver == self.bc_rehab else "xq", ("精神分裂症", "F20"))
        self.plan_screening(t, "eligible", day + dt.timedelta(days=self.rng.randint(1, 4)), home_first=True)

    # ------------------------------------------------------------------ screening and enrolment

    def plan_screening(self, t: Track, outcome: str, first: dt.date, home_first: bool = False) -> None:
        """Phone first, then a home visit (电话 + 入户), as 西青 screened its 1,673; 北辰 also uses WeChat."""
        rng = self.rng
        contacts, (reason, note) = SCREENING[outcome]
        day = first
        for days, mode, reached, person, guardian, notes, chance in contacts:
            if (home_first and mode == ContactMode.PHONE) or rng.random() >= chance:
                continue
            if isinstance(days, tuple):
                days = days[0] if t.quick else rng.randint(*days)
            if mode == ContactMode.PHONE and t.inst == "bc" and rng.random() < 0.3:
                mode = ContactMode.WECHAT
            day += dt.timedelta(days=days)
            values = dict(
                mode=mode,
                reached=reached,
                person_willing=person,
                guardian_willing=guardian,
                note=rng.choice(notes),
            )
            self.at(day, self.contact, t, values)
        decision = {"eligible": not reason, "note": note, "decline_reason": reason}
        self.at(day + dt.timedelta(days=0 if t.quick else rng.randint(0, 3)), self.decide, t, decision)

    def contact(self, day: dt.date, t: Track, values: dict) -> None:
        enrolment.screening_contact(
            actor=t.actor, case=self.case(t), data=enrolment.ContactData(contacted_on=day, **values)
        )

    def decide(self, day: dt.date, t: Track, decision: dict) -> None:
        enrolment.screening_decide(actor=t.actor, case=self.case(t), on=day, **decision)
        t.status = CaseStatus.SCREENED if decision["eligible"] else CaseStatus.DECLINED
        if decision["eligible"]:
            delay = 2 if t.quick else self.rng.randint(3, 14)
            self.at(_workday(day + dt.timedelta(days=delay)), self.enrol, t)

    def enrol(self, day: dt.date, t: Track) -> None:
        rng = self.rng
        person = t.person
        age = person.age_on(day)
        diagnosis, code = t.diagnosis
        onset = min(day.year - 1, max(person.birth_date.year + 16, day.year - rng.randint(2, 25)))
        t.onset = onset
        poor = IncomePeriod.objects.filter(
            person=person, status__in=["dibao", "dibao_edge"], end_date__isnull=True
        ).exists()
        registration = {
            "diagnosis": diagnosis,
            "diagnosis_code": code,
            "onset_year": onset,
            "hospitalisations": rng.choice([0, 1, 1, 2, 2, 3, 4, 6]),
            "medication": rng.choice(MEDICATION[code]),
            "treating_hospital": rng.choice(HOSPITALS) if t.inst == "xq" else "北辰安津医院",
            "living_arrangement": f"与{t.family[1]}同住"
            if t.family[1] not in ("侄子",)
            else "独居，侄子照看",
            "education": rng.choice(["小学", "初中", "初中", "高中", "中专", "大专", "本科"]),
            "marital_status": t.marital,
            "employment": "退休" if age >= 60 else rng.choice(["无业", "无业", "无业", "务农", "灵活就业"]),
            "economic_status": "低保" if poor else rng.choice(["一般", "一般", "困难", "较好"]),
        }
        guardian_signs = rng.random() < 0.7
        enrolment.case_enrol(
            actor=t.actor,
            case=self.case(t),
            data=enrolment.EnrolmentData(
                enrolled_on=day,
                worker=t.actor,
                rights_explained_on=day,
                agreement_signed_on=day,
                agreement_signer="both" if guardian_signs else "patient",
                agreement_guardian=t.family[0] if guardian_signs else "",
                site=t.site,
                registration=registration,
                # About a third of the signed agreements have been scanned in so far.
                agreement_scan=ContentFile(_png(3), name="服务协议.png") if rng.random() < 0.35 else None,
            ),
        )
        t.status = CaseStatus.ENROLLED
        t.enrolled_on = day
        self.choose_fate(t, day)
        self.at(day + dt.timedelta(days=rng.randint(0, 5)), self.intake, t)
        baseline = day + dt.timedelta(days=rng.randint(2, 9) if (self.today - day).days > 12 else 9)
        self.at(baseline, self.assess, t, True)
        self.at(day + dt.timedelta(days=14 - rng.randint(0, 3)), self.follow_up, t, t.follow_seq)
        self.plan_surveys(day, t)

    def choose_fate(self, t: Track, day: dt.date) -> None:
        """What the year holds for this person; the early enrolments carry the long stories."""
        rng = self.rng
        left = (self.today - day).days
        quotas = self.fates[t.inst]
        needs = {
            "recovered": (230, "improve"),
            "employed": (190, "improve"),
            "bakery": (150, "improve"),
            "bakery_left": (180, "improve"),
            "bakery_declined": (130, "improve"),
            "bakery_cancel": (120, "improve"),
            "relapse_resume": (170, "worse"),
            "relapse_declined": (110, "worse"),
            "moved": (110, ""),
            "withdrew": (70, "unchanged"),
            "relapse_stay": (70, "worse"),
            "bakery_pending": (60, "improve"),
            "relapse_pending": (40, "worse"),
            "neglect": (45, ""),
        }
        t.fate = ""
        for fate, (days, _trend) in needs.items():
            if quotas[fate] > 0 and left >= days and rng.random() < 0.45:
                if fate.startswith(("bakery", "employed")) and t.person.age_on(day) >= 55:
                    continue
                quotas[fate] -= 1
                t.fate = fate
                break
        trend = needs[t.fate][1] if t.fate else ""
        if not trend:
            trend = rng.choices(["improve", "unchanged", "worse"], [66, 22, 12])[0]
        t.trend = trend
        t.severity = rng.uniform(0.32, 0.68)
        t.step = {
            "improve": -rng.uniform(0.07, 0.14),
            "unchanged": rng.uniform(-0.015, 0.015),
            "worse": rng.uniform(0.05, 0.09),
        }[trend]
        t.risk = rng.choices([0, 1, 2], [80, 16, 4])[0]
        if t.fate == "neglect":
            t.neglect, t.fate = True, ""
        fate = t.fate
        if fate == "recovered":
            self.at(
                min(day + dt.timedelta(days=rng.randint(200, 260)), self.today - dt.timedelta(days=5)),
                self.discharge,
                t,
                DischargeReason.RECOVERED,
                "病情稳定，社会功能基本恢复，回归社会生活；转社区精防医生常规随访",
            )
        elif fate == "employed":
            self.at(day + dt.timedelta(days=rng.randint(160, 185)), self.open_job, t)
        elif fate.startswith("bakery"):
            when = day + dt.timedelta(days=rng.randint(100, 130))
            if fate == "bakery_pending":
                when = self.today - dt.timedelta(days=12)
            self.at(_workday(when), self.bakery_send, t, fate)
        elif fate.startswith("relapse"):
            when = {
                "relapse_resume": day + dt.timedelta(days=rng.randint(80, 120)),
                "relapse_declined": day + dt.timedelta(days=rng.randint(60, 90)),
                "relapse_stay": self.today - dt.timedelta(days=rng.randint(16, 24)),
                "relapse_pending": self.today - dt.timedelta(days=1),
            }[fate]
            self.at(when, self.relapse, t, fate)
        elif fate == "moved":
            self.at(
                day + dt.timedelta(days=rng.randint(70, 100)),
                self.discharge,
                t,
                DischargeReason.MOVED,
                "随子女迁往河北省沧州市居住，已告知当地民政部门",
            )
        elif fate == "withdrew":
            self.at(
                day + dt.timedelta(days=rng.randint(40, 65)),
                self.discharge,
                t,
                DischargeReason.WITHDREW,
                rng.choice(["本人表示不愿继续参加活动", "监护人工作变动，无法接送，申请退出"]),
            )

    # ------------------------------------------------------------------ the file

    def intake(self, day: dt.date, t: Track) -> None:
        rng = self.rng
        if t.status not in ("enrolled", "active", "suspended"):
            return
        years = max(1, day.year - t.onset)
        relation = t.family[1]
        enrolment.intake_save(
            actor=t.actor,
            case=self.case(t),
            values={
                "interviewed_on": day,
                "mental_health": f"{t.diagnosis[0]}病史约 {years} 年，{rng.choice(INTAKE['mental'])}，能按医嘱服药。",
                "physical_health": rng.choice(INTAKE["physical"]),
                "family_structure": f"与{relation}同住，{relation}为主要照护人，{rng.choice(INTAKE['family'])}",
                "living_environment": rng.choice(INTAKE["living"]),
                "growth_history": f"{rng.choice(INTAKE['growth'])}首次发病后{rng.choice(INTAKE['after'])}。",
                "interests": rng.choice(INTAKE["interests"]),
                "guardian_view": f"{relation}希望患者多参加活动、学会与人交往，将来能做点力所能及的工作。",
            },
        )

    def severity_on(self, t: Track, day: dt.date) -> float:
        quarters = (day - t.enrolled_on).days / 91 if t.enrolled_on else 0
        value = t.severity + t.step * quarters
        if t.relapsed_on and day >= t.relapsed_on:
            value += 0.15
        return _clamp(value, 0.05, 0.95)

    def risk_on(self, t: Track, day: dt.date) -> int:
        if t.relapsed_on and day >= t.relapsed_on:
            return 3 if (day - t.relapsed_on).days < 14 else 1
        quarters = int((day - t.enrolled_on).days / 91) if t.enrolled_on else 0
        if t.trend == "improve":
            return max(0, t.risk - quarters)
        if t.trend == "worse":
            return min(2, t.risk + quarters // 2)
        return t.risk

    def answers(self, t: Track, scale: Scale, day: dt.date) -> dict[str, Any]:
        definition = scale.definition
        if scale.code == "risk":
            return {"level": self.risk_on(t, day)}
        severity = self.severity_on(t, day) * SEVERITY_FACTOR.get(scale.code, 1.0)
        offsets = t.offsets.setdefault(
            scale.code, {item["key"]: self.rng.uniform(-0.3, 0.3) for item in definition["items"]}
        )
        not_applicable = {"work_study"} if t.person.age_on(day) >= 60 else set()
        if scale.code == "sdss":
            if t.marital == "未婚":
                not_applicable = {"marriage", "parenting"}
            elif t.marital != "已婚":
                not_applicable = (
                    {"marriage"} if t.family[1] in ("儿子", "女儿") else {"marriage", "parenting"}
                )
            elif t.person.age_on(day) < 28:
                not_applicable = {"parenting"}
        rated = definition["scoring"] == "rated_global"
        global_key = definition.get("global_item")
        answers: dict[str, Any] = {}
        for item in definition["items"]:
            key = item["key"]
            if key == global_key:
                continue
            sev = _clamp(severity + offsets.get(key, 0))
            if item.get("type") == "number":
                frac = sev if definition["better"] == "lower" else 1 - sev
                answers[key] = round(item["min"] + (item["max"] - item["min"]) * frac)
                continue
            options = item.get("options") or definition.get("options") or []
            na = [o for o in options if o.get("not_applicable")]
            if key in not_applicable and na:
                answers[key] = na[0]["value"]
                continue
            usable = sorted(
                (o for o in options if not o.get("not_applicable")), key=lambda o: o.get("score", o["value"])
            )
            index = round(sev * (len(usable) - 1))
            if not rated and definition["better"] == "higher":
                index = len(usable) - 1 - index
            answers[key] = usable[index]["value"]
        if rated and global_key:
            item = next(i for i in definition["items"] if i["key"] == global_key)
            ratings = {k: Decimal(str(v)) for k, v in answers.items()}
            low, high = scales._interval(definition, ratings)
            low, high = max(low, item["min"]), min(high, item["max"])
            answers[global_key] = high - round((high - low) * severity)
        return answers

    def assess(self, day: dt.date, t: Track, baseline: bool, final: bool = False) -> None:
        if t.status == "suspended":
            self.at(day + dt.timedelta(days=14), self.assess, t, baseline)
            return
        if t.status not in ("enrolled", "active"):
            return
        case = self.case(t)
        informant = f"本人及{t.family[1]}"
        for code, scale in self.scales.items():
            if assessments.age_warning(scale, case, day) is not None:
                # As a worker would: SDSS is for ages 15–59, so an older client is assessed on the
                # other scales only.
                continue
            try:
                answers = self.answers(t, scale, day)
                assessment = assessments.assessment_submit(
                    actor=t.actor,
                    case=case,
                    scale=scale,
                    assessed_on=day,
                    answers=answers,
                    informant=informant if code != "risk" else f"{t.family[1]}、社区精防医生",
                    note="基线评估" if baseline else ("结案评估" if final else "阶段性评估"),
                )
            except ValidationError as exc:
                if code in ("sdss", "psp", "risk"):
                    raise
                self.failures[(f"assess {code}", exc.messages[0])] += 1
                continue
            t.latest[code] = assessment.pk
            t.last_answers[code] = answers
        if baseline:
            self.at(day + dt.timedelta(days=self.rng.randint(1, 6)), self.plan, t)
        if not final:
            self.at(day + dt.timedelta(days=91 + self.rng.randint(-8, 10)), self.assess, t, False)

    def plan(self, day: dt.date, t: Track) -> None:
        if t.status not in ("enrolled", "active"):
            return
        rng = self.rng
        version = 2 if t.planned else 1
        sdss = t.last_answers.get("sdss", {})
        deficits = [
            k for k, v in sorted(sdss.items(), key=lambda kv: -kv[1] if kv[1] != 9 else 0) if v in (1, 2)
        ]
        goals = [
            {"problem": GOALS[k][0], "scale_item": f"SDSS {k}", "goal": GOALS[k][1]}
            for k in deficits[:3]
            if k in GOALS
        ]
        goals.append(
            {
                "problem": "对疾病和药物认识不足",
                "scale_item": "",
                "goal": "能说出所服药物名称、剂量和常见副作用，规律服药",
            }
        )
        kinds = [("medication", 1, "month", "site"), ("social", 1, "week", "site")]
        if {"self_care", "home_activities", "family_role"} & set(deficits):
            kinds.append(("living", 1, "week", "site"))
        if t.person.age_on(day) < 55 and (version == 2 or "work" in deficits):
            kinds.append(("vocational", 2 if version == 2 else 1, "week", "site"))
        kinds.append(("psychological", 1, "month", rng.choice(["home", "site"])))
        kinds.append(("family", 1, "month", "site"))
        if rng.random() < 0.4:
            kinds.append(("peer", 2, "month", "site"))
        review = day + dt.timedelta(days=rng.choice([90, 90, 180]) if version == 1 else 180)
        summary = (
            rng.choice(
                [
                    "以提高生活自理和社交能力为重点，逐步恢复社会功能",
                    "巩固疗效、预防复发，帮助走出家门、融入社区",
                    "提高服药依从性，减少家庭内活动过少，培养兴趣爱好",
                ]
            )
            if version == 1
            else rng.choice(
                [
                    "复评后调整：巩固已有进步，增加职业康复训练",
                    "复评后调整：减少到站频次，转向社区融合和同伴支持",
                ]
            )
            if t.trend == "improve"
            else rng.choice(
                ["复评后调整：加强家庭支持和复发预防", "复评后调整：目标未达成，继续原有训练并增加个案辅导"]
            )
        )
        plans.plan_create(
            actor=t.actor,
            case=self.case(t),
            data=plans.PlanData(
                starts_on=day,
                review_on=review,
                summary=summary,
                goals=goals,
                services=[
                    {"service_type": k, "times": n, "per": per, "place": place, "worker": t.actor}
                    for k, n, per, place in kinds
                ],
                basis=list(t.latest.values()),
            ),
        )
        first = not t.planned
        t.planned = True
        t.status = CaseStatus.ACTIVE
        self.plan_approval(day, t)
        if first:
            self.at(day + dt.timedelta(days=rng.randint(3, 12)), self.session, t)
        # Plans are revised when due; a few that fell due in the last weeks are still waiting.
        if review < self.today - dt.timedelta(days=40) or rng.random() < 0.6:
            self.at(_workday(review - dt.timedelta(days=rng.randint(0, 5))), self.plan, t)

    # ------------------------------------------------------------------ follow-ups

    def follow_up(self, day: dt.date, t: Track, seq: int) -> None:
        if seq != t.follow_seq or t.status not in ("enrolled", "active", "suspended"):
            return
        if t.neglect and day >= self.today - dt.timedelta(days=40):
            return  # the worker has fallen behind: this one is overdue on the worklist
        rng = self.rng
        risk = self.risk_on(t, day)
        severity = self.severity_on(t, day)
        stability = Stability.STABLE if severity < 0.66 and rng.random() < 0.92 else Stability.BASIC
        adherence = "regular" if severity < 0.6 or rng.random() < 0.5 else "intermittent"
        insight = "full" if severity < 0.4 else ("partial" if severity < 0.75 else "none")
        if t.status == "suspended":
            mode, note = ContactMode.PHONE, f"患者在安定医院住院治疗，电话联系{t.family[1]}了解病情"
        else:
            mode = rng.choice([ContactMode.HOME, ContactMode.HOME, ContactMode.SITE, ContactMode.PHONE])
            note = (
                rng.choice(
                    [
                        "病情稳定，规律服药，按时参加站点活动",
                        "睡眠饮食正常，情绪平稳，家属无特殊反映",
                        "精神状况良好，已能独立外出买菜",
                    ]
                )
                if stability == Stability.STABLE
                else rng.choice(
                    [
                        "近期睡眠欠佳，提醒按时服药，两周后复查",
                        "偶有自言自语，已建议门诊复诊调整药物",
                        "与家人有口角，情绪易激惹，加强随访",
                    ]
                )
            )
        self.record_follow_up(
            t, day, mode=mode, stability=stability, risk=risk, adherence=adherence, insight=insight, note=note
        )

    def record_follow_up(self, t: Track, day: dt.date, **values) -> None:
        next_on = None
        if t.neglect and day >= self.today - dt.timedelta(days=100):
            # The worker sets a date within the month, and will have fallen behind by then.
            stable = (
                follow_ups.stability_for(values["stability"], values["risk"], values["insight"])
                == Stability.STABLE
            )
            next_on = day + dt.timedelta(days=self.rng.randint(10, 40 if stable else 14))
        follow_up = follow_ups.follow_up_record(
            actor=t.actor,
            case=self.case(t),
            data=follow_ups.FollowUpData(
                done_on=day,
                mode=values["mode"],
                stability=values["stability"],
                risk_level=values["risk"],
                adherence=values["adherence"],
                insight=values["insight"],
                incidents=values.get("incidents", []),
                note=values["note"],
                next_on=next_on,
            ),
        )
        t.follow_seq += 1
        due = follow_up.next_on
        roll = self.rng.random()
        if roll < 0.12:
            when = due + dt.timedelta(days=self.rng.randint(1, 6))  # a little late
        else:
            when = due - dt.timedelta(days=self.rng.randint(0, 4 if (due - day).days > 20 else 2))
        self.at(max(when, day + dt.timedelta(days=1)), self.follow_up, t, t.follow_seq)

    # ------------------------------------------------------------------ services delivered

    def plan_activities(self) -> None:
        start, today = self.start, self.today
        self.bc_group: RecurringGroup | bool | None = None
        day = start + dt.timedelta(days=(7 - start.weekday()) % 7)  # the first Monday
        week = 0
        while day <= today:
            tuesday, wednesday, thursday, friday = (day + dt.timedelta(days=n) for n in (1, 2, 3, 4))
            self.at(tuesday, self.group, "xq", self.jianfa_site, GROUP_TYPES[week % 7], prio=7)
            self.at(thursday, self.group, "xq", self.chilong_site, GROUP_TYPES[(week + 3) % 7], prio=7)
            if week % 2 == 0:
                self.at(friday, self.peer, "xq", prio=7)
            # 北辰: peer support every week, as a recurring group (固定小组) for the last five weeks.
            if wednesday >= self.today - dt.timedelta(weeks=5):
                if self.bc_group is None:
                    self.at(wednesday, self.peer_group_start, prio=6)
                    self.bc_group = False  # started once, on the first of these days
                self.at(wednesday, self.peer_group, prio=7)
            else:
                self.at(wednesday, self.peer, "bc", prio=7)
            if week % 4 == 1:
                self.at(friday, self.carers, "xq", prio=7)
                self.at(thursday, self.talk, "bc", prio=7)
            if week % 4 == 3:
                self.at(wednesday, self.talk, "xq", prio=7)
                self.at(friday, self.carers, "bc", prio=7)
            day += dt.timedelta(days=7)
            week += 1
        for (month, dom), title in FESTIVALS.items():
            for year in (today.year - 1, today.year):
                when = dt.date(year, month, dom)
                if start <= when <= today:
                    self.at(_workday(when), self.festival, title, prio=7)

    def _attending(self, inst: str, site: Organisation | None = None) -> list[Track]:
        return [
            t
            for t in self.tracks.values()
            if t.inst == inst and t.planned and t.status == "active" and (site is None or t.site == site)
        ]

    def _record(self, day: dt.date, actor: User, **values):
        return activity_services.activity_record(
            actor=actor, data=activity_services.ActivityData(held_on=day, **values)
        )

    def _families(self, tracks: list[Track], share: float) -> list[dict]:
        return [
            {"case": t.case_id, "name": t.family[0], "relation": t.family[1]}
            for t in tracks
            if self.rng.random() < share
        ]

    def group(self, day: dt.date, inst: str, site: Organisation | None, kind: str) -> None:
        rng = self.rng
        pool = self._attending(inst, site)
        if not pool:
            return
        chosen = rng.sample(pool, min(len(pool), rng.randint(4, 11)))
        leader = self.jianfa if site == self.jianfa_site else self.chilong
        title = rng.choice(TITLES[kind])
        self._record(
            day,
            leader,
            form=ActivityForm.GROUP,
            service_type=kind,
            mode=ContactMode.SITE,
            title=title,
            place=f"{site.name}活动室" if site else "中心活动室",
            content=f"{ServiceType(kind).label}小组：{title}。热身、讲解示范、分组练习、分享与布置家庭作业。",
            site=site,
            patients=[t.case_id for t in chosen],
            family=self._families(chosen, 0.12),
        )

    def peer(self, day: dt.date, inst: str) -> None:
        rng = self.rng
        pool = self._attending(inst)
        if not pool:
            return
        chosen = rng.sample(pool, min(len(pool), rng.randint(5, 12)))
        site = rng.choice([self.jianfa_site, self.chilong_site]) if inst == "xq" else None
        actor = self.xq_rehab if inst == "xq" else self.bc_rehab
        title = rng.choice(TITLES[ServiceType.PEER])
        self._record(
            day,
            actor,
            form=ActivityForm.PEER_SUPPORT,
            service_type=ServiceType.PEER,
            mode=ContactMode.SITE,
            title=title,
            place=f"{site.name}活动室"
            if site
            else rng.choice(["中心活动室", "果园新村街社区卫生服务中心", "双街镇康复站点"]),
            content="同伴支持员带领：康复经验分享、互相鼓励，约定下周目标。",
            site=site,
            patients=[t.case_id for t in chosen],
            family=self._families(chosen, 0.2),
        )

    def peer_group_start(self, day: dt.date) -> None:
        """北辰's weekly 同伴支持小组, led by its peer supporter, with ten of the people it serves."""
        pool = self._attending("bc")
        leader = StaffMember.objects.filter(organisation=self.orgs["bc"], profession=Profession.PEER).first()
        self.bc_group = group_services.group_create(
            actor=self.bc_rehab,
            data=group_services.GroupData(
                title="北辰同伴支持小组",
                form=ActivityForm.PEER_SUPPORT,
                service_type=ServiceType.PEER,
                weekdays=[day.weekday()],
                starts_at=dt.time(14, 30),
                start_on=day,
                place="中心活动室",
                leader=leader,
                members=[t.case_id for t in self.rng.sample(pool, min(len(pool), 10))],
            ),
        )

    def peer_group(self, day: dt.date) -> None:
        """A meeting of the group, planned by the generator as the worker's timer would, taken with the
        members who came (most of them), or cancelled when none could."""
        group = self.bc_group
        if not isinstance(group, RecurringGroup):
            return
        group_services.meetings_generate(today=day)
        meeting = group.meetings.get(meets_on=day)
        served = {t.case_id for t in self._attending("bc")}
        came = [
            m.case_id
            for m in group_services.members_on(group, day)
            if m.case_id in served and self.rng.random() < 0.8
        ]
        if not came:
            group_services.meeting_cancel(actor=self.bc_rehab, meeting=meeting, reason="成员均请假，暂停一次")
            return
        group_services.meeting_hold(
            actor=self.bc_rehab,
            meeting=meeting,
            data=group_services.MeetingData(
                mode=ContactMode.SITE,
                patients=came,
                content="同伴支持员带领：康复经验分享、互相鼓励，约定下周目标。",
            ),
        )

    def carers(self, day: dt.date, inst: str) -> None:
        rng = self.rng
        pool = self._attending(inst)
        if not pool:
            return
        families = rng.sample(pool, min(len(pool), rng.randint(5, 12)))
        with_patient = [t for t in families if rng.random() < 0.4] or families[:1]
        actor = self.xq_rehab if inst == "xq" else self.bc_rehab
        title = rng.choice(TITLES[ServiceType.FAMILY])
        self._record(
            day,
            actor,
            form=ActivityForm.CARER_TRAINING,
            service_type=ServiceType.FAMILY,
            mode=ContactMode.SITE,
            title=title,
            place="中心多功能厅",
            content="面向照护者的家庭心理教育：疾病知识、沟通技巧、复发先兆识别和照护者自我照顾。",
            patients=[t.case_id for t in with_patient],
            family=[{"case": t.case_id, "name": t.family[0], "relation": t.family[1]} for t in families],
        )

    def talk(self, day: dt.date, inst: str) -> None:
        rng = self.rng
        pool = self._attending(inst)
        if not pool:
            return
        chosen = rng.sample(pool, min(len(pool), rng.randint(8, 20)))
        kind = rng.choice([ServiceType.MEDICATION, ServiceType.RELAPSE])
        actor = self.xq_rehab if inst == "xq" else self.bc_rehab
        speaker = "天津市安定医院康复科专家" if inst == "xq" else "北辰安津医院医师"
        title = rng.choice(
            ["常见精神症状与药物治疗", "复发的先兆表现与应对", "药物常见副作用及处理", "规律服药与康复"]
        )
        self._record(
            day,
            actor,
            form=ActivityForm.HEALTH_TALK,
            service_type=kind,
            mode=ContactMode.SITE,
            title=title,
            place="中心多功能厅",
            content=f"{speaker}主讲：{title}；现场答疑。",
            patients=[t.case_id for t in chosen],
            family=self._families(chosen, 0.5),
        )

    def festival(self, day: dt.date, title: str) -> None:
        rng = self.rng
        for inst in ("xq", "bc"):
            pool = self._attending(inst)
            if not pool:
                continue
            chosen = rng.sample(pool, min(len(pool), rng.randint(8, 18)))
            actor = self.xq_rehab if inst == "xq" else self.bc_rehab
            activity = self._record(
                day,
                actor,
                form=ActivityForm.COMMUNITY,
                service_type=ServiceType.SOCIAL,
                mode=ContactMode.SITE,
                title=title,
                place=rng.choice(["社区党群服务中心", "社区广场", "中心活动室"]),
                content=f"社区融合活动：{title}，患者、家属和社区志愿者共同参加。",
                patients=[t.case_id for t in chosen],
                family=self._families(chosen, 0.4),
            )
            for n in range(1, 3):
                photo = ContentFile(_png(rng.randint(0, 2)), name=f"{inst}_{day:%Y%m%d}_{n}.png")
                activity_services.activity_photo_add(
                    actor=actor, activity=activity, image=photo, caption=f"{title}（{n}）"
                )

    def session(self, day: dt.date, t: Track) -> None:
        if t.status in ("discharged", "declined"):
            return
        rng = self.rng
        self.at(day + dt.timedelta(days=rng.randint(26, 50)), self.session, t)
        if t.status != "active":
            return
        kind = rng.choice(
            [
                ServiceType.PSYCHOLOGICAL,
                ServiceType.PSYCHOLOGICAL,
                ServiceType.MEDICATION,
                ServiceType.LIVING,
                ServiceType.VOCATIONAL,
                ServiceType.FAMILY,
            ]
        )
        mode = rng.choice(
            [ContactMode.HOME, ContactMode.HOME, ContactMode.SITE, ContactMode.PHONE, ContactMode.WECHAT]
        )
        if kind == ServiceType.FAMILY:
            mode = ContactMode.HOME
        title = {
            ServiceType.PSYCHOLOGICAL: "个别心理辅导",
            ServiceType.MEDICATION: "服药指导",
            ServiceType.LIVING: "居家生活技能指导",
            ServiceType.VOCATIONAL: "职业康复个别指导",
            ServiceType.FAMILY: "家庭访视与家属辅导",
        }[kind]
        family = (
            [{"case": t.case_id, "name": t.family[0], "relation": t.family[1]}]
            if (mode == ContactMode.HOME and rng.random() < 0.6) or kind == ServiceType.FAMILY
            else []
        )
        self._record(
            day,
            t.actor,
            form=ActivityForm.INDIVIDUAL,
            service_type=kind,
            mode=mode,
            title=title,
            content=rng.choice(
                [
                    "回顾上次目标完成情况，讨论本周遇到的困难，布置新的练习。",
                    "检查服药记录卡，讲解药物作用和副作用应对。",
                    "陪同练习做饭和整理房间，给予肯定和鼓励。",
                    "倾听家属照护中的困扰，讲解沟通技巧。",
                ]
            ),
            site=t.site if mode == ContactMode.SITE else None,
            patients=[t.case_id],
            family=family,
        )

    # ------------------------------------------------------------------ relapse, work, leaving

    def relapse(self, day: dt.date, t: Track, fate: str) -> None:
        if t.status not in ("enrolled", "active"):
            return
        rng = self.rng
        if fate == "relapse_stay" and not self.emergency_done:
            # The night before, the family took the person to 安定医院's emergency room.
            with self.clock.travel(_aware(day - dt.timedelta(days=1), 23, 40), tick=False):
                emergency.emergency_open(
                    actor=self.doctor,
                    person=t.person,
                    reason="患者夜间由家属送至我院急诊，兴奋躁动、冲动伤人，需查阅社区康复档案中的用药和危险性评估记录",
                )
            self.emergency_done = True
        t.relapsed_on = day
        self.record_follow_up(
            t,
            day,
            mode=ContactMode.HOME,
            stability=Stability.UNSTABLE,
            risk=rng.choice([3, 4]),
            adherence="none",
            insight="none",
            incidents=["轻度滋事"] if rng.random() < 0.5 else [],
            note=f"{t.family[1]}反映近两周自行停药，夜间不眠、自言自语，有摔砸物品行为，建议立即转诊。",
        )
        transfer = transfers.transfer_send(
            actor=t.actor,
            person=t.person,
            case=self.case(t),
            data=transfers.TransferData(
                to_org=self.orgs["anding"],
                kind=TransferKind.RELAPSE,
                reason="病情复发：停药后出现兴奋、冲动和摔砸物品，危险性评估 3 级以上，请评估是否住院",
                shared=[SharePart.REGISTRATION, SharePart.ASSESSMENTS, SharePart.FOLLOW_UPS, SharePart.PLAN],
                sent_on=day,
            ),
        )
        if fate != "relapse_pending":
            self.at(day + dt.timedelta(days=1), self.relapse_answer, t, transfer, fate)

    def relapse_answer(self, day: dt.date, t: Track, transfer, fate: str) -> None:
        if fate == "relapse_declined":
            transfers.transfer_decline(
                actor=self.doctor,
                transfer=transfer,
                reason="门诊评估后调整药物，可居家治疗，暂不需住院；请社区加强随访，两周后门诊复诊",
                on=day,
            )
            t.relapsed_on = None
            return
        transfers.transfer_accept(actor=self.doctor, transfer=transfer, on=day)
        case_services.case_suspend(
            actor=t.actor, case=self.case(t), on=day, reason="病情复发，转天津市安定医院住院治疗"
        )
        t.status = CaseStatus.SUSPENDED
        if fate == "relapse_resume":
            self.at(day + dt.timedelta(days=self.rng.randint(28, 42)), self.resume, t, transfer)

    def resume(self, day: dt.date, t: Track, transfer) -> None:
        case_services.case_resume(actor=t.actor, case=self.case(t), on=day)
        transfers.transfer_complete(actor=self.doctor, transfer=transfer, on=day)
        t.status = CaseStatus.ACTIVE
        self.record_follow_up(
            t,
            day,
            mode=ContactMode.HOME,
            stability=Stability.BASIC,
            risk=1,
            adherence="regular",
            insight="partial",
            note="出院回家，病情缓解，恢复到站服务；两周后再次随访。",
        )

    def bakery_send(self, day: dt.date, t: Track, fate: str) -> None:
        if t.status != "active":
            return
        transfer = transfers.transfer_send(
            actor=t.actor,
            person=t.person,
            case=self.case(t),
            data=transfers.TransferData(
                to_org=self.orgs["bakery"],
                kind=TransferKind.TO_EMPLOYMENT,
                employment_type=EmploymentType.SUPPORTED,
                reason="康复情况良好，完成职业康复训练，具备一定劳动能力，推荐参加辅助性就业",
                shared=[SharePart.REGISTRATION],
                sent_on=day,
            ),
        )
        if fate == "bakery_pending":
            return
        self.at(
            _workday(day + dt.timedelta(days=self.rng.randint(3, 7))), self.bakery_answer, t, transfer, fate
        )

    def bakery_answer(self, day: dt.date, t: Track, transfer, fate: str) -> None:
        if fate == "bakery_cancel":
            transfers.transfer_cancel(actor=t.actor, transfer=transfer)
            return
        if fate == "bakery_declined":
            transfers.transfer_decline(
                actor=t.actor,
                transfer=transfer,
                reason="烘焙坊答复：本期岗位已满，下期招收时优先考虑",
                on=day,
            )
            return
        transfers.transfer_accept(actor=t.actor, transfer=transfer, on=day)
        self.at(
            _workday(day + dt.timedelta(days=self.rng.randint(5, 10))), self.bakery_start, t, transfer, fate
        )

    def bakery_start(self, day: dt.date, t: Track, transfer, fate: str) -> None:
        placement = placements.placement_save(
            actor=t.actor,
            case=self.case(t),
            data=placements.PlacementData(
                employer=BAKERY,
                employment_type=EmploymentType.SUPPORTED,
                job=self.rng.choice(["烘焙辅助", "包装员", "门店服务", "清洁整理"]),
                starts_on=day,
                monthly_subsidy=Decimal("600.00"),
                note="每周上岗三天，每天四小时；就业辅导员跟岗",
            ),
        )
        transfers.transfer_complete(actor=t.actor, transfer=transfer, on=day)
        if fate == "bakery_left":
            self.at(day + dt.timedelta(days=self.rng.randint(45, 75)), self.bakery_leave, t, placement)

    def bakery_leave(self, day: dt.date, t: Track, placement) -> None:
        placements.placement_save(
            actor=t.actor,
            case=self.case(t),
            placement=placement,
            data=placements.PlacementData(
                employer=placement.employer,
                employment_type=placement.employment_type,
                job=placement.job,
                starts_on=placement.starts_on,
                ends_on=day,
                monthly_subsidy=placement.monthly_subsidy,
                outcome=PlacementOutcome.LEFT,
                note="作息难以适应，本人申请离岗，继续参加职业康复训练",
            ),
        )

    def open_job(self, day: dt.date, t: Track) -> None:
        if t.status != "active":
            return
        placements.placement_save(
            actor=t.actor,
            case=self.case(t),
            data=placements.PlacementData(
                employer=self.rng.choice(
                    ["天津市西青区某物流公司", "杨柳青镇某连锁超市", "中北镇某物业公司"]
                ),
                employment_type=EmploymentType.OPEN,
                job=self.rng.choice(["分拣员", "理货员", "保洁员"]),
                starts_on=day,
                note="经职业康复训练后自行应聘成功",
            ),
        )
        self.at(
            day + dt.timedelta(days=self.rng.randint(20, 40)),
            self.discharge,
            t,
            DischargeReason.EMPLOYED,
            "实现普通就业，工作稳定，转社区精防医生常规随访",
        )

    def discharge(self, day: dt.date, t: Track, reason: str, note: str) -> None:
        if t.status not in ("enrolled", "active"):
            return
        if t.planned and reason in (DischargeReason.RECOVERED, DischargeReason.EMPLOYED):
            self.assess(day, t, False, final=True)
        case_services.case_discharge(actor=t.actor, case=self.case(t), on=day, reason=reason, note=note)
        t.status = CaseStatus.DISCHARGED
        self.plan_revisits(day, t, reason)

    def plan_revisits(self, closed: dt.date, t: Track, reason: str) -> None:
        """回访 at one, three and six months, mostly near the due date; one in ten forgotten, and the
        rounds of the last few weeks left for the worker's list."""
        if reason in NO_REVISIT_REASONS:
            return
        rng = self.aftercare_rng
        for months, due in revisit_due_dates(closed).items():
            if due >= self.today - dt.timedelta(days=25) or rng.random() < 0.1:
                continue
            self.at(max(closed, due + dt.timedelta(days=rng.randint(-3, 8))), self.revisit, t, months)

    def plan_approval(self, day: dt.date, t: Track) -> None:
        """审核: a site worker's plan goes to 西青's rehab worker, who approves it within days; the last
        fortnight's still wait for them."""
        if t.inst != "xq" or t.actor == self.xq_rehab:
            return
        if Approval.objects.filter(case_id=t.case_id, kind="plan", state="pending").exists():
            return
        approval = approval_services.plan_submit(actor=t.actor, case=self.case(t))
        decided = day + dt.timedelta(days=self.aftercare_rng.randint(1, 6))
        if decided < self.today - dt.timedelta(days=14):
            self.at(decided, self.approve, approval.pk)

    def approve(self, day: dt.date, approval_id: int) -> None:
        approval = Approval.objects.select_related("case", "plan").get(pk=approval_id)
        if approval.state == "pending":
            approval_services.approval_approve(actor=self.xq_rehab, approval=approval)

    def plan_surveys(self, enrolled: dt.date, t: Track) -> None:
        """满意度 on paper a few months into the service: most people answer, about half the families."""
        rng = self.aftercare_rng
        when = enrolled + dt.timedelta(days=rng.randint(90, 200))
        if rng.random() < 0.7:
            self.at(when, self.survey, t, "user")
        if rng.random() < 0.5:
            self.at(when + dt.timedelta(days=rng.randint(0, 10)), self.survey, t, "family")

    def survey(self, day: dt.date, t: Track, respondent: str) -> None:
        rng = self.aftercare_rng
        case = self.case(t)
        if case.status not in (*SERVED_STATES, CaseStatus.DISCHARGED):
            return
        mood = rng.choices([5, 4, 3], [45, 42, 13])[0]
        scores = {name: max(1, min(5, mood + rng.choice([-1, 0, 0, 0, 1]))) for name in SCORED_FIELDS}
        scores["overall"] = mood
        comment = rng.choice(
            [
                "",
                "",
                "",
                "希望增加周末活动",
                "工作人员很耐心",
                "站点离家远，希望上门多一些",
                "希望多组织家属交流",
            ]
        )
        satisfaction_services.survey_record(
            actor=t.actor,
            case=case,
            data=satisfaction_services.SurveyData(
                filled_on=day, respondent=respondent, scores=scores, comment=comment
            ),
        )

    def revisit(self, day: dt.date, t: Track, months: int) -> None:
        rng = self.aftercare_rng
        case = self.case(t)
        if case.status != CaseStatus.DISCHARGED:
            return
        outcome = rng.choices(["stable", "unsteady", "unreachable"], [76, 16, 8])[0]
        relapsed = outcome == "unsteady" and rng.random() < 0.4
        note = {
            "stable": rng.choice(["按时服药，在家帮忙做家务", "已找到工作，情绪稳定", "定期到精防门诊复诊"]),
            "unsteady": rng.choice(["近来睡眠差，建议到医院复诊", "家属反映情绪波动，已联系社区精防医生"]),
            "unreachable": "电话无人接听，已请社区网格员转告",
        }[outcome]
        revisit_services.revisit_record(
            actor=t.actor,
            case=case,
            data=revisit_services.RevisitData(
                done_on=day,
                way=rng.choice(["phone", "phone", "visit"]) if outcome != "unreachable" else "phone",
                outcome=outcome,
                relapsed=relapsed,
                readmitted=relapsed and rng.random() < 0.5,
                note=note,
                round=months,
            ),
        )

    # ------------------------------------------------------------------ the end

    def final(self) -> None:
        """The services kept the counters; rebuild them from the rows to be safe, and say if they differ."""

        def snapshot() -> dict:
            rows = MonthlyCount.objects.filter(district_id__in=[XIQING, BEICHEN]).exclude(n=0)
            return {(r.institution_id, r.site_id, r.month, r.measure, r.key): r.n for r in rows}

        kept = snapshot()
        for district in (XIQING, BEICHEN):
            counters.recount(district_id=district)
        rebuilt = snapshot()
        differ = sorted({k[3] for k in set(kept) | set(rebuilt) if kept.get(k) != rebuilt.get(k)})
        if differ:
            self.out.write(f"  计数器与记录不一致，已按记录重建：{'、'.join(differ)}")

    def report(self) -> None:
        for inst, label in (("xq", "西青"), ("bc", "北辰")):
            org = self.orgs[inst]
            counts = dict(
                Case.objects.filter(institution=org).values_list("status").annotate(n=Count("id")).order_by()
            )
            labels = dict(CaseStatus.choices)
            text = "，".join(f"{labels[s]} {counts.get(s, 0)}" for s in CaseStatus.values)
            self.out.write(f"  {label}：{sum(counts.values())} 个档案（{text}）")
            activities = Activity.objects.filter(institution=org)
            self.out.write(
                f"  {label}：服务活动 {activities.count()} 次，随访 {FollowUp.objects.filter(case__institution=org).count()} 次，"
                f"评估 {Assessment.objects.filter(case__institution=org).count()} 次，"
                f"转介 {Transfer.objects.filter(from_org=org).count()} 条，"
                f"就业安置 {Placement.objects.filter(case__institution=org).count()} 人，"
                f"结案回访 {Revisit.objects.filter(case__institution=org).count()} 次，"
                f"满意度问卷 {SatisfactionSurvey.objects.filter(institution=org).count()} 份"
            )
        if self.failures:
            self.out.write(f"  有 {sum(self.failures.values())} 个步骤未能完成（演示中跳过）：")
            for (step, message), n in self.failures.most_common(8):
                self.out.write(f"    {step}：{message}（{n} 次）")
