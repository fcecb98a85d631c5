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


def test_printed_link_opens_the_tickets_status_page(hall, client):
    """The link printed on a ticket (/t/<id>) opens the status page of that ticket; an unknown ticket is 404.
    (What the page shows, live, is tested in the browser: tests/test_screens.py.)"""
    client.post("/api/v1/tickets", json={"service": "general"})
    second = client.post("/api/v1/tickets", json={"service": "general"}).json
    assert f"/t/{second['id']}" in hall.devices.printer.printed[-1]
    page = client.get(f"/t/{second['id']}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f'data-ticket="{second["id"]}"' in page.get_data(as_text=True)
    assert client.get("/t/999").status_code == 404


def test_a_ticket_whose_printing_failed_after_it_was_called_is_voided_and_leaves_the_counter(hall, client, token):
    """In the moment between issue and a print failure a counter may call the ticket; voiding it still works,
    and the counter's board no longer shows a number nobody holds."""
    from kiosk import tickets

    ticket = client.post("/api/v1/tickets", json={"service": "general"}).json
    client.post("/api/v1/counters/1/next", headers=token("counter", 1))
    wait_until(lambda: hall.devices.get("counter-1-led").text.lines == ("A001",))
    hall.writer.run(tickets.void, ticket["id"], "paper jammed")
    assert client.get(f"/api/v1/tickets/{ticket['id']}").json["status"] == "void"
    assert client.get("/api/v1/counters/1", headers=token("counter", 1)).json["current"] is None
    wait_until(lambda: hall.devices.get("counter-1-led").text.lines == ("",))
