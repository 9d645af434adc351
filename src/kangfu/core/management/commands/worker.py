"""`kangfu worker`: django-tasks-db's worker, with a heartbeat the readiness probe and the job pages read."""

from __future__ import annotations

from django_tasks.signals import task_finished
from django_tasks_db.management.commands import db_worker

from kangfu.core import taskfaults
from kangfu.core.serving import Heartbeat, Periodic


class Command(db_worker.Command):
    help = (
        "启动后台任务进程：处理排队的工资计算、数据比对和导入。每 15 秒记录一次心跳；"
        "一分钟内没有心跳时，/readyz 报告未就绪，相关页面显示“等待后台任务”。"
        "启动时和此后每分钟检查已退出的进程留下的“运行中”任务：可重做的重新排队，其余标记为失败。"
    )

    def handle(self, *args, worker_id: str, **options) -> None:
        heartbeat = Heartbeat(worker_id=worker_id)
        heartbeat.start()
        # Tasks a killed worker left running are requeued or failed before this one takes new work.
        taskfaults.sweep()
        lost_tasks = taskfaults.LostTaskWatch()
        lost_tasks.start()
        task_finished.connect(taskfaults.retry_after_failure, dispatch_uid="kangfu-retry-transient")
        periodic = Periodic()
        periodic.start()
        try:
            super().handle(*args, worker_id=worker_id, **options)
        finally:
            lost_tasks.stop()
            periodic.stop()
            heartbeat.stop()
