"""Printing a ticket through the real driver: from POST /tickets to the printer's first byte and to the cut.

The hall runs in this process behind its production HTTP server (kiosk/web) with a ``network`` or ``serial``
ticket printer pointing at a virtual printer (loopback TCP, or a pty), so the clock is shared: each decoded
page carries the time its first byte and its cut arrived. "First byte" is the ticket's first byte after the
status check (DLE EOT 1, 2, 4 and their answers), so the check is included.

Target (issue 3): first byte <= 50 ms p99; the whole ticket handed to the port <= 100 ms p99.
"""
from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import Client, summary_ms  # noqa: E402
from kiosk import settings  # noqa: E402
from kiosk.drivers.virtual_printer import PtyPort, TcpPort, VirtualPrinter  # noqa: E402
from kiosk.hall import Hall  # noqa: E402
from kiosk.server import HallServer  # noqa: E402

SERVICES = ["general", "consult", "claims", "changes"]


def run(transport: str = "network", n: int = 1000, warmup: int = 100) -> dict:
    """Issue ``warmup`` + ``n`` tickets one after another; summarise the last ``n``."""
    printer = VirtualPrinter()
    port = TcpPort(printer) if transport == "network" else PtyPort(printer)
    options = {"host": port.host, "port": port.port} if transport == "network" else {"port": port.path,
                                                                                      "baud": 115200}
    cfg = settings.parse_toml(settings.default_text())
    cfg["devices"][0] = {"name": "ticket-printer", "kind": "printer", "type": transport, "options": options}
    first, whole, answered = [], [], []
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as data:
        hall = Hall(data, settings.validate(cfg)).start()
        server = HallServer(hall, "127.0.0.1", 0, threads=8)
        thread = threading.Thread(target=server.server.run, daemon=True)
        thread.start()
        try:
            client = Client("127.0.0.1", server.port)
            for i in range(warmup + n):
                start = time.perf_counter()
                status, body = client.request("POST", "/api/v1/tickets", {"service": SERVICES[i % 4]})
                done = time.perf_counter()
                if status != 201:
                    raise RuntimeError(f"POST /tickets -> {status}: {body[:200]!r}")
                page = printer.pages[-1]
                if json.loads(body)["number"] not in page.lines:
                    raise RuntimeError("the last page printed is not this ticket")
                if i >= warmup:
                    first.append(page.started_at - start)
                    whole.append(page.finished_at - start)
                    answered.append(done - start)
            client.conn.close()
        finally:
            server.close()
            thread.join(5)
            hall.stop()
            port.close()
    return {"benchmark": f"print a ticket ({transport})", "first_byte": summary_ms(first),
            "whole_ticket": summary_ms(whole), "response": summary_ms(answered)}


if __name__ == "__main__":
    json.dump([run("network"), run("serial")], sys.stdout, indent=2)
    print()
