"""`kangfu run`: the web server and the task worker together, supervised, for a single machine."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandParser

from kangfu.core import serving


class Command(BaseCommand):
    help = (
        "同时启动网站（kangfu serve）和后台任务进程（kangfu worker），并看管两者：任一进程退出即重新启动，"
        "一分钟内连续退出五次则全部停止；Ctrl-C 或 SIGTERM 停止两者。适合单机部署和演示。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport",
            nargs="?",
            default=os.environ.get("KANGFU_WEB_BIND", "127.0.0.1:8000"),
            help="网站监听地址（默认 KANGFU_WEB_BIND 或 127.0.0.1:8000）",
        )
        parser.add_argument("--workers", type=int, default=None, help="gunicorn 工作进程数")

    def handle(self, *args, addrport: str, workers: int | None, **opts) -> None:
        serve = ["serve", addrport] + (["--workers", str(workers)] if workers else [])
        supervisor = serving.Supervisor(
            [
                serving.Child("网站", serving.kangfu_command(*serve)),
                serving.Child("后台任务进程", serving.kangfu_command("worker", "--no-reload")),
            ]
        )
        sys.exit(supervisor.run())
