"""The shortest path through the hall: a customer takes a ticket and a counter calls it."""
from util import wait_until


def test_ticket_taken_at_kiosk_is_called_by_counter_and_shown_on_its_board(hall, client, token):
    """A kiosk ticket for general business is A001; counter 1 calls it; its LED board shows A001."""
    issued = client.post("/api/v1/tickets", json={"service": "general"})
    assert issued.status_code == 201
    assert issued.json["number"] == "A001"
    called = client.post("/api/v1/counters/1/next", headers=token("counter", 1))
    assert called.status_code == 200
    assert called.json["number"] == "A001" and called.json["counter"] == 1
    wait_until(lambda: hall.devices.get("counter-1-led").text.lines == ("A001",))
