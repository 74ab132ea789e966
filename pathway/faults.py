"""A testing hook for crash tests: die abruptly at a named point.

``PATHWAY_FAULT=advance.before_commit pathway advance …`` makes the process kill itself
with SIGKILL when it reaches that point, so tests can prove that a crash at the worst
moment leaves the database and the output files as if the command had never started.
Unless the variable is set to the point's name this does nothing.

Points (README, "Testing hook: crash injection", says where each one is):
``advance.before_commit``; ``flag_overdue.batch_before_commit``,
``flag_overdue.after_batch``, ``flag_overdue.before_commit``; ``export.mid_stream``,
``export.before_publish``, ``export.before_swap``; ``report.before_publish``;
``backup.before_publish``.
"""

from __future__ import annotations

import os
import signal

ENV = "PATHWAY_FAULT"


def fault_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
