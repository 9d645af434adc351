from __future__ import annotations

from django import forms

from kangfu.core import access, events
from kangfu.core.forms import localise
from kangfu.core.models import RegionLevel


@localise
class WebhookForm(forms.Form):
    name = forms.CharField(label="名称", max_length=100, help_text="如“市残联业务系统”。")
    url = forms.URLField(
        label="接收地址", max_length=500, assume_scheme="https", help_text="对方系统接收推送的网址。"
    )
    region = forms.ModelChoiceField(label="范围", queryset=None, help_text="只推送该市或该区发生的事件。")
    kinds = forms.MultipleChoiceField(
        label="事件类型",
        choices=sorted(events.KINDS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="不选表示全部类型。",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = (
            access.regions_in_jurisdiction(user)
            .filter(level__in=[RegionLevel.CITY, RegionLevel.DISTRICT])
            .order_by("code")
        )
