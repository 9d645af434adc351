import importlib

from django.apps import apps
from django.core.management.base import BaseCommand

from kangfu.core import demo
from kangfu.core.dbstats import refresh_statistics


class Command(BaseCommand):
    help = "准备演示城市（天津）：行政区划、机构、各角色账号、合成人员和各项业务的演示数据。可重复运行。"

    def handle(self, *args, **opts):
        # Each app may ship a `demo` module with a `load(out)`; they run in INSTALLED_APPS order, so
        # every app finds what the apps below it loaded, and none imports the ones above it.
        for config in apps.get_app_configs():
            if not config.name.startswith("kangfu."):
                continue
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError:
                continue
            if hasattr(module, "load"):
                module.load(self.stdout)
        # The city is served as soon as it is loaded: on PostgreSQL its tables are planned from
        # statistics at once, not after autovacuum's next round (nor never, where it is off).
        refresh_statistics()
        self.stdout.write("")
        self.stdout.write(f"演示账号（密码均为 {demo.DEMO_PASSWORD}）：")
        for a in demo.demo_accounts(demo.JIUJIANGLU):
            self.stdout.write(f"  {a.username:<14} 密码 {demo.DEMO_PASSWORD}  {a.full_name}（{a.note}）")
