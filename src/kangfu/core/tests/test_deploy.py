import os
import subprocess
import sys


def test_production_settings_pass_the_deployment_checklist():
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "kangfu.settings",
        "KANGFU_ENV_FILE": "/nonexistent",
        "SECRET_KEY": "x7#Lq2!vR9@pT4zW8&mN1^cF6*hJ3$bK0(eY5)uG-aS+dQ=iO_oP;lX:wV,tZ.rC<",
        "KANGFU_DATA_KEYS": "prod:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "KANGFU_INDEX_KEY": "aW5kZXgta2V5LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3",
        "ALLOWED_HOSTS": "kangfu.example.gov.cn",
    }
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
