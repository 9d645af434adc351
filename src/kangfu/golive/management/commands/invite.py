from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from kangfu.core.models import User
from kangfu.golive.services.accounts import accounts_without_password, first_login_link, link_days

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = (
        "首次登录链接：为指定账号（或 --all-new 为所有尚未设置密码的在用账号）生成一次性链接，"
        "本人打开后自行设置密码。链接只显示这一次，请逐人单独发送。"
    )

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", metavar="USERNAME", help="用户名，可多个")
        parser.add_argument("--all-new", action="store_true", help="所有尚未设置密码的在用账号")
        parser.add_argument(
            "--base-url", default=DEFAULT_BASE_URL, help=f"用户访问本系统的网址（默认 {DEFAULT_BASE_URL}）"
        )

    def handle(self, *args, **opts):
        usernames: list[str] = opts["usernames"]
        if not usernames and not opts["all_new"]:
            raise CommandError("请写出用户名，或加 --all-new。")
        found = {u.username: u for u in User.objects.filter(username__in=usernames)}
        missing = [name for name in usernames if name not in found]
        if missing:
            raise CommandError(f"没有这些用户：{'、'.join(missing)}。")
        users = [found[name] for name in dict.fromkeys(usernames)]
        inactive = [u.username for u in users if not u.is_active]
        if inactive:
            raise CommandError(f"这些账号已停用，不能生成登录链接：{'、'.join(inactive)}。")
        if opts["all_new"]:
            users += [u for u in accounts_without_password() if u.username not in found]
        if not users:
            self.stdout.write("没有尚未设置密码的在用账号。")
            return
        for user in users:
            try:
                link = first_login_link(actor=None, user=user, base_url=opts["base_url"])
            except (ValidationError, PermissionDenied) as exc:
                raise CommandError("；".join(getattr(exc, "messages", [str(exc)]))) from None
            self.stdout.write(f"{user.username}\t{user.full_name}\t{link}")
        self.stdout.write(f"共 {len(users)} 个链接，各自只能使用一次，{link_days()} 天内有效。")
