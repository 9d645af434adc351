from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from kangfu.golive.services.accounts import link_days
from kangfu.golive.services.setup import DEFAULT_BASE_URL, city_setup


class Command(BaseCommand):
    help = (
        "新城市首次上线（不用 kangfu demo 时）：建立市、区民政局（可选各街道办事处）、本市两项补贴政策、"
        "补贴标准和第一个市级管理员，并显示管理员的首次登录链接。须先导入该市的行政区划。"
        "可重复运行：已有的不再改动；只有给出的政策选项会更新已有政策。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--city", required=True, help="市的区划代码（如 120100、1201）或名称（如 天津市）"
        )
        parser.add_argument(
            "--living", help="生活补贴认可的收入状况：dibao 或 dibao,dibao_edge（新建政策时默认两者）"
        )
        parser.add_argument(
            "--care-extra", help="护理补贴扩展到三、四级的残疾类别代码，如 5,6（智力、精神）；空串为不扩展"
        )
        parser.add_argument(
            "--steps",
            help="审批环节：community,street,county,district 中的几项，须含 district（默认 community,street,district）",
        )
        parser.add_argument(
            "--pay-from", choices=["application", "approval"], help="补贴起始月份：申请当月或审批当月"
        )
        parser.add_argument(
            "--standards", type=Path, help="补贴标准文件（CSV 或 XLSX，列见 kangfu import standards）"
        )
        parser.add_argument("--tianjin-defaults", action="store_true", help="使用天津市现行标准（仅天津市）")
        parser.add_argument("--street-offices", action="store_true", help="同时为每个街道（乡镇）建立办事处")
        parser.add_argument("--admin", default="", metavar="USERNAME", help="第一个市级管理员的用户名")
        parser.add_argument("--admin-name", default="", metavar="姓名", help="管理员姓名（新建时必填）")
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE_URL,
            help=f"用户访问本系统的网址，用于登录链接（默认 {DEFAULT_BASE_URL}）",
        )
        parser.add_argument("--dry-run", action="store_true", help="只检查并报告，不写入")

    def handle(self, *args, **opts):
        path = opts["standards"]
        if path is not None and not path.is_file():
            raise CommandError(f"找不到文件 {path}")
        try:
            report = city_setup(
                actor=None,
                city=opts["city"],
                living=opts["living"],
                care_extra=opts["care_extra"],
                steps=opts["steps"],
                pay_from=opts["pay_from"],
                standards_file=path,
                tianjin_defaults=opts["tianjin_defaults"],
                street_offices=opts["street_offices"],
                admin_username=opts["admin"],
                admin_name=opts["admin_name"],
                base_url=opts["base_url"],
                dry_run=opts["dry_run"],
            )
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("；".join(getattr(exc, "messages", [str(exc)]))) from None
        for line in report.lines:
            self.stdout.write(line)
        if opts["dry_run"]:
            self.stdout.write("试运行：以上为将要进行的设置，未写入任何数据。")
        elif not report.changes:
            self.stdout.write("已是设置好的状态，本次没有任何改动。")
        if report.admin_link:
            self.stdout.write(
                f"管理员首次登录链接（只能使用一次，{link_days()} 天内有效，请只发给本人）：\n{report.admin_link}"
            )
