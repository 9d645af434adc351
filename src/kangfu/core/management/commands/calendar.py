import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from kangfu.core.models import CalendarDay
from kangfu.core.workdays import calendar_sync


class Command(BaseCommand):
    help = (
        "节假日与调休：sync 按已安装的 chinese-calendar 包（国务院每年的放假安排）补齐表中还没有任何一天的年份，"
        "已有的年份（含管理员录入或修改的）保持不变，可重复运行；show 列出某年的节假日与调休。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sync = sub.add_parser("sync", help="补齐新的年份")
        sync.add_argument(
            "--replace",
            type=int,
            nargs="+",
            default=[],
            metavar="YEAR",
            help="删除这些年份现有的全部记录（含管理员的修改），按包中的安排重新导入",
        )
        sync.add_argument("--dry-run", action="store_true", help="只报告，不写入")
        show = sub.add_parser("show", help="列出一年的节假日与调休")
        show.add_argument("year", type=int, nargs="?", default=dt.date.today().year)

    def handle(self, *args, **opts):
        if opts["action"] == "show":
            for row in CalendarDay.objects.filter(day__year=opts["year"]):
                self.stdout.write(f"{row.day} {'上班' if row.is_workday else '放假'} {row.name}")
            return
        try:
            report = calendar_sync(actor=None, replace=opts["replace"], dry_run=opts["dry_run"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        years = report.package_years
        self.stdout.write(f"chinese-calendar 含 {years[0]}–{years[-1]} 年。")
        for year, count in report.added.items():
            again = f"（先删除原有 {report.replaced[year]} 条）" if year in report.replaced else ""
            self.stdout.write(f"{year} 年：{'将导入' if opts['dry_run'] else '导入'} {count} 天{again}")
        if report.kept:
            self.stdout.write(f"已有记录、保持不变的年份 {len(report.kept)} 个，最近 {report.kept[-1]} 年。")
        if not report.added:
            self.stdout.write("没有需要导入的年份。")
