"""`kangfu events deliver`: one delivery pass now (for a timer, or to see what is waiting)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kangfu.events import selectors
from kangfu.events.delivery import deliver_due
from kangfu.events.services import deliveries_replay


class Command(BaseCommand):
    help = (
        "业务事件推送。deliver：立即推送一轮（后台任务进程每 5 秒自动推送一轮）；"
        "加 --replay-dead 先把已放弃的推送重新排队。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        deliver = sub.add_parser("deliver", help="立即推送一轮")
        deliver.add_argument("--replay-dead", action="store_true", help="先重新推送已放弃的事件")
        deliver.add_argument("--budget", type=float, default=50.0, help="本轮最多用时（秒），默认 50")

    def handle(self, *args, action: str, replay_dead: bool = False, budget: float = 50.0, **opts) -> None:
        if action != "deliver":
            raise CommandError(f"未知的操作：{action}")
        if replay_dead:
            for webhook in selectors.webhooks_with_dead():
                n = deliveries_replay(actor=None, webhook=webhook)
                self.stdout.write(f"{webhook.name}：{n} 条已放弃的事件重新排队")
        report = deliver_due(budget=budget)
        self.stdout.write(
            f"新编号事件 {report.numbered} 条，新建推送 {report.made} 条，"
            f"送达 {report.delivered} 条，失败 {report.failed} 条。"
        )
