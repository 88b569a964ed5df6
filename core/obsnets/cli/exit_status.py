"""What the command line does with whatever a command raises: a message and an exit status.

Exit statuses:

- ``0``: done.
- ``2``: the user's input or environment is wrong (an :class:`~obsnets.errors.ObsnetsError`, a
  file that cannot be read or written, not enough memory for the sizes asked for, or an
  argparse usage error): one line saying what is wrong and what to do, never a traceback.
- ``1``: a bug in obsnets or a plugin (any other exception): a short message asking for a
  report; the traceback only with ``--debug`` or ``OBSNETS_DEBUG=1``.
- ``130``: interrupted (Ctrl-C), one line.
- ``141``: stdout was closed early (``obsnets list | head``): nothing printed, as for a
  process a shell reports killed by SIGPIPE.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from obsnets.errors import ObsnetsError

__all__ = [
    "DEBUG_ENV",
    "EXIT_BROKEN_PIPE",
    "EXIT_BUG",
    "EXIT_INTERRUPTED",
    "EXIT_USER_ERROR",
    "debug_requested",
    "quiet_on_closed_stdout",
    "report_errors",
]

DEBUG_ENV = "OBSNETS_DEBUG"
EXIT_BUG = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def debug_requested() -> bool:
    """Whether ``OBSNETS_DEBUG`` asks for tracebacks (set and not ``0`` / empty)."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _is_out_of_memory(exc: Exception) -> bool:
    # torch reports a failed CPU allocation as a plain RuntimeError, a CUDA one as a subclass
    message = str(exc)
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError)
        and ("can't allocate memory" in message or "out of memory" in message.lower())
    )


def _say(command: str, message: str) -> None:
    print(f"obsnets {command}: {message}", file=sys.stderr)


def _describe(command: str, exc: Exception) -> int:
    """Print the message for ``exc``; return its exit status."""
    if isinstance(exc, ObsnetsError):
        _say(command, f"error: {exc}")
        if exc.__cause__ is not None:
            # first line only: causes from other libraries (torch.load) span many lines
            cause = exc.__cause__
            print(f"  caused by {type(cause).__name__}: {_first_line(cause)}", file=sys.stderr)
        return EXIT_USER_ERROR
    if isinstance(exc, OSError) and exc.errno is not None:
        where = f": {exc.filename!r}" if exc.filename is not None else ""
        _say(
            command,
            f"error: {exc.strerror or _first_line(exc)}{where}. Check the path, its "
            f"permissions and the free disk space.",
        )
        return EXIT_USER_ERROR
    if _is_out_of_memory(exc):
        _say(
            command,
            f"error: not enough memory for the sizes asked for ({_first_line(exc)[:200]}). "
            f"Ask for smaller sizes (batch, samples, crops, image).",
        )
        return EXIT_USER_ERROR
    _say(
        command,
        f"internal error: {type(exc).__name__}: {_first_line(exc)[:300]}\n"
        f"  This is a bug in obsnets or in a plugin, not in what you typed; please report it "
        f"with the command you ran. Run with --debug (or {DEBUG_ENV}=1) to see the traceback.",
    )
    return EXIT_BUG


def report_errors(command: str, work: Callable[[], int], debug: bool = False) -> int:
    """Run ``work`` and turn anything it raises into a message on stderr and an exit status.

    Args:
        command: The subcommand's name, prefixed to every message (``obsnets build: ...``).
        work: Runs the command; returns its exit status.
        debug: Also print the traceback of an error.

    Returns:
        ``work()``'s status, or the status for what it raised (see the module docstring).
        ``BrokenPipeError`` is left to :func:`quiet_on_closed_stdout`.
    """
    try:
        return work()
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        _say(command, "interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            traceback.print_exc()
        return _describe(command, exc)


def _discard_stdout() -> None:
    """Point stdout's descriptor at /dev/null so the interpreter's last flush cannot fail.

    The recipe of Python's documentation (library/signal, "Note on SIGPIPE").
    """
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a capture: nothing to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)


def quiet_on_closed_stdout(work: Callable[[], int]) -> int:
    """Run ``work`` and flush stdout; a reader that went away ends the run quietly.

    Args:
        work: Runs the command line; returns its exit status (``SystemExit`` from argparse
            passes through once stdout is flushed).

    Returns:
        ``work()``'s status, or :data:`EXIT_BROKEN_PIPE` when stdout was closed early.
    """
    try:
        try:
            return work()
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
