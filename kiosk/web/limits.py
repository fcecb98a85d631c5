"""What one client and all clients together may hold at once, and how long a request may take to arrive.

A *client* is a peer IP address. A hall's screens, kiosks and counter stations each have their own address; a
phone that opens the printed status link has its own too. The limits keep any one address — a customer's
phone, a broken script, an attacker on the branch LAN — from taking the connections, the worker threads or the
event-stream places that the hall's own screens need. Everything here runs on the event loop's thread only.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

REFUSAL_LOG_EVERY_S = 60.0  # a refused address is logged at most this often (a flood must not flood the log)
REFUSAL_ANSWER_EVERY_S = 1.0  # a refused address is told why at most this often; in between it is cut off at once


@dataclass(frozen=True)
class Limits:
    """The server's limits (``kiosk run`` flags; docs/operations.md "Limits per client")."""

    max_connections: int = 4000
    """Open connections of all clients together; more are answered 503 and closed."""
    client_connections: int = 64
    """Open connections of one address (a browser opens at most 6; a NAT of a few PCs stays well below)."""
    client_requests: int = 8
    """Requests of one address answered at the same time; further ones wait their turn, unread."""
    idle_timeout: float = 30.0
    """A kept-alive connection with no request on it is closed after this many seconds."""
    head_timeout: float = 10.0
    """From a request's first byte to the end of its head (request line and headers)."""
    body_timeout: float = 30.0
    """From the end of the head to the end of the body."""
    write_timeout: float = 30.0
    """How long an answer may sit unsent because the client does not read it."""
    max_target_bytes: int = 8 * 1024
    """The request's address (longer: 414)."""
    max_head_bytes: int = 16 * 1024
    """The request line and headers together (longer: 431)."""
    max_body_bytes: int = 2 * 1024 * 1024
    """A request body (longer: 413); the app's own limit (``MAX_CONTENT_LENGTH``) is the same."""


@dataclass
class Client:
    """What one address holds now."""

    connections: int = 0
    requests: int = 0
    waiting: list = field(default_factory=list)  # connections whose request waits for a free place, oldest first


class ClientTable:
    """The open connections and running requests per address, and the counts of what was refused."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.clients: dict[str, Client] = {}
        self.connections = 0
        self.refused: dict[str, int] = {"server_busy": 0, "client_connections": 0}
        self.timeouts: dict[str, int] = {"idle": 0, "head": 0, "body": 0, "write": 0}
        self._logged: dict[tuple[str, str], float] = {}
        self._answered: dict[str, float] = {}

    def admit(self, address: str) -> str | None:
        """Count a new connection from ``address``; return why it is refused (then it is not counted), or None.

        A client that is refused again within a second gets ``"again"``: it was told why a moment ago, so its
        connection is cut off without an answer, which costs the hall the least during a flood."""
        client = self.clients.get(address)
        if self.connections >= self.limits.max_connections:
            reason = "server_busy"
        elif client is not None and client.connections >= self.limits.client_connections:
            reason = "client_connections"
        else:
            if client is None:
                client = self.clients[address] = Client()
            client.connections += 1
            self.connections += 1
            return None
        self.refused[reason] += 1
        self._log_refusal(address, reason)
        now = time.monotonic()
        if now - self._answered.get(address, -REFUSAL_ANSWER_EVERY_S) < REFUSAL_ANSWER_EVERY_S:
            return "again"
        self._answered[address] = now
        if len(self._answered) > 1000:
            self._answered = {a: t for a, t in self._answered.items() if now - t < REFUSAL_ANSWER_EVERY_S}
        return reason

    def release(self, address: str) -> None:
        """A connection from ``address`` closed."""
        client = self.clients.get(address)
        if client is None:
            return
        client.connections -= 1
        self.connections -= 1
        if client.connections <= 0 and client.requests <= 0:
            del self.clients[address]

    def start_request(self, address: str, connection) -> bool:
        """A request of ``address`` is ready for the app: True when it may run now; otherwise ``connection``
        waits its turn (it is handed back by :meth:`end_request`)."""
        client = self.clients.setdefault(address, Client())
        if client.requests >= self.limits.client_requests:
            client.waiting.append(connection)
            return False
        client.requests += 1
        return True

    def end_request(self, address: str):
        """A request of ``address`` was answered; return the connection whose request runs next (already
        counted as running), or None."""
        client = self.clients.get(address)
        if client is None:
            return None
        client.requests -= 1
        while client.waiting:
            connection = client.waiting.pop(0)
            if connection.open:
                client.requests += 1
                return connection
        if client.connections <= 0 and client.requests <= 0:
            del self.clients[address]
        return None

    def _log_refusal(self, address: str, reason: str) -> None:
        now = time.monotonic()
        key = (address, reason)
        if now - self._logged.get(key, -REFUSAL_LOG_EVERY_S) >= REFUSAL_LOG_EVERY_S:
            self._logged[key] = now
            if len(self._logged) > 1000:  # forget old entries: many addresses must not grow this without end
                self._logged = {k: t for k, t in self._logged.items() if now - t < REFUSAL_LOG_EVERY_S}
            log.warning("refused a connection from %s (%s; %d connections open)", address,
                        "the server is at its connection limit" if reason == "server_busy" else
                        f"that address already has {self.limits.client_connections} connections", self.connections)

    def stats(self) -> dict:
        """Counts for /metrics (read from other threads; each value is one int)."""
        return {"connections": self.connections, "clients": len(self.clients), "refused": dict(self.refused),
                "timeouts": dict(self.timeouts)}
