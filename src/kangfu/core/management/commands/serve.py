from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "在本机启动网站（演示和单机部署用）。正式部署请用 WSGI 服务器运行 kangfu.wsgi:application。"

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, **opts):
        call_command("runserver", opts["addrport"], use_reloader=False, use_threading=True)
