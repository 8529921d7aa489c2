"""`make schema`: write config/targets.schema.json and config/agents.schema.json from the config model
(app_config.model), for editors and reviews.

The model validates; the schemas describe it. tests/test_targets.py and tests/test_agents.py fail when a committed
file drifts.
"""

from __future__ import annotations

import json
import sys

from app_config import agents, targets
from app_config.model import ROOT


def main() -> int:
    for module in (targets, agents):
        module.SCHEMA_FILE.write_text(json.dumps(module.json_schema(), indent=2) + "\n")
        print(f"wrote {module.SCHEMA_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
