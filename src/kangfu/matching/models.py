"""数据比对: registry feeds from other departments, imported with a validation report.

A feed file is read through its source's column mapping (headers, not positions, so shifted columns
do no harm), checked line by line, and stored as a preview; only a confirmed import is evidence for
the comparison. The same file confirmed twice for a source is recognised by its digest.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.fields import EncryptedTextField
from kangfu.core.models import Region
from kangfu.people.models import Person


class FeedKind(models.TextChoices):
    DEATH = "death", "死亡（公安/卫健）"
    DECLARED_DEATH = "declared_death", "宣告死亡（法院）"
    DECLARED_MISSING = "declared_missing", "宣告失踪（法院）"
    CREMATION = "cremation", "火化（殡葬）"
    PRISON = "prison", "服刑（司法）"
    RELEASE = "release", "刑满释放（司法）"
    MOVE = "move", "户籍迁移（公安）"
    CERT_NEW = "cert_new", "残疾人证新增（残联）"
    CERT_CANCEL = "cert_cancel", "残疾人证注销（残联）"
    CERT_CHANGE = "cert_change", "残疾人证变更（残联）"
    CERT_RENEW = "cert_renew", "残疾人证换领（残联）"
    CERT_TRANSFER = "cert_transfer", "残疾人证迁移（残联）"
    CERT_MIXED = "cert_mixed", "残疾人证业务（残联，按业务类型）"
    DIBAO = "dibao", "低保名单（民政）"
    DIBAO_EDGE = "dibao_edge", "低保边缘名单（民政）"
    TEKUN = "tekun", "特困供养名单（民政）"
    ELDERLY_CARE = "elderly_care", "老年人护理补贴名单"
    WORK_INJURY = "work_injury", "工伤保险生活护理费名单（人社）"
    CARE_HOME = "care_home", "养老/托养机构入住名单"


# 残联 often sends one file of every certificate business of the month, each row saying what it is
# in a 业务类型 column. A source of kind cert_mixed reads that column and stores each row under the
# kind it names, so the rules read its rows exactly as they read a file of that kind alone.
MIXED_KINDS = (
    FeedKind.CERT_NEW,
    FeedKind.CERT_CANCEL,
    FeedKind.CERT_CHANGE,
    FeedKind.CERT_RENEW,
    FeedKind.CERT_TRANSFER,
)


def source_kinds(kinds) -> set[str]:
    """The kinds of the sources whose feeds may hold rows of these kinds."""
    out = set(kinds)
    if out & set(MIXED_KINDS):
        out.add(FeedKind.CERT_MIXED)
    return out


# The fields a feed of each kind provides. Either an ID number or a name with a birth date identifies
# a person (the latter matches with low confidence). 发生日期 takes a month too (an allowance
# roster's 享受起始年月 is read as the first day of that month).
FIELDS = {
    "id_number": "身份证号",
    "name": "姓名",
    "birth_date": "出生日期",
    "event_date": "发生日期",
    "end_date": "终止日期",
    "region": "区划代码",
    "cert_number": "残疾人证号",
    "category": "残疾类别",
    "grade": "残疾等级",
    "amount": "月金额",
    "institution": "机构",
    "business": "业务类型",
}

REQUIRED = {
    FeedKind.DEATH: ["event_date"],
    FeedKind.DECLARED_DEATH: ["event_date"],
    FeedKind.DECLARED_MISSING: ["event_date"],
    FeedKind.CREMATION: ["event_date"],
    FeedKind.PRISON: ["event_date"],
    FeedKind.RELEASE: ["event_date"],
    FeedKind.MOVE: ["event_date"],
    FeedKind.CERT_NEW: ["category", "grade"],
    FeedKind.CERT_CANCEL: ["event_date"],
    # A change of grade often leaves the category out: the person keeps theirs.
    FeedKind.CERT_CHANGE: ["grade", "event_date"],
    FeedKind.CERT_RENEW: [],
    FeedKind.CERT_TRANSFER: [],
    # Each row is checked against the kind its 业务类型 names.
    FeedKind.CERT_MIXED: ["business"],
    FeedKind.DIBAO: [],
    FeedKind.DIBAO_EDGE: [],
    FeedKind.TEKUN: [],
    FeedKind.ELDERLY_CARE: [],
    FeedKind.WORK_INJURY: [],
    FeedKind.CARE_HOME: [],
}


class FeedSource(models.Model):
    """Where a kind of feed comes from and how its columns are named."""

    name = models.CharField("来源名称", max_length=100, unique=True)
    kind = models.CharField("类别", max_length=20, choices=FeedKind.choices)
    mapping = models.JSONField("列对应", default=dict, help_text="{字段: 表头}，字段取自 FIELDS。")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "数据来源"
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class ImportStatus(models.TextChoices):
    PREVIEW = "preview", "待确认"
    CONFIRMED = "confirmed", "已确认"
    DISCARDED = "discarded", "已放弃"


class FeedImport(models.Model):
    source = models.ForeignKey(FeedSource, on_delete=models.PROTECT, related_name="imports")
    period = models.DateField("数据所属月份")
    file_name = models.CharField("文件名", max_length=200)
    digest = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        "状态", max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEW
    )
    total_lines = models.PositiveIntegerField("数据行", default=0)
    valid_lines = models.PositiveIntegerField("有效行", default=0)
    errors = models.JSONField("问题行", default=list)
    # Kept, not refused: a second line for the same person is more evidence for the same item.
    duplicates = models.JSONField("重复行", default=list, help_text="[{line, same_as}]：与前面某行是同一人。")
    blank_lines = models.PositiveIntegerField("空行", default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The district whose payroll office uploaded it: a preview is its business alone (read, confirm,
    # discard); once confirmed, the feed is evidence for every district's comparison. Empty for a
    # feed read by a command (the system itself).
    district = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="上传区"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "数据导入"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "digest"],
                condition=models.Q(status="confirmed"),
                name="feed_file_confirmed_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.file_name}"

    @property
    def report(self) -> str:
        """The import in one line, the same on the page, in the command and in the audit trail."""
        return (
            f"{self.total_lines} 行，有效 {self.valid_lines}，问题 {len(self.errors)}，"
            f"重复 {len(self.duplicates)}，空行 {self.blank_lines}"
        )


class Confidence(models.TextChoices):
    HIGH = "high", "身份证号匹配"
    LOW = "low", "姓名+出生日期匹配（待核实）"
    # A line without an ID whose name and birth date fit several people: it is kept once per
    # candidate, so that each gets an item, and the street confirms the one it is.
    AMBIGUOUS = "multi", "姓名+出生日期匹配多人（存疑，待确认是哪一人）"
    NONE = "none", "未匹配"


class FeedRow(models.Model):
    """One valid line of a feed, as evidence. The ID number is sealed like every other one."""

    feed = models.ForeignKey(FeedImport, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField("行号")
    # What the line is evidence of: its source's kind, or in a cert_mixed file the kind its 业务类型 names.
    kind = models.CharField("类别", max_length=20, choices=FeedKind.choices)
    id_number = EncryptedTextField("身份证号", blank=True, default="")
    id_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    name = models.CharField("姓名", max_length=50, blank=True)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    event_date = models.DateField("发生日期", null=True, blank=True)
    end_date = models.DateField("终止日期", null=True, blank=True)
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    category = models.PositiveSmallIntegerField("残疾类别", null=True, blank=True)
    grade = models.PositiveSmallIntegerField("残疾等级", null=True, blank=True)
    amount = models.DecimalField("月金额", max_digits=10, decimal_places=2, null=True, blank=True)
    institution = models.CharField("机构", max_length=100, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confidence = models.CharField("匹配", max_length=5, choices=Confidence.choices, default=Confidence.NONE)

    class Meta:
        verbose_name = verbose_name_plural = "比对数据行"
        ordering = ["feed_id", "line"]
        indexes = [models.Index(fields=["feed", "person"], name="feedrow_feed_person")]

    def __str__(self) -> str:
        return f"{self.feed_id}:{self.line}"


class RunStatus(models.TextChoices):
    RUNNING = "running", "比对中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


class ComparisonRun(models.Model):
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    period = models.DateField("比对月份")
    status = models.CharField("状态", max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    step = models.CharField("当前规则", max_length=100, blank=True)
    found = models.JSONField("各规则发现", default=dict)
    error = models.CharField(max_length=300, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "比对运行"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.district} {self.period:%Y-%m}"


class Direction(models.TextChoices):
    STOP = "stop", "应退"
    ENTITLED = "entitled", "应享"
    # 择高 in our favour: the finding is put on record and the grant left as it is.
    KEEP = "keep", "保留"
    # A household moved to another district served here: the grants move there, nothing stops.
    TRANSFER = "transfer", "转移"


class ItemStatus(models.TextChoices):
    OPEN = "open", "待核实"
    CONFIRMED = "confirmed", "街道已确认，待区审批"
    APPROVED = "approved", "已销账（已处理）"
    DISMISSED = "dismissed", "已销账（排除）"
    # Not a dismissal: the finding was true (two allowances of the same nature), and 择高 keeps ours.
    KEPT = "kept", "已销账（择高保留）"


def _reference(to, *, optional=False, on_delete=models.PROTECT, related_name="+") -> models.ForeignKey:
    """A reference an item is written with: neither checked nor indexed by the database (see Item)."""
    return models.ForeignKey(
        to,
        null=optional,
        blank=optional,
        on_delete=on_delete,
        related_name=related_name,
        db_index=False,
        db_constraint=False,
    )


class Item(models.Model):
    """A suspicious item (疑点): one person, one rule, one period, with its evidence and money at stake.
    What it is about is a grant, a 精康 case, or (主动发现) nothing yet."""

    # A run writes hundreds of thousands of items at once, every reference taken from the rows its
    # joins read, and nothing they name is ever deleted (PROTECT; confirmed feed rows are kept, and
    # only a discarded preview's rows go, which no item names; accounts are deactivated, not deleted).
    # So the database neither checks an item's references (on PostgreSQL the deferred checks of one
    # run cost more than the run itself, and even empty ones are queued per row) nor indexes them:
    # nothing looks items up by run, grant, case, feed row or account, and the person leads the
    # unique constraint, which serves lookups by person.
    run = _reference(ComparisonRun, related_name="items")
    rule = models.CharField("规则", max_length=30)
    direction = models.CharField("方向", max_length=10, choices=Direction.choices)
    period = models.DateField("比对月份")
    person = _reference(Person)
    grant = _reference("subsidies.Grant", optional=True)
    # The 精康 case to close, for the rule on served clients who died or moved (no grant, no money).
    case = _reference("rehab.Case", optional=True)
    feed_row = _reference(FeedRow, optional=True, on_delete=models.DO_NOTHING)
    confidence = models.CharField("匹配", max_length=5, choices=Confidence.choices, default=Confidence.HIGH)
    district = _reference(Region)
    street = _reference(Region)
    explanation = models.CharField("说明", max_length=300)
    amount_at_stake = models.DecimalField("涉及金额（元）", max_digits=12, decimal_places=2, default=0)
    effective_month = models.DateField("建议生效月份", null=True, blank=True)
    due_date = models.DateField("办理期限")
    status = models.CharField("状态", max_length=10, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    note = models.CharField("核实情况", max_length=300, blank=True)
    resolved_by = _reference(settings.AUTH_USER_MODEL, optional=True, on_delete=models.SET_NULL)
    resolved_at = models.DateTimeField(null=True, blank=True)
    approved_by = _reference(settings.AUTH_USER_MODEL, optional=True, on_delete=models.SET_NULL)
    approved_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = verbose_name_plural = "疑点"
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "rule", "period"], name="item_once_per_person_rule_period"
            )
        ]
        indexes = [
            models.Index(fields=["district", "status"], name="item_district_status"),
            models.Index(fields=["street", "status"], name="item_street_status"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.rule}"


class AgencyChannel(models.Model):
    """An agency that pushes its feeds through the API (数据交换渠道): the kinds it may send (one
    source, and so one column mapping, per kind), the region it covers, and the account its token
    belongs to. The account has no role and no jurisdiction, so its token opens nothing but the push;
    the secret is a `core.ApiToken` of that account (hashed, shown once)."""

    name = models.CharField("渠道名称", max_length=100, unique=True)
    agency = models.CharField("推送机构", max_length=100)
    # A district, or the whole city (whose pushes then name the district they are for).
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name="覆盖区划")
    sources = models.ManyToManyField(FeedSource, related_name="channels", verbose_name="可推送的数据")
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="agency_channel",
        verbose_name="接口账号",
    )
    drop_folder = models.CharField(
        "取数目录",
        max_length=300,
        blank=True,
        help_text="机构放置文件的本机目录；kangfu feeds pull 定时读取。",
    )
    active = models.BooleanField("在用", default=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    revoked_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "数据交换渠道"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgencyPush(models.Model):
    """One push (or one file pulled from a drop folder) as the feed import it became. The key is the
    sender's Idempotency-Key, or the file's checksum: a retry finds this row and gets the same import."""

    channel = models.ForeignKey(AgencyChannel, on_delete=models.PROTECT, related_name="pushes")
    key = models.CharField("幂等键", max_length=100)
    digest = models.CharField(max_length=64)
    feed = models.ForeignKey(FeedImport, on_delete=models.PROTECT, related_name="+")
    via = models.CharField("方式", max_length=10, choices=[("api", "接口推送"), ("pull", "目录取数")])
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "数据交换推送"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["channel", "key"], name="agency_push_once_per_key")]

    def __str__(self) -> str:
        return f"{self.channel} {self.key}"
