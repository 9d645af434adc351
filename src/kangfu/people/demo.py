"""Demo people: a few thousand synthetic residents, concentrated where the demo accounts work."""

from kangfu.core import demo as core_demo
from kangfu.people.models import Person
from kangfu.people.synth import Focus, synthesise

DEMO_PEOPLE = 4000
DEMO_SEED = 2026


def load(out) -> None:
    if Person.objects.exists():
        return
    out.write(f"生成 {DEMO_PEOPLE} 名合成人员 …")
    synthesise(
        people=DEMO_PEOPLE,
        seed=DEMO_SEED,
        focus=(
            Focus(core_demo.JIUJIANGLU, 0.03),
            Focus(core_demo.DAYINGMEN, 0.10),
            Focus(core_demo.HEXI, 0.22),
            Focus(core_demo.HUAMING, 0.05),
            Focus(core_demo.XIQING, 0.08),
            Focus(core_demo.WUQING, 0.12),
        ),
    )
