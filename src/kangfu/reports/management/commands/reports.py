import json
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kangfu.reports import services


class Command(BaseCommand):
    help = "统计上报：define 由 JSON 或 YAML 文件发布报表定义（新代码为第 1 版，已有代码为新版本）。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        define = sub.add_parser("define", help="发布报表定义文件（一个定义或定义列表）")
        define.add_argument("file", type=Path)
        define.add_argument("--dry-run", action="store_true", help="只检查，不保存")

    def handle(self, *args, action: str, file: Path, dry_run: bool = False, **opts):
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        items = data if isinstance(data, list) else [data]
        for item in items:
            try:
                if dry_run:
                    from kangfu.reports import measures

                    measures.validate_columns(item.get("columns"), item.get("rows", ""))
                    self.stdout.write(f"{item.get('code')}：检查通过。")
                    continue
                definition = services.definition_publish(actor=None, data=item)
            except ValidationError as exc:
                raise CommandError(f"{item.get('code', '')}：{exc.messages[0]}") from None
            self.stdout.write(f"已发布 {definition.name}（{definition.code} 第 {definition.version} 版）。")
