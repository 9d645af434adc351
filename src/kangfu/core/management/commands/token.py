from django.core.management.base import BaseCommand, CommandError

from kangfu.core.models import User
from kangfu.core.services import api_token_create


class Command(BaseCommand):
    help = "API 令牌：kangfu token create USERNAME 生成一个令牌并只显示这一次。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="为用户创建令牌")
        create.add_argument("username")
        create.add_argument("--name", default="命令行创建", help="令牌用途说明")
        create.add_argument("--days", type=int, default=365, help="有效天数，0 表示不过期")

    def handle(self, *args, **opts):
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"没有用户 {opts['username']}。")
        token = api_token_create(actor=None, user=user, name=opts["name"], days=opts["days"] or None)
        self.stdout.write(token)
