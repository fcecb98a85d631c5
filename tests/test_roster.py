"""The Starlight roster: importing it (CSV or JSON) with per-row reasons and branch quotas, the masked listing,
checking an agent at the kiosk, revoking at once, and keeping names and codes off every public answer.

The hall's day is 2026-11-23 (the `clock` fixture).
"""
import csv
import io
import json

import pytest

from kiosk.api import create_app
from util import assert_error

API = "/api/v1"
COLUMNS = ["agent_code", "name", "branch", "valid_from", "valid_until", "revoked", "revoked_reason"]
VALID = ("2026-10-01", "2027-03-31")       # contains today, under six months
EXPIRED = ("2026-01-01", "2026-06-30")
FUTURE = ("2026-12-01", "2027-05-31")


def row(code, name="张三丰", branch="haidian", valid=VALID, revoked="") -> dict:
    return {"agent_code": code, "name": name, "branch": branch, "valid_from": valid[0], "valid_until": valid[1],
            "revoked": revoked}


def as_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(client, tech, rows: list[dict], fmt: str = "csv"):
    """PUT the rows as CSV or JSON."""
    if fmt == "csv":
        return client.put(f"{API}/roster/starlight", data=as_csv(rows), headers={**tech, "Content-Type": "text/csv"})
    return client.put(f"{API}/roster/starlight", json=rows, headers=tech)


def listing(client, tech) -> list[dict]:
    resp = client.get(f"{API}/roster/starlight", headers=tech)
    assert resp.status_code == 200
    return resp.json["agents"]


def starlight(client, code, service="general"):
    body = {"service": service, "priority": "starlight"}
    if code is not None:
        body["agent_code"] = code
    return client.post(f"{API}/tickets", json=body)


def waiting_total(client) -> int:
    return sum(s["waiting"] for s in client.get(f"{API}/services").json["services"])



# -- import --------------------------------------------------------------------------------------------------

BAD_ROWS = [
    # (label, bad row, rejection code)
    ("unknown branch", row("SL0102", branch="tongzhou"), "unknown_branch"),
    ("date not a date", row("SL0102", valid=("2026-13-01", "2027-03-31")), "bad_date"),
    ("date with slashes", row("SL0102", valid=("2026/10/01", "2027/03/31")), "bad_date"),
    ("30 February", row("SL0102", valid=("2026-10-01", "2027-02-30")), "bad_date"),
    ("valid_until before valid_from", row("SL0102", valid=("2027-03-31", "2026-10-01")), "bad_dates"),
    ("longer than six months", row("SL0102", valid=("2026-10-01", "2027-06-01")), "too_long"),
    ("a whole year", row("SL0102", valid=("2026-01-01", "2026-12-31")), "too_long"),
    ("duplicate code", row("SL0101", name="李四"), "duplicate"),
    ("missing name", row("SL0102", name=""), "missing_field"),
    ("missing code", row(""), "missing_field"),
    ("missing valid_until", {**row("SL0102"), "valid_until": ""}, "missing_field"),
    ("code with spaces", row("SL 0102"), "bad_agent_code"),
    ("revoked is not yes/no", row("SL0102", revoked="maybe"), "bad_field"),
]


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("label, bad, reason", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_import_reports_each_rejected_row_with_reason(client, tech, fmt, label, bad, reason):
    """A roster of a valid row SL0101 and one bad row is imported (CSV or JSON): the answer counts 1 accepted
    and 1 rejected, and the rejection names row 2 with its reason code and a sentence; only SL0101 is listed."""
    resp = upload(client, tech, [row("SL0101"), bad], fmt)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["accepted"] == 1 and resp.json["rejected"] == 1
    [rejection] = resp.json["rejections"]
    assert rejection["row"] == 2 and rejection["code"] == reason
    assert rejection["reason"]
    assert [a["agent_code"] for a in listing(client, tech)] == ["SL**01"]


def test_json_row_without_a_column_is_rejected(client, tech):
    """A JSON roster row that lacks the `branch` key entirely is rejected as `missing_field`."""
    bad = row("SL0102")
    del bad["branch"]
    resp = upload(client, tech, [row("SL0101"), bad], "json")
    assert resp.json["accepted"] == 1 and resp.json["rejections"][0]["code"] == "missing_field"


def test_json_roster_wrapped_in_rows_object_is_accepted(client, tech):
    """A JSON upload of the form {"rows": [...]} is read like a plain list."""
    resp = client.put(f"{API}/roster/starlight", json={"rows": [row("SL0101"), row("SL0102")]}, headers=tech)
    assert resp.status_code == 200 and resp.json["accepted"] == 2 and resp.json["rejected"] == 0


def test_branch_may_be_given_by_its_chinese_name(client, tech):
    """A row whose branch is "石景山" (the branch's name) is accepted and listed under the id `shijingshan`."""
    resp = upload(client, tech, [row("SL0101", branch="石景山")])
    assert resp.json["accepted"] == 1
    assert listing(client, tech)[0]["branch"] == "shijingshan"


def test_branch_quota_rejects_rows_past_it_in_file_order(client, tech):
    """Shijingshan's quota is 6: of 7 valid Shijingshan rows, the 7th in the file is rejected `quota_full`, the
    first six are accepted, and a Haidian row after them is still accepted (quotas are per branch)."""
    rows = [row(f"SJ{i:04d}", branch="shijingshan") for i in range(1, 8)] + [row("HD0001")]
    resp = upload(client, tech, rows)
    assert resp.json["accepted"] == 7 and resp.json["rejected"] == 1
    [rejection] = resp.json["rejections"]
    assert rejection["row"] == 7 and rejection["code"] == "quota_full"
    assert "shijingshan" in rejection["reason"]
    codes = {a["agent_code"] for a in listing(client, tech)}
    assert "SJ**07" not in codes and "SJ**06" in codes and "HD**01" in codes
    assert_error(starlight(client, "SJ0007"), 403, "starlight_unknown")
    assert starlight(client, "SJ0006").status_code == 201


def test_revoked_and_expired_rows_do_not_count_toward_quota(client, tech):
    """Two revoked and two expired Shijingshan rows come first in the file; the six current rows after them all
    fit in the quota of 6: all ten rows are accepted."""
    rows = [row("SJ0901", branch="shijingshan", revoked="yes"),
            row("SJ0902", branch="shijingshan", revoked="是"),
            row("SJ0903", branch="shijingshan", valid=EXPIRED),
            row("SJ0904", branch="shijingshan", valid=EXPIRED)]
    rows += [row(f"SJ{i:04d}", branch="shijingshan") for i in range(1, 7)]
    resp = upload(client, tech, rows)
    assert resp.json == {"accepted": 10, "rejected": 0, "rejections": [], "rejections_omitted": 0}
    valid_today = [a for a in listing(client, tech) if a["valid_today"]]
    assert len(valid_today) == 6


def test_all_rejected_upload_keeps_old_roster(client, tech):
    """A roster with SL0101 is in force; an upload whose every row is bad gets 422 `roster_rejected` with the
    rejections, and SL0101 still gets a Starlight ticket."""
    assert upload(client, tech, [row("SL0101")]).json["accepted"] == 1
    resp = upload(client, tech, [row("SL0201", branch="tongzhou"), row("SL0202", valid=("x", "y"))])
    err = assert_error(resp, 422, "roster_rejected")
    assert [r["code"] for r in err["rejected"]] == ["unknown_branch", "bad_date"]
    assert [a["agent_code"] for a in listing(client, tech)] == ["SL**01"]
    assert starlight(client, "SL0101").status_code == 201


def big_bad_csv(bad_rows: int, good: bool) -> bytes:
    """A CSV of ``bad_rows`` rows naming a branch the hall does not have (after one good row, SL0101, if
    ``good``): about 1.9 MB for 20,000 bad rows."""
    lines = ["agent_code,name,branch,valid_from,valid_until"]
    if good:
        lines.append(f"SL0101,张三丰,haidian,{VALID[0]},{VALID[1]}")
    lines += [f"BR{i:05d},王小明,branch-{i:05d}-that-is-not-in-the-config-of-this-hall-at-all,{VALID[0]},{VALID[1]}"
              for i in range(bad_rows)]
    return ("\n".join(lines) + "\n").encode()


def test_a_big_file_of_bad_rows_gets_a_small_answer(client, tech):
    """A 1.9 MB CSV with one good row and 20,000 rows of an unknown branch is imported: the answer counts
    1 accepted and all 20,000 rejected, lists the first 100 rejections (rows 2 to 101) and says 19,900 more
    were left out, and stays under 30 KB (it was 3.6 MB)."""
    body = big_bad_csv(20_000, good=True)
    assert len(body) > 1_800_000
    resp = client.put(f"{API}/roster/starlight", data=body, headers={**tech, "Content-Type": "text/csv"})
    assert resp.status_code == 200
    assert resp.json["accepted"] == 1 and resp.json["rejected"] == 20_000
    assert [r["row"] for r in resp.json["rejections"]] == list(range(2, 102))
    assert resp.json["rejections_omitted"] == 19_900
    assert len(resp.get_data()) < 30_000
    assert starlight(client, "SL0101").status_code == 201


def test_a_big_file_of_only_bad_rows_gets_a_small_refusal(client, tech):
    """The same file without its good row is refused with 422 `roster_rejected`, which lists the first 100
    rejections and says 19,900 more were left out, in under 30 KB."""
    resp = client.put(f"{API}/roster/starlight", data=big_bad_csv(20_000, good=False),
                      headers={**tech, "Content-Type": "text/csv"})
    err = assert_error(resp, 422, "roster_rejected")
    assert len(err["rejected"]) == 100 and err["rejected"][0]["row"] == 1
    assert err["rejections_omitted"] == 19_900
    assert len(resp.get_data()) < 30_000


def test_a_rejection_quotes_a_huge_value_only_in_part(client, tech):
    """A row whose branch is 900,000 characters and a row whose code is 100,000 characters are rejected: the
    first reason quotes only the first 40 characters of the branch, the second code is masked to 32."""
    rows = [row("SL0101"), row("SL0102", branch="x" * 900_000), row("S" * 100_000)]
    resp = upload(client, tech, rows, "json")
    assert resp.status_code == 200 and resp.json["rejected"] == 2
    branch, code = resp.json["rejections"]
    assert branch["code"] == "unknown_branch" and f"'{'x' * 40}…'" in branch["reason"]
    assert len(branch["reason"]) < 120
    assert code["code"] == "bad_agent_code" and code["agent_code"] == "SS" + "*" * 28 + "SS"
    assert len(resp.get_data()) < 2_000


def test_import_replaces_the_whole_roster(client, tech):
    """A new roster without SL0101 replaces the old one: SL0101 is no longer known at the kiosk."""
    upload(client, tech, [row("SL0101")])
    assert upload(client, tech, [row("SL0102")]).json["accepted"] == 1
    assert_error(starlight(client, "SL0101"), 403, "starlight_unknown")
    assert starlight(client, "SL0102").status_code == 201



@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_empty_upload_keeps_the_old_roster(client, tech, fmt):
    """A roster with no rows (a CSV with only its header, or an empty JSON list) is refused with 422
    `roster_empty`: an accidental empty file must not strip every agent of their priority."""
    upload(client, tech, [row("SL0101")])
    if fmt == "csv":
        resp = client.put(f"{API}/roster/starlight", data="agent_code,name,branch,valid_from,valid_until\n",
                          headers={**tech, "Content-Type": "text/csv"})
    else:
        resp = upload(client, tech, [], "json")
    assert_error(resp, 422, "roster_empty")
    assert starlight(client, "SL0101").status_code == 201

# -- the masked listing ---------------------------------------------------------------------------------------

def test_roster_listing_masks_names_and_codes(client, tech, token):
    """The roster listing (technician or manager) shows "张**" for 张三丰 and "SL**42" for SL0042, and the answer
    never contains a full name or a full code."""
    upload(client, tech, [row("SL0042", name="张三丰"), row("SLX-2026-77", name="欧阳娜娜", branch="xicheng")])
    for headers in (tech, token("manager")):
        resp = client.get(f"{API}/roster/starlight", headers=headers)
        text = resp.get_data(as_text=True)
        for secret in ("SL0042", "张三丰", "SLX-2026-77", "欧阳娜娜", "三丰", "娜娜"):
            assert secret not in text
        by_branch = {a["branch"]: a for a in resp.json["agents"]}
        assert by_branch["haidian"]["name"] == "张**" and by_branch["haidian"]["agent_code"] == "SL**42"
        assert by_branch["xicheng"]["name"].startswith("欧") and by_branch["xicheng"]["agent_code"] == "SL*******77"


def test_import_answer_masks_codes_of_rejected_rows(client, tech):
    """The import answer names a rejected row's code only masked, and never the agent's name."""
    resp = upload(client, tech, [row("SL0101"), row("SL0999", name="赵六六", branch="tongzhou")])
    text = resp.get_data(as_text=True)
    assert "SL0999" not in text and "赵六六" not in text
    assert resp.json["rejections"][0]["agent_code"] == "SL**99"


# -- at the kiosk ---------------------------------------------------------------------------------------------

@pytest.fixture
def roster(client, tech):
    """SL0101 valid, SL0102 expired on 2026-06-30, SL0103 revoked, SL0104 valid from 2026-12-01."""
    resp = upload(client, tech, [row("SL0101"), row("SL0102", valid=EXPIRED),
                                 {**row("SL0103", revoked="yes"), "revoked_reason": "quality"},
                                 row("SL0104", valid=FUTURE)])
    assert resp.json["accepted"] == 4


def test_valid_agent_gets_a_starlight_ticket(client, roster):
    """SL0101, valid today, takes a Starlight ticket at the kiosk: 201, priority starlight."""
    resp = starlight(client, "SL0101")
    assert resp.status_code == 201 and resp.json["priority"] == "starlight"


@pytest.mark.parametrize("code, status, error, words", [
    ("SL9999", 403, "starlight_unknown", "not on the Starlight roster"),
    ("SL0102", 403, "starlight_expired", "2026-06-30"),
    ("SL0103", 403, "starlight_revoked", "revoked"),
    ("SL0104", 403, "starlight_not_yet_valid", "2026-12-01"),
    (None, 400, "agent_code_required", "code"),
    ("", 400, "agent_code_required", "code"),
])
def test_starlight_ticket_refused_with_a_reason(client, roster, code, status, error, words):
    """An unknown, expired, revoked or not-yet-valid code (or none) gets no Starlight ticket: the status and
    code say why, the message says it in words (with the expiry date for an expired one), and nothing waits."""
    err = assert_error(starlight(client, code), status, error)
    assert words in err["message"]
    assert waiting_total(client) == 0


def test_revoke_takes_effect_at_once(client, tech, roster):
    """SL0101 takes a Starlight ticket; a technician revokes SL0101; its next try is refused with 403
    `starlight_revoked`, and the listing shows it revoked and not valid today."""
    assert starlight(client, "SL0101").status_code == 201
    resp = client.post(f"{API}/roster/starlight/SL0101/revoke", json={"reason": "complaint confirmed"},
                       headers=tech)
    assert resp.status_code == 200 and resp.json == {"revoked": "SL**01"}
    assert_error(starlight(client, "SL0101"), 403, "starlight_revoked")
    entry = next(a for a in listing(client, tech) if a["agent_code"] == "SL**01")
    assert entry["revoked"] is True and entry["valid_today"] is False


def test_expired_agent_is_refused_once_the_day_passes(client, tech, clock):
    """An agent valid until 2026-11-23 gets a ticket today; the next day (after 06:00) the code is refused
    with `starlight_expired` naming 2026-11-23."""
    upload(client, tech, [row("SL0101", valid=("2026-06-01", "2026-11-23"))])
    assert starlight(client, "SL0101").status_code == 201
    clock.advance(24 * 3600)
    err = assert_error(starlight(client, "SL0101"), 403, "starlight_expired")
    assert "2026-11-23" in err["message"]


# -- no personal data in public answers ------------------------------------------------------------------------

def test_no_public_answer_contains_agent_name_or_code(hall, client, tech):
    """Agent 张三丰 (SL0042) takes a Starlight ticket that counter 1 calls and recalls: the ticket answers,
    the display, the services, the event stream and the printed ticket never hold the name or the code."""
    upload(client, tech, [row("SL0042", name="张三丰")])
    issued = starlight(client, "SL0042", service="claims")
    assert issued.status_code == 201
    tid = issued.json["id"]
    called = client.post(f"{API}/counters/1/next", headers=tech)
    assert called.json["id"] == tid
    client.post(f"{API}/counters/1/recall", headers=tech)
    stream = create_app(hall, {"STREAM_MAX_S": 0}).test_client().get(f"{API}/events?after=0")
    events = stream.get_data(as_text=True)
    assert "event: called" in events and issued.json["number"] in events
    answers = {
        "issue": issued.get_data(as_text=True),
        "call": called.get_data(as_text=True),
        "status": client.get(f"{API}/tickets/{tid}").get_data(as_text=True),
        "counter": client.get(f"{API}/counters/1", headers=tech).get_data(as_text=True),
        "display": client.get(f"{API}/display").get_data(as_text=True),
        "services": client.get(f"{API}/services").get_data(as_text=True),
        "events": events,
        "printed": "\n".join(hall.devices.get("ticket-printer").printed),
    }
    assert issued.json["number"] in answers["printed"]
    for where, text in answers.items():
        for secret in ("SL0042", "张三丰", "三丰"):
            assert secret not in text, where
        assert "agent_code" not in json.dumps(text), where
