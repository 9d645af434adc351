import django_tables2 as tables

from kangfu.core.models import AuditEntry


class AuditTable(tables.Table):
    at = tables.DateTimeColumn(verbose_name="时间", format="Y-m-d H:i:s")
    actor_username = tables.Column(verbose_name="操作账号")
    action = tables.Column(verbose_name="操作", accessor="get_action_display")
    summary = tables.Column(verbose_name="摘要")
    object_type = tables.Column(verbose_name="对象")
    object_id = tables.Column(verbose_name="编号")
    person_id = tables.Column(verbose_name="人员编号")
    ip = tables.Column(verbose_name="来源地址")
    channel = tables.Column(verbose_name="渠道")
    changes = tables.JSONColumn(verbose_name="变更内容", empty_values=({}, None, ""))

    class Meta:
        model = AuditEntry
        fields = ()
        sequence = (
            "at",
            "actor_username",
            "action",
            "summary",
            "object_type",
            "object_id",
            "person_id",
            "ip",
            "channel",
            "changes",
        )
        orderable = False
        attrs = {"class": "table table-compact"}
        empty_text = "没有符合条件的记录。"
