"""Log lines: one JSON object per line (``LOG_FORMAT=json``, the default) or plain text for humans.

Request lines carry the request id, workspace, operation name and duration; never an API key (only its
id, and only where a key is the subject) nor a customer's personal details.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Called once by each process's entry point (the API factory for uvicorn, the worker's main)."""
    root = logging.getLogger()
    root.handlers = [log_handler(log_format)]
    root.setLevel(level)


def log_handler(log_format: str, stream: TextIO = sys.stderr) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    return handler
