"""Run a command on a pseudo-terminal (stdin, stdout and stderr all a TTY) and report what happened as JSON.

Usage: python3 pty_run.py TIMEOUT_SECONDS CWD [COLUMNS] -- ARGV...   (COLUMNS: terminal width, default 0 = unset)
Prints {"exit": code, "output": text, "seconds": wall}. Standard library only.
"""

import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def main() -> int:
    timeout = float(sys.argv[1])
    cwd = sys.argv[2]
    sep = sys.argv.index("--")
    columns = int(sys.argv[3]) if sep > 3 else 0
    argv = sys.argv[sep + 1 :]
    pid, fd = pty.fork()
    if pid != 0 and columns:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    if pid == 0:
        os.chdir(cwd)
        os.execvp(argv[0], argv)
    out = b""
    t0 = time.monotonic()
    while True:
        if time.monotonic() - t0 > timeout:
            os.kill(pid, signal.SIGKILL)
            break
        if select.select([fd], [], [], 0.05)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "output": out.decode("utf-8", "replace"), "seconds": time.monotonic() - t0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
