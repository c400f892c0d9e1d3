"""The independent checker: does a clearing result obey the input and the rules of docs/clearing.md?

Implements "What a result must let anyone check" of docs/clearing.md from the archive
and the files of ``OUT/`` alone. It shares no code with the clearing model: awards and
quantities are read as text and compared as exact ``Decimal``; physical capacity is
recomputed per asset and MTU with numpy; optimality is judged by the checker's own
MILP (``clearing.reference``).

``verify`` (``run``) reads the result (``result``) and the archive's terms (``terms``),
then runs the families of checks (``checks_awards``, ``checks_delivery``,
``checks_backing``, ``checks_money``); ``format_report`` (``findings``) writes the report.
"""

from clearing.reference import reference_optimum
from clearing.verify.findings import VerifyReport, format_report
from clearing.verify.run import CHECKS, verify

__all__ = ["CHECKS", "VerifyReport", "format_report", "reference_optimum", "verify"]
