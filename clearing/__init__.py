"""Pure clearing: archive frames in, ``ClearingResult`` out."""

from clearing.clear import clear
from clearing.result import ClearingResult, write_results

__all__ = ["ClearingResult", "clear", "write_results"]
