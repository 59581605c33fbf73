"""Signals that end a check the way Ctrl-C does: with the verdicts and numbers reached, a
report if one was asked for, and exit 3, instead of a silent kill.

SIGTERM (CI cancelling a job) and SIGHUP (a closed terminal) are turned into SIGINT. A Python
signal handler runs only between bytecodes, so while z3 or numpy works inside one long C
call it would wait until that call returns; z3 watches SIGINT itself and cancels its search
at once. So the handler for the two signals does nothing in Python, and a watcher thread
woken through the signal wakeup file descriptor sends the process SIGINT as soon as either
arrives, wherever the main thread is.

A command started in the background by a shell without job control (`plugcheck ... &` in a
script) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt: SIGTERM
forwarded as SIGINT would be lost and the run could only be killed. So an ignored SIGINT is
handled again (as Python's default, KeyboardInterrupt): every way of ending a run leaves its
verdicts and exit 3."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_FORWARDED = (signal.SIGTERM, signal.SIGHUP)


def _ignore(signum: int, frame: object) -> None:
    """Installed so that the C-level handler records the signal; the watcher acts on it."""


def forward_to_interrupt() -> bool:
    """Install the forwarding in the main thread; False where that is not possible (not the
    main thread, or a platform without these signals)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        rfd, wfd = os.pipe()
        os.set_blocking(wfd, False)
        signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
        for s in _FORWARDED:
            signal.signal(s, _ignore)
        if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except (ValueError, OSError, AttributeError):
        return False
    threading.Thread(target=_watch, args=(rfd,), name="plugcheck-signals", daemon=True).start()
    return True


def _watch(rfd: int) -> None:
    # signals must reach the main thread only: the report's final swap holds them there
    # (pthread_sigmask), which a thread that accepts them would undo
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals))
    wanted = {int(s) for s in _FORWARDED}
    while True:
        try:
            data = os.read(rfd, 64)
        except OSError:
            return
        if not data:
            return
        if wanted & set(data):
            os.kill(os.getpid(), signal.SIGINT)


@contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the block is done: for the few system calls that
    replace a file on disk (a report, a checkpoint's header), which must not stop halfway.
    Only the main thread can hold them; elsewhere the block runs as it is."""
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
