"""Entry point: ``python -I -m tts_worker``."""

import sys

from .worker import main

sys.exit(main())
