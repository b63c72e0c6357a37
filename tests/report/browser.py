"""Render a report page in headless Debian Chromium (never `playwright install`): console errors,
failed requests, every <img>'s natural size, and a full-page screenshot."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Rendered:
    errors: list[str] = field(default_factory=list)  # console errors, page errors, failed loads
    images: list[dict[str, object]] = field(default_factory=list)  # src prefix, naturalWidth, ...
    title: str = ""
    text: str = ""
    screenshot: Path | None = None


def render(page_path: Path, screenshot_name: str) -> Rendered:
    """Open `page_path` (file://) in headless Chromium and collect what a reader would see."""
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: run `make system` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    out = Rendered()
    ARTIFACTS.mkdir(exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="sl-chromium-"))
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(profile),
                executable_path=str(CHROMIUM),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1280, "height": 900},
            )
            try:
                page = context.new_page()
                page.on(
                    "console", lambda m: out.errors.append(m.text) if m.type == "error" else None
                )
                page.on("pageerror", lambda e: out.errors.append(f"page error: {e}"))
                page.on("requestfailed", lambda r: out.errors.append(f"failed: {r.url[:80]}"))
                page.goto(page_path.resolve().as_uri(), wait_until="load", timeout=60_000)
                out.title = page.title()
                out.text = page.inner_text("body")
                out.images = page.eval_on_selector_all(
                    "img",
                    "imgs => imgs.map(i => ({src: i.src.slice(0, 30), complete: i.complete, "
                    "naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, "
                    "shownWidth: i.getBoundingClientRect().width}))",
                )
                out.screenshot = ARTIFACTS / f"{screenshot_name}.png"
                page.screenshot(path=str(out.screenshot), full_page=True)
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return out
