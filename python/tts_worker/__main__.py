"""Entry point: ``python -I -m tts_worker``."""

import os
import sys

from .worker import main

code = main()
sys.stderr.flush()
# os._exit: the stdin reader thread may still be blocked in read(); a normal interpreter shutdown would abort on
# its buffer lock. Everything worth flushing (protocol lines, stderr) is flushed already.
os._exit(code)
