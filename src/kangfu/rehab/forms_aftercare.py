"""Forms of the work after and around a case: 回访 after closure, the 满意度 form, proposals and
decisions of 审核. They check shape; the services decide
what is allowed."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from kangfu.core.forms import DateInput, localise
from kangfu.rehab.models import (
    SATISFACTION_ITEMS,
    SATISFACTION_SCALE,
    SCORED_FIELDS,
    DischargeReason,
    Respondent,
    RevisitOutcome,
    RevisitRound,
    RevisitWay,
)


def _today():
    return timezone.localdate()


@localise
class RevisitForm(forms.Form):
    round = forms.TypedChoiceField(
        label="回访轮次",
        choices=[("", "最早未做的一次"), *RevisitRound.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    done_on = forms.DateField(label="回访日期", initial=_today, widget=DateInput())
    way = forms.ChoiceField(label="回访方式", choices=RevisitWay.choices)
    outcome = forms.ChoiceField(label="回访结果", choices=RevisitOutcome.choices)
    relapsed = forms.BooleanField(label="结案后复发", required=False)
    readmitted = forms.BooleanField(label="结案后再次住院", required=False)
    note = forms.CharField(
        label="回访记录", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


@localise
class SatisfactionForm(forms.Form):
    filled_on = forms.DateField(label="填写日期", initial=_today, widget=DateInput())
    respondent = forms.ChoiceField(label="填写人", choices=Respondent.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The scored questions, in the order of the paper form, then the overall judgement.
        for code, label in (*SATISFACTION_ITEMS, ("overall", "总体满意度")):
            self.fields[code] = forms.TypedChoiceField(
                label=label,
                choices=SATISFACTION_SCALE,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": "请选择 1–5 分。", "invalid_choice": "请选择 1–5 分。"},
            )
        self.fields["comment"] = forms.CharField(
            label="意见和建议", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
        )

    def scores(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name in SCORED_FIELDS}


@localise
class DischargeProposalForm(forms.Form):
    on = forms.DateField(label="结案日期", initial=_today, widget=DateInput())
    reason = forms.ChoiceField(label="结案原因", choices=[("", "请选择"), *DischargeReason.choices])
    note = forms.CharField(
        label="说明", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


@localise
class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "批准"), ("return", "退回")])
    note = forms.CharField(label="审核意见", max_length=300, required=False)
