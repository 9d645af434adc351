"""`kangfu serve`: the production web server (gunicorn), or Django's development server with --dev."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from kangfu.core import serving


class Command(BaseCommand):
    help = (
        "启动网站：gunicorn，工作进程数默认为 CPU 核数+1（--workers 或 KANGFU_WEB_WORKERS 可改），"
        "静态文件由本系统提供，访问日志写到标准错误。后台任务另由 kangfu worker 处理，"
        "或用 kangfu run 同时启动两者。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport",
            nargs="?",
            default=os.environ.get("KANGFU_WEB_BIND", "127.0.0.1:8000"),
            help="监听地址，如 127.0.0.1:8000、0.0.0.0:8000、unix:/run/kangfu/web.sock（默认 KANGFU_WEB_BIND 或 127.0.0.1:8000）",
        )
        parser.add_argument("--workers", type=int, default=None, help="gunicorn 工作进程数")
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("KANGFU_WEB_THREADS", "1")),
            help="每个工作进程的线程数（默认 KANGFU_WEB_THREADS 或 1）",
        )
        parser.add_argument(
            "--timeout",
            type=int,
            default=int(os.environ.get("KANGFU_WEB_TIMEOUT", "60")),
            help="单个请求的最长秒数（默认 60）",
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="启动前不收集静态文件（部署时已执行 kangfu collectstatic 的，可加此项）",
        )
        parser.add_argument(
            "--dev", action="store_true", help="改用 Django 开发服务器（仅供开发调试，不可用于正式部署）"
        )

    def handle(self, *args, addrport: str, workers: int | None, threads: int, timeout: int, **opts) -> None:
        # WhiteNoise warns at every worker's start when the directory it serves is missing.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        if (
            settings.STATIC_MANIFEST
            and not opts["no_collectstatic"]
            and not serving.collected_static_is_current()
        ):
            started = time.monotonic()
            call_command("collectstatic", interactive=False, verbosity=0)
            self.stdout.write(
                f"静态文件已收集到 {settings.STATIC_ROOT}（{time.monotonic() - started:.1f} 秒）"
            )
        if opts["dev"]:
            call_command("runserver", addrport, use_reloader=False, use_threading=True)
            return
        argv = serving.gunicorn_command(
            bind=serving.normalise_bind(addrport),
            workers=serving.web_workers(workers),
            threads=threads,
            timeout=timeout,
        )
        env = serving.gunicorn_environment()
        self.stdout.flush()
        # gunicorn takes this process's place: systemd and `kangfu run` signal it directly, and its
        # workers get no connection or thread of this one.
        connections.close_all()
        os.execve(argv[0], argv, env)  # noqa: S606
