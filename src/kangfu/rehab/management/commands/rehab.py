from django.core.management.base import BaseCommand

from kangfu.rehab import scales
from kangfu.rehab.services import counters


class Command(BaseCommand):
    help = "精康：recount 重建统计计数；scales 载入量表文件。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        recount = sub.add_parser("recount", help="由业务记录重建按月统计计数（批量导入后或修复用）")
        recount.add_argument("--district", help="只重建该区（12 位代码）")
        sub.add_parser("scales", help="载入 src/kangfu/rehab/scales/ 中的量表文件")

    def handle(self, *args, action: str, district: str | None = None, **opts):
        if action == "recount":
            n = counters.recount(district_id=district)
            self.stdout.write(f"已重建 {n} 条统计计数。")
        else:
            n = scales.load()
            self.stdout.write(f"新载入 {n} 个量表版本。")
