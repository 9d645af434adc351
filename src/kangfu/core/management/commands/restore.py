from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kangfu.core import backup


class Command(BaseCommand):
    help = (
        "把 kangfu backup 的归档恢复到一个空数据库（目标已有数据则拒绝），并恢复上传文件；"
        "先核对全部校验和，归档来自更新版本的程序时拒绝。PostgreSQL 恢复后需运行 kangfu dbroles grant ROLE，"
        "或用 --grant ROLE 一并授予。"
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="kangfu backup 写出的 .tar 归档")
        parser.add_argument("--grant", metavar="ROLE", help="PostgreSQL：恢复后授予应用运行所用的角色权限")

    def handle(self, *args, **opts):
        try:
            result = backup.restore(archive=opts["archive"], grant_role=opts["grant"])
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        manifest = result.manifest
        self.stdout.write(
            self.style.SUCCESS(
                f"已恢复 {opts['archive']}（{manifest['created_at']} 的备份，版本 {manifest['app_version']}）："
                f"{result.tables} 张表 {result.rows} 行，行数与清单一致；{result.media_files} 个上传文件。"
            )
        )
        for note in result.notes:
            self.stdout.write(note)
