from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from kangfu.reports import measures, services
from kangfu.reports.models import ReportDefinition

_FIELDS = ("code", "name", "period", "rows", "columns", "due_day", "city_due_day", "note", "is_active")


class DefinitionForm(forms.ModelForm):
    class Meta:
        model = ReportDefinition
        fields = _FIELDS

    def clean(self):
        data = super().clean()
        if data.get("rows") and data.get("columns") is not None:
            try:
                data["columns"] = measures.validate_columns(data["columns"], data["rows"])
            except ValidationError as exc:
                self.add_error("columns", exc)
        return data


@admin.register(ReportDefinition)
class ReportDefinitionAdmin(admin.ModelAdmin):
    """Definitions are versioned: saving one (new or changed) publishes a new version through the
    service; the version edited stays as it was for the reports made under it."""

    form = DefinitionForm
    list_display = ("code", "version", "name", "period", "rows", "is_active", "created_at")
    list_filter = ("period", "is_active")
    readonly_fields = ("version",)

    def save_model(self, request, obj, form, change):
        published = services.definition_publish(
            actor=request.user, data={f: form.cleaned_data.get(f) for f in _FIELDS}
        )
        obj.pk, obj.version = published.pk, published.version
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        # A definition reports were made under is history; it is retired (is_active) rather than deleted.
        return obj is None or not obj.reports.exists()
