from django.core.management.base import BaseCommand, CommandError

from kangfu.people.synth import Focus, synthesise


def _focus(value: str) -> Focus:
    code, _, share = value.partition(":")
    return Focus(code=code.ljust(12, "0"), share=float(share or 0.3))


class Command(BaseCommand):
    help = "生成确定的合成人员数据（姓名、有效身份证号、残疾人证、收入状况、监护人、生活事件），批量写入。"

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, required=True, help="人数，最多 1000000")
        parser.add_argument("--seed", type=int, default=1, help="随机种子：相同种子生成相同数据")
        parser.add_argument(
            "--focus",
            type=_focus,
            action="append",
            default=[],
            help="CODE:SHARE，把一部分人放在某区划内，可重复",
        )
        parser.add_argument("--batch", type=int, default=5000)

    def handle(self, *args, **opts):
        if not 0 < opts["people"] <= 1_000_000:
            raise CommandError("--people 应在 1 到 1000000 之间。")
        step = max(opts["batch"], opts["people"] // 20)

        def progress(done: int) -> None:
            if done % step < opts["batch"] or done == opts["people"]:
                self.stdout.write(f"  已生成 {done}/{opts['people']}")

        try:
            report = synthesise(
                people=opts["people"],
                seed=opts["seed"],
                focus=tuple(opts["focus"]),
                batch_size=opts["batch"],
                progress=progress,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"人员 {report.people}，残疾人证 {report.certificates}，监护人 {report.guardians}，"
            f"收入状况 {report.income_periods}，生活事件 {report.life_events}，跳过重复 {report.skipped_duplicates}。"
        )
