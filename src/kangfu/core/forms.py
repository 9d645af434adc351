"""Form helpers shared by every app."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError

from kangfu.core import uploads
from kangfu.core.spreadsheets import parse_month

BAD_MONTH = "请输入有效月份（年-月，如 2026-11）。"


def apply_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: field errors on fields, the rest on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class MonthInput(forms.DateInput):
    """The browser's month picker (`<input type="month">`, which posts 2026-11)."""

    input_type = "month"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m")

    def format_value(self, value):
        # A form posted back with a full date (an older client, a typed 2026-11-01) is shown as its
        # month, which the picker can display; anything else is left for the user to see and fix.
        if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
            return value[:7]
        return super().format_value(value)


class MonthField(forms.DateField):
    """A month, cleaned to the date of its first day (how months are stored, core.months).

    Reads what the month picker posts (2026-11) and still a full date (2026-11-05 is November), as
    well as the ways agencies write a month (2026/11, 202611, 2026年11月; core.spreadsheets.parse_month),
    so a page, the API and an import read a month alike."""

    widget = MonthInput
    default_error_messages = {"invalid": BAD_MONTH}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.date().replace(day=1)
        if isinstance(value, dt.date):
            return value.replace(day=1)
        try:
            return parse_month(str(value).strip())
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class CsvUploadForm(forms.Form):
    file = forms.FileField(label="CSV 文件", help_text="UTF-8 或 GBK 编码，不超过 2 MB。")
    dry_run = forms.BooleanField(label="只检查，不导入", required=False)

    def clean_file(self):
        return uploads.read_text_upload(
            self.cleaned_data["file"], allowed=(".csv",), max_bytes=2 * 1024 * 1024
        )


def localise(form_class: type[forms.BaseForm]) -> type[forms.BaseForm]:
    """Chinese messages for the stock field errors."""
    for field in form_class.base_fields.values():
        field.error_messages["required"] = "请填写此项。"
        if isinstance(field, forms.DateField | forms.DateTimeField) and not isinstance(field, MonthField):
            field.error_messages["invalid"] = "请输入有效的日期和时间。"
        if isinstance(field, forms.DecimalField | forms.IntegerField):
            field.error_messages["invalid"] = "请输入数字。"
            field.error_messages["min_value"] = "不能小于 %(limit_value)s。"
            field.error_messages["max_value"] = "不能大于 %(limit_value)s。"
        if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
            field.error_messages["invalid_choice"] = "所选项不在可选范围内。"
    return form_class
