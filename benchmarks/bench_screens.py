"""The screens (issue 6): 50 hall displays connected while kiosks issue and counters call, how soon a call
reaches an open display page, and how fast the pages load.

* API latency with 0 and with 50 open event streams (``GET /api/v1/events``, read in a separate process as
  50 display pages' EventSources would, asking for the same event types): issue and ``next`` median/p99, and
  how many of the streams the server accepted; ``next`` back to back (the worst case: each call's fan-out
  overlaps the next request) and 50 ms apart (still far busier than a hall), each against a baseline without
  screens run the same way. On the hall-core config (every device simulated, as the hall-core figures are
  measured) and on the full default hall (voice, bus and printer drivers in the daemon too); and 200 screens
  (the default limit) on the hall-core config.
* Call to screen: the time from ``next`` returning to the ``called`` event arriving on each of the 50 streams,
  and, in headless Chromium, to the number appearing in an open /display page's DOM.
* Page load: each page opened in headless Chromium (navigation start to the load event) on loopback.
"""
from __future__ import annotations

import json
import multiprocessing
import selectors
import socket
import sys
import tempfile
import time

from common import Daemon, core_config, summary_ms

SERVICES = ["general", "consult", "claims", "changes"]
# What /display asks for (display/static/display.js): everything but "issued".
DISPLAY_TYPES = "called,recalled,served,no_show,transferred,expired,void,paused,resumed,day_started"
PAGES = ["/", "/kiosk", "/counter/1", "/guide", "/display", "/admin", "/sim", "/t/1"]


def screens_process(port: int, count: int, conn) -> None:
    """In a child process (so the readers do not share the measuring client's interpreter lock), open ``count``
    event streams as display pages would and record, on the system's monotonic clock, when each called
    number arrived on each stream; send the accepted count first and the arrivals when told to stop."""
    socks, accepted = [], 0
    for i in range(count):  # each display from its own address, as TVs in a hall are
        sock = socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.1.{i % 250 + 1}", 0))
        sock.sendall(b"GET /api/v1/events?types=" + DISPLAY_TYPES.encode() + b" HTTP/1.1\r\nHost: hall\r\nAccept: text/event-stream\r\n\r\n")
        socks.append(sock)
    selector = selectors.DefaultSelector()
    chunks = {}  # stream -> [(arrival, bytes)]; parsed only after the run, so the readers cost the CPUs they
    for i, sock in enumerate(socks):  # share with the daemon no more than 50 real screens' network reads would
        head = sock.recv(65536)
        if head.split(b" ", 2)[1] != b"200":
            continue
        accepted += 1
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, i)
        chunks[i] = [(time.monotonic(), head)]
    conn.send(accepted)
    cpu_before = time.process_time()
    while not conn.poll():
        for key, _ in selector.select(0.1):
            chunks[key.data].append((time.monotonic(), key.fileobj.recv(65536)))
    cpu = time.process_time() - cpu_before  # what reading the streams cost this process, on the same cores
    conn.send(({i: called_arrivals(received) for i, received in chunks.items()}, cpu))


def called_arrivals(received: list[tuple[float, bytes]]) -> dict[str, float]:
    """When each called number arrived on one stream, from its (arrival time, bytes) reads."""
    arrivals, buf = {}, b""
    for at, data in received:
        *lines, buf = (buf + data).split(b"\n")
        for line in lines:
            if line.startswith(b"data: ") and b'"type": "called"' in line:
                arrivals[json.loads(line[6:])["ticket"]["number"]] = at
    return arrivals


def api_load(daemon: Daemon, screens: int, calls: int = 600, gap: float = 0.0) -> dict:
    """Open ``screens`` streams, then issue and call ``calls`` tickets (``gap`` seconds between calls; 0 is
    back to back); latency of both and of the fan-out."""
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.Process(target=screens_process, args=(daemon.port, screens, theirs), daemon=True)
    child.start()
    accepted = ours.recv()
    kiosk, clerk = daemon.client(), daemon.client()
    issue, nxt, returned = [], [], {}
    for i in range(calls):
        issue.append(kiosk.timed("POST", "/api/v1/tickets", {"service": SERVICES[i % 4]}))
    for i in range(calls):
        start = time.monotonic()
        status, body = clerk.request("POST", f"/api/v1/counters/{i % 4 + 1}/next", auth=True)
        end = time.monotonic()
        nxt.append(end - start)
        returned[json.loads(body)["number"]] = end
        time.sleep(gap)
    time.sleep(1)
    ours.send("stop")
    arrivals, reader_cpu = ours.recv()
    streams = list(arrivals.values())
    child.join(10)
    delays = [seen[n] - t for seen in streams for n, t in returned.items() if n in seen]
    missing = sum(1 for seen in streams for n in returned if n not in seen)
    result = {"screens_asked": screens, "screens_accepted": accepted, "next_gap_s": gap, "issue": summary_ms(issue),
              "next": summary_ms(nxt)}
    if accepted:
        result["call_to_stream"] = {**summary_ms(delays), "missing": missing}
        result["reader_cpu_ms_per_call"] = round(reader_cpu / calls * 1e3, 3)
    return result


def browser_figures(daemon: Daemon, calls: int = 60, loads: int = 15) -> dict:
    """Page load times and call-to-DOM delay in Debian's headless Chromium."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "tests"))
    from browser import launch
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{daemon.port}"
    kiosk, clerk = daemon.client(), daemon.client()
    kiosk.timed("POST", "/api/v1/tickets", {"service": "general"})
    out = {}
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        timings = {}
        for path in PAGES:
            samples = []
            for _ in range(loads):
                page.goto(base + path, wait_until="load")
                nav = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
                samples.append(json.loads(nav)["loadEventEnd"] / 1e3)
            timings[path] = summary_ms(samples)
        out["page_load"] = timings
        page.goto(base + "/display")
        page.wait_for_selector("#counters tr")
        page.evaluate("""() => { window.seen = {}; new MutationObserver(() => {
            const n = document.getElementById('latest-number').textContent;
            if (!(n in window.seen)) window.seen[n] = performance.timeOrigin + performance.now(); })
            .observe(document.getElementById('latest-number'), {childList: true, characterData: true, subtree: true}); }""")
        returned = {}
        for i in range(calls):
            kiosk.timed("POST", "/api/v1/tickets", {"service": "consult"})
            status, body = clerk.request("POST", "/api/v1/counters/2/next", auth=True)
            returned[json.loads(body)["number"]] = time.time() * 1e3
            time.sleep(0.25)
        seen = page.evaluate("window.seen")
        delays = [(seen[n] - t) / 1e3 for n, t in returned.items() if n in seen]
        out["call_to_display_page"] = {**summary_ms(delays), "missing": len(returned) - len(delays)}
        browser.close()
    return out


def run(browser: bool = True) -> dict:
    """All figures of the screens."""
    result = {"benchmark": "screens"}
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        for hall, config in (("hall_core", core_config(tmp)), ("full_hall", None)):
            for screens, gap in ((0, 0.0), (50, 0.0), (0, 0.05), (50, 0.05)):
                with Daemon(config=config) as daemon:
                    name = f"{hall}/{screens}_screens/" + ("paced_50ms" if gap else "back_to_back")
                    result[name] = api_load(daemon, screens, gap=gap)
        with Daemon(config=core_config(tmp)) as daemon:
            result["hall_core/200_screens/back_to_back"] = api_load(daemon, 200)
    if browser:
        with Daemon() as daemon:
            result["browser"] = browser_figures(daemon)
    return result


if __name__ == "__main__":
    json.dump(run(browser="--no-browser" not in sys.argv), sys.stdout, indent=2)
    print()
