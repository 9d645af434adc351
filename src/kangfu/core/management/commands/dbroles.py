from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from kangfu.core import dbroles


class Command(BaseCommand):
    help = (
        "PostgreSQL 两个数据库角色：以表的所有者身份（DATABASE_URL 为所有者）在每次 migrate 之后运行 "
        "grant ROLE，授予应用运行所用的角色（不拥有任何表）所需的权限；show ROLE 只打印语句。"
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["grant", "show"])
        parser.add_argument("role", help="应用运行所用的数据库角色名")

    def handle(self, *args, **opts):
        if opts["action"] == "show":
            for statement in dbroles.grants(opts["role"]):
                self.stdout.write(statement + ";")
            return
        if connection.vendor != "postgresql":
            raise CommandError("两个数据库角色只用于 PostgreSQL；SQLite 演示库无需此步。")
        for statement in dbroles.apply_grants(opts["role"]):
            self.stdout.write(statement)
        self.stdout.write(
            self.style.SUCCESS(f"已授予 {opts['role']}：应用所需的读写权限；审计表只可读和追加。")
        )
