"""The independent checker: does a clearing result obey the input and the rules of docs/clearing.md?

``verify`` runs every check of ``CHECKS`` on a result directory against its archive and
returns a ``VerifyReport``; ``format_report`` turns that into lines of text.
``reference_optimum`` is the revenue of the checker's own MILP (``clearing.reference``).
"""

from clearing.verify.result import (
    CHECKS,
    VerifyReport,
    format_report,
    reference_optimum,
    verify,
)

__all__ = ["CHECKS", "VerifyReport", "format_report", "reference_optimum", "verify"]
