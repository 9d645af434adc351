from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kangfu.exchange import services


class Command(BaseCommand):
    help = (
        "数据交换：define 发布交换文件格式（TOML 或 JSON；改动即为新版本，已生成的批次保留原版本）；"
        "run-due 生成到期的上月文件（供定时任务每日调用，已生成的不会重复生成）。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        define = sub.add_parser("define", help="发布交换文件格式定义")
        define.add_argument("file", type=Path, nargs="?")
        define.add_argument(
            "--shipped", action="store_true", help="发布随系统提供的格式（已是当前版本的不变）"
        )
        sub.add_parser("run-due", help="生成到期的上月交换文件")

    def handle(self, *args, action: str, **opts):
        if action == "run-due":
            made = services.run_due()
            for batch in made:
                self.stdout.write(
                    f"{batch.layout.name} {batch.region.name} {batch.period:%Y-%m}："
                    f"{batch.get_status_display()}，{batch.row_count} 行。{batch.error}"
                )
            self.stdout.write(f"共生成 {len(made)} 个批次。")
            return
        if opts["shipped"]:
            self.stdout.write(f"已发布 {services.install_shipped()} 个新格式。")
            return
        file: Path | None = opts["file"]
        if file is None:
            raise CommandError("请指定格式定义文件，或使用 --shipped。")
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"无法读取 {file}：{exc}") from None
        try:
            layout, new = services.layout_define(actor=None, text=text, suffix=file.suffix)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from None
        if new:
            self.stdout.write(f"已发布 {layout.name}（{layout.code} 第 {layout.version} 版）。")
        else:
            self.stdout.write(f"{layout.name}（{layout.code} 第 {layout.version} 版）未改变。")
