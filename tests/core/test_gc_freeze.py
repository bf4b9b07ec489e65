"""freeze_once: a worker process freezes its long-lived objects once, a forked child again."""

from __future__ import annotations

import subprocess
import sys

# run in a fresh interpreter: freezing is process-wide and the test process keeps its own
PROBE = """
import gc, os
from sigmax.gc_freeze import freeze_once
first = freeze_once()
frozen = gc.get_freeze_count()
second = freeze_once()
print(first, frozen > 1000, second, gc.get_freeze_count() == frozen)
pid = os.fork()
if pid == 0:
    os._exit(0 if freeze_once() else 1)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


def test_a_process_freezes_once_and_a_forked_child_freezes_again() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.split() == ["True", "True", "False", "True", "0"]
