"""A small DevTools-protocol client: headless Chromium opens a page, logs errors and requests."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import websocket

TIMEOUT = 10.0  # seconds, for every wait: the browser's start, a command's answer, a page load
VIEWPORT = (1400, 1000)
BINARIES = ("chromium", "chromium-browser")
# Schemes a self-contained page may load from without it counting as a request of its own.
INLINE_SCHEMES = ("data:", "about:", "blob:")


class BrowserError(Exception):
    """The browser did not start, did not answer in time, or a command or script failed."""


def find_chromium() -> str | None:
    """The Chromium binary on PATH, or None."""
    return next((path for name in BINARIES if (path := shutil.which(name))), None)


@dataclass
class PageLog:
    """What a page did while it loaded and ran: console errors (including uncaught exceptions
    and failed loads) and the URLs it requested besides itself and inline data."""

    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Browser:
    """Headless Chromium driven over the DevTools protocol; always killed on exit:

    with Browser(binary) as browser:
        log = browser.open(page)  # log.errors, log.requests
        title = browser.evaluate("document.title")
    """

    def __init__(self, binary: str, timeout: float = TIMEOUT) -> None:
        self.binary = binary
        self.timeout = timeout
        self.log = PageLog("about:blank")
        self._profile = Path(tempfile.mkdtemp(prefix="netspec-chromium-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: websocket.WebSocket | None = None
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        stderr = (self._profile / "stderr.log").open("wb")
        self._process = subprocess.Popen(
            [
                self.binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--hide-scrollbars",
                "--mute-audio",
                # No name resolves, so a page that reaches out fails fast, offline or not; the
                # request is still seen (and counted) before it fails.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group, so closing ends its helpers too
        )
        stderr.close()
        port = self._wait_for_port()
        self._socket = websocket.create_connection(
            self._page_target(port), timeout=self.timeout, suppress_origin=True
        )
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(f"{domain}.enable")
        width, height = VIEWPORT
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _wait_for_port(self) -> int:
        """The DevTools port Chromium chose, from the file it writes into its profile."""
        assert self._process is not None
        marker = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrowserError(
                    f"{self.binary} exited with status {self._process.returncode} at start:\n"
                    + self._stderr_tail()
                )
            text = marker.read_text(encoding="utf-8") if marker.exists() else ""
            if text.endswith("\n") or len(text.splitlines()) >= 2:
                return int(text.splitlines()[0])
            time.sleep(0.05)
        raise BrowserError(
            f"{self.binary} wrote no DevToolsActivePort within {self.timeout:g} s:\n"
            + self._stderr_tail()
        )

    def _page_target(self, port: int) -> str:
        """The websocket address of the browser's one page (the about:blank tab)."""
        url = f"http://127.0.0.1:{port}/json/list"
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=self.timeout) as answer:
                    targets = json.load(answer)
            except OSError as exc:
                raise BrowserError(f"cannot list the browser's targets at {url}: {exc}") from exc
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            if time.monotonic() > deadline:
                raise BrowserError(f"no page target among {targets}")
            time.sleep(0.05)

    def _stderr_tail(self, lines: int = 20) -> str:
        path = self._profile / "stderr.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Close the connection, kill the browser and remove its profile."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=self.timeout)
            self._process = None
        shutil.rmtree(self._profile, ignore_errors=True)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are logged."""
        if self._socket is None:
            raise BrowserError(f"{method}: the browser is not running")
        self._next_id += 1
        ident = self._next_id
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        message = self._receive(lambda m: m.get("id") == ident, f"the answer to {method}")
        if "error" in message:
            raise BrowserError(f"{method} failed: {message['error'].get('message')}")
        result: dict[str, Any] = message.get("result", {})
        return result

    def _receive(self, wanted: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """Read messages until one is `wanted`, logging every event on the way."""
        assert self._socket is not None
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no {what} within {self.timeout:g} s")
            self._socket.settimeout(left)
            try:
                message: dict[str, Any] = json.loads(self._socket.recv())
            except websocket.WebSocketTimeoutException:
                raise BrowserError(f"no {what} within {self.timeout:g} s") from None
            except websocket.WebSocketConnectionClosedException:
                raise BrowserError(
                    f"the browser closed the connection while waiting for {what}:\n"
                    + self._stderr_tail()
                ) from None
            if "method" in message:
                self._record(message)
            if wanted(message):
                return message

    def _record(self, event: dict[str, Any]) -> None:
        """Log an event that is a console error, an uncaught exception or a request."""
        self._events.append(event)
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            words = [str(a.get("value", a.get("description", ""))) for a in args]
            self.log.errors.append(f"console.{params['type']}: {' '.join(words)}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            thrown = details.get("exception", {}).get("description") or details.get("text")
            self.log.errors.append(f"uncaught exception: {thrown}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            where = f" ({entry['url']})" if entry.get("url") else ""
            self.log.errors.append(f"{entry.get('source', 'log')}: {entry.get('text')}{where}")
        elif method == "Network.requestWillBeSent":
            url = str(params.get("request", {}).get("url", ""))
            if not url.startswith(INLINE_SCHEMES) and url.split("#")[0] != self.log.url:
                self.log.requests.append(url)

    def open(self, page: Path) -> PageLog:
        """Load a local page, wait for its load event, and return the log it starts."""
        url = page.resolve().as_uri()
        self.log = PageLog(url)
        self._events.clear()
        answer = self.call("Page.navigate", url=url)
        if answer.get("errorText"):
            raise BrowserError(f"cannot open {url}: {answer['errorText']}")
        if not any(e["method"] == "Page.loadEventFired" for e in self._events):
            self._receive(lambda m: m.get("method") == "Page.loadEventFired", f"load of {url}")
        self.settle()
        return self.log

    def settle(self) -> None:
        """Let the page run its pending work: two animation frames, so layout and the scripts
        that a load or a click scheduled have run, and their events have arrived."""
        self.evaluate(
            "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
        )

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            thrown = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"script failed: {thrown}\n  in: {expression}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the whole page, beyond the viewport, at `path`."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={
                "x": 0,
                "y": 0,
                "width": max(size["width"], 1),
                "height": max(size["height"], 1),
                "scale": 1,
            },
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
