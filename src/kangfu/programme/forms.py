"""Forms of the programme's pages; each offers only what the user's scope allows, and the services
check again."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from kangfu.core import access
from kangfu.core.forms import DateInput, localise
from kangfu.core.models import RegionLevel, User
from kangfu.programme import selectors, selectors_experts
from kangfu.programme.forms_experts import expert_label
from kangfu.programme.models import FundSource

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}


class _VolumeFields(forms.Form):
    people = forms.IntegerField(label="新入组服务对象（人）", min_value=0, initial=0)
    sessions = forms.IntegerField(label="服务场次", min_value=0, initial=0)
    people_times = forms.IntegerField(label="服务人次", min_value=0, initial=0)
    follow_ups = forms.IntegerField(label="随访（次）", min_value=0, initial=0)
    staff_trained = forms.IntegerField(label="培训人员（人）", min_value=0, initial=0)


@localise
class FundForm(forms.Form):
    region = forms.ModelChoiceField(label="所属区划", queryset=None, empty_label=None)
    source = forms.ChoiceField(label="资金来源", choices=FundSource.choices)
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    name = forms.CharField(
        label="资金名称", max_length=100, required=False, help_text="留空则用资金来源的名称。"
    )
    amount = forms.DecimalField(label="到位金额（元）", **MONEY)
    note = forms.CharField(label="说明", max_length=200, required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        # Funds are held by a city or a district, never by a street.
        self.fields["region"].queryset = access.regions_in_jurisdiction(user).filter(
            level__lte=RegionLevel.DISTRICT, level__gte=RegionLevel.CITY
        )


@localise
class FundAdjustForm(forms.Form):
    direction = forms.ChoiceField(label="调整", choices=[("add", "追加下达"), ("reduce", "调减")])
    amount = forms.DecimalField(label="金额（元）", **MONEY)
    note = forms.CharField(label="说明", max_length=200)

    @property
    def delta(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        return -amount if self.cleaned_data["direction"] == "reduce" else amount


@localise
class ContractForm(_VolumeFields):
    title = forms.CharField(label="项目名称", max_length=100)
    institution = forms.ModelChoiceField(label="承接机构", queryset=None)
    fund = forms.ModelChoiceField(label="资金来源", queryset=None)
    starts_on = forms.DateField(label="服务期开始", widget=DateInput())
    ends_on = forms.DateField(label="服务期结束", widget=DateInput())
    amount = forms.DecimalField(label="合同金额（元）", **MONEY)
    service_types = forms.MultipleChoiceField(
        label="服务范围", choices=selectors.SERVICE_TYPES, widget=forms.CheckboxSelectMultiple
    )
    sites = forms.ModelMultipleChoiceField(
        label="服务站点", queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )

    field_order = ["title", "institution", "fund", "starts_on", "ends_on", "amount", "service_types", "sites"]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = selectors.institutions_for(user)
        self.fields["fund"].queryset = selectors.funds_for(user).order_by("-year", "name")
        self.fields["fund"].label_from_instance = lambda f: (
            f"{f}（{f.region.label}，未分配 {f.remaining:,.2f} 元）"
        )
        self.fields["sites"].queryset = selectors.sites_for(user).select_related("parent")
        self.fields["sites"].label_from_instance = lambda s: f"{s.name}（{s.parent.name}）"
        self.order_fields(self.field_order)


@localise
class MilestoneForm(_VolumeFields):
    name = forms.CharField(label="节点名称", max_length=100)
    amount = forms.DecimalField(label="支付金额（元）", **MONEY)
    due_on = forms.DateField(label="计划日期", widget=DateInput(), required=False)
    final = forms.BooleanField(
        label="尾款（合同验收确认通过后才能申请）", required=False, help_text="每个合同只有一个尾款节点。"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["name", "amount", "due_on", "final"])
        for name in selectors.VOLUMES:
            self.fields[name].help_text = "自合同开始累计，0 表示不要求。"


@localise
class DecisionForm(forms.Form):
    note = forms.CharField(label="审批意见", max_length=200, required=False)


# ------------------------------------------------------------------ supervision

ITEMS_HELP = "每行一项：类别|检查内容|最低分|最高分|权重，如“服务场所|服务场所与设施|0|10|2”。"
FINDINGS_HELP = "每行一项：发现的问题|整改期限（年-月-日）|整改责任人。没有问题留空。"


def _lines(text: str) -> list[list[str]]:
    return [[part.strip() for part in line.split("|")] for line in text.splitlines() if line.strip()]


@localise
class ChecklistForm(forms.Form):
    code = forms.SlugField(label="代码", max_length=30)
    name = forms.CharField(label="名称", max_length=100)
    items = forms.CharField(label="检查项目", widget=forms.Textarea(attrs={"rows": 8}), help_text=ITEMS_HELP)

    def clean_items(self) -> list:
        from kangfu.programme.services.supervision import ItemData

        out = []
        for n, parts in enumerate(_lines(self.cleaned_data["items"]), start=1):
            if len(parts) != 5:
                raise forms.ValidationError(f"第 {n} 行应有 5 栏，用“|”分隔。")
            section, text, low, high, weight = parts
            try:
                out.append(ItemData(text, Decimal(high), Decimal(low), Decimal(weight), section))
            except ArithmeticError:
                raise forms.ValidationError(f"第 {n} 行的分值和权重须是数字。") from None
        return out


@localise
class ChecklistReviseForm(ChecklistForm):
    note = forms.CharField(label="修订说明", max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]
        del self.fields["name"]


@localise
class VisitForm(forms.Form):
    institution = forms.ModelChoiceField(label="被督导机构", queryset=None)
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label="季度", coerce=int, choices=[(q, f"第{q}季度") for q in (1, 2, 3, 4)]
    )
    visited_on = forms.DateField(label="督导日期", widget=DateInput())
    team = forms.CharField(label="督导人员", max_length=200)
    experts = forms.ModelMultipleChoiceField(
        label="督导专家（专家库）",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="从专家库中选择；须在督导日期处于可用时段内。",
    )
    summary = forms.CharField(label="督导意见", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    findings = forms.CharField(
        label="发现问题与整改任务",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=FINDINGS_HELP,
    )

    def __init__(self, *args, user: User, items: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = selectors.institutions_for(user)
        self.fields["experts"].queryset = selectors_experts.experts_for(user).order_by("field", "name")
        self.fields["experts"].label_from_instance = expert_label
        self.items = items
        for item in items:
            self.fields[f"score_{item.pk}"] = forms.DecimalField(
                label=f"{item.seq}. {item.text}（{item.min_score}–{item.max_score} 分，权重 {item.weight}）",
                max_digits=5,
                decimal_places=1,
                error_messages={
                    "required": "请填写此项。",
                    "invalid": "请输入数字。",
                    "max_decimal_places": "最多一位小数。",
                    "max_digits": "数字过大。",
                    "max_whole_digits": "数字过大。",
                },
            )

    def clean_findings(self) -> list:
        import datetime as dt

        from kangfu.programme.services.supervision import FindingData

        out = []
        for n, parts in enumerate(_lines(self.cleaned_data["findings"]), start=1):
            if len(parts) != 3:
                raise forms.ValidationError(f"第 {n} 行应有 3 栏，用“|”分隔。")
            text, deadline, owner = parts
            try:
                day = dt.date.fromisoformat(deadline)
            except ValueError:
                raise forms.ValidationError(f"第 {n} 行的整改期限应为年-月-日，如 2026-12-31。") from None
            out.append(FindingData(text, day, owner))
        return out

    @property
    def scores(self) -> dict[int, Decimal]:
        return {item.pk: self.cleaned_data[f"score_{item.pk}"] for item in self.items}


@localise
class AnswerForm(forms.Form):
    answer = forms.CharField(label="整改情况", widget=forms.Textarea(attrs={"rows": 3}))


@localise
class VerifyForm(forms.Form):
    note = forms.CharField(label="核验意见", max_length=200, required=False)


@localise
class PhotoForm(forms.Form):
    image = forms.FileField(label="照片", help_text="JPEG 或 PNG，不超过 5 MB。")
    caption = forms.CharField(label="说明", max_length=100, required=False)

    def clean_image(self):
        from kangfu.core import uploads

        image = self.cleaned_data["image"]
        uploads.check_image_upload(image)
        return image
