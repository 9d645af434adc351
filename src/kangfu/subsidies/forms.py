"""Forms of 两项补贴. They parse; the services decide."""

from __future__ import annotations

from django import forms

from kangfu.core import uploads
from kangfu.core.forms import DateInput, MonthField, localise
from kangfu.core.ids import normalize_id_number, normalize_phone
from kangfu.subsidies.models import Decision, Kind, StopReason

MONTH_HELP = "填写该月第一天，如 2026-11-01。"


class MultiFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class DocumentsField(forms.FileField):
    """Several scanned documents at once: PDF, JPEG or PNG, 5 MB each."""

    widget = MultiFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        for upload in files:
            uploads.check_upload(upload, allowed=(".pdf", ".jpg", ".jpeg", ".png"), max_bytes=5 * 1024 * 1024)
        return files


@localise
class ApplicationForm(forms.Form):
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="身份证号", max_length=30)
    phone = forms.CharField(label="联系电话", max_length=20)
    hukou_street = forms.ChoiceField(label="户籍所在街道（乡镇）")
    hukou_community = forms.ChoiceField(label="户籍所在社区（村）")
    living = forms.BooleanField(label="申请困难残疾人生活补贴", required=False)
    care = forms.BooleanField(label="申请重度残疾人护理补贴", required=False)
    bank_name = forms.CharField(label="开户银行", max_length=50)
    bank_account = forms.CharField(label="本人银行账号", max_length=40)
    agent_name = forms.CharField(label="代办人姓名", max_length=50, required=False)
    agent_relation = forms.CharField(label="代办人与申请人关系", max_length=20, required=False)
    documents = DocumentsField(label="材料（残疾人证、户口簿、银行卡等扫描件）", required=False)

    def __init__(self, *args, streets, communities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hukou_street"].choices = [("", "请选择"), *streets]
        self.fields["hukou_community"].choices = [("", "请选择"), *communities]

    def clean_id_number(self):
        return normalize_id_number(self.cleaned_data["id_number"]).number

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def clean(self):
        data = super().clean()
        if not (data.get("living") or data.get("care")):
            self.add_error(None, "请至少选择一项补贴。")
        return data


@localise
class DecisionForm(forms.Form):
    # The version the page showed: a second click, or a colleague first, is refused, not applied twice.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    decision = forms.ChoiceField(
        label="结论",
        choices=[(Decision.PASS, "通过"), (Decision.RETURN, "退回补正"), (Decision.REJECT, "不予批准")],
        widget=forms.RadioSelect,
    )
    opinion = forms.CharField(
        label="意见", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


@localise
class GrantChangeForm(forms.Form):
    action = forms.ChoiceField(
        label="变更",
        choices=[("stop", "停发"), ("suspend", "暂停"), ("resume", "恢复"), ("regrade", "等级变更")],
    )
    effective_month = MonthField(label="生效月份（首个受影响的月份）", help_text=MONTH_HELP)
    stop_reason = forms.ChoiceField(
        label="停发原因", choices=[("", "—"), *StopReason.choices], required=False
    )
    grade = forms.IntegerField(label="新等级", min_value=1, max_value=4, required=False)
    category = forms.IntegerField(label="残疾类别", min_value=1, max_value=7, required=False)
    reason = forms.CharField(label="说明", max_length=200)

    def clean(self):
        data = super().clean()
        if data.get("action") == "regrade" and not data.get("grade"):
            self.add_error("grade", "请填写新等级。")
        return data


@localise
class PayrollRunForm(forms.Form):
    month = MonthField(label="月份", help_text=MONTH_HELP)


@localise
class StandardForm(forms.Form):
    kind = forms.ChoiceField(label="补贴类别", choices=Kind.choices)
    grade_min = forms.IntegerField(label="残疾等级自", min_value=1, max_value=4)
    grade_max = forms.IntegerField(label="残疾等级至", min_value=1, max_value=4)
    amount = forms.DecimalField(label="月标准（元）", min_value=0, decimal_places=2)
    valid_from = MonthField(label="起始月份", help_text=MONTH_HELP)
    valid_to = MonthField(label="截止月份", required=False, help_text="不填表示长期有效。")
    note = forms.CharField(label="依据（文件号）", max_length=200, required=False)


@localise
class BankResultForm(forms.Form):
    file = forms.FileField(
        label="银行反馈文件（CSV）", help_text="列：明细编号、金额、结果（成功/失败）、原因。"
    )

    def clean_file(self):
        return uploads.read_text_upload(
            self.cleaned_data["file"], allowed=(".csv",), max_bytes=20 * 1024 * 1024
        )


@localise
class StatusLookupForm(forms.Form):
    number = forms.CharField(label="受理编号", max_length=20)
    id_number = forms.CharField(label="身份证号", max_length=30)

    def clean_number(self):
        return self.cleaned_data["number"].strip().upper()

    def clean_id_number(self):
        return normalize_id_number(self.cleaned_data["id_number"]).number


@localise
class CampaignForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2016, max_value=2100)
    due_date = forms.DateField(label="完成期限", widget=DateInput)


@localise
class ReviewDecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label="复核结果",
        choices=[
            ("passed", "复核通过"),
            ("failed", "复核不合格（次月停发）"),
            ("absent", "未参加复核（次月停发）"),
        ],
    )
    method = forms.CharField(
        label="复核方式", max_length=50, required=False, initial="比对系统、查看资料、本人申报"
    )
    note = forms.CharField(label="说明", max_length=300, required=False)


@localise
class VisitForm(forms.Form):
    visited_on = forms.DateField(label="见面日期", widget=DateInput)
    mode = forms.ChoiceField(label="方式", choices=[("home", "入户走访"), ("video", "视频见面")])
    findings = forms.CharField(label="情况", max_length=300, initial="本人健在，生活情况正常")
    abnormal = forms.BooleanField(label="发现异常", required=False)
    suspend = forms.BooleanField(label="异常情况须核实，次月起暂停发放", required=False)


@localise
class AppealForm(forms.Form):
    # The stop the page showed: if the grant changed since, the service refuses rather than guess.
    change = forms.IntegerField(widget=forms.HiddenInput)
    lodged_on = forms.DateField(
        label="申诉日期", widget=DateInput, help_text="申诉人提出申诉的日期，复核期限从次日起按工作日计算。"
    )
    reason = forms.CharField(
        label="申诉理由",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="申诉人的理由和所附材料。",
    )


@localise
class AppealDecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label="复核结论",
        choices=[
            ("upheld", "申诉成立：自停发月份起恢复发放，下次发放补发"),
            ("rejected", "申诉不成立：维持原决定"),
        ],
        widget=forms.RadioSelect,
    )
    opinion = forms.CharField(
        label="复核意见", max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="将告知申诉人。"
    )
