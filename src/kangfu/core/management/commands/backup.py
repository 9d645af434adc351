from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kangfu.core import backup


def default_backup_dir() -> Path:
    """KANGFU_BACKUP_DIR if a deployment sets it, else var/backups beside the demo database."""
    return Path(getattr(settings, "KANGFU_BACKUP_DIR", None) or Path(settings.VAR_DIR) / "backups")


def size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


class Command(BaseCommand):
    help = (
        "备份数据库（SQLite 在线备份；PostgreSQL 用 pg_dump）和上传文件，写成一个带校验和的归档并复核；"
        "不含 SECRET_KEY、数据密钥和设置文件。--verify ARCHIVE 只检查一个已有的归档。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="归档写入的目录（默认 var/backups）")
        parser.add_argument("--verify", type=Path, metavar="ARCHIVE", help="只检查这个归档的校验和")

    def handle(self, *args, **opts):
        try:
            if opts["verify"]:
                manifest = backup.backup_verify(archive=opts["verify"])
                self.stdout.write(
                    self.style.SUCCESS(
                        f"归档完好：{opts['verify']}（{manifest['created_at']}，版本 {manifest['app_version']}，"
                        f"{len(manifest['tables'])} 张表，{manifest['media_files']} 个上传文件）"
                    )
                )
                return
            result = backup.backup_create(output_dir=opts["output"] or default_backup_dir())
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(result.manifest["tables"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"已备份并复核：{result.path}（{size_text(result.size)}；{len(result.manifest['tables'])} 张表 "
                f"{rows} 行，{result.manifest['media_files']} 个上传文件）"
            )
        )
