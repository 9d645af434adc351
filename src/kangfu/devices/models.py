"""Assistive-device rental (辅具租赁): catalogue, units, fittings, rentals with their bills, returns and
disinfection.

A rental centre is an Organisation of kind device_centre; its outlets are organisations of kind
device_outlet whose parent is the centre. Money is Decimal with two places. A rental's bill is the
list of its charges, each with the sentence that explains it; nothing about a bill is stored twice.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from kangfu.core.fields import EncryptedTextField
from kangfu.core.models import Organisation
from kangfu.people.models import Person

ZERO = Decimal("0.00")

# Main classes of GB/T 16432 (ISO 9999).
MAIN_CLASSES = {
    "04": "个人医疗辅助器具",
    "05": "技能训练辅助器具",
    "06": "矫形器和假肢",
    "09": "个人生活自理和防护辅助器具",
    "12": "个人移动辅助器具",
    "15": "家务辅助器具",
    "18": "家庭和其他场所的家具及其适配件",
    "22": "沟通和信息辅助器具",
    "24": "操作物品和器具的辅助器具",
    "27": "环境改善和评估辅助器具",
    "28": "就业和职业训练辅助器具",
    "30": "休闲娱乐辅助器具",
}


def money_field(verbose_name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=12, decimal_places=2, validators=[MinValueValidator(ZERO)], **kwargs
    )


class Category(models.Model):
    """A device class by its six-digit GB/T 16432 code (main class, sub-class, division)."""

    code = models.CharField(
        "分类代码",
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^\d{6}$", "分类代码应为6位数字。")],
    )
    name = models.CharField("名称", max_length=100)
    description = models.TextField("说明", blank=True)
    is_active = models.BooleanField("在用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "辅具分类"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def main_class(self) -> str:
        return MAIN_CLASSES.get(self.code[:2], "")


class Product(models.Model):
    """A product a centre rents out, with its prices."""

    centre = models.ForeignKey(
        Organisation, verbose_name="租赁中心", on_delete=models.PROTECT, related_name="+"
    )
    category = models.ForeignKey(
        Category, verbose_name="分类", on_delete=models.PROTECT, related_name="products"
    )
    name = models.CharField("产品名称", max_length=100)
    model = models.CharField("型号", max_length=100, blank=True)
    maker = models.CharField("生产厂家", max_length=100, blank=True)
    specification = models.TextField("规格参数", blank=True)
    suitable_for = models.TextField("适用人群和条件", blank=True)
    rent_per_day = money_field("日租金（元）")
    rent_per_month = money_field("月租金（元）")
    deposit = money_field("押金（元）")
    replacement_value = money_field("重置价值（元）")
    needs_fitting = models.BooleanField("首次租用须适配评估", default=True)
    is_active = models.BooleanField("在租", default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "辅具产品"
        ordering = ["category__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "name", "model"], name="product_unique_in_centre"),
            models.CheckConstraint(
                condition=models.Q(
                    rent_per_day__gte=0, rent_per_month__gte=0, deposit__gte=0, replacement_value__gte=0
                ),
                name="product_prices_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.model}）" if self.model else self.name


# The fields a centre edits on a product (the form and the service's change log share them).
PRODUCT_FIELDS = (
    "category",
    "name",
    "model",
    "maker",
    "specification",
    "suitable_for",
    "rent_per_day",
    "rent_per_month",
    "deposit",
    "replacement_value",
    "needs_fitting",
    "is_active",
)


class ProductPhoto(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField("照片", upload_to="devices/products/%Y/")
    caption = models.CharField("说明", max_length=100, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "产品照片"

    def __str__(self) -> str:
        return self.caption or self.image.name


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", "可租"
    RESERVED = "reserved", "已预订"
    RENTED = "rented", "租出"
    RETURNED = "returned", "已归还待消毒"
    CLEANING = "cleaning", "清洗消毒中"
    REPAIR = "repair", "维修中"
    RETIRED = "retired", "已报废"


class Unit(models.Model):
    """One serial-numbered device at an outlet."""

    product = models.ForeignKey(Product, verbose_name="产品", on_delete=models.PROTECT, related_name="units")
    outlet = models.ForeignKey(
        Organisation, verbose_name="所在网点", on_delete=models.PROTECT, related_name="+"
    )
    serial = models.CharField("编号", max_length=50, unique=True)
    status = models.CharField("状态", max_length=10, choices=UnitStatus.choices, default=UnitStatus.AVAILABLE)
    acquired_on = models.DateField("入库日期", default=timezone.localdate)
    status_changed_at = models.DateTimeField("状态变更时间", default=timezone.now)
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "辅具设备"
        ordering = ["serial"]
        indexes = [models.Index(fields=["product", "outlet", "status"], name="unit_product_outlet_status")]

    def __str__(self) -> str:
        return f"{self.serial} {self.product.name}"


class UnitEvent(models.Model):
    """One line of a unit's history: acquired, a status change, or a move between outlets."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=10, choices=UnitStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=UnitStatus.choices, blank=True)
    from_outlet = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_outlet = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rental = models.ForeignKey("Rental", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "设备履历"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.from_status}→{self.to_status}"


class Fitting(models.Model):
    """A fitting assessment (适配评估) of one person for one device class."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="device_fittings")
    category = models.ForeignKey(
        Category, verbose_name="辅具分类", on_delete=models.PROTECT, related_name="+"
    )
    centre = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="评估人", on_delete=models.PROTECT, related_name="+"
    )
    assessed_on = models.DateField("评估日期")
    needs = models.TextField("功能障碍与需求")
    height_cm = models.PositiveSmallIntegerField("身高（厘米）", null=True, blank=True)
    weight_kg = models.PositiveSmallIntegerField("体重（公斤）", null=True, blank=True)
    measurements = models.TextField("测量数据", blank=True, help_text="如坐宽、坐深、小腿长、扶手高度等。")
    home_environment = models.TextField(
        "居家环境", blank=True, help_text="楼层、电梯、门宽、卫生间、通道等。"
    )
    recommendation = models.TextField("适配建议")
    recommended_product = models.ForeignKey(
        Product, verbose_name="推荐产品", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suitable = models.BooleanField("适合租用", default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "适配评估"
        ordering = ["-assessed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.person} {self.category.name} {self.assessed_on}"


class SubsidyMode(models.TextChoices):
    SHARE = "share", "按租金比例"
    AMOUNT = "amount", "按月定额"


class PricingPolicy(models.Model):
    """A centre's subsidy and discount rules. Bills copy the figures they used, so a later change of
    policy never alters an old bill."""

    centre = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="device_pricing")
    subsidy_mode = models.CharField(
        "补贴方式", max_length=10, choices=SubsidyMode.choices, default=SubsidyMode.SHARE
    )
    subsidy_share = models.DecimalField("补贴比例", max_digits=4, decimal_places=3, default=Decimal("0.500"))
    subsidy_amount_per_month = money_field("每月补贴定额（元）", default=ZERO)
    subsidy_cap_per_year = money_field("每人每年补贴上限（元）", default=Decimal("3000.00"))
    subsidy_budget_per_year = money_field("年度补贴预算（元）", default=Decimal("200000.00"))
    discount_budget_per_year = money_field("年度优惠预算（元）", default=Decimal("50000.00"))
    elderly_age = models.PositiveSmallIntegerField("老年人年龄起点", default=60)
    elderly_discount_share = models.DecimalField(
        "本地老年人优惠比例", max_digits=4, decimal_places=3, default=Decimal("0.200")
    )
    injured_discount_share = models.DecimalField(
        "伤病人员优惠比例", max_digits=4, decimal_places=3, default=Decimal("0.100")
    )
    waive_deposit_for_subsidised = models.BooleanField("享受补贴者免押金", default=True)
    overdue_fee_multiplier = models.DecimalField(
        "逾期费（日租金倍数）", max_digits=4, decimal_places=2, default=Decimal("1.00")
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "租赁价格政策"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(subsidy_share__gte=0, subsidy_share__lte=1)
                & models.Q(elderly_discount_share__gte=0, elderly_discount_share__lte=1)
                & models.Q(injured_discount_share__gte=0, injured_discount_share__lte=1),
                name="pricing_shares_between_0_and_1",
            )
        ]

    def __str__(self) -> str:
        return f"{self.centre} 价格政策"


class RequestStatus(models.TextChoices):
    NEW = "new", "待处理"
    HANDLED = "handled", "已受理"
    DECLINED = "declined", "未受理"


class RentalRequest(models.Model):
    """A rental request a citizen sent from the public catalogue."""

    reference = models.CharField("受理编号", max_length=20, unique=True)
    centre = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    outlet = models.ForeignKey(
        Organisation, verbose_name="取用网点", on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey(
        Product, verbose_name="产品", on_delete=models.PROTECT, related_name="requests"
    )
    name = models.CharField("姓名", max_length=50)
    id_number = EncryptedTextField("身份证号")
    id_number_hash = models.CharField(max_length=64, db_index=True, editable=False)
    phone = EncryptedTextField("联系电话")
    address = models.CharField("住址", max_length=200)
    wants_delivery = models.BooleanField("需要送货上门", default=False)
    desired_start = models.DateField("希望开始日期")
    months = models.PositiveSmallIntegerField("租用月数", default=1)
    note = models.TextField("情况说明", blank=True)
    status = models.CharField("状态", max_length=10, choices=RequestStatus.choices, default=RequestStatus.NEW)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField("未受理原因", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "租赁申请"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference


class RentalStatus(models.TextChoices):
    RESERVED = "reserved", "待交付"
    ACTIVE = "active", "租用中"
    RETURNED = "returned", "已归还"
    CANCELLED = "cancelled", "已取消"


OPEN_RENTAL = (RentalStatus.RESERVED, RentalStatus.ACTIVE)


class DeliveryMode(models.TextChoices):
    PICKUP = "pickup", "网点自取"
    HOME = "home", "送货上门并安装调试"


class Rental(models.Model):
    """One person renting one unit for a period. At most one open rental per unit (a constraint)."""

    number = models.CharField("合同编号", max_length=20, unique=True, null=True, blank=True)
    person = models.ForeignKey(
        Person, verbose_name="承租人", on_delete=models.PROTECT, related_name="device_rentals"
    )
    product = models.ForeignKey(Product, verbose_name="产品", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, verbose_name="设备", on_delete=models.PROTECT, related_name="rentals")
    outlet = models.ForeignKey(Organisation, verbose_name="网点", on_delete=models.PROTECT, related_name="+")
    centre = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    request = models.ForeignKey(
        RentalRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="rentals"
    )
    fitting = models.ForeignKey(
        Fitting, null=True, blank=True, on_delete=models.SET_NULL, related_name="rentals"
    )
    start_date = models.DateField("起租日期")
    end_date = models.DateField("到期日期")
    returned_on = models.DateField("归还日期", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=10, choices=RentalStatus.choices, default=RentalStatus.RESERVED
    )
    injured = models.BooleanField(
        "伤病人员", default=False, help_text="持医疗机构证明的伤病人员享受租金优惠。"
    )
    injured_note = models.CharField("伤病证明", max_length=200, blank=True)
    delivery_mode = models.CharField(
        "交付方式", max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.PICKUP
    )
    delivery_address = models.CharField("送货地址", max_length=200, blank=True)
    delivery_from = models.DateTimeField("送货时段起", null=True, blank=True)
    delivery_to = models.DateTimeField("送货时段止", null=True, blank=True)
    handed_over_at = models.DateTimeField("交付时间", null=True, blank=True)
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="培训人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    training_content = models.TextField("使用培训内容", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "租赁"
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"],
                condition=models.Q(status__in=["reserved", "active"]),
                name="rental_one_open_per_unit",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="rental_ends_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["centre", "status", "end_date"], name="rental_centre_status_end"),
            models.Index(fields=["person", "start_date"], name="rental_person_start"),
        ]

    def __str__(self) -> str:
        return self.number or f"租赁 {self.pk}"


class ChargeKind(models.TextChoices):
    RENT = "rent", "租金"
    SUBSIDY = "subsidy", "困难残疾人租赁补贴"
    DISCOUNT = "discount", "租金优惠"
    OVERDUE = "overdue", "逾期费"
    DAMAGE = "damage", "损坏赔偿"
    DEPOSIT = "deposit", "押金"
    DEPOSIT_REFUND = "deposit_refund", "退还押金"


RENT_ACCOUNT = (
    ChargeKind.RENT,
    ChargeKind.SUBSIDY,
    ChargeKind.DISCOUNT,
    ChargeKind.OVERDUE,
    ChargeKind.DAMAGE,
)
DEPOSIT_ACCOUNT = (ChargeKind.DEPOSIT, ChargeKind.DEPOSIT_REFUND)


class Charge(models.Model):
    """One line of a rental's bill: positive what the renter owes, negative what is taken off or paid back."""

    rental = models.ForeignKey(Rental, on_delete=models.PROTECT, related_name="charges")
    kind = models.CharField("项目", max_length=16, choices=ChargeKind.choices)
    amount = models.DecimalField("金额（元）", max_digits=12, decimal_places=2)
    explanation = models.CharField("计算说明", max_length=300)
    booked_on = models.DateField("记账日期", default=timezone.localdate)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "费用明细"
        ordering = ["id"]
        indexes = [models.Index(fields=["kind", "booked_on"], name="charge_kind_booked")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class ReturnCondition(models.TextChoices):
    GOOD = "good", "完好"
    WORN = "worn", "正常磨损"
    DAMAGED = "damaged", "损坏"


class ReturnInspection(models.Model):
    rental = models.OneToOneField(Rental, on_delete=models.PROTECT, related_name="inspection")
    returned_on = models.DateField("归还日期")
    condition = models.CharField("验收情况", max_length=10, choices=ReturnCondition.choices)
    damage_note = models.CharField("损坏情况", max_length=200, blank=True)
    damage_charge = money_field("损坏赔偿（元）", default=ZERO)
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "归还验收"

    def __str__(self) -> str:
        return f"{self.rental} {self.get_condition_display()}"


# The steps of MZ/T 175.2-2021 a disinfection record must tick, in order.
DISINFECTION_STEPS = [
    ("sort", "分类与预处理（去除污物、拆卸可拆部件）"),
    ("clean", "清洗（清水或清洁剂擦拭、刷洗）"),
    ("disinfect", "消毒（按材质选择方法和消毒剂，达到作用时间）"),
    ("rinse_dry", "冲洗或擦拭残留消毒剂并干燥"),
    ("check", "消毒效果和功能检查"),
    ("pack", "包装、标识（消毒日期、操作人）"),
]


class DisinfectionMethod(models.TextChoices):
    WIPE = "wipe", "擦拭"
    SOAK = "soak", "浸泡"
    SPRAY = "spray", "喷雾"
    UV = "uv", "紫外线照射"
    OZONE = "ozone", "臭氧"
    STEAM = "steam", "高温蒸汽"


class Disinfection(models.Model):
    """A cleaning-and-disinfection record. Only a passed record makes a returned unit available."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="disinfections")
    rental = models.ForeignKey(
        Rental, null=True, blank=True, on_delete=models.SET_NULL, related_name="disinfections"
    )
    method = models.CharField("消毒方法", max_length=10, choices=DisinfectionMethod.choices)
    agent = models.CharField("消毒剂及浓度", max_length=100)
    steps = models.JSONField("已完成步骤", default=list)
    started_at = models.DateTimeField("开始时间")
    finished_at = models.DateTimeField("完成时间")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", on_delete=models.PROTECT, related_name="+"
    )
    passed = models.BooleanField("检查合格")
    check_note = models.CharField("检查说明", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "清洗消毒记录"
        ordering = ["-finished_at", "-id"]

    def __str__(self) -> str:
        return f"{self.unit.serial} {self.finished_at:%Y-%m-%d}"
