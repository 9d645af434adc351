"""Forms of the rental business. They parse; the services decide."""

from __future__ import annotations

from django import forms

from kangfu.core import uploads
from kangfu.core.forms import DateInput, localise
from kangfu.core.ids import normalize_id_number, normalize_phone
from kangfu.devices.models import (
    DISINFECTION_STEPS,
    PRODUCT_FIELDS,
    Category,
    DeliveryMode,
    DisinfectionMethod,
    Product,
    ReturnCondition,
    UnitStatus,
)
from kangfu.devices.services.rental_requests import LIMITS, TOO_LONG


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


@localise
class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["code", "name", "description"]


@localise
class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = list(PRODUCT_FIELDS)
        widgets = {
            "specification": forms.Textarea(attrs={"rows": 3}),
            "suitable_for": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        for name in ("rent_per_day", "rent_per_month", "deposit", "replacement_value"):
            self.fields[name].error_messages["min_value"] = "金额不能为负数。"


@localise
class PhotoForm(forms.Form):
    image = forms.FileField(label="产品照片", help_text="JPEG 或 PNG，不超过 5 MB。")
    caption = forms.CharField(label="说明", max_length=100, required=False)

    def clean_image(self):
        image = self.cleaned_data["image"]
        uploads.check_image_upload(image)
        return image


@localise
class UnitsAddForm(forms.Form):
    product = forms.ModelChoiceField(label="产品", queryset=Product.objects.none())
    outlet = forms.ModelChoiceField(label="入库网点", queryset=None)
    serials = forms.CharField(
        label="设备编号", widget=forms.Textarea(attrs={"rows": 4}), help_text="每行一个编号。"
    )
    acquired_on = forms.DateField(label="入库日期", widget=DateInput)

    def __init__(self, *args, products, outlets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        self.fields["outlet"].queryset = outlets


@localise
class UnitStatusForm(forms.Form):
    to = forms.ChoiceField(
        label="改为",
        choices=[
            (UnitStatus.REPAIR, "送修"),
            (UnitStatus.CLEANING, "修好，送清洗消毒"),
            (UnitStatus.RETIRED, "报废"),
        ],
    )
    note = forms.CharField(label="说明", max_length=200, required=False)


@localise
class UnitTransferForm(forms.Form):
    outlet = forms.ModelChoiceField(label="调往网点", queryset=None)
    note = forms.CharField(label="说明", max_length=200, required=False)

    def __init__(self, *args, outlets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outlet"].queryset = outlets


@localise
class FittingForm(forms.Form):
    category = forms.ModelChoiceField(label="辅具分类", queryset=Category.objects.filter(is_active=True))
    assessed_on = forms.DateField(label="评估日期", widget=DateInput)
    needs = forms.CharField(label="功能障碍与需求", widget=forms.Textarea(attrs={"rows": 2}))
    height_cm = forms.IntegerField(label="身高（厘米）", required=False, min_value=30, max_value=250)
    weight_kg = forms.IntegerField(label="体重（公斤）", required=False, min_value=5, max_value=300)
    measurements = forms.CharField(label="测量数据", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    home_environment = forms.CharField(
        label="居家环境", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    recommendation = forms.CharField(label="适配建议", widget=forms.Textarea(attrs={"rows": 2}))
    recommended_product = forms.ModelChoiceField(
        label="推荐产品", queryset=Product.objects.none(), required=False
    )
    suitable = forms.BooleanField(label="适合租用", required=False, initial=True)

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recommended_product"].queryset = products


@localise
class RentalForm(forms.Form):
    unit = forms.ChoiceField(label="设备")
    start_date = forms.DateField(label="起租日期", widget=DateInput)
    end_date = forms.DateField(label="到期日期", widget=DateInput)
    injured = forms.BooleanField(label="伤病人员（持医疗证明）", required=False)
    injured_note = forms.CharField(label="伤病证明", max_length=200, required=False)
    subsidy = forms.DecimalField(
        label="核定补贴（元）",
        required=False,
        min_value=0,
        decimal_places=2,
        help_text="不填则按政策自动计算；填写则不能超过政策允许的金额。",
    )
    delivery_mode = forms.ChoiceField(label="交付方式", choices=DeliveryMode.choices)
    delivery_address = forms.CharField(label="送货地址", max_length=200, required=False)
    delivery_from = forms.DateTimeField(label="送货时段起", required=False, widget=DateTimeInput)
    delivery_to = forms.DateTimeField(label="送货时段止", required=False, widget=DateTimeInput)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", "请选择")] + [
            (u.pk, f"{u.serial} · {u.outlet.name}") for u in units
        ]
        self.fields["subsidy"].error_messages["min_value"] = "金额不能为负数。"


@localise
class HandoverForm(forms.Form):
    training_content = forms.CharField(
        label="使用培训内容",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="操作方法、安全注意事项、日常清洁保养、故障报修方式。",
    )


@localise
class ExtendForm(forms.Form):
    new_end = forms.DateField(label="续租至", widget=DateInput)


@localise
class ReturnForm(forms.Form):
    returned_on = forms.DateField(label="归还日期", widget=DateInput)
    condition = forms.ChoiceField(label="验收情况", choices=ReturnCondition.choices)
    damage_note = forms.CharField(label="损坏情况", max_length=200, required=False)
    damage_charge = forms.DecimalField(label="损坏赔偿（元）", required=False, min_value=0, decimal_places=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["damage_charge"].error_messages["min_value"] = "金额不能为负数。"


@localise
class CancelForm(forms.Form):
    reason = forms.CharField(label="取消原因", max_length=200)


@localise
class DisinfectionForm(forms.Form):
    method = forms.ChoiceField(label="消毒方法", choices=DisinfectionMethod.choices)
    agent = forms.CharField(
        label="消毒剂及浓度", max_length=100, help_text="如：含氯消毒剂 500 mg/L，作用 30 分钟。"
    )
    steps = forms.MultipleChoiceField(
        label="已完成步骤（MZ/T 175.2-2021）",
        choices=DISINFECTION_STEPS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    started_at = forms.DateTimeField(label="开始时间", widget=DateTimeInput)
    finished_at = forms.DateTimeField(label="完成时间", widget=DateTimeInput)
    passed = forms.BooleanField(label="检查合格", required=False)
    check_note = forms.CharField(label="检查说明", max_length=200, required=False)


@localise
class DeclineForm(forms.Form):
    reason = forms.CharField(label="未受理原因", max_length=200)


def _bounded(form_class: type[forms.BaseForm]) -> type[forms.BaseForm]:
    """Every free-text field of a public form has a length limit, told in Chinese: a form anyone
    may post must not store whatever size of text it is sent."""
    for field in form_class.base_fields.values():
        if isinstance(field, forms.CharField) and not isinstance(field, forms.ChoiceField):
            if field.max_length is None:
                raise TypeError(f"{form_class.__name__}: {field.label} needs a max_length")
            field.error_messages["max_length"] = TOO_LONG.format(label=field.label, limit=field.max_length)
    return form_class


@_bounded
@localise
class PublicRequestForm(forms.Form):
    outlet = forms.ChoiceField(label="取用网点")
    name = forms.CharField(label="姓名", max_length=LIMITS["name"][1])
    id_number = forms.CharField(label="身份证号", max_length=30)
    phone = forms.CharField(label="联系电话", max_length=20)
    address = forms.CharField(label="住址", max_length=LIMITS["address"][1])
    wants_delivery = forms.BooleanField(label="需要送货上门", required=False)
    desired_start = forms.DateField(label="希望开始日期", widget=DateInput)
    months = forms.IntegerField(label="租用月数", min_value=1, max_value=12, initial=1)
    note = forms.CharField(
        label="情况说明",
        max_length=LIMITS["note"][1],
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="如：行动不便、术后康复、低保或残疾情况。",
    )
    consent = forms.BooleanField(label="我同意工作人员为办理租赁核实我的身份、残疾和低保等信息")

    def __init__(self, *args, outlets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outlet"].choices = [(o.pk, o.name) for o in outlets]
        self.fields["consent"].error_messages["required"] = "请勾选同意，否则无法办理。"

    # The same checks the service makes, here too so that one submit shows every mistake at once.
    def clean_id_number(self):
        return normalize_id_number(self.cleaned_data["id_number"]).number

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])


@_bounded
@localise
class RequestLookupForm(forms.Form):
    reference = forms.CharField(label="受理编号", max_length=20)
    id_number = forms.CharField(label="身份证号", max_length=30)

    def clean_reference(self):
        return self.cleaned_data["reference"].strip().upper()

    def clean_id_number(self):
        return normalize_id_number(self.cleaned_data["id_number"]).number
