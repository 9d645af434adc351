from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction

from kangfu.core import access, audit
from kangfu.core.models import AuditAction
from kangfu.subsidies.models import PaymentFormat, Policy, Standard
from kangfu.subsidies.services.standards import standard_save

_STANDARD_FIELDS = ("region", "kind", "grade_min", "grade_max", "amount", "valid_from", "valid_to", "note")


@admin.register(PaymentFormat)
class PaymentFormatAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("region", "living_income_statuses", "care_extra_categories", "pay_from", "steps")
    raw_id_fields = ("region",)

    def save_model(self, request, obj, form, change):
        # After `kangfu setup` the admin is where a policy changes, and no service does it for the
        # admin: the audit row is written here, in the same transaction.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                actor=request.user,
                action=AuditAction.UPDATE if change else AuditAction.CREATE,
                obj=obj,
                summary=f"系统管理：{'修改' if change else '新建'}{obj}",
                changes={
                    f: [str(form.initial.get(f, "")), str(form.cleaned_data.get(f, ""))]
                    for f in form.changed_data
                },
            )


class _DryRun(Exception):
    pass


class StandardAdminForm(forms.ModelForm):
    """Checked by `standard_save` itself, in a savepoint rolled back at once: the admin refuses
    exactly what the standards page and the import refuse, with the same messages."""

    class Meta:
        model = Standard
        fields = _STANDARD_FIELDS

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            with transaction.atomic():
                standard_save(
                    actor=None,
                    standard=Standard.objects.get(pk=self.instance.pk) if self.instance.pk else None,
                    **{f: cleaned.get(f) for f in _STANDARD_FIELDS},
                )
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        return cleaned


@admin.register(Standard)
class StandardAdmin(admin.ModelAdmin):
    """Standards are history: a change is saved through the service (audited, and the grants it
    touches recalculated at the next payroll), and none is deleted; end one with 截止月份."""

    form = StandardAdminForm
    list_display = ("region", "kind", "grade_min", "grade_max", "amount", "valid_from", "valid_to", "note")
    list_filter = ("kind",)
    search_fields = ("region__name", "region__code", "note")
    raw_id_fields = ("region",)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and access.policy(request.user).sets_standards

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and access.policy(request.user).sets_standards

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = standard_save(
            actor=request.user,
            standard=Standard.objects.get(pk=obj.pk) if change else None,
            **{f: form.cleaned_data[f] for f in _STANDARD_FIELDS},
        )
        # The admin goes on with its own instance (change message, redirect).
        obj.pk, obj.created_by_id, obj.created_at = saved.pk, saved.created_by_id, saved.created_at
