"""The demo rental centre (武清区): 39 categories, 170 products, units at three outlets, and a year of
rentals, returns and disinfection made through the services, so every bill and history is real."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kangfu.core.demo import WUQING
from kangfu.core.models import OrganisationKind, User
from kangfu.core.months import add_months_to_day
from kangfu.devices.models import (
    DISINFECTION_STEPS,
    Category,
    Product,
    Rental,
    ReturnCondition,
    Unit,
    UnitStatus,
)
from kangfu.devices.services import disinfection, fittings, pricing, rentals
from kangfu.people.models import Person

# (code, category, [(product, model, monthly rent, deposit, replacement value)]); the seed article's
# products are among them. Codes follow GB/T 16432 (main class, sub-class, division).
CATALOGUE = [
    (
        "040306",
        "制氧机",
        [
            ("家用制氧机", "3L", 180, 800, 2600),
            ("家用制氧机", "5L", 240, 1000, 3800),
            ("便携式制氧机", "P2", 300, 1500, 5200),
            ("医用分子筛制氧机", "8F-5", 260, 1000, 4200),
        ],
    ),
    (
        "040309",
        "雾化器",
        [
            ("压缩式雾化器", "NE-C28", 45, 200, 480),
            ("网式雾化器", "U22", 60, 300, 780),
            ("超声雾化器", "402AI", 50, 200, 520),
        ],
    ),
    (
        "043303",
        "防压疮坐垫",
        [
            ("充气防压疮坐垫", "ROHO-Q", 40, 200, 900),
            ("凝胶防压疮坐垫", "GL-2", 30, 100, 420),
            ("记忆棉减压坐垫", "M3", 20, 100, 260),
        ],
    ),
    (
        "043306",
        "防压疮床垫",
        [
            ("交替充气防压疮床垫", "AP-100", 90, 300, 1200),
            ("管状防压疮气床垫", "TB-8", 120, 400, 1800),
            ("静态凝胶床垫", "SG-1", 80, 300, 1500),
        ],
    ),
    (
        "044803",
        "上下肢主动训练仪",
        [
            ("上下肢主动训练仪", "MOTOmed-V", 380, 2000, 16000),
            ("上下肢主被动训练仪", "LX-2", 300, 1500, 9800),
            ("床边脚踏训练器", "BK-1", 90, 300, 1200),
            ("上肢康复训练器", "UR-3", 160, 600, 3600),
        ],
    ),
    (
        "044806",
        "站立架",
        [
            ("儿童站立架", "CZ-1", 150, 600, 2800),
            ("成人电动站立架", "ZL-2", 260, 1200, 6800),
            ("可调式站立训练架", "ST-3", 180, 800, 3600),
        ],
    ),
    (
        "044821",
        "平衡训练器",
        [
            ("平衡训练板", "BB-1", 30, 100, 300),
            ("平衡训练垫", "BP-2", 20, 100, 180),
            ("重心平衡训练仪", "GC-5", 220, 1000, 7800),
        ],
    ),
    (
        "091203",
        "坐便椅",
        [
            ("折叠坐便椅", "ZB-1", 30, 100, 260),
            ("带轮坐便椅", "ZB-W", 45, 200, 480),
            ("加宽坐便椅", "ZB-XL", 50, 200, 560),
            ("可调节坐便椅", "ZB-A", 40, 150, 380),
        ],
    ),
    (
        "091212",
        "坐便辅助升降椅",
        [
            ("智能坐便辅助升降椅", "SJ-1", 260, 1200, 6800),
            ("电动马桶助起器", "MT-2", 200, 1000, 4800),
            ("坐便器增高垫", "ZG-10", 15, 50, 120),
        ],
    ),
    (
        "093303",
        "洗浴椅",
        [
            ("折叠洗浴椅", "XY-1", 25, 100, 220),
            ("带靠背洗浴椅", "XY-2", 30, 100, 280),
            ("旋转洗浴凳", "XY-R", 40, 150, 460),
            ("浴缸转移板", "ZY-1", 30, 100, 320),
        ],
    ),
    (
        "093312",
        "洗澡床",
        [
            ("卧式洗澡床", "XZC-1", 200, 800, 4500),
            ("充气洗浴床", "CQ-2", 120, 400, 1500),
            ("移动洗澡推床", "TC-3", 260, 1000, 6200),
        ],
    ),
    (
        "120306",
        "手杖",
        [
            ("四脚手杖", "SJ-4", 10, 50, 120),
            ("折叠手杖", "ZD-1", 8, 30, 80),
            ("带灯手杖", "LD-2", 12, 50, 160),
            ("带座手杖", "ZY-3", 15, 50, 200),
        ],
    ),
    (
        "120312",
        "腋拐",
        [
            ("铝合金腋拐", "YG-1", 12, 50, 150),
            ("可调腋拐", "YG-2", 15, 50, 180),
            ("肘拐", "ZG-1", 12, 50, 160),
        ],
    ),
    (
        "120603",
        "助行架",
        [
            ("折叠助行架", "ZX-1", 20, 100, 260),
            ("带座助行架", "ZX-S", 30, 100, 380),
            ("前臂支撑助行架", "ZX-F", 60, 200, 900),
            ("阶梯助行架", "ZX-T", 35, 150, 460),
        ],
    ),
    (
        "120606",
        "轮式助行器",
        [
            ("四轮助行车", "LZ-4", 45, 200, 680),
            ("购物助行车", "GW-2", 35, 150, 420),
            ("儿童后置助行器", "HZ-1", 60, 200, 980),
            ("康复步行训练车", "BX-3", 80, 300, 1600),
        ],
    ),
    (
        "121803",
        "轮椅自行车",
        [
            ("可折叠六轮自行车", "LL-6", 120, 500, 3200),
            ("成人三轮车", "SL-3", 90, 400, 1800),
            ("手摇三轮车", "SY-1", 100, 400, 2200),
        ],
    ),
    (
        "122203",
        "手动轮椅",
        [
            ("普通手动轮椅", "H005", 60, 300, 900),
            ("轻便折叠轮椅", "H030", 80, 300, 1500),
            ("铝合金轮椅", "H050", 90, 400, 1900),
            ("儿童轮椅", "E01", 80, 300, 1600),
            ("加宽轮椅", "H070", 100, 400, 2200),
        ],
    ),
    (
        "122218",
        "护理型轮椅",
        [
            ("倾斜躺椅一体式轮椅", "TY-1", 160, 600, 3800),
            ("高靠背护理轮椅", "HK-2", 120, 500, 2600),
            ("坐便护理轮椅", "ZB-3", 110, 400, 2200),
            ("空中倾斜轮椅", "KQ-5", 200, 800, 5600),
        ],
    ),
    (
        "122303",
        "电动代步车",
        [
            ("四轮电动代步车", "DB-4", 300, 1500, 7800),
            ("折叠电动代步车", "DB-Z", 260, 1200, 6200),
            ("三轮电动代步车", "DB-3", 260, 1200, 5800),
        ],
    ),
    (
        "122306",
        "电动轮椅",
        [
            ("普通电动轮椅", "D130", 260, 1200, 5800),
            ("折叠电动轮椅", "D200", 300, 1500, 7200),
            ("智能电动轮椅", "D600", 380, 2000, 12800),
            ("站立电动轮椅", "DZ-1", 600, 3000, 28000),
        ],
    ),
    (
        "121703",
        "爬楼机",
        [
            ("履带式爬楼机", "PL-1", 400, 2000, 16800),
            ("轮式爬楼机", "PL-2", 350, 2000, 12800),
            ("座椅式爬楼机", "PL-3", 450, 2500, 19800),
        ],
    ),
    (
        "123103",
        "移位板",
        [
            ("滑动移位板", "YW-1", 20, 100, 260),
            ("转移盘", "ZY-2", 25, 100, 320),
            ("移位滑布", "HB-3", 15, 50, 180),
        ],
    ),
    (
        "123612",
        "移位机",
        [
            ("多功能移位机", "YW-M1", 300, 1500, 9800),
            ("电动移位机", "YW-D2", 280, 1500, 8600),
            ("站立式移位机", "YW-Z3", 260, 1200, 7800),
            ("吊带（配移位机）", "DD-1", 20, 100, 280),
        ],
    ),
    (
        "123615",
        "起身辅助器",
        [
            ("床边起身扶手", "QS-1", 30, 100, 360),
            ("电动起身椅", "QS-D", 220, 1000, 5200),
            ("起身助力带", "QS-3", 10, 50, 90),
        ],
    ),
    (
        "181203",
        "手动护理床",
        [
            ("ABS多功能翻身床", "FS-1", 220, 1000, 4800),
            ("手摇双摇护理床", "SY-2", 150, 600, 2600),
            ("手摇三摇护理床", "SY-3", 180, 800, 3200),
            ("儿童护理床", "ET-1", 160, 600, 2800),
        ],
    ),
    (
        "181210",
        "电动护理床",
        [
            ("五功能电动护理床", "DH-5", 300, 1500, 8800),
            ("电动翻身护理床", "DF-2", 360, 1800, 11800),
            ("低位电动护理床", "DW-3", 320, 1500, 9600),
        ],
    ),
    (
        "181212",
        "床边护栏",
        [
            ("床边护栏", "HL-1", 20, 100, 260),
            ("可折叠护栏", "HL-2", 25, 100, 320),
            ("床用起身扶手", "HL-3", 25, 100, 300),
        ],
    ),
    (
        "180906",
        "功能座椅",
        [
            ("老年功能座椅", "ZY-1", 90, 400, 1800),
            ("儿童矫姿椅", "JZ-2", 150, 600, 3200),
            ("高背扶手椅", "FS-3", 80, 300, 1500),
        ],
    ),
    (
        "181806",
        "扶手和支撑",
        [
            ("卫生间安全扶手", "WS-1", 10, 50, 120),
            ("吸盘扶手", "XP-2", 8, 30, 80),
            ("落地式扶手架", "LD-3", 40, 150, 560),
        ],
    ),
    (
        "183015",
        "楼梯升降椅",
        [
            ("直轨楼梯升降椅", "LT-1", 500, 3000, 26000),
            ("弧轨楼梯升降椅", "LT-2", 700, 4000, 46000),
            ("便携式爬楼椅", "LT-3", 300, 1500, 9800),
        ],
    ),
    (
        "182403",
        "坡道",
        [
            ("便携式折叠坡道", "PD-1", 40, 200, 680),
            ("门槛斜坡垫", "PD-2", 20, 100, 260),
            ("伸缩坡道", "PD-3", 60, 300, 1200),
        ],
    ),
    (
        "222718",
        "紧急呼叫器",
        [
            ("一键呼叫器", "HJ-1", 15, 50, 180),
            ("防跌倒报警器", "FD-2", 30, 100, 460),
            ("智能定位手环", "DW-3", 25, 100, 380),
        ],
    ),
    (
        "220309",
        "助视器",
        [
            ("手持放大镜", "FD-1", 10, 50, 120),
            ("电子助视器", "DZ-2", 120, 500, 2600),
            ("台式放大镜", "TS-3", 20, 100, 260),
        ],
    ),
    (
        "220603",
        "助听辅助器具",
        [
            ("耳背式助听器", "ZT-1", 150, 800, 3800),
            ("盒式助听器", "ZT-2", 60, 300, 980),
            ("个人声音放大器", "SY-3", 30, 100, 360),
        ],
    ),
    (
        "242103",
        "取物器",
        [
            ("长柄取物夹", "QW-1", 5, 20, 60),
            ("折叠取物器", "QW-2", 6, 20, 80),
            ("磁性取物器", "QW-3", 6, 20, 70),
        ],
    ),
    (
        "150903",
        "助食器具",
        [
            ("防抖勺", "FD-1", 30, 100, 680),
            ("助食餐具套装", "ZS-2", 10, 50, 120),
            ("电动喂食器", "WS-3", 200, 1000, 6800),
        ],
    ),
    (
        "043903",
        "血压和血糖监测",
        [
            ("电子血压计", "BP-1", 15, 50, 260),
            ("血糖仪", "BG-2", 15, 50, 220),
            ("指夹血氧仪", "SP-3", 10, 50, 160),
        ],
    ),
    (
        "043312",
        "体位垫",
        [
            ("翻身体位垫", "TW-1", 20, 100, 260),
            ("楔形体位垫", "TW-2", 15, 50, 180),
            ("足跟减压垫", "TW-3", 10, 50, 120),
            ("肢体抬高垫", "TW-4", 12, 50, 150),
        ],
    ),
    (
        "270303",
        "环境控制设备",
        [
            ("语音控制开关", "HK-1", 20, 100, 360),
            ("智能床头控制器", "HK-2", 40, 150, 680),
            ("遥控门铃闪光器", "HK-3", 10, 50, 150),
        ],
    ),
]

DEMO_SEED = 71


def _money(value: int) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def build_catalogue(*, centre, outlets, rng: random.Random) -> list[Product]:
    products: list[Product] = []
    for code, name, items in CATALOGUE:
        category, _ = Category.objects.get_or_create(code=code, defaults={"name": name})
        # Each class also has an upgraded model of its first product: 131 + 39 = 170 products.
        first_name, first_model, first_monthly, first_deposit, first_value = items[0]
        upgraded = (
            first_name,
            f"{first_model}-II",
            round(first_monthly * 1.2),
            first_deposit,
            round(first_value * 1.3),
        )
        for product_name, model, monthly, deposit, value in [*items, upgraded]:
            product, _ = Product.objects.get_or_create(
                centre=centre,
                name=product_name,
                model=model,
                defaults={
                    "category": category,
                    "maker": rng.choice(
                        ["鱼跃医疗", "互邦", "佛山东方", "上海康复器械", "天津康养科技", "北京精博"]
                    ),
                    "specification": f"{product_name}，型号 {model}，按厂家说明书使用。",
                    "suitable_for": "经适配评估适用的行动不便、术后康复、失能半失能人员。",
                    "rent_per_month": _money(monthly),
                    "rent_per_day": _money(max(1, round(monthly / 20))),
                    "deposit": _money(deposit),
                    "replacement_value": _money(value),
                    "needs_fitting": monthly >= 40,
                },
            )
            products.append(product)
    serial = 1
    stock: list[Unit] = []
    acquired = timezone.localdate() - dt.timedelta(days=400)
    for product in products:
        for i in range(rng.choice([2, 3, 3, 4])):
            outlet = outlets[i % len(outlets)]
            stock.append(
                Unit(
                    product=product,
                    outlet=outlet,
                    serial=f"WQ{product.category.code}{serial:05d}",
                    acquired_on=acquired,
                )
            )
            serial += 1
    Unit.objects.bulk_create(stock)
    return products


def load(out) -> None:
    from kangfu.core.models import Organisation

    centre = Organisation.objects.filter(
        kind=OrganisationKind.DEVICE_CENTRE, region__code__startswith=WUQING[:6]
    ).first()
    clerk = User.objects.filter(username="wuqing.fuju").first()
    if centre is None or clerk is None or Product.objects.filter(centre=centre).exists():
        return
    out.write("建立武清区辅具租赁中心的产品目录和一年的租赁记录 …")
    rng = random.Random(DEMO_SEED)
    outlets = list(Organisation.objects.filter(pk=centre.pk) | Organisation.objects.filter(parent=centre))
    with transaction.atomic():
        pricing.policy_of(centre)
        products = build_catalogue(centre=centre, outlets=outlets, rng=rng)
    people = list(Person.objects.filter(district_id=WUQING, vital_status="normal").order_by("pk"))
    if people:
        simulate_year(clerk=clerk, products=products, people=people, rng=rng)


def simulate_year(*, clerk: User, products: list[Product], people: list[Person], rng: random.Random) -> None:
    """Rent, hand over, return and disinfect day by day through the last year."""
    today = timezone.localdate()
    popular = [p for p in products if p.category.code[:2] in ("12", "18", "09", "04")]
    open_rentals: list[Rental] = []
    due: dict[int, dt.date] = {}  # the day each open rental will come back (early, on time or late)
    for offset in range(365, 0, -1):
        day = today - dt.timedelta(days=offset)
        for rental in [r for r in open_rentals if due[r.pk] <= day]:
            returned = due.pop(rental.pk)
            damaged = rng.random() < 0.04
            rentals.rental_return(
                actor=clerk,
                rental=rental,
                returned_on=returned,
                condition=ReturnCondition.DAMAGED if damaged else ReturnCondition.GOOD,
                damage_note="扶手松动" if damaged else "",
                damage_charge=Decimal("50.00") if damaged else Decimal("0.00"),
            )
            unit = Unit.objects.get(pk=rental.unit_id)
            finished = timezone.make_aware(dt.datetime.combine(returned, dt.time(16, 0)))
            disinfection.disinfection_record(
                actor=clerk,
                unit=unit,
                method=rng.choice(["wipe", "spray", "uv"]),
                agent="含氯消毒剂 500 mg/L，作用 30 分钟",
                steps=[key for key, _label in DISINFECTION_STEPS],
                started_at=finished - dt.timedelta(hours=2),
                finished_at=finished,
                passed=True,
            )
            open_rentals.remove(rental)
        for _ in range(rng.choice([1, 2, 2, 3])):
            product = rng.choice(popular)
            units = list(Unit.objects.filter(product=product, status=UnitStatus.AVAILABLE).order_by("pk"))
            if not units:
                continue
            unit = rng.choice(units)
            person = rng.choice(people)
            needed, fitting = fittings.fitting_needed(person=person, product=product)
            if needed or (fitting is not None and not fitting.suitable):
                fittings.fitting_record(
                    actor=clerk,
                    person=person,
                    category=product.category,
                    values={
                        "assessed_on": day,
                        "needs": "行动不便，居家照护需要。",
                        "recommendation": f"建议租用{product.name}。",
                        "suitable": True,
                    },
                )
            months = rng.choice([1, 1, 2, 3, 6])
            end = add_months_to_day(day, months) - dt.timedelta(days=1)
            try:
                rental = rentals.rental_create(
                    actor=clerk,
                    person=person,
                    today=day,
                    data=rentals.RentalData(
                        unit_id=unit.pk,
                        start_date=day,
                        end_date=end,
                        injured=rng.random() < 0.08,
                        delivery_mode="home" if rng.random() < 0.4 else "pickup",
                        delivery_address=person.address or "家中",
                    ),
                )
            except ValidationError:  # a rule refused this rental; a clerk would move on too
                continue
            rentals.rental_handover(
                actor=clerk,
                rental=rental,
                training_content="讲解操作方法、安全注意事项和日常清洁。",
                handed_over_at=timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0))),
            )
            rental = Rental.objects.get(pk=rental.pk)
            roll = rng.random()
            if roll < 0.05:
                due[rental.pk] = day + dt.timedelta(days=rng.randint(3, max(3, (end - day).days)))  # early
            elif roll < 0.15:
                due[rental.pk] = end + dt.timedelta(days=rng.randint(2, 20))  # late
            else:
                due[rental.pk] = end
            open_rentals.append(rental)
