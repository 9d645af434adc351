from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db.models import Count

from kangfu.core import demo
from kangfu.core.models import Region
from kangfu.people.models import Person
from kangfu.people.synth import Focus, synthesise


class Command(BaseCommand):
    help = "准备演示城市（天津）：行政区划、机构、各角色账号和几千名合成人员。可重复运行，不会重复生成。"

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=4000)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **opts):
        if not Region.objects.exists():
            self.stdout.write("导入天津市行政区划 …")
            call_command("regions", "import", stdout=self.stdout)
        if not Person.objects.exists():
            self.stdout.write(f"生成 {opts['people']} 名合成人员 …")
            synthesise(
                people=opts["people"],
                seed=opts["seed"],
                focus=(
                    Focus(demo.DAYINGMEN, 0.12),
                    Focus(demo.HEXI, 0.25),
                    Focus(demo.HUAMING, 0.05),
                    Focus(demo.XIQING, 0.08),
                    Focus(demo.WUQING, 0.08),
                ),
            )
        community = (
            Person.objects.filter(street_id=demo.DAYINGMEN)
            .values("community_id")
            .annotate(n=Count("id"))
            .order_by("-n", "community_id")
            .first()
        )
        community_code = community["community_id"] if community else "120103001001"
        orgs = demo.ensure_organisations(community_code=community_code)
        accounts = demo.ensure_accounts(orgs=orgs, community_code=community_code)
        self.stdout.write("")
        self.stdout.write(f"演示账号（密码均为 {demo.DEMO_PASSWORD}）：")
        for a in accounts:
            self.stdout.write(f"  {a.username:<14} 密码 {demo.DEMO_PASSWORD}  {a.full_name}（{a.note}）")
