from django import forms

from kangfu.core import uploads
from kangfu.core.forms import MonthField, localise
from kangfu.matching.models import FeedSource


@localise
class FeedUploadForm(forms.Form):
    source = forms.ModelChoiceField(label="数据来源", queryset=FeedSource.objects.all())
    # Read as the command and the API read --month and period: 2026-11, 202611, 2026年11月 …
    period = MonthField(label="数据所属月份", help_text="如 2026-11。")
    file = forms.FileField(label="文件（CSV 或 XLSX，不超过 50 MB）")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        uploads.check_upload(upload, allowed=(".csv", ".xlsx", ".txt"), max_bytes=50 * 1024 * 1024)
        return upload


@localise
class RunForm(forms.Form):
    period = MonthField(label="比对月份")


@localise
class ItemActionForm(forms.Form):
    note = forms.CharField(
        label="核实情况及依据", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    effective_month = MonthField(label="停发/变更自（月份）", required=False)
    street = forms.ChoiceField(label="转交街道", required=False, choices=())

    def __init__(self, *args, streets=(), **kwargs):
        """`streets`: those the item may be handed on to, so that nobody types a region code."""
        super().__init__(*args, **kwargs)
        self.fields["street"].choices = [("", "（转交时选择）")] + [(s.code, s.name) for s in streets]


@localise
class BulkForm(forms.Form):
    note = forms.CharField(
        label="核实情况及依据（适用于全部勾选的疑点）",
        max_length=300,
        required=False,  # the service says what a confirmation or a dismissal needs
        widget=forms.Textarea(attrs={"rows": 2}),
    )
