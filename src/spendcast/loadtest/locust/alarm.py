"""An alarm clock on gevent's loop that rings at an epoch time to the microsecond.

libev's epoll backend never waits less than a millisecond (``backend_mintime``, and
``epoll_wait`` takes whole milliseconds, rounded up), so a libev timer due in 0.3 ms fires
about 1 ms later, together with whatever else came due meanwhile: the open model's slots,
half a millisecond apart at 2,000/s, would leave in pairs. On Linux the alarm is a
``timerfd`` (``CLOCK_REALTIME``, absolute time) watched by the loop like a socket: the
kernel makes it readable at the time asked and ``epoll_wait`` returns then, whatever its
timeout; cancelled, it is no longer watched. Elsewhere (no ``timerfd``) a libev timer stands
in, as precise as the loop allows.

Programming the timer (``timerfd_settime``) costs 7-9 us on this VM (a hypervisor exit), a
quarter of a blocking wake-up: a constant rate's slots come on a beat, so the alarm can be set
with one (``every``) and the kernel rings on it. Set again with that beat, at a time on it, it
programs nothing: a ring then costs a ``read`` of the expirations only. Cancelled, a beat is
stopped (it would wake the loop for nobody).

One alarm per process: one made before a fork is the parent's (``Locust --processes`` forks
its workers; setting it would move the parent's timer), so a child makes its own
(``Alarm.inherited``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from collections.abc import Callable
from typing import Any, Final

import gevent

_CLOCK_REALTIME: Final = 0
_TFD_TIMER_ABSTIME: Final = 1
_TFD_NONBLOCK: Final = os.O_NONBLOCK
_TFD_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0o2000000)
_READ: Final = 1  # libev's EV_READ
_ON_BEAT_NS: Final = 1000  # a time this close to the beat is on it (the beat is in whole ns)
_forks = [0]  # bumped in each forked child: an alarm made before is its parent's
os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> Any:
    """libc's timerfd functions, typed (``None``: this system has none)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        create, settime = libc.timerfd_create, libc.timerfd_settime
    except (OSError, AttributeError):
        return None
    create.argtypes, create.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    settime.restype = ctypes.c_int
    return libc


class Alarm:
    """Calls ``ring`` in gevent's hub at the time last ``set`` (once, or on a beat; ``cancel``
    forgets it). On a beat, ``ring`` must expect to find nothing to do: it rings on while set."""

    def __init__(self, ring: Callable[[], None]) -> None:
        self._made_after = _forks[0]
        self._ring = ring
        self._loop = gevent.get_hub().loop
        self._timer: Any = None  # the stand-in libev timer (no timerfd)
        self._fd = -1
        self._beat: tuple[int, int] | None = None  # the timer's first ring and period (ns)
        self.programmed = 0  # times the timer was programmed (``timerfd_settime``)
        libc = _libc()
        if libc is not None:
            self._fd = libc.timerfd_create(_CLOCK_REALTIME, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if self._fd < 0:
            return
        self._settime = libc.timerfd_settime
        self._spec = _Itimerspec()
        self._spec_ref = ctypes.byref(self._spec)
        # Watched while set only: like a timer, a set alarm keeps the loop running.
        self._watcher = self._loop.io(self._fd, _READ)

    @property
    def inherited(self) -> bool:
        """It was made before this process forked: the parent's, not to be touched."""
        return self._made_after != _forks[0]

    @property
    def precise(self) -> bool:
        """It is a ``timerfd`` (microseconds), not the stand-in libev timer."""
        return self._fd >= 0

    def set(self, at: float, every: float = 0.0) -> None:
        """Ring at ``at`` (epoch s; at once if past), instead of any time set before, and then
        every ``every`` s (0: once; the libev stand-in rings once). Set again with the beat it
        rings on, at a time to come on it (within a microsecond), nothing is programmed."""
        if self._fd < 0:
            self._set_timer(at)
            return
        at_ns, every_ns = int(at * 1e9), round(every * 1e9)
        if not self._on_beat(at_ns, every_ns):
            self._program(at_ns, every_ns)
            self._beat = (at_ns, every_ns) if every_ns > 0 else None
        if not self._watcher.active:
            self._watcher.start(self._rang)

    def _on_beat(self, at_ns: int, every_ns: int) -> bool:
        """The timer rings on this beat already, and at ``at_ns`` (to come)."""
        if self._beat is None or at_ns <= time.time_ns():
            return False
        first, period = self._beat
        if abs(every_ns - period) > 1:
            return False
        rings = max(0, round((at_ns - first) / period))
        return abs(first + rings * period - at_ns) <= _ON_BEAT_NS

    def cancel(self) -> None:
        """Ring at no time (until ``set`` again)."""
        if self._fd < 0:
            if self._timer is not None:
                self._timer.stop()
            return
        self._watcher.stop()  # what it holds may still ring: the next ``set`` replaces it
        if self._beat is not None:  # a beat would: stopped
            self._program(0, 0)
            self._beat = None

    def _rang(self) -> None:
        try:  # readable until its expirations are read
            os.read(self._fd, 8)
        except BlockingIOError:  # none: the loop saw it readable before it was set again
            return
        self._ring()

    def _program(self, at_ns: int, every_ns: int) -> None:
        """Ring at ``at_ns`` (epoch ns; 0: never), then every ``every_ns``; also clears what it
        held (a ring not read)."""
        spec = self._spec
        spec.it_value.tv_sec, spec.it_value.tv_nsec = divmod(at_ns, 1_000_000_000)
        spec.it_interval.tv_sec, spec.it_interval.tv_nsec = divmod(every_ns, 1_000_000_000)
        self.programmed += 1
        if self._settime(self._fd, _TFD_TIMER_ABSTIME, self._spec_ref, None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime failed")

    def _set_timer(self, at: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self._loop.timer(max(0.0, at - time.time()))
        self._timer.start(self._ring)

    def close(self) -> None:
        if self._fd < 0:
            self.cancel()
            return
        self._watcher.stop()
        os.close(self._fd)
        self._fd = -1
