"""The catalogue: device classes (GB/T 16432) and a centre's products with their prices and photos."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from kangfu.core import audit
from kangfu.core.models import AuditAction, User
from kangfu.devices.models import PRODUCT_FIELDS, Category, Product, ProductPhoto
from kangfu.devices.services.common import NEGATIVE_MONEY, check_same_centre, require_centre


def category_save(
    *, actor: User, category: Category | None, code: str, name: str, description: str = ""
) -> Category:
    require_centre(actor)
    with transaction.atomic():
        if category is None:
            if Category.objects.filter(code=code).exists():
                raise ValidationError({"code": ["该分类代码已存在。"]})
            category = Category.objects.create(code=code, name=name, description=description)
            action = AuditAction.CREATE
        else:
            Category.objects.filter(pk=category.pk).update(name=name, description=description)
            action = AuditAction.UPDATE
        audit.record(actor=actor, action=action, obj=category, summary=f"辅具分类 {code} {name}")
    return category


def product_save(*, actor: User, product: Product | None, values: dict) -> Product:
    """Create or change a product of the actor's centre. Prices are never negative."""
    centre = require_centre(actor)
    for field in ("rent_per_day", "rent_per_month", "deposit", "replacement_value"):
        if values.get(field) is not None and values[field] < 0:
            raise ValidationError({field: [NEGATIVE_MONEY]})
    with transaction.atomic():
        if product is None:
            product = Product.objects.create(centre=centre, **values)
            audit.record(
                actor=actor, action=AuditAction.CREATE, obj=product, summary=f"新增辅具产品 {product}"
            )
        else:
            check_same_centre(actor, product.centre_id)
            before = {f: getattr(product, f) for f in PRODUCT_FIELDS}
            for field, value in values.items():
                setattr(product, field, value)
            product.save()
            audit.record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=product,
                summary=f"修改辅具产品 {product}",
                changes=audit.diff(before, {f: getattr(product, f) for f in PRODUCT_FIELDS}),
            )
    return product


def product_photo_add(*, actor: User, product: Product, image, caption: str = "") -> ProductPhoto:
    check_same_centre(actor, product.centre_id)
    with transaction.atomic():
        photo = ProductPhoto.objects.create(product=product, image=image, caption=caption)
        audit.record(actor=actor, action=AuditAction.CREATE, obj=photo, summary=f"上传 {product} 的照片")
    return photo
