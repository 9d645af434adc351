from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kangfu.core.spreadsheets import parse_month
from kangfu.matching.models import FeedSource
from kangfu.matching.services import feed_confirm, feed_preview


class Command(BaseCommand):
    help = (
        "导入比对数据：kangfu feed import 来源名称 文件 --month 2026-11 [--confirm]。先预览并逐行报告问题；"
        "加 --confirm 则与页面上确认一样，导入有效行（问题行不导入），确认后才参与比对。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="导入一个数据文件（CSV 或 XLSX）")
        imp.add_argument("source", help="数据来源名称")
        imp.add_argument("file", type=Path)
        imp.add_argument(
            "--month", required=True, help="数据所属月份，如 2026-11、2026/11、202611、2026年11月"
        )
        imp.add_argument("--confirm", action="store_true", help="预览后直接确认有效行（问题行不导入）")

    def handle(self, *args, **opts):
        source = FeedSource.objects.filter(name=opts["source"]).first()
        if source is None:
            raise CommandError(f"没有数据来源“{opts['source']}”。")
        try:
            month = parse_month(opts["month"])
        except ValueError as exc:
            raise CommandError(f"--month {exc}") from None
        if month is None:
            raise CommandError("请用 --month 指定数据所属月份，如 --month 2026-11。")
        try:
            feed = feed_preview(
                actor=None,
                source=source,
                raw=opts["file"].read_bytes(),
                file_name=opts["file"].name,
                period=month,
            )
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from None
        self.stdout.write(f"第 {feed.pk} 号导入（{month:%Y年%m月}）：{feed.report}。")
        for error in feed.errors:
            self.stdout.write(f"  第 {error['line']} 行：{error['message']}")
        for duplicate in feed.duplicates:
            self.stdout.write(
                f"  第 {duplicate['line']} 行与第 {duplicate['same_as']} 行是同一人（已导入，作为证据）"
            )
        if not opts["confirm"]:
            self.stdout.write("未确认：加 --confirm 重新执行，或在页面上确认。")
            return
        try:
            feed_confirm(actor=None, feed=feed)
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from None
        skipped = f"，{len(feed.errors)} 个问题行未导入" if feed.errors else ""
        self.stdout.write(f"已确认 {feed.valid_lines} 行{skipped}。")
