from django.core.management.base import BaseCommand, CommandError

from kangfu.core.selectors import districts_in_service
from kangfu.core.spreadsheets import parse_month
from kangfu.matching.comparison import run_execute, run_start


class Command(BaseCommand):
    help = "数据比对：kangfu compare --month 2026-11 [--district 区划代码]，不指定区则逐区比对。"

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="比对月份，如 2026-11、202611、2026年11月")
        parser.add_argument("--district", help="6 或 12 位区划代码")

    def handle(self, *args, **opts):
        # Read as `kangfu feed import --month` reads it, so one month is written one way for both.
        try:
            month = parse_month(opts["month"])
        except ValueError as exc:
            raise CommandError(f"--month {exc}") from None
        if month is None:
            raise CommandError("请用 --month 指定比对月份，如 --month 2026-11。")
        districts = districts_in_service()
        if opts["district"]:
            districts = districts.filter(code=opts["district"].ljust(12, "0"))
        if not districts.exists():
            raise CommandError("没有这个区。")
        for district in districts:
            run = run_execute(run_start(actor=None, district=district, period=month))
            found = "，".join(f"{k} {v}" for k, v in run.found.items() if v)
            self.stdout.write(f"{district.label}：{found or '无疑点'}")
