"""`make schema`: write config/targets.schema.json from the config model (app_config.model), for editors and reviews.

The model validates; the schema describes it. tests/test_targets.py fails when the committed file drifts.
"""

from __future__ import annotations

import json
import sys

from app_config.model import ROOT
from app_config.targets import SCHEMA_FILE, json_schema


def main() -> int:
    SCHEMA_FILE.write_text(json.dumps(json_schema(), indent=2) + "\n")
    print(f"wrote {SCHEMA_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
