"""The exchange day, walkable: 河西区's files of last month for the national 两补 system, one
already sent and acknowledged, one generated and waiting to be marked sent, and the payments file
not yet made.

Sign in as hexi.admin (数据交换) to download the approvals file, mark it sent, and generate the
payments file; as shi.admin to see every district's send log.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from kangfu.core.models import Region, User
from kangfu.core.months import add_months, month_start
from kangfu.exchange import services
from kangfu.exchange.models import Batch

HEXI = "120103000000"


def _make(actor: User, code: str, period) -> Batch | None:
    try:
        batch = services.batch_request(
            actor=actor, code=code, region=Region.objects.get(pk=HEXI), period=period
        )
    except ValidationError:
        return None  # already there: the demo was loaded before
    # Generated here and now rather than by a worker the demo may not run.
    return services.batch_generate(batch.pk)


def load(out) -> None:
    services.install_shipped()
    admin = User.objects.filter(username="hexi.admin", is_active=True).first()
    if admin is None:
        return
    period = add_months(month_start(timezone.localdate()), -1)
    changes = _make(admin, "lb-changes", period)
    if changes is not None and changes.status == "generated":
        changes = services.batch_mark_sent(
            actor=admin, batch=changes, note="已上传全国残疾人两项补贴信息系统"
        )
        services.batch_acknowledge(actor=admin, batch=changes, note="系统回执：导入成功")
    _make(admin, "lb-approvals", period)
    out.write("数据交换：河西区上月变更名单已报送，审批名单待报送，发放明细待生成。\n")
