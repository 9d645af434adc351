"""System checks of what the app serves itself: without the pinned front-end packages the charts of
the statistics pages stay empty, silently, so `kangfu check` (and every runserver) says so."""

from django.contrib.staticfiles import finders
from django.core.checks import Warning, register

ECHARTS = "vendor/echarts/echarts.min.js"


@register()
def front_end_packages(app_configs, **kwargs):
    if finders.find(ECHARTS):
        return []
    return [
        Warning(
            "前端依赖未安装：找不到 ECharts（node_modules/echarts），统计图表将无法显示。",
            hint="在项目目录运行 npm ci（或 make env）；部署时在 collectstatic 之前安装。",
            id="kangfu.W001",
        )
    ]
