"""SIGTERM (a deploy) and SIGINT as a request to stop, for the clock and ``jobs run``.

The platform sends SIGTERM, waits (30 s on Heroku), then SIGKILL. A process that dies at once on
SIGTERM loses the work in its hands and, for the clock, keeps its lease until it expires; one that
sets the stop flag (``bot.shutdown``) finishes what it holds and starts nothing new.
"""

import signal

from bot import shutdown


def stop_on_signals(*signums: int) -> dict:
    """On these signals, ask the process to stop (``bot.shutdown``); the loops finish what they hold.
    Returns the handlers it replaced.

    The handler only sets the flag: it runs between two bytecodes of the main thread, so it logs
    nothing and takes no lock the main thread could be holding.
    """
    def handler(signum, frame) -> None:
        shutdown.request()

    return {signum: signal.signal(signum, handler) for signum in signums}
