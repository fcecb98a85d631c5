"""Tokens from the technician console (GET/POST /tokens, DELETE /tokens/{id}): a new token works at once and is
shown only in the answer that creates it; a revoked one stops working at once; nobody else may manage them."""
import pytest

from util import assert_error

API = "/api/v1"


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def test_counter_token_created_on_the_console_works_for_its_counter_only(client, tech, take):
    """The technician creates a token for counter 3 labelled "counter 3 PC": the answer shows it once; with it
    counter 3 calls the next customer, while counter 2 is refused."""
    resp = client.post(f"{API}/tokens", json={"role": "counter", "counter": 3, "label": "counter 3 PC"}, headers=tech)
    assert resp.status_code == 201
    created = resp.get_json()
    assert (created["role"], created["counter"], created["label"]) == ("counter", 3, "counter 3 PC")
    assert created["token"].startswith("hk_")
    take("general")
    assert client.post(f"{API}/counters/3/next", headers=bearer(created["token"])).status_code == 200
    assert_error(client.post(f"{API}/counters/2/next", headers=bearer(created["token"])), 403, "wrong_counter")


def test_listing_shows_every_token_but_never_a_token_itself(client, tech):
    """After a guide token is created, the list has the technician's and the guide's entries with role, label
    and time, and nowhere the token text (nor its stored hash)."""
    created = client.post(f"{API}/tokens", json={"role": "guide", "label": "front desk"}, headers=tech).get_json()
    listed = client.get(f"{API}/tokens", headers=tech)
    assert listed.status_code == 200
    entries = listed.get_json()["tokens"]
    assert [e["role"] for e in entries] == ["technician", "guide"]
    assert entries[1] == {k: created[k] for k in ("id", "role", "counter", "label", "created_at")}
    assert created["token"] not in listed.get_data(as_text=True)
    assert all(set(e) == {"id", "role", "counter", "label", "created_at"} for e in entries)


def test_revoked_token_is_refused_from_its_next_request(client, tech):
    """A guide token is revoked: 204, then the guide's next request gets 401 invalid_token, and the token is
    gone from the list; revoking it again is 404 unknown_token."""
    created = client.post(f"{API}/tokens", json={"role": "guide"}, headers=tech).get_json()
    vip = {"service": "general", "priority": "vip"}
    assert client.post(f"{API}/tickets", json=vip, headers=bearer(created["token"])).status_code == 201
    assert client.delete(f"{API}/tokens/{created['id']}", headers=tech).status_code == 204
    assert_error(client.post(f"{API}/tickets", json=vip, headers=bearer(created["token"])), 401, "invalid_token")
    assert created["id"] not in [e["id"] for e in client.get(f"{API}/tokens", headers=tech).get_json()["tokens"]]
    assert_error(client.delete(f"{API}/tokens/{created['id']}", headers=tech), 404, "unknown_token")


def test_technician_cannot_revoke_the_token_they_are_signed_in_with(client, tech):
    """Revoking one's own token would lock the console out: 409 own_token, and the token still works."""
    own = client.get(f"{API}/tokens", headers=tech).get_json()["tokens"][0]["id"]
    assert_error(client.delete(f"{API}/tokens/{own}", headers=tech), 409, "own_token")
    assert client.get(f"{API}/tokens", headers=tech).status_code == 200


@pytest.mark.parametrize("body, status, code", [
    ({"role": "boss"}, 400, "bad_role"),
    ({"role": "counter"}, 400, "counter_required"),
    ({"role": "guide", "counter": 2}, 400, "unexpected_counter"),
    ({"role": "counter", "counter": 9}, 400, "unknown_counter"),
    ({"role": "counter", "counter": "3"}, 400, "bad_field"),
    ({"role": "guide", "label": "x" * 81}, 400, "bad_field"),
    ({"role": "guide", "owner": "me"}, 400, "unknown_field"),
    ({}, 400, "missing_field"),
])
def test_bad_token_requests_are_refused_and_create_nothing(client, tech, body, status, code):
    """Each bad request is refused with its code and a message, and no token is added."""
    before = client.get(f"{API}/tokens", headers=tech).get_json()["tokens"]
    assert_error(client.post(f"{API}/tokens", json=body, headers=tech), status, code)
    assert client.get(f"{API}/tokens", headers=tech).get_json()["tokens"] == before


@pytest.mark.parametrize("role, counter", [("guide", None), ("manager", None), ("counter", 1)])
def test_only_technicians_manage_tokens(client, token, role, counter):
    """Guide, manager and counter tokens get 403 wrong_role on every token call; without a token it is 401."""
    headers = token(role, counter)
    assert_error(client.get(f"{API}/tokens", headers=headers), 403, "wrong_role")
    assert_error(client.post(f"{API}/tokens", json={"role": "technician"}, headers=headers), 403, "wrong_role")
    assert_error(client.delete(f"{API}/tokens/1", headers=headers), 403, "wrong_role")
    assert_error(client.get(f"{API}/tokens"), 401, "token_required")
