from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from kangfu.golive import services
from kangfu.golive.kinds import COUNT_LABELS, KINDS
from kangfu.golive.models import ImportJob, JobStatus


class Command(BaseCommand):
    help = (
        "上线迁移：导入一类数据（CSV 或 XLSX）。不加 --confirm 只检查并逐行报告，不写入；"
        "加 --confirm 检查后导入有效行（问题行不导入，逐行报告）。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "kind", help="导入类别：" + "、".join(KINDS) + "；或 reconcile（见 kangfu reconcile）"
        )
        parser.add_argument("file", type=Path, nargs="?")
        parser.add_argument("--confirm", action="store_true", help="检查后导入有效行")
        parser.add_argument("--live-from", help="上线月份（YYYY-MM），享受对象和发放明细必填")
        parser.add_argument(
            "--map", action="append", default=[], metavar="字段=表头", help="指定列对应，可多次"
        )
        parser.add_argument("--recheck", action="store_true", help="文件与已导入的相同时，仍逐行检查和导入")
        parser.add_argument("--show-columns", action="store_true", help="列出该类别的各列及可识别的表头")
        parser.add_argument("--month", help="与 reconcile 同用：上线月份（YYYY-MM）")
        parser.add_argument(
            "--district", help="与 reconcile 同用：只对账此区（区划代码），默认全部有发放的区"
        )

    def handle(self, *args, **opts):
        kind = opts["kind"]
        if kind == "reconcile":
            self._reconcile(opts)
            return
        if kind not in KINDS:
            raise CommandError(services.UNKNOWN_KIND.format(kind=kind, kinds="、".join(KINDS)))
        kind_cls = KINDS[kind]
        if opts["show_columns"] or opts["file"] is None:
            self.stdout.write(f"{kind_cls.label}：{kind_cls.description}")
            for column in kind_cls.columns:
                mark = "（必填）" if column.required else ""
                self.stdout.write(
                    f"  {column.field}\t{column.label}{mark}\t也认：{'、'.join(column.synonyms)}"
                )
            return
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"找不到文件 {path}")
        options = {"live_from": opts["live_from"]} if opts["live_from"] else {}
        try:
            job = services.job_create(actor=None, kind=kind, file_name=path.name, path=path, options=options)
            if opts["map"]:
                mapping = dict(job.mapping)
                for pair in opts["map"]:
                    field, _, header = pair.partition("=")
                    mapping[field.strip()] = header.strip()
                job = services.job_remap(actor=None, job=job, mapping=mapping)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("；".join(getattr(exc, "messages", [str(exc)]))) from None
        if job.message:
            self.stdout.write(job.message)
        if job.status == JobStatus.DONE and opts["recheck"]:
            job = services.job_recheck(actor=None, job=job)
        if job.status == JobStatus.DONE:
            self._report(job, "导入（与已导入文件相同）")
            return
        job = services.job_check(job)
        if job.status != JobStatus.PREVIEW:
            raise CommandError(job.message or "检查未完成。")
        self._report(job, "检查")
        if not opts["confirm"]:
            self.stdout.write(f"未写入任何数据。确认导入：kangfu import {kind} {path} --confirm")
            return
        try:
            job = services.job_confirm(actor=None, job=job)
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from None
        job = services.job_apply(job)
        if job.status != JobStatus.DONE:
            raise CommandError(job.message or "导入失败，未写入任何数据。")
        self._report(job, "导入")

    def _reconcile(self, opts) -> None:
        from kangfu.core.models import Region, RegionLevel
        from kangfu.core.spreadsheets import parse_month
        from kangfu.golive.services.reconcile import reconcile
        from kangfu.subsidies.models import Grant

        try:
            month = parse_month(opts["month"] or "")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if month is None:
            raise CommandError("请用 --month 指定上线月份，如 --month 2027-01。")
        if opts["district"]:
            districts = list(
                Region.objects.filter(code=opts["district"].ljust(12, "0"), level=RegionLevel.DISTRICT)
            )
            if not districts:
                raise CommandError(f"没有区划代码为 {opts['district']} 的区。")
        else:
            codes = Grant.objects.values("district_id").distinct()
            districts = list(Region.objects.filter(code__in=codes).order_by("code"))
        result = reconcile(actor=None, month=month, districts=districts)
        self.stdout.write(f"原系统 {result.last_legacy_month:%Y-%m} 与本系统 {month:%Y-%m}：")
        self.stdout.write("区\t项目\t原系统人数\t原系统金额\t本系统人数\t本系统金额\t补发\t追回\t暂缓\t不同")
        for r in result.rows:
            self.stdout.write(
                f"{r.district.label}\t{r.kind_label}\t{r.legacy_count}\t{r.legacy_total}\t{r.ours_count}\t"
                f"{r.ours_total}\t{r.arrears}\t{r.recoveries}\t{r.held}\t{r.differing}"
            )
        for d in result.differences:
            self.stdout.write(f"  {d.district} {d.name} {d.id_masked} {d.kind_label}：{'；'.join(d.reasons)}")
        if not result.differences:
            self.stdout.write("没有不同：首次发放与原系统一致。")

    def _report(self, job: ImportJob, verb: str) -> None:
        counts = "，".join(f"{COUNT_LABELS[k]} {v}" for k, v in job.counts.items())
        self.stdout.write(
            f"第 {job.pk} 号{verb}：数据行 {job.total_lines}，空行 {job.blank_lines}，{counts}，问题行 {job.error_count}。"
        )
        for error in job.errors[:50]:
            self.stdout.write(f"  第 {error['line']} 行：{error['message']}")
        if job.error_count > 50:
            self.stdout.write(f"  ……其余 {job.error_count - 50} 行见页面或导出的问题行报告。")
        for flag in job.flags[:50]:
            self.stdout.write(f"  提示 第 {flag['line']} 行：{flag['message']}")
