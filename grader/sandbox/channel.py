"""The parent's end of one running worker: its supervisor process and the three pipes.

    ch = Channel(proc, run, req_w, resp_r, out_r, life_w, first_id, limits, output)
    ch.write(frame_bytes, deadline)       # the request pipe; drains output meanwhile
    header, body = ch.read_frame(deadline)  # the response pipe, one checked frame
    ch.drain_output()                     # the stdout/stderr pipe, into `output` (capped)

Every wait polls all the worker's pipes, so a print flood never blocks anyone. A closed
response pipe raises Dead, a deadline passed raises Timeout; malformed frames raise
wire.WireError from the frame reader. The output buffer (`Output`) belongs to the
Sandbox: it outlives a worker, so what a dead worker printed can still be shown.
"""
from __future__ import annotations

import os
import select
import time

from grader.sandbox import wire
from grader.sandbox.errors import clean


class Dead(Exception):
    """The worker's response pipe closed: it died (or closed its end)."""


class Timeout(Exception):
    """A deadline passed while waiting for the worker."""


class Garbage(Exception):
    """The worker sent a well-framed message that breaks the protocol."""


class Output:
    """What a call printed: the first `limit` bytes kept, the rest only counted."""

    def __init__(self, limit: int):
        self.limit, self.data, self.dropped = int(limit), bytearray(), 0

    def clear(self) -> None:
        self.data.clear()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = max(self.limit - len(self.data), 0)
        self.data += chunk[:room]
        self.dropped += len(chunk) - len(chunk[:room])

    def take(self) -> str:
        """The output so far, decoded and escaped, with a note of what was dropped."""
        text = clean(self.data.decode("utf-8", errors="replace"), 2 * self.limit)
        if self.dropped:
            text += f"\n... [output truncated: {self.dropped} more bytes]"
        return text


class Channel:
    """One running worker: its supervisor process and our ends of the pipes."""

    def __init__(self, proc, run, req, resp, out, lifeline, first_id, limits, output: Output):
        self.proc, self.run = proc, run
        self.req, self.resp, self.out, self.lifeline = req, resp, out, lifeline
        self.first_id, self.reader = first_id, wire.FrameReader(limits)
        self.output = output
        self.out_open, self.hello, self.threads = True, None, 0

    def poll(self, deadline, write=False):
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            raise Timeout()
        p = select.poll()
        p.register(self.resp, select.POLLIN)
        if self.out_open:
            p.register(self.out, select.POLLIN)
        if write:
            p.register(self.req, select.POLLOUT)
        return dict(p.poll(max(1, int(timeout * 1000))))

    def write(self, data, deadline) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.req, view[:1 << 20]):]
                continue
            except BlockingIOError:
                pass
            except (BrokenPipeError, OSError):
                raise Dead() from None
            events = self.poll(deadline, write=True)
            if self.out in events:
                self.drain_output()
            if self.resp in events:
                self.read_resp()

    def read_resp(self) -> bool:
        """Read what the worker sent; False if nothing was there yet."""
        try:
            data = os.read(self.resp, 1 << 20)
        except BlockingIOError:
            return False
        except OSError:
            raise Dead() from None
        if not data:
            raise Dead()
        self.reader.feed(data)
        return True

    def read_frame(self, deadline):
        """The next complete frame as (header, body); its caps are checked as it arrives."""
        while True:
            part = self.reader.next()
            if part is not None:
                return part
            if self.read_resp():             # often the answer is already there
                continue
            events = self.poll(deadline)
            if self.out in events:
                self.drain_output()
            if self.resp in events:
                self.read_resp()

    def drain_output(self) -> None:
        while self.out_open:
            try:
                data = os.read(self.out, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.out_open = False
                return
            self.output.add(data)

    def hung_up(self) -> bool:
        """The worker's end of the response pipe is closed (it died between calls)."""
        p = select.poll()
        p.register(self.resp, select.POLLIN)
        return any(ev & (select.POLLHUP | select.POLLERR) for _, ev in p.poll(0))

    def close_fds(self) -> None:
        for fd in (self.req, self.resp, self.out):
            os.close(fd)
