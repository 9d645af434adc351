"""`kangfu worker`: django-tasks-db's worker, with a heartbeat the readiness probe and the job pages read."""

from __future__ import annotations

from django_tasks_db.management.commands import db_worker

from kangfu.core.serving import Heartbeat


class Command(db_worker.Command):
    help = (
        "启动后台任务进程：处理排队的工资计算、数据比对和导入。每 15 秒记录一次心跳；"
        "一分钟内没有心跳时，/readyz 报告未就绪，相关页面显示“等待后台任务”。"
    )

    def handle(self, *args, worker_id: str, **options) -> None:
        heartbeat = Heartbeat(worker_id=worker_id)
        heartbeat.start()
        try:
            super().handle(*args, worker_id=worker_id, **options)
        finally:
            heartbeat.stop()
