"""Forms of the standards' pages and of a contract's acceptance; the services check everything again."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from kangfu.core.forms import DateInput, localise
from kangfu.programme.forms import _lines
from kangfu.programme.standards import INDICATORS

ITEMS_HELP = (
    "每行一项：指标代码|内容|最低分|最高分|权重。指标代码留空为现场评分项；自动指标按百分制（0|100）。"
    "可用指标代码：" + "；".join(f"{k} {i.label}" for k, i in INDICATORS.items()) + "。"
)


@localise
class StandardForm(forms.Form):
    code = forms.SlugField(label="代码", max_length=30)
    name = forms.CharField(label="名称", max_length=100)
    pass_score = forms.DecimalField(label="通过分数线", max_digits=4, decimal_places=1, required=False)
    rectify_score = forms.DecimalField(
        label="整改后通过分数线", max_digits=4, decimal_places=1, required=False
    )
    items = forms.CharField(label="项目", widget=forms.Textarea(attrs={"rows": 8}), help_text=ITEMS_HELP)

    def clean_items(self) -> list:
        from kangfu.programme.services.standards import StandardItemData

        out = []
        for n, parts in enumerate(_lines(self.cleaned_data["items"]), start=1):
            if len(parts) != 5:
                raise forms.ValidationError(f"第 {n} 行应有 5 栏，用“|”分隔。")
            indicator, text, low, high, weight = parts
            try:
                out.append(StandardItemData(text, Decimal(high), Decimal(low), Decimal(weight), indicator))
            except ArithmeticError:
                raise forms.ValidationError(f"第 {n} 行的分值和权重须是数字。") from None
        return out


@localise
class StandardReviseForm(StandardForm):
    year_from = forms.IntegerField(
        label="起用年度",
        min_value=2000,
        max_value=2100,
        required=False,
        help_text="年度考核标准适用，缺省为今年。",
    )
    note = forms.CharField(label="修订说明", max_length=200, required=False)

    def __init__(self, *args, assessment: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]
        del self.fields["name"]
        if assessment:
            del self.fields["pass_score"]
            del self.fields["rectify_score"]
        else:
            del self.fields["year_from"]


@localise
class AcceptanceForm(forms.Form):
    accepted_on = forms.DateField(label="验收日期", widget=DateInput())
    team = forms.CharField(label="验收人员", max_length=200)
    summary = forms.CharField(label="验收意见", widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, items: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = [i for i in items if not i.indicator]
        for item in self.items:
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

    @property
    def scores(self) -> dict[int, Decimal]:
        return {item.pk: self.cleaned_data[f"score_{item.pk}"] for item in self.items}


@localise
class NoteForm(forms.Form):
    note = forms.CharField(label="意见", max_length=200, required=False)
