"""Regions, organisations, users with their role and jurisdiction, API tokens and the audit trail."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class RegionLevel(models.IntegerChoices):
    PROVINCE = 1, "省级"
    CITY = 2, "地级"
    DISTRICT = 3, "县级"
    STREET = 4, "乡级"
    COMMUNITY = 5, "村级"


# Significant digits of a 12-digit statistical code at each level; the rest are zeros.
LEVEL_DIGITS = {
    RegionLevel.PROVINCE: 2,
    RegionLevel.CITY: 4,
    RegionLevel.DISTRICT: 6,
    RegionLevel.STREET: 9,
    RegionLevel.COMMUNITY: 12,
}


def level_of_code(code: str) -> RegionLevel:
    """The level a 12-digit 统计用区划代码 stands for, read from where its trailing zeros begin."""
    for level in (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET):
        if code[LEVEL_DIGITS[level] :].strip("0") == "":
            return level
    return RegionLevel.COMMUNITY


def ancestor_code(code: str, level: RegionLevel) -> str:
    digits = LEVEL_DIGITS[level]
    return code[:digits].ljust(12, "0")


class Region(models.Model):
    """One node of the administrative tree, keyed by its 12-digit statistical code.

    Codes nest (a street's code begins with its district's), so ancestors are read off the code;
    `parent` is kept for tree walks and for regions whose import gives it explicitly. An abolished
    region (e.g. 120107 塘沽区) stays as a row with its historical name, because old ID numbers and
    records still carry its code; `successor` names the region that took it over.
    """

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=100)
    level = models.PositiveSmallIntegerField("级别", choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    successor = models.ForeignKey(
        "self",
        verbose_name="现属区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="predecessors",
        help_text="已撤销的区划填写承继它的现行区划；现行区划留空。",
    )

    class Meta:
        verbose_name = verbose_name_plural = "行政区划"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9]{12}$"), name="region_code_twelve_digits"
            ),
            models.CheckConstraint(
                condition=~models.Q(successor=models.F("code")), name="region_not_its_own_successor"
            ),
        ]
        indexes = [models.Index(fields=["level", "name"], name="region_level_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The name people use: a municipality's "市辖区" is called by the municipality's name."""
        if self.name == "市辖区" and self.parent is not None:
            return self.parent.name
        return self.name

    def ancestor(self, level: RegionLevel) -> str:
        return ancestor_code(self.code, level)

    def contains(self, code: str) -> bool:
        """Whether the region with `code` lies in this region's subtree (itself included)."""
        digits = LEVEL_DIGITS[RegionLevel(self.level)]
        return code[:digits] == self.code[:digits]


class OrganisationKind(models.TextChoices):
    CIVIL_AFFAIRS = "civil_affairs", "民政局"
    STREET_OFFICE = "street_office", "街道办事处（乡镇政府）"
    COMMUNITY_COMMITTEE = "community", "社区居委会（村委会）"
    REHAB_INSTITUTION = "rehab_institution", "精神障碍社区康复机构"
    REHAB_SITE = "rehab_site", "康复服务站点"
    PSYCHIATRIC_HOSPITAL = "psychiatric_hospital", "精神卫生医疗机构"
    DEVICE_CENTRE = "device_centre", "康复辅具租赁服务中心"
    DEVICE_OUTLET = "device_outlet", "辅具租赁网点"
    EMPLOYER = "employer", "就业单位"
    DISABLED_FEDERATION = "disabled_federation", "残疾人联合会"


class Organisation(models.Model):
    """A bureau, office, committee, institution, site, hospital, rental outlet or employer."""

    name = models.CharField("名称", max_length=200)
    kind = models.CharField("类型", max_length=30, choices=OrganisationKind.choices)
    region = models.ForeignKey(Region, verbose_name="所在区划", on_delete=models.PROTECT)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级机构",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="branches",
        help_text="服务站点所属的康复机构、租赁网点所属的租赁中心等。",
    )
    credit_code = models.CharField("统一社会信用代码", max_length=18, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=30, blank=True)
    is_active = models.BooleanField("在用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "机构"
        ordering = ["region_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="organisation_unique_name_in_region")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", "市民政管理员"
    DISTRICT_ADMIN = "district_admin", "区民政管理员"
    STREET_OFFICER = "street_officer", "街道工作人员"
    COMMUNITY_WORKER = "community_worker", "社区工作人员"
    REHAB_WORKER = "rehab_worker", "康复社工/治疗师"
    PSYCHIATRIST = "psychiatrist", "精神科医师"
    DEVICE_CLERK = "device_clerk", "辅具中心业务员"
    # 县级残联: reviews the certificate behind an application (国发〔2015〕52号), where the region's
    # chain includes that step.
    DPF_REVIEWER = "dpf_reviewer", "县级残联审核员"
    AUDITOR = "auditor", "审计员"


class User(AbstractUser):
    """A staff account: one role, one organisation, one jurisdiction (a region subtree)."""

    full_name = models.CharField("姓名", max_length=50, blank=True)
    role = models.CharField("角色", max_length=30, choices=Role.choices, blank=True)
    organisation = models.ForeignKey(
        Organisation, verbose_name="所属机构", null=True, blank=True, on_delete=models.PROTECT
    )
    jurisdiction = models.ForeignKey(
        Region,
        verbose_name="管辖范围",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="可见和可办理的区划范围（含下级）。",
    )
    phone = models.CharField("联系电话", max_length=30, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.full_name or self.username


class ApiToken(models.Model):
    """A bearer token for the REST API. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("用途", max_length=100)
    prefix = models.CharField("前缀", max_length=8, help_text="便于辨认，不足以使用。")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    expires_at = models.DateTimeField("到期时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "API 令牌"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class AuditAction(models.TextChoices):
    CREATE = "create", "新增"
    UPDATE = "update", "修改"
    DELETE = "delete", "删除"
    VIEW = "view", "查看"
    REVEAL = "reveal", "查看明文"
    EXPORT = "export", "导出"
    IMPORT = "import", "导入"
    LOGIN = "login", "登录"
    LOGIN_FAILED = "login_failed", "登录失败"
    LOGOUT = "logout", "退出"
    PASSWORD_CHANGE = "password_change", "修改密码"
    TOKEN_CREATE = "token_create", "创建令牌"


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk changes; PostgreSQL also refuses them with a trigger (migration 0002)."""

    def update(self, **kwargs):
        raise PermissionError("审计记录只能追加，不能修改。")

    def delete(self):
        raise PermissionError("审计记录只能追加，不能删除。")


class AuditEntry(models.Model):
    """One append-only row: who did what to which record, when and from where.

    `changes` holds field names with before and after values, except that sensitive fields carry
    only the fact that they changed. `person_id` is a plain column, not a foreign key, so the trail
    outlives any record it mentions.
    """

    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, verbose_name="操作人", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    actor_username = models.CharField("操作账号", max_length=150, blank=True)
    action = models.CharField("操作", max_length=20, choices=AuditAction.choices)
    object_type = models.CharField("对象类型", max_length=50, blank=True)
    object_id = models.CharField("对象编号", max_length=64, blank=True)
    person_id = models.BigIntegerField("涉及人员", null=True, blank=True)
    ip = models.GenericIPAddressField("来源地址", null=True, blank=True)
    channel = models.CharField("渠道", max_length=10, blank=True, help_text="web / api / cli / task")
    summary = models.CharField("摘要", max_length=300, blank=True)
    changes = models.JSONField("变更内容", default=dict, blank=True)
    # The request behind the change (from the proxy's X-Request-ID or made here), so a row can be
    # matched with the access log and the application log of the same request.
    # A database default too: rows added by SQL outside a request (the go-live COPY path, a DBA) need none.
    request_id = models.CharField("请求编号", max_length=64, blank=True, default="", db_default="")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "审计日志"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["person_id", "at"], name="audit_person_at"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("审计记录只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("审计记录只能追加，不能删除。")


class WorkerHeartbeat(models.Model):
    """A task worker's last sign of life, written by `kangfu worker` every few seconds: readiness and
    the job pages tell from it whether queued work will be picked up ("等待后台任务")."""

    worker_id = models.CharField("工作进程编号", max_length=64, unique=True)
    host = models.CharField("主机", max_length=255, blank=True)
    pid = models.PositiveIntegerField("进程号", null=True, blank=True)
    started_at = models.DateTimeField("启动时间", default=timezone.now)
    seen_at = models.DateTimeField("最近心跳", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "后台任务进程"

    def __str__(self) -> str:
        return f"{self.host}:{self.pid} {self.seen_at:%H:%M:%S}"


class CalendarDay(models.Model):
    """An exception to the Monday–Friday working week: a public holiday, or a weekend day worked in
    exchange (调休). Deadlines counted in working days read this table."""

    day = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("调休上班", default=False)
    name = models.CharField("名称", max_length=50, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "节假日与调休"
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


class PublicAttempt(models.Model):
    """One submission of a public form (全程网办, rental requests, status lookups), kept for an hour to
    limit how often one address, or one ID number, may try (core.throttle). The ID number is kept only
    as its keyed hash."""

    at = models.DateTimeField(default=timezone.now)
    key = models.CharField(max_length=80)  # "ip:<address>" or "id:<blind index>"

    class Meta:
        indexes = [models.Index(fields=["key", "at"], name="public_attempt_key_at")]

    def __str__(self) -> str:
        return f"{self.key} {self.at:%H:%M:%S}"


class OutboxEvent(models.Model):
    """One thing that happened (a grant started, a case discharged …), written by the service in the
    same transaction as the change, for other systems to read (`/api/v1/events/`) or be told of
    (the webhooks of `kangfu.events`). Append-only by use: nothing updates a row but the sequencer,
    which sets `position` once (core.events.sequence).

    `id` is the order of insertion, which is not the order of commit; `position` is given after
    commit, in one place at a time, so it is the cursor a reader can trust never to skip a row.
    `subject_type`/`subject_id` name the record as the API names it (its key there), never by an
    ID number; `payload` holds only what a receiver needs to act, no personal data."""

    position = models.BigIntegerField("序号", null=True, blank=True, unique=True, editable=False)
    key = models.UUIDField("幂等键", default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField("事件类型", max_length=60)
    occurred_at = models.DateTimeField("发生时间", default=timezone.now)
    district = models.ForeignKey(
        Region, verbose_name="所在区", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_type = models.CharField("对象类型", max_length=50)
    subject_id = models.CharField("对象编号", max_length=64)
    payload = models.JSONField("内容", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "业务事件"
        indexes = [
            models.Index(fields=["district", "position"], name="outbox_district_position"),
            # The sequencer's work: only rows not yet given a position, a handful at any time.
            models.Index(fields=["id"], condition=models.Q(position__isnull=True), name="outbox_unsequenced"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type}:{self.subject_id}"
