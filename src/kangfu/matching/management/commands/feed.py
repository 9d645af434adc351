import datetime as dt
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kangfu.matching.models import FeedSource
from kangfu.matching.services import feed_confirm, feed_preview


class Command(BaseCommand):
    help = "导入比对数据：kangfu feed import 来源名称 文件 --month YYYY-MM [--confirm]。先预览，确认后才参与比对。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="导入一个数据文件（CSV 或 XLSX）")
        imp.add_argument("source", help="数据来源名称")
        imp.add_argument("file", type=Path)
        imp.add_argument("--month", required=True, help="数据所属月份，如 2026-11")
        imp.add_argument("--confirm", action="store_true", help="没有问题行时直接确认")

    def handle(self, *args, **opts):
        source = FeedSource.objects.filter(name=opts["source"]).first()
        if source is None:
            raise CommandError(f"没有数据来源“{opts['source']}”。")
        try:
            month = dt.date.fromisoformat(opts["month"] + "-01")
        except ValueError as exc:
            raise CommandError("--month 应为 YYYY-MM。") from exc
        try:
            feed = feed_preview(
                actor=None,
                source=source,
                raw=opts["file"].read_bytes(),
                file_name=opts["file"].name,
                period=month,
            )
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        self.stdout.write(
            f"第 {feed.pk} 号导入：{feed.total_lines} 行，有效 {feed.valid_lines}，问题 {len(feed.errors)}。"
        )
        for error in feed.errors:
            self.stdout.write(f"  第 {error['line']} 行：{error['message']}")
        if opts["confirm"]:
            if feed.errors:
                raise CommandError("有问题行，未确认；请修正后重新导入，或在页面上确认。")
            feed_confirm(actor=None, feed=feed)
            self.stdout.write("已确认。")
