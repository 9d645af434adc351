"""System administration of regions, organisations and accounts. People data is not here: it is
reached only through the scoped pages and API."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction

from kangfu.core import audit
from kangfu.core.models import ApiToken, AuditAction, AuditEntry, CalendarDay, Organisation, Region, User


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "successor")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent", "successor")


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "region", "parent", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    raw_id_fields = ("region", "parent")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "organisation", "jurisdiction", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("username", "full_name")
    raw_id_fields = ("organisation", "jurisdiction")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("岗位与管辖", {"fields": ("full_name", "role", "organisation", "jurisdiction", "phone")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "digest", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False  # tokens are minted by `kangfu token create`, which shows the token once


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_username", "action", "summary", "ip", "channel")
    list_filter = ("action", "channel")
    search_fields = ("actor_username", "summary", "object_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """The State Council's days arrive with migration 0005 and `kangfu calendar sync`; here the
    city administrator adds a notice the package does not know yet, or a local change."""

    list_display = ["day", "name", "is_workday"]
    list_filter = ["is_workday"]
    search_fields = ["name"]
    date_hierarchy = "day"

    def save_model(self, request, obj, form, change):
        # Deadlines move with these rows, and no service edits them for the admin: the audit row
        # is written here, in the same transaction.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                actor=request.user,
                action=AuditAction.UPDATE if change else AuditAction.CREATE,
                obj=obj,
                summary=f"系统管理：{'修改' if change else '新增'}节假日与调休 {obj}",
                changes={
                    f: [str(form.initial.get(f, "")), str(form.cleaned_data.get(f, ""))]
                    for f in form.changed_data
                },
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit.record(
                actor=request.user,
                action=AuditAction.DELETE,
                obj=obj,
                summary=f"系统管理：删除节假日与调休 {obj}",
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                audit.record(
                    actor=request.user,
                    action=AuditAction.DELETE,
                    obj=obj,
                    summary=f"系统管理：删除节假日与调休 {obj}",
                )
            super().delete_queryset(request, queryset)
