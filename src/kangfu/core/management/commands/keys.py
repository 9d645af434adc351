from django.core.management.base import BaseCommand

from kangfu.core import crypto
from kangfu.core.keys import rotate_all


class Command(BaseCommand):
    help = "数据密钥：generate 生成新密钥材料；rotate 用当前密钥（KANGFU_DATA_KEYS 第一个）重新加密旧密钥加密的数据。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("generate", help="打印一个新的 32 字节密钥（base64）")
        sub.add_parser("rotate", help="重新加密所有不是用当前密钥加密的字段")

    def handle(self, *args, **opts):
        if opts["action"] == "generate":
            self.stdout.write(crypto.new_key_material())
            return
        counts = rotate_all()
        for label, n in counts.items():
            self.stdout.write(f"{label}: 重新加密 {n} 行")
