"""Forms of the expert bank and the programme's trainings; each offers only what the user's scope
allows, and the services check again."""

from __future__ import annotations

from django import forms

from kangfu.core import access
from kangfu.core.forms import DateInput, localise
from kangfu.core.models import RegionLevel, User
from kangfu.programme import selectors_experts
from kangfu.programme.models import ExpertField, ExpertLevel


def expert_label(e) -> str:
    return f"{e.name}（{e.get_field_display()}，{e.get_level_display()}，{e.organisation}）"


@localise
class ExpertForm(forms.Form):
    region = forms.ModelChoiceField(label="所属专家库", queryset=None, empty_label=None)
    name = forms.CharField(label="姓名", max_length=50)
    field = forms.ChoiceField(label="专业领域", choices=ExpertField.choices)
    level = forms.ChoiceField(label="级别", choices=ExpertLevel.choices)
    organisation = forms.CharField(label="工作单位", max_length=100)
    title = forms.CharField(label="职称", max_length=50, required=False)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = access.regions_in_jurisdiction(user).filter(
            level__lte=RegionLevel.DISTRICT
        )
        self.fields["region"].label_from_instance = lambda r: f"{r.name}专家库"


@localise
class WindowForm(forms.Form):
    starts_on = forms.DateField(label="可用开始", widget=DateInput())
    ends_on = forms.DateField(label="可用结束", widget=DateInput())
    note = forms.CharField(label="说明", max_length=100, required=False)


@localise
class TrainingForm(forms.Form):
    held_on = forms.DateField(label="培训日期", widget=DateInput())
    hours = forms.DecimalField(label="学时", max_digits=4, decimal_places=1, min_value=0.1, max_value=24)
    topic = forms.CharField(label="培训主题", max_length=200)
    place = forms.CharField(label="地点", max_length=100, required=False)
    trainers = forms.ModelMultipleChoiceField(
        label="授课专家",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text="须在培训日期处于可用时段内。",
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trainers"].queryset = selectors_experts.experts_for(user).order_by("field", "name")
        self.fields["trainers"].label_from_instance = expert_label


@localise
class AttendanceForm(forms.Form):
    staff = forms.ModelMultipleChoiceField(
        label="参加人员", queryset=None, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = selectors_experts.staff_for(user).order_by(
            "organisation__name", "name"
        )
        self.fields["staff"].label_from_instance = lambda s: f"{s.name}（{s.organisation.name}）"
