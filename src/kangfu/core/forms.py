"""Form helpers shared by every app."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from kangfu.core import uploads


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
        if isinstance(field, forms.DateField | forms.DateTimeField):
            field.error_messages["invalid"] = "请输入有效的日期和时间。"
        if isinstance(field, forms.DecimalField | forms.IntegerField):
            field.error_messages["invalid"] = "请输入数字。"
            field.error_messages["min_value"] = "不能小于 %(limit_value)s。"
            field.error_messages["max_value"] = "不能大于 %(limit_value)s。"
        if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
            field.error_messages["invalid_choice"] = "所选项不在可选范围内。"
    return form_class
