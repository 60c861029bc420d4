"""Render a local HTML file in the system's headless Chromium, driven by Playwright; record the page's requests.

Playwright reports every request the page itself makes (documents, images, styles, fonts, scripts, fetches),
whatever the scheme; the browser's own background traffic (updates, time sync) is not the page's and is not
reported. ``data:`` URIs are not requests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium_path() -> str:
    """The Chromium executable, or skip the test with the reason."""
    for c in CANDIDATES:
        if Path(c).exists():
            return c
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    pytest.skip("no Chromium on this machine: `make test` installs Debian's chromium when run as root "
                "(target `browser`); or run apt-get install chromium")


def render(html: Path, png: Path, width: int = 1200, height: int = 900) -> tuple[str, list[str]]:
    """Open ``html``, take a full-page screenshot to ``png`` and read the page's text.

    Returns:
        ``(the body's text as the browser lays it out, URLs of every request the page made except itself)``.
    """
    exe = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: pip install -e '.[dev]'")
    own = html.resolve().as_uri()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(own, wait_until="load")
            page.wait_for_timeout(300)
            page.screenshot(path=str(png), full_page=True)
            text = page.inner_text("body")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        finally:
            browser.close()
    assert overflow <= 1, f"the page is {overflow}px wider than a {width}px window: it would scroll sideways"
    return text, [u for u in requests if u != own and not u.startswith("data:")]


def blank_share(png: Path) -> tuple[float, int]:
    """Share of the screenshot's pixels that are (near) white, and the number of distinct colours."""
    import numpy as np
    from PIL import Image

    im = Image.open(png).convert("RGB")
    im.thumbnail((600, 3000))
    px = np.asarray(im).reshape(-1, 3)
    white = int((px > 245).all(axis=1).sum())
    return white / len(px), len(np.unique(px, axis=0))
