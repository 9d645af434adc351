"""Forms of 精康. They check shape and normalise input; the services decide what is allowed."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from kangfu.core import uploads
from kangfu.core.forms import DateInput, localise
from kangfu.core.ids import normalize_id_number
from kangfu.core.models import Region, User
from kangfu.core.selectors import districts_in_service
from kangfu.rehab.models import (
    ROSTER_SOURCES,
    Adherence,
    ApplicationSource,
    Case,
    ContactMode,
    DeclineReason,
    DischargeReason,
    EmploymentType,
    Insight,
    InstitutionLevel,
    Intake,
    Placement,
    PlanPlace,
    Profession,
    ServiceType,
    SharePart,
    Stability,
    StaffMember,
    TransferKind,
)
from kangfu.rehab.models import ActivityForm as ActivityKind
from kangfu.rehab.services.emergency import EMERGENCY_REASON, EMERGENCY_REASON_MIN
from kangfu.rehab.services.enrolment import INTAKE_FIELDS, REGISTRATION_FIELDS

YES_NO_UNKNOWN = [("", "未表态"), ("yes", "愿意"), ("no", "不愿意")]
INCIDENTS = [("minor", "轻度滋事"), ("trouble", "肇事"), ("disaster", "肇祸")]
SIGNERS = [("patient", "本人"), ("guardian", "监护人"), ("both", "本人和监护人")]
NO_SUCH_STAFF = "请选择本机构的专业人员。"
# The counters start with the platform; a year far off is a typo or a probe, not a question.
FIRST_STATS_YEAR = 2000
YEAR_OUT_OF_RANGE = "年份应在 {first}–{last} 之间。"


def _today():
    return timezone.localdate()


class IdNumberField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "身份证号")
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return normalize_id_number(value, today=_today()).number if value else value


@localise
class ApplicationForm(forms.Form):
    id_number = IdNumberField(help_text="须已在一人一档中登记。")
    source = forms.ChoiceField(
        label="来源", choices=[c for c in ApplicationSource.choices if c[0] not in ROSTER_SOURCES]
    )
    applicant_name = forms.CharField(label="申请人/转介人", max_length=50)
    applicant_org = forms.CharField(
        label="申请单位", max_length=100, required=False, help_text="医疗机构、社区、单位或社会组织。"
    )
    applicant_phone = forms.CharField(label="申请人电话", max_length=30, required=False)
    reason = forms.CharField(
        label="申请事由", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    received_on = forms.DateField(label="收到日期", initial=_today, widget=DateInput())


@localise
class ReasonForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


@localise
class ReferForm(forms.Form):
    institution = forms.ModelChoiceField(label="转介机构", queryset=None, empty_label="请选择")

    def __init__(self, *args, institutions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions


@localise
class RosterForm(forms.Form):
    source = forms.ChoiceField(
        label="名单来源", choices=[c for c in ApplicationSource.choices if c[0] in ROSTER_SOURCES]
    )
    district = forms.ModelChoiceField(label="所属区", queryset=Region.objects.none(), empty_label=None)
    received_on = forms.DateField(label="收到日期", initial=_today, widget=DateInput())
    file = forms.FileField(
        label="名单文件",
        help_text="CSV（UTF-8 或 GBK）或 XLSX，不超过 5 MB；需要的列：姓名、身份证号、现住社区（12 位代码或社区名称），"
        "可选：联系电话、现住址、诊断、残疾人证号。",
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = districts_in_service(user.jurisdiction)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        uploads.check_upload(upload, allowed=(".csv", ".xlsx"), max_bytes=5 * 1024 * 1024)
        return upload


@localise
class ContactForm(forms.Form):
    # The screening forms share the case page: a prefix keeps their ids (and labels) apart, and
    # the handler reads the same names because the prefix belongs to the form.
    prefix = "contact"
    contacted_on = forms.DateField(label="联系日期", initial=_today, widget=DateInput())
    mode = forms.ChoiceField(label="方式", choices=ContactMode.choices)
    reached = forms.BooleanField(label="联系上", required=False, initial=True)
    person_willing = forms.ChoiceField(label="本人意愿", choices=YES_NO_UNKNOWN, required=False)
    guardian_willing = forms.ChoiceField(label="监护人意愿", choices=YES_NO_UNKNOWN, required=False)
    note = forms.CharField(
        label="情况记录", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    @staticmethod
    def willing(value: str) -> bool | None:
        return {"yes": True, "no": False}.get(value)


@localise
class DecideForm(forms.Form):
    prefix = "decide"
    eligible = forms.TypedChoiceField(
        label="筛查结论",
        choices=[("1", "适合社区康复，纳入建档"), ("0", "不纳入")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    decline_reason = forms.ChoiceField(
        label="不纳入原因", choices=[("", "—"), *DeclineReason.choices], required=False
    )
    note = forms.CharField(label="说明", max_length=300, required=False)
    on = forms.DateField(label="筛查日期", initial=_today, widget=DateInput())


class _StaffChoices:
    @staticmethod
    def workers(org_ids: list[int]):
        return User.objects.filter(organisation_id__in=org_ids, is_active=True).order_by("full_name")


@localise
class EnrolForm(forms.ModelForm):
    enrolled_on = forms.DateField(label="建档日期", initial=_today, widget=DateInput())
    site = forms.ModelChoiceField(label="服务站点", queryset=None, required=False, empty_label="机构本部")
    worker = forms.ModelChoiceField(label="责任社工", queryset=None)
    rights_explained_on = forms.DateField(
        label="告知服务内容、权益和义务的日期",
        required=False,
        widget=DateInput(),
        help_text="须先向本人和监护人告知。",
    )
    agreement_signed_on = forms.DateField(label="服务协议签订日期", required=False, widget=DateInput())
    agreement_signer = forms.ChoiceField(label="协议签署人", choices=SIGNERS)
    agreement_guardian = forms.CharField(label="签署监护人姓名", max_length=50, required=False)
    agreement_scan = forms.FileField(
        label="协议扫描件", required=False, help_text="签字后的协议，PDF、JPEG 或 PNG，不超过 10 MB。"
    )

    class Meta:
        model = Case
        fields = REGISTRATION_FIELDS

    def __init__(self, *args, org_ids: list[int], sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["worker"].queryset = _StaffChoices.workers(org_ids)
        self.order_fields(
            [
                "enrolled_on",
                "site",
                "worker",
                "rights_explained_on",
                "agreement_signed_on",
                "agreement_signer",
                "agreement_guardian",
                "agreement_scan",
                *REGISTRATION_FIELDS,
            ]
        )

    def clean_agreement_scan(self):
        scan = self.cleaned_data.get("agreement_scan")
        if scan:
            uploads.check_upload(scan, allowed=(".pdf", ".jpg", ".jpeg", ".png"), max_bytes=10 * 1024 * 1024)
        return scan


@localise
class ScanForm(forms.Form):
    scan = forms.FileField(label="协议扫描件", help_text="PDF、JPEG 或 PNG，不超过 10 MB。")

    def clean_scan(self):
        scan = self.cleaned_data["scan"]
        uploads.check_upload(scan, allowed=(".pdf", ".jpg", ".jpeg", ".png"), max_bytes=10 * 1024 * 1024)
        return scan


@localise
class RegistrationForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Case
        fields = REGISTRATION_FIELDS


@localise
class IntakeForm(forms.ModelForm):
    class Meta:
        model = Intake
        fields = INTAKE_FIELDS
        widgets = {
            "interviewed_on": DateInput(),
            **{f: forms.Textarea(attrs={"rows": 3}) for f in INTAKE_FIELDS if f != "interviewed_on"},
        }


def assessment_form_class(
    definition: dict, *, amend: bool = False, outside_ages: bool = False
) -> type[forms.Form]:
    """A form built from a scale's definition: one field per item, with its options; with
    `outside_ages`, the assessor's statement that they use the scale outside its ages knowingly."""
    attrs: dict = {
        "assessed_on": forms.DateField(label="评估日期", initial=_today, widget=DateInput()),
        "informant": forms.CharField(
            label="信息提供者", max_length=50, required=False, help_text="如：本人、母亲。"
        ),
    }
    if amend:
        attrs.pop("assessed_on")
        attrs["amend_reason"] = forms.CharField(label="更正原因", max_length=300)
    for item in definition["items"]:
        name = f"item_{item['key']}"
        if item.get("type") == "number":
            attrs[name] = forms.IntegerField(
                label=item["label"], min_value=item["min"], max_value=item["max"], required=False
            )
        else:
            options = item.get("options") or definition.get("options") or []
            attrs[name] = forms.TypedChoiceField(
                label=item["label"],
                choices=[(str(o["value"]), o["label"]) for o in options],
                coerce=int,
                required=False,
                widget=forms.RadioSelect,
                help_text=item.get("help", ""),
            )
    attrs["note"] = forms.CharField(
        label="评估意见", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    if outside_ages:
        attrs["outside_ages"] = forms.BooleanField(
            label="仍按本量表评定（已知悉超出适用年龄）", required=False
        )

    def answers(self) -> dict:
        return {
            key.removeprefix("item_"): value
            for key, value in self.cleaned_data.items()
            if key.startswith("item_") and value not in (None, "")
        }

    attrs["answers"] = answers
    return localise(type("AssessmentForm", (forms.Form,), attrs))


@localise
class PlanForm(forms.Form):
    starts_on = forms.DateField(label="开始日期", initial=_today, widget=DateInput())
    review_on = forms.DateField(label="复评日期", widget=DateInput(), help_text="到期前两周提示重新评估。")
    summary = forms.CharField(label="总体目标", required=False, widget=forms.Textarea(attrs={"rows": 2}))


@localise
class GoalForm(forms.Form):
    problem = forms.CharField(label="评估发现的问题", max_length=200, required=False)
    goal = forms.CharField(label="康复目标", max_length=300, required=False)


@localise
class PlanServiceForm(forms.Form):
    service_type = forms.ChoiceField(
        label="服务类型", choices=[("", "—"), *ServiceType.choices], required=False
    )
    times = forms.IntegerField(label="次数", min_value=1, max_value=31, initial=1, required=False)
    per = forms.ChoiceField(label="频次", choices=[("week", "每周"), ("month", "每月")], required=False)
    place = forms.ChoiceField(label="地点", choices=PlanPlace.choices, required=False)
    worker = forms.ModelChoiceField(label="负责人", queryset=None, required=False)

    def __init__(self, *args, workers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["worker"].queryset = workers if workers is not None else User.objects.none()


GoalFormSet = forms.formset_factory(GoalForm, extra=4)
PlanServiceFormSet = forms.formset_factory(PlanServiceForm, extra=4)


@localise
class ActivityRecordForm(forms.Form):
    form = forms.ChoiceField(label="形式", choices=ActivityKind.choices)
    service_type = forms.ChoiceField(label="服务类型", choices=ServiceType.choices)
    mode = forms.ChoiceField(label="方式", choices=ContactMode.choices)
    title = forms.CharField(label="主题", max_length=100)
    held_on = forms.DateField(label="日期", initial=_today, widget=DateInput())
    site = forms.ModelChoiceField(label="站点", queryset=None, required=False, empty_label="机构本部")
    place = forms.CharField(label="地点", max_length=100, required=False)
    content = forms.CharField(label="内容", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    patients = forms.ModelMultipleChoiceField(
        label="参加的患者", queryset=None, widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args, cases, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patients"].queryset = cases
        self.fields["patients"].label_from_instance = lambda c: c.person.name
        self.fields["site"].queryset = sites


@localise
class FamilyForm(forms.Form):
    case = forms.ModelChoiceField(label="患者", queryset=None, required=False)
    name = forms.CharField(label="家属姓名", max_length=50, required=False)
    relation = forms.CharField(label="关系", max_length=20, required=False)

    def __init__(self, *args, cases=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = cases if cases is not None else Case.objects.none()
        self.fields["case"].label_from_instance = lambda c: c.person.name


FamilyFormSet = forms.formset_factory(FamilyForm, extra=3)


@localise
class FollowUpForm(forms.Form):
    done_on = forms.DateField(label="随访日期", initial=_today, widget=DateInput())
    mode = forms.ChoiceField(label="方式", choices=ContactMode.choices)
    risk_level = forms.TypedChoiceField(
        label="危险性等级", choices=[(str(i), f"{i} 级") for i in range(6)], coerce=int
    )
    stability = forms.ChoiceField(
        label="病情稳定性", choices=Stability.choices, help_text="3 级及以上自动判为不稳定。"
    )
    adherence = forms.ChoiceField(label="服药依从性", choices=Adherence.choices)
    insight = forms.ChoiceField(label="自知力", choices=Insight.choices)
    incidents = forms.MultipleChoiceField(
        label="肇事肇祸", choices=INCIDENTS, required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(label="随访记录", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    next_on = forms.DateField(
        label="下次随访日期",
        required=False,
        widget=DateInput(),
        help_text="不填则按随访规定自动排期（不稳定、基本稳定 2 周，稳定 3 个月）。",
    )


@localise
class TransferForm(forms.Form):
    kind = forms.ChoiceField(label="转介类型", choices=TransferKind.choices)
    to_org = forms.ModelChoiceField(label="接收机构", queryset=None, empty_label="请选择")
    employment_type = forms.ChoiceField(
        label="就业类型", choices=[("", "—"), *EmploymentType.choices], required=False
    )
    reason = forms.CharField(label="转介原因", max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    shared = forms.MultipleChoiceField(
        label="共享给接收机构的内容",
        choices=SharePart.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="接收机构只能看到勾选的内容；拒绝后不再可见。",
    )
    sent_on = forms.DateField(label="发出日期", initial=_today, widget=DateInput())

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_org"].queryset = targets


@localise
class PersonTransferForm(TransferForm):
    id_number = IdNumberField(help_text="本院患者的身份证号。")

    field_order = ["id_number", "kind", "to_org", "employment_type", "reason", "shared", "sent_on"]


@localise
class StatusForm(forms.Form):
    prefix = "status"
    action = forms.ChoiceField(
        label="操作", choices=[("suspend", "暂停服务"), ("resume", "恢复服务"), ("discharge", "结案")]
    )
    on = forms.DateField(label="日期", initial=_today, widget=DateInput())
    reason = forms.ChoiceField(
        label="结案原因", choices=[("", "—"), *DischargeReason.choices], required=False
    )
    note = forms.CharField(label="说明", max_length=300, required=False)


@localise
class PlacementForm(forms.ModelForm):
    class Meta:
        model = Placement
        fields = [
            "employer",
            "employment_type",
            "job",
            "starts_on",
            "ends_on",
            "monthly_subsidy",
            "outcome",
            "note",
        ]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}


@localise
class StaffForm(forms.ModelForm):
    class Meta:
        model = StaffMember
        fields = [
            "name",
            "profession",
            "certificate",
            "certificate_number",
            "direct_service",
            "joined_on",
            "left_on",
        ]
        widgets = {"joined_on": DateInput(), "left_on": DateInput()}

    profession = forms.ChoiceField(label="专业", choices=Profession.choices)


@localise
class TrainingForm(forms.Form):
    staff = forms.ModelChoiceField(label="专业人员", queryset=None, widget=forms.HiddenInput)
    held_on = forms.DateField(label="培训日期", initial=_today, widget=DateInput())
    hours = forms.DecimalField(label="学时", max_digits=5, decimal_places=1, min_value=0)
    topic = forms.CharField(label="培训内容", max_length=200)
    provider = forms.CharField(label="培训机构", max_length=100, required=False)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff
        # The staff member comes from a hidden input: a bad one is a stale page or a forged post.
        self.fields["staff"].error_messages.update(required=NO_SUCH_STAFF, invalid_choice=NO_SUCH_STAFF)


@localise
class ApproversForm(forms.Form):
    approvers = forms.ModelMultipleChoiceField(
        label="审核人（主管）",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="指定后，本机构的康复计划和结案只能由审核人审核，结案须提请审核；不指定则由提交人以外的工作人员审核。",
    )

    def __init__(self, *args, eligible, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approvers"].queryset = eligible
        self.fields["approvers"].label_from_instance = lambda u: f"{u}（{u.username}）"


@localise
class ProfileForm(forms.Form):
    level = forms.ChoiceField(label="机构层级", choices=InstitutionLevel.choices)
    services = forms.MultipleChoiceField(
        label="提供的服务类型",
        choices=ServiceType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    # Far above any institution, far below the integer column's limit.
    capacity = forms.IntegerField(label="服务容量（人）", min_value=0, max_value=100_000)
    opened_on = forms.DateField(label="开始服务日期", required=False, widget=DateInput())
    note = forms.CharField(label="说明", max_length=200, required=False)


@localise
class EmergencyForm(forms.Form):
    id_number = IdNumberField()
    reason = forms.CharField(
        label="紧急查阅理由",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="将记入审计日志，并告知为该患者服务的机构。",
    )

    def clean_reason(self):
        # The service's rule, checked before the person is looked up: without a reason nobody
        # learns whether a record exists. The field has already stripped the spaces.
        reason = self.cleaned_data["reason"]
        if len(reason) < EMERGENCY_REASON_MIN:
            raise forms.ValidationError(EMERGENCY_REASON)
        return reason


@localise
class PhotoForm(forms.Form):
    image = forms.FileField(label="活动照片", help_text="JPEG 或 PNG，不超过 5 MB。")
    caption = forms.CharField(label="说明", max_length=100, required=False)

    def clean_image(self):
        image = self.cleaned_data["image"]
        uploads.check_image_upload(image)
        return image


def stats_year(value: str | int | None, today: dt.date | None = None) -> int:
    """The year the statistics are asked for, the current one when none is given."""
    today = today or _today()
    if value is None or value == "":
        return today.year
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = None
    last = today.year + 1
    if year is None or not FIRST_STATS_YEAR <= year <= last:
        raise forms.ValidationError(YEAR_OUT_OF_RANGE.format(first=FIRST_STATS_YEAR, last=last))
    return year


def year_choices(today: dt.date | None = None) -> list[int]:
    today = today or _today()
    return list(range(today.year - 3, today.year + 1))
