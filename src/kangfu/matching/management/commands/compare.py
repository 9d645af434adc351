import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from kangfu.core.selectors import districts_in_service
from kangfu.matching.comparison import run_execute, run_start


class Command(BaseCommand):
    help = "数据比对：kangfu compare --month YYYY-MM [--district 区划代码]，不指定区则逐区比对。"

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True)
        parser.add_argument("--district", help="6 或 12 位区划代码")

    def handle(self, *args, **opts):
        try:
            month = dt.date.fromisoformat(opts["month"] + "-01")
        except ValueError as exc:
            raise CommandError("--month 应为 YYYY-MM。") from exc
        districts = districts_in_service()
        if opts["district"]:
            districts = districts.filter(code=opts["district"].ljust(12, "0"))
        if not districts.exists():
            raise CommandError("没有这个区。")
        for district in districts:
            run = run_execute(run_start(actor=None, district=district, period=month))
            self.stdout.write(
                f"{district.label}：" + "，".join(f"{k} {v}" for k, v in run.found.items() if v) or "无疑点"
            )
