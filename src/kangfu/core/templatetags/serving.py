"""What the job pages need to know about the task worker."""

from django import template

from kangfu.core import observability

register = template.Library()

WAITING = "等待后台任务"
WAITING_HINT = "后台任务进程目前没有运行，任务已排队，进程启动后会自动开始。请联系系统管理员启动 kangfu worker（或 kangfu run）。"


@register.inclusion_tag("core/partials/waiting_for_worker.html")
def waiting_for_worker():
    """A notice when work is queued but no worker has been seen for a minute; nothing otherwise.
    Shown by a page only while its job is queued or running."""
    return {"waiting": observability.waiting_for_worker(), "label": WAITING, "hint": WAITING_HINT}
