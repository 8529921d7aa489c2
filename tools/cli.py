"""What every `tools/` entry point does with a configuration mistake: one line, as `app.py` says it, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

import aws_rules
from app_config import ConfigError
from app_config.errors import TargetsError

# The user's to fix, said in one line naming the file or flag, the entry and the rule (never a value-echoing trace).
USER_ERRORS = (ConfigError, TargetsError, aws_rules.RulesError)


def run(main: Callable[[], int]) -> int:
    """`main()`'s exit status; 1, with `error: <the one line>` on stderr, when the configuration is refused."""
    try:
        return main()
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
