"""A task for the test of `kangfu run`: the worker finds it by its dotted path, as it finds real ones."""

from pathlib import Path

from django_tasks import task


@task()
def write_marker(path: str, text: str) -> str:
    """Leaves a file the test can wait for: proof that a worker picked the task up and ran it."""
    Path(path).write_text(text)
    return text
