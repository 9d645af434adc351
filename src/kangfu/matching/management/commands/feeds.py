from django.core.management.base import BaseCommand

from kangfu.matching.agency import pull_drop_folders


class Command(BaseCommand):
    help = (
        "读取各数据交换渠道取数目录中的新文件：kangfu feeds pull。每个文件按其内容（SHA-256）只读取一次，"
        "与接口推送一样进入该区“比对数据”待确认；文件按类别放在子目录中（如 death/），市级渠道再按区划代码分目录"
        "（如 120103/death/）。由定时器运行；SFTP 等远程取数不在此列，须先把文件同步到本机目录。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("pull", help="读取取数目录中的新文件")

    def handle(self, *args, **opts):
        report = pull_drop_folders()
        for line in report.taken:
            self.stdout.write(f"已读取 {line}")
        for line in report.refused:
            self.stderr.write(f"未读取 {line}")
        self.stdout.write(
            f"新读取 {len(report.taken)} 个文件，已读取过的 {report.skipped} 个跳过，未读取 {len(report.refused)} 个。"
        )
