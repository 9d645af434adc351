"""数据交换渠道: the city administrator's page of agency channels (create, revoke, rotate a token).

A token is shown once, in the answer to the POST that minted it, and never stored or sent again (not
in a message, which would sit in the session)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kangfu.core import audit
from kangfu.core.forms import apply_service_errors, localise
from kangfu.core.models import AuditAction, Role
from kangfu.matching import agency, selectors


def _require_city(request) -> None:
    if request.user.role != Role.CITY_ADMIN:
        raise PermissionDenied(agency.ONLY_CITY)


@localise
class ChannelForm(forms.Form):
    name = forms.CharField(label="渠道名称", max_length=100, help_text="如“河西公安分局 死亡和迁移”。")
    agency = forms.CharField(label="推送机构", max_length=100)
    region = forms.ModelChoiceField(label="覆盖区划", queryset=None, help_text="市级渠道推送时须注明所属区。")
    sources = forms.ModelMultipleChoiceField(
        label="可推送的数据",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text="每类数据一个来源。",
    )
    drop_folder = forms.CharField(
        label="取数目录（可不填）",
        max_length=300,
        required=False,
        help_text="机构放置文件的本机目录，按类别分子目录（如 death/）；由 kangfu feeds pull 定时读取。",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = agency.channel_regions(user)
        self.fields["sources"].queryset = selectors.feed_sources()
        self.fields["sources"].label_from_instance = lambda s: f"{s.name}（{s.get_kind_display()}）"


def _page(request, form, *, new_token=None, status=200):
    channels = list(agency.channels_for(request.user))
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        object_type="matching.agencychannel",
        summary=f"查看数据交换渠道 {len(channels)} 个",
    )
    context = {"form": form, "channels": channels, "new_token": new_token}
    return render(request, "matching/channels.html", context, status=status)


@login_required
def channels(request):
    _require_city(request)
    form = ChannelForm(request.POST or None, user=request.user)
    if request.method != "POST":
        return _page(request, form)
    if form.is_valid():
        d = form.cleaned_data
        try:
            channel, token = agency.channel_create(
                actor=request.user,
                name=d["name"],
                agency=d["agency"],
                region=d["region"],
                sources=list(d["sources"]),
                drop_folder=d["drop_folder"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return _page(request, ChannelForm(user=request.user), new_token=(channel, token))
    return _page(request, form, status=400)


@login_required
@require_POST
def channel_action(request, pk: int):
    _require_city(request)
    channel = agency.channel_get(request.user, pk)
    if channel is None:
        raise Http404
    action = request.POST.get("action")
    try:
        if action == "revoke":
            agency.channel_revoke(actor=request.user, channel=channel)
            messages.success(request, f"已停用渠道“{channel}”，其令牌已吊销。")
        elif action == "rotate":
            token = agency.channel_rotate(actor=request.user, channel=channel)
            return _page(request, ChannelForm(user=request.user), new_token=(channel, token))
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    return redirect("matching:channels")
