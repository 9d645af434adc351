from django.core.management.base import BaseCommand

from kangfu.core import crypto
from kangfu.core.keys import reindex_all, rotate_all


class Command(BaseCommand):
    help = (
        "数据密钥：generate 生成新密钥材料；rotate 用当前密钥（KANGFU_DATA_KEYS 第一个）重新加密旧密钥加密的数据；"
        "reindex 更换 KANGFU_INDEX_KEY 后重新计算身份证号、电话、证号的检索索引。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("generate", help="打印一个新的 32 字节密钥（base64）")
        sub.add_parser("rotate", help="重新加密所有不是用当前密钥加密的字段")
        sub.add_parser("reindex", help="用当前 KANGFU_INDEX_KEY 重新计算全部检索索引（可中断后重跑）")

    def handle(self, *args, **opts):
        if opts["action"] == "generate":
            self.stdout.write(crypto.new_key_material())
            return
        if opts["action"] == "reindex":
            for label, n in reindex_all().items():
                self.stdout.write(f"{label}: 更新检索索引 {n} 行")
            return
        counts = rotate_all()
        for label, n in counts.items():
            self.stdout.write(f"{label}: 重新加密 {n} 行")
