"""Headless Chromium for the screen tests: Debian's /usr/bin/chromium driven by Playwright (no browser download).

One browser per test session; each page gets its own context (its own storage) at a screen size, and its
screenshots land in test-artifacts/screens/ and are checked to show something.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageStat

CHROMIUM = "/usr/bin/chromium"
# Without the networking switches Chromium reaches for Google's services, which this closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screens"

# The screens' target sizes.
TV = {"width": 1920, "height": 1080}
KIOSK = {"width": 1280, "height": 800}
TABLET = {"width": 800, "height": 1280}
PHONE = {"width": 390, "height": 844}


def launch(playwright):
    """Start the session's Chromium (Playwright gives it a fresh, temporary profile)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def watch(page, path: str, errors: list) -> None:
    """Record on ``errors`` every script error of ``page`` and every Content-Security-Policy violation (Chromium
    reports those as console errors: "Refused to ... because it violates the following Content Security
    Policy directive ..."), so a page that the hall's policy breaks fails its test."""
    page.on("pageerror", lambda exc: errors.append(f"{path}: {exc}"))

    def console(msg) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:
            errors.append(f"{path}: {msg.text}")
    page.on("console", console)


def screenshot(page, name: str) -> Path:
    """Save the page as test-artifacts/screens/NAME.png and check the picture is not blank; return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    with Image.open(path) as image:
        assert image.size == (page.viewport_size["width"], page.viewport_size["height"])
        gray = image.convert("L")
        low, high = gray.getextrema()
        assert high - low > 64, f"{name}: the screenshot is nearly one colour"
        assert ImageStat.Stat(gray).stddev[0] > 8, f"{name}: the screenshot shows almost nothing"
        assert len(gray.getcolors(maxcolors=65536) or range(65536)) > 16, f"{name}: too few shades to be a page"
    return path
