import os
import subprocess
import sys

from kangfu.core.tests.production import production_env


def test_production_settings_pass_the_deployment_checklist():
    env = production_env(ALLOWED_HOSTS="kangfu.example.gov.cn")
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_its_keys():
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "kangfu.settings",
        "KANGFU_ENV_FILE": "/nonexistent",
    }
    result = subprocess.run(
        [sys.executable, "-m", "django", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
