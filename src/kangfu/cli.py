"""The `kangfu` console script: Django's management commands under the project's own name.

`kangfu init-env` (the demo's secrets file), `kangfu demo`, `kangfu serve`, `kangfu synth`,
`kangfu token create`, `kangfu regions import`, `kangfu calendar sync`, `kangfu keys rotate`, the
go-live commands (`kangfu setup`, `kangfu import`, `kangfu invite`), the monthly ones (`kangfu feed
import`, `kangfu compare`) and every stock command (`kangfu migrate`, `kangfu check --deploy`) run
through here.
"""

import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["init-env"]:
        from pathlib import Path

        from kangfu.envfile import write_demo_env

        target = Path(sys.argv[2] if len(sys.argv) > 2 else "var/kangfu.env")
        print(f"已生成 {target}" if write_demo_env(target) else f"{target} 已存在，保留原有密钥。")
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kangfu.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kangfu", *sys.argv[1:]])


if __name__ == "__main__":
    main()
