"""Exit codes of ``vba``, the same for every command."""

EXIT_BAD_INPUT = 2  # the input breaks a rule, or a setting is missing
EXIT_INFEASIBLE = 3  # the auction cannot be cleared as given
EXIT_FINDINGS = 4  # the command ran and found something wrong (a check, a reconciliation)
EXIT_INTERNAL = 5  # an internal check failed; nothing was changed
