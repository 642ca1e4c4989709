"""``python -m api.schema_export`` rewrites schema.graphql from the code; a test fails when it is stale."""

from __future__ import annotations

import sys
from pathlib import Path

from api.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def exported_sdl() -> str:
    return schema.as_str().rstrip() + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_FILE
    target.write_text(exported_sdl(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
