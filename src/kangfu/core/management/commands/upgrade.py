from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from kangfu.core import backup
from kangfu.core.management.commands.backup import default_backup_dir, size_text


class Command(BaseCommand):
    help = (
        "升级数据库：先备份（备份失败则停止，不迁移），再运行 migrate。"
        "PostgreSQL 可用 --grant ROLE 在迁移后重新授予应用角色权限。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="备份写入的目录（默认 var/backups）")
        parser.add_argument(
            "--grant", metavar="ROLE", help="PostgreSQL：迁移后运行 kangfu dbroles grant ROLE"
        )

    def handle(self, *args, **opts):
        self.stdout.write("第 1 步：备份")
        try:
            result = backup.backup_create(output_dir=opts["output"] or default_backup_dir())
        except backup.BackupError as error:
            raise CommandError(f"备份失败，未执行迁移：{error}") from error
        self.stdout.write(self.style.SUCCESS(f"已备份并复核：{result.path}（{size_text(result.size)}）"))
        self.stdout.write("第 2 步：迁移数据库")
        call_command("migrate", interactive=False, stdout=self.stdout, stderr=self.stderr)
        if opts["grant"]:
            call_command("dbroles", "grant", opts["grant"], stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(
            self.style.SUCCESS(
                f"升级完成。如需回到升级前的状态，可用 kangfu restore {result.path} 恢复到空数据库。"
            )
        )
