"""Forms for the registry pages. They parse input; the services decide what is valid."""

from __future__ import annotations

from django import forms
from django.urls import reverse

from kangfu.core import access
from kangfu.core.forms import DateInput
from kangfu.core.models import Region, RegionLevel, User
from kangfu.core.selectors import street_choices
from kangfu.people.models import (
    GuardianRelation,
    HukouType,
    IncomeStatus,
    LifeEventKind,
    Person,
)


class PersonForm(forms.Form):
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(
        label="身份证号",
        max_length=30,
        help_text="18位居民身份证号；旧版15位号码会自动转换。出生日期和性别由号码得出。",
    )
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    street = forms.ChoiceField(label="街道（乡镇）")
    community = forms.ChoiceField(label="社区（村）")
    address = forms.CharField(label="居住地址", max_length=200, required=False)
    hukou_region = forms.CharField(
        label="户籍地区划代码",
        max_length=12,
        required=False,
        help_text="全国任一省、市、区县的6位或12位代码，已撤销的区县按现属区划登记；不填则与居住社区相同。",
    )
    hukou_type = forms.ChoiceField(label="户口性质", choices=[("", "—"), *HukouType.choices], required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = "请填写此项。"
            field.error_messages["invalid_choice"] = "所选项不在可选范围内。"
        regions = access.regions_in_jurisdiction(user)
        in_reach = regions
        if user.jurisdiction is not None and user.jurisdiction.level == RegionLevel.COMMUNITY:
            # A community worker's jurisdiction holds no street, yet the form asks for one first:
            # offer the street their community belongs to, whose only community they may choose.
            in_reach = Region.objects.filter(pk=user.jurisdiction.parent_id)
        groups = street_choices(in_reach)
        streets = [choice for _district, choices in groups for choice in choices]
        self.fields["street"].choices = [("", "请选择"), *groups]
        street = self.data.get("street") or self.initial.get("street")
        if not street and len(streets) == 1:
            street = streets[0][0]
            self.initial["street"] = street
        communities = (
            list(regions.filter(level=RegionLevel.COMMUNITY, parent_id=street).values_list("code", "name"))
            if street
            else []
        )
        self.fields["community"].choices = [("", "请选择"), *communities]
        self.fields["street"].widget.attrs.update(
            {"hx-get": reverse("people:communities"), "hx-target": "#id_community", "hx-trigger": "change"}
        )

    @staticmethod
    def initial_for(person: Person) -> dict:
        return {
            "name": person.name,
            "id_number": person.id_number,
            "phone": person.phone,
            "street": person.street_id,
            "community": person.community_id,
            "address": person.address,
            "hukou_region": person.hukou_region_id if person.hukou_region_id != person.community_id else "",
            "hukou_type": person.hukou_type,
            "version": person.version,
        }


class GuardianForm(forms.Form):
    name = forms.CharField(label="姓名", max_length=50)
    relation = forms.ChoiceField(label="关系", choices=GuardianRelation.choices)
    is_guardian = forms.BooleanField(label="法定监护人", required=False, initial=True)
    is_carer = forms.BooleanField(label="主要照护人", required=False)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    id_number = forms.CharField(label="身份证号", max_length=30, required=False)
    address = forms.CharField(label="地址", max_length=200, required=False)


class CertificateForm(forms.Form):
    number = forms.CharField(label="残疾人证号", max_length=30, help_text="20位：身份证号 + 类别 + 等级。")
    issued_on = forms.DateField(label="发证日期", widget=DateInput)
    expires_on = forms.DateField(label="有效期至", widget=DateInput, required=False)


class CertificateCancelForm(forms.Form):
    cancelled_on = forms.DateField(label="注销日期", widget=DateInput)
    reason = forms.CharField(label="注销原因", max_length=200)


class IncomePeriodForm(forms.Form):
    status = forms.ChoiceField(label="收入状况", choices=IncomeStatus.choices)
    start_date = forms.DateField(label="起始日期", widget=DateInput)
    end_date = forms.DateField(label="终止日期", widget=DateInput, required=False)
    note = forms.CharField(label="备注", max_length=200, required=False)


class IncomeEndForm(forms.Form):
    end_date = forms.DateField(label="终止日期", widget=DateInput)


class LifeEventForm(forms.Form):
    kind = forms.ChoiceField(label="事件", choices=LifeEventKind.choices)
    occurred_on = forms.DateField(label="发生日期", widget=DateInput)
    to_region = forms.CharField(
        label="新户籍地区划代码", max_length=12, required=False, help_text="户籍迁移时填写。"
    )
    document = forms.CharField(label="依据（证明/文书编号）", max_length=100, required=False)
    note = forms.CharField(label="备注", max_length=200, required=False)


def _localise(form_class: type[forms.Form]) -> None:
    for field in form_class.base_fields.values():
        field.error_messages["required"] = "请填写此项。"
        if isinstance(field, forms.DateField):
            field.error_messages["invalid"] = "请输入有效日期（年-月-日）。"
        if isinstance(field, forms.ChoiceField):
            field.error_messages["invalid_choice"] = "所选项不在可选范围内。"


for _form in (
    GuardianForm,
    CertificateForm,
    CertificateCancelForm,
    IncomePeriodForm,
    IncomeEndForm,
    LifeEventForm,
):
    _localise(_form)
