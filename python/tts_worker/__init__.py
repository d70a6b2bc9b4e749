"""The Python side of the `tts` CLI: a long-lived worker that speaks a JSON-lines protocol on its stdio.

Run as ``python -I -m tts_worker``. Requests arrive one JSON object per line on stdin; replies and events leave one
JSON object per line on the worker's private protocol stream (the original stdout). Everything else any library
prints goes to stderr.
"""

__all__ = ["PROTOCOL_VERSION", "__version__"]

PROTOCOL_VERSION = 1
__version__ = "0.1.0"
