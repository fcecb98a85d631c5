"""What every answer carries against a hostile network: no framing, a script policy, no sniffing, no referrer,
and redirects that never send a browser to the host a client named in its ``Host`` header."""
import pytest
import requests

from browser import KIOSK, watch
from kiosk.api.headers import path_only

API = "/api/v1"
SECURITY = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@pytest.mark.parametrize("path, status", [
    ("/", 200), ("/kiosk", 200), ("/admin", 200), ("/guide", 200), ("/display", 200), ("/sim", 200),
    ("/counter/1", 200), ("/t/1", 200), ("/static/hall.css", 200), ("/static/common.js", 200),
    (f"{API}/services", 200), (f"{API}/config", 401), (f"{API}/nothing-here", 404), ("/health", 200),
    ("/metrics", 200),
])
def test_every_answer_carries_the_security_headers(client, take, path, status):
    """With one ticket taken, each kind of answer (pages, static files, JSON, errors, health, metrics) says it
    may not be framed, must not be sniffed, sends no referrer, and carries the policy that allows only the
    hall's own scripts, styles and API and no framing."""
    take()
    resp = client.get(path)
    assert resp.status_code == status
    for name, value in SECURITY.items():
        assert resp.headers[name] == value, name
    policy = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_the_ticket_preview_may_use_its_own_stylesheet_and_nothing_else(client, take, tech):
    """The ticket preview (an HTML page with its stylesheet inline and the QR code as inline SVG) gets a policy
    that allows its inline style but no script, no image or connection from anywhere, and no framing."""
    ticket = take()
    resp = client.get(f"{API}/tickets/{ticket['id']}/preview", headers=tech)
    assert resp.status_code == 200 and "<svg" in resp.get_data(as_text=True)
    policy = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "style-src 'unsafe-inline'" in policy
    assert "script-src" not in policy and "frame-ancestors 'none'" in policy
    assert resp.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path, target", [
    (f"{API}//services", f"{API}/services"),
    (f"{API}//display?x=1", f"{API}/display?x=1"),
    ("/counter//1", "/counter/1"),
])
def test_a_redirect_never_names_the_host_the_client_sent(live, path, target):
    """A client sends ``Host: evil.example`` and a path with a doubled slash, which the hall redirects to the
    path with one slash: the Location is that path alone (so the browser stays on the hall), and the
    answer's body does not name evil.example either."""
    resp = requests.get(live + path, headers={"Host": "evil.example"}, allow_redirects=False, timeout=5)
    assert resp.is_redirect, (resp.status_code, resp.text[:200])
    assert resp.headers["Location"] == target
    assert "evil.example" not in resp.text
    assert resp.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("location, path", [
    ("http://evil.example/api/v1/services?x=1", "/api/v1/services?x=1"),
    ("//evil.example/kiosk", "/kiosk"),
    ("/\\evil.example/kiosk", "/evil.example/kiosk"),
    ("https://evil.example", "/"),
    ("/api/v1/tickets/7", "/api/v1/tickets/7"),
])
def test_the_location_rule_leaves_no_host_a_browser_would_follow(location, path):
    """Whatever Location a redirect is built with — a full URL, a scheme-relative ``//host`` or the ``/\\host``
    that browsers read the same way — the hall sends only a path that stays on the hall."""
    assert path_only(location) == path


def test_a_new_tickets_location_is_a_path_on_the_hall(live):
    """A ticket issued through a request with ``Host: evil.example`` answers 201 with
    ``Location: /api/v1/tickets/1``: a path on the hall, whatever host the client named."""
    resp = requests.post(live + f"{API}/tickets", json={"service": "general"}, headers={"Host": "evil.example"},
                         timeout=5)
    assert resp.status_code == 201
    assert resp.headers["Location"] == f"{API}/tickets/{resp.json()['id']}"


def test_a_policy_violation_on_a_page_is_caught_by_the_browser_tests(browser, live):
    """The kiosk page in Chromium works under the hall's policy (no violation while it loads); when a script
    then gives an element an inline style (which the policy refuses), the watcher the screen tests use records
    the violation, so such a page fails its test."""
    context = browser.new_context(viewport=KIOSK, locale="zh-CN")
    try:
        page = context.new_page()
        errors: list[str] = []
        watch(page, "/kiosk", errors)
        page.goto(live + "/kiosk")
        page.wait_for_selector(".service-button")
        assert errors == []
        with page.expect_console_message(lambda msg: "Content Security Policy" in msg.text):
            page.evaluate("document.body.setAttribute('style', 'background: red')")
        assert len(errors) == 1 and "Content Security Policy" in errors[0], errors
    finally:
        context.close()


def test_the_index_page_works_under_the_policy(open_page, take):
    """The index page (links to every screen) loads in Chromium with its links listed and no policy violation
    or script error (the other pages are opened by the screen tests, which check the same)."""
    page = open_page("/", KIOSK)
    page.wait_for_selector("#links li a")


def test_the_ticket_preview_shows_in_a_browser_under_its_policy(browser, live, take, token):
    """A technician's browser opens the preview of ticket A001: the number shows in the page's own (inline)
    style, large, with the QR code drawn, and the browser reports no policy violation."""
    ticket = take()
    context = browser.new_context(viewport=KIOSK, extra_http_headers=token("technician"))
    try:
        page = context.new_page()
        errors: list[str] = []
        watch(page, "preview", errors)
        page.goto(f"{live}{API}/tickets/{ticket['id']}/preview")
        number = page.locator("p.n")
        assert number.inner_text() == "A001"
        assert float(number.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) > 40  # 4em: inline CSS
        assert page.locator("svg").first.bounding_box()["width"] > 50
        assert errors == []
    finally:
        context.close()
