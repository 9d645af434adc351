from django import forms

from kangfu.core.forms import MonthField, localise


@localise
class BatchForm(forms.Form):
    layout = forms.ChoiceField(label="文件格式")
    region = forms.ChoiceField(label="区划")
    period = MonthField(label="月份")
    regenerate = forms.BooleanField(
        label="重新生成", required=False, help_text="本月已生成过时勾选；原批次保留备查，标为已取代。"
    )

    def __init__(self, *args, layouts=(), regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layout"].choices = [(x.code, f"{x.name}（{x.system}）") for x in layouts]
        self.fields["region"].choices = [(r.code, r.name) for r in regions]


@localise
class NoteForm(forms.Form):
    note = forms.CharField(label="说明", max_length=300, required=False)
