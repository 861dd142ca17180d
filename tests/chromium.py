"""Headless Chromium driven over the Chrome DevTools Protocol, for the browser tests.

The protocol runs over a pipe (``--remote-debugging-pipe``: the browser reads
commands on its fd 3 and writes answers and events on its fd 4, each a JSON
message ended by a NUL byte), so there is no port to pick, no driver whose version
must match the browser, and no dependency beyond the standard library. The browser
is Debian's ``chromium`` (``apt-get install chromium``); ``ACI_RULES_CHROMIUM``
names another executable.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import zlib

__all__ = ["find_chromium", "Chromium", "PageReport", "png_ink"]

HOW_TO_RUN = ("headless Chromium not found: install Debian's package (apt-get install chromium) or set "
              "ACI_RULES_CHROMIUM to a Chromium executable; .ci/run installs it when it runs as root")
TIMEOUT = 60.0


def find_chromium() -> str | None:
    """The Chromium executable to use, or None."""
    named = os.environ.get("ACI_RULES_CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class PageReport:
    """What a page did while it loaded: console errors, requests, and the values asked of it."""

    def __init__(self, url):
        self.url = url
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.values: dict = {}
        self.screenshot: bytes = b""  # the whole page
        self.thumbnail: bytes = b""  # the first screen at half scale

    @property
    def other_requests(self) -> list[str]:
        """Every request but the page's own file (and inline data: URLs, which fetch nothing)."""
        return [url for url in self.requests if url != self.url and not url.startswith("data:")]


class Chromium:
    """One headless browser; :meth:`open` loads a page and reports on it."""

    def __init__(self, executable: str):
        self.profile = tempfile.mkdtemp(prefix="aci-rules-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def plumb():  # runs in the child: the protocol's two ends on fds 3 and 4
            # Copied out of the way first: a pipe end may itself be fd 3 or 4.
            ends = os.dup(to_browser_read), os.dup(from_browser_write)
            for target, end in zip((3, 4), ends):
                os.dup2(end, target)
                os.set_inheritable(target, True)

        arguments = [executable, "--headless", "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
                     "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "about:blank"]
        if os.geteuid() == 0:
            arguments.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        # Python opens every other fd close-on-exec (PEP 446), so close_fds=False passes
        # exactly fds 3 and 4 (and the standard ones) to the browser.
        self.process = subprocess.Popen(arguments, close_fds=False, preexec_fn=plumb,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next = 0
        self._events: list[dict] = []

    def close(self):
        try:
            self.send("Browser.close")
        except (OSError, TimeoutError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- the protocol ------------------------------------------------------------------

    def _read_message(self, deadline) -> dict:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the protocol pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None):
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._events.append(answer)

    def wait_for(self, method, session, deadline):
        while True:
            for index, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self._events.pop(index)
            self._events.append(self._read_message(deadline))

    # -- a page ------------------------------------------------------------------------

    def open(self, path, *, width=1366, height=900, evaluate=None, media="screen", pdf=False) -> PageReport:
        """Load a file at a window width; report its errors, requests, a full-page screenshot
        and the value of each JavaScript expression of ``evaluate`` (name -> expression)."""
        url = "file://" + os.path.abspath(path)
        report = PageReport(url)
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable", session=session)
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
            self.send("Emulation.setEmulatedMedia", {"media": media}, session)
            self._events.clear()
            self.send("Page.navigate", {"url": url}, session)
            self.wait_for("Page.loadEventFired", session, time.monotonic() + TIMEOUT)
            for name, expression in (evaluate or {}).items():
                answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
                if "exceptionDetails" in answer:
                    raise RuntimeError(f"{name}: {answer['exceptionDetails']}")
                report.values[name] = answer["result"].get("value")
            metrics = self.send("Page.getLayoutMetrics", session=session)
            content = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = self.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": min(content["height"], 16000), "scale": 1}},
                session)
            report.screenshot = base64.b64decode(shot["data"])
            # A small picture of the first screen, for the tests to look at pixel by pixel.
            thumbnail = self.send("Page.captureScreenshot", {
                "format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 0.5}}, session)
            report.thumbnail = base64.b64decode(thumbnail["data"])
            if pdf:
                printed = self.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True},
                                    session)
                report.values["pdf"] = base64.b64decode(printed["data"])
            # Whatever the page logged or asked for, up to now.
            for event in self._events:
                if event.get("sessionId") != session:
                    continue
                method, params = event.get("method"), event.get("params", {})
                if method == "Runtime.exceptionThrown":
                    report.errors.append(str(params.get("exceptionDetails", {}).get("text")))
                elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                    report.errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
                elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                    report.errors.append(params["entry"].get("text", ""))
                elif method == "Network.requestWillBeSent":
                    report.requests.append(params["request"]["url"])
        finally:
            self.send("Target.closeTarget", {"targetId": target})
        return report


def png_ink(data: bytes, paper=(255, 255, 255), tolerance=8) -> tuple[int, int, set]:
    """(pixels, pixels that are not paper-white, grey levels seen) of an 8-bit RGB(A) PNG.

    A small decoder (zlib and the five PNG row filters) so that the tests need no
    imaging library.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError("only 8-bit RGB or RGBA, not interlaced")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    ink, greys = 0, set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + previous[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        for i in range(0, stride, channels):
            r, g, b = line[i], line[i + 1], line[i + 2]
            if abs(r - paper[0]) > tolerance or abs(g - paper[1]) > tolerance or abs(b - paper[2]) > tolerance:
                ink += 1
            greys.add((r * 299 + g * 587 + b * 114) // 16000)
        previous = line
    return width * height, ink, greys
