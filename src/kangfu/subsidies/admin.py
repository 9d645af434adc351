from django.contrib import admin

from kangfu.subsidies.models import PaymentFormat, Policy


@admin.register(PaymentFormat)
class PaymentFormatAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("region", "living_income_statuses", "care_extra_categories", "pay_from", "steps")
    raw_id_fields = ("region",)
