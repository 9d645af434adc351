"""Forms of recurring groups and of the survey link. They check shape; the services decide what is
allowed."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from kangfu.core.forms import DateInput, localise
from kangfu.rehab.models import WEEKDAYS, ActivityForm, ContactMode, Respondent, ServiceType

GROUP_FORMS = [(value, label) for value, label in ActivityForm.choices if value != ActivityForm.INDIVIDUAL]


def _today():
    return timezone.localdate()


def _staff_label(staff) -> str:
    return f"{staff.name}（{staff.get_profession_display()}）"


@localise
class GroupForm(forms.Form):
    title = forms.CharField(label="小组名称", max_length=100)
    form = forms.ChoiceField(label="形式", choices=GROUP_FORMS)
    service_type = forms.ChoiceField(label="服务类型", choices=ServiceType.choices)
    weekdays = forms.TypedMultipleChoiceField(
        label="每周活动日", choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    starts_at = forms.TimeField(
        label="开始时间", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    place = forms.CharField(label="地点", max_length=100, required=False)
    leader = forms.ModelChoiceField(label="带领人", queryset=None, required=False, empty_label="（未定）")
    start_on = forms.DateField(label="开始日期", initial=_today, widget=DateInput())
    end_on = forms.DateField(label="结束日期", required=False, widget=DateInput())
    members = forms.ModelMultipleChoiceField(
        label="成员", queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, cases, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = cases
        self.fields["members"].label_from_instance = lambda c: c.person.name
        self.fields["leader"].queryset = staff
        self.fields["leader"].label_from_instance = _staff_label


@localise
class MemberAddForm(forms.Form):
    case = forms.ModelChoiceField(label="服务对象", queryset=None)
    joined_on = forms.DateField(label="加入日期", initial=_today, widget=DateInput())

    def __init__(self, *args, cases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = cases
        self.fields["case"].label_from_instance = lambda c: c.person.name


@localise
class MemberLeaveForm(forms.Form):
    left_on = forms.DateField(label="退出日期", initial=_today, widget=DateInput())


@localise
class GroupEndForm(forms.Form):
    end_on = forms.DateField(label="结束日期", initial=_today, widget=DateInput())


@localise
class MeetingHoldForm(forms.Form):
    mode = forms.ChoiceField(label="方式", choices=ContactMode.choices)
    leader = forms.ModelChoiceField(label="带领人", queryset=None, required=False, empty_label="（按计划）")
    patients = forms.ModelMultipleChoiceField(
        label="出勤成员", queryset=None, widget=forms.CheckboxSelectMultiple, required=False
    )
    content = forms.CharField(label="内容", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, cases, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patients"].queryset = cases
        self.fields["patients"].label_from_instance = lambda c: c.person.name
        self.fields["leader"].queryset = staff
        self.fields["leader"].label_from_instance = _staff_label


@localise
class MeetingCancelForm(forms.Form):
    reason = forms.CharField(label="取消原因", max_length=200)


@localise
class SurveyLinkForm(forms.Form):
    respondent = forms.ChoiceField(label="填写人", choices=Respondent.choices)
