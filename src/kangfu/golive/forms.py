"""Forms of the go-live pages: upload a file of a kind, set the column mapping, pick a month."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from kangfu.core.forms import MonthField, MonthInput, localise
from kangfu.core.spreadsheets import parse_month
from kangfu.core.uploads import check_upload
from kangfu.golive.kinds import Kind

MAX_BYTES = 300 * 1024 * 1024
BAD_MONTH = "请填写月份，如 2027-01。"


def _month(value: str):
    try:
        return parse_month(value)
    except ValueError:
        raise ValidationError(BAD_MONTH) from None


@localise
class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="导入类别")
    file = forms.FileField(
        label="文件", help_text="CSV（UTF-8 或 GBK）或 XLSX；表头可在前 10 行内，上方可有标题。"
    )
    live_from = forms.CharField(
        label="上线月份",
        required=False,
        widget=MonthInput,
        help_text="享受对象和原系统发放明细必填：本系统首次发放的月份，此前各月为原系统发放。",
    )

    def __init__(self, *args, kinds: list[type[Kind]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.name, k.label) for k in kinds]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        check_upload(upload, allowed=(".csv", ".txt", ".xlsx", ".xlsm"), max_bytes=MAX_BYTES)
        return upload

    def clean_live_from(self):
        value = self.cleaned_data["live_from"]
        return f"{_month(value):%Y-%m}" if value else ""


class MappingForm(forms.Form):
    """One select per column of the kind, offering the file's headers."""

    header_line = forms.IntegerField(label="表头所在行", min_value=1, max_value=10)

    def __init__(self, *args, kind: type[Kind], headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "（不导入）")] + [(h, h) for h in headers if h]
        for column in kind.columns:
            self.fields[column.field] = forms.ChoiceField(
                label=column.label + ("（必填）" if column.required else ""),
                choices=choices,
                required=False,
                help_text="也认：" + "、".join(column.synonyms[:5]) if column.synonyms else "",
            )

    def mapping(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if k != "header_line" and v}


@localise
class ReconcileForm(forms.Form):
    month = MonthField(label="上线月份")
