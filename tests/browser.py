"""Headless Chromium driven over the DevTools protocol (aiohttp's websocket client, no extra package).

The page's websocket traffic is the dashboard's screen (textual-serve relays the terminal bytes): a
script installed before the page loads keeps what the page received, so a test can read what the
browser was sent to draw, and a screenshot shows what it drew.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RECORD_SCREEN = """
(() => {
  window.__screen = "";
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    const decoder = new TextDecoder();
    ws.addEventListener("message", async (event) => {
      const data = event.data;
      if (typeof data === "string") { window.__screen += data; return; }
      const bytes = data instanceof Blob ? await data.arrayBuffer() : data;
      window.__screen += decoder.decode(bytes, {stream: true});
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout}s")


class Page:
    """One tab: send a DevTools command and get its result; `screen()` is what the page was sent."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws
        self.ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        await self.ws.send_json({"id": msg_id, "method": method, "params": params})
        while True:
            reply = json.loads((await self.ws.receive()).data)
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def screen(self) -> str:
        result = await self.send("Runtime.evaluate", expression="window.__screen || ''", returnByValue=True)
        return result["result"].get("value", "")

    async def screenshot(self, path: Path) -> None:
        data = (await self.send("Page.captureScreenshot", format="png"))["data"]
        path.write_bytes(base64.b64decode(data))


@contextlib.asynccontextmanager
async def open_page(url: str, size: tuple[int, int] = (1280, 800)) -> AsyncIterator[Page]:
    """Chromium (headless, its own profile and debugging port) on `url`, stopped on exit."""
    assert CHROMIUM is not None
    port = free_port()
    # Chromium's helper processes may still be writing to the profile as it is removed: never fail on that.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--remote-debugging-port={port}",
                f"--window-size={size[0]},{size[1]}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the browser and its helpers: one process group, stopped together
        )
        try:
            wait_for_port(port)
            targets = await asyncio.to_thread(_json, f"http://127.0.0.1:{port}/json/list")
            ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
            async with aiohttp.ClientSession() as session, session.ws_connect(ws_url, max_msg_size=0) as ws:
                page = Page(ws)
                await page.send("Page.enable")
                await page.send("Page.addScriptToEvaluateOnNewDocument", source=RECORD_SCREEN)
                await page.send("Page.navigate", url=url)
                yield page
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _json(url: str) -> Any:
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
