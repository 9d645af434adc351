from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from kangfu.core import partitions


class Command(BaseCommand):
    help = (
        "PostgreSQL 分区表：为发放明细和审计日志建好本月及以后 --ahead 个月的分区，为比对疑点的每个在用区建分区，"
        "并把落在默认分区里的数据移入新建的分区。可重复运行；须以表的所有者身份运行"
        "（两个数据库角色时，应用角色的后台任务建不了分区）。SQLite 不分区，无需此步。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--ahead", type=int, default=partitions.AHEAD, help=f"提前建好的月数（默认 {partitions.AHEAD}）"
        )

    def handle(self, *args, **opts):
        if opts["ahead"] < 0:
            raise CommandError("--ahead 不能为负数。")
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite 不分区，无需建分区。")
            return
        made = partitions.ensure(ahead=opts["ahead"])
        for m in made:
            moved = f"，从默认分区移入 {m.moved} 行" if m.moved else ""
            self.stdout.write(f"已建分区 {m.partition}（{m.bounds}）{moved}")
        self.stdout.write(self.style.SUCCESS(f"分区已齐备：新建 {len(made)} 个。"))
