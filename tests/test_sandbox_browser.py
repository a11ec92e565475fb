"""One end-to-end run of the sandbox page in real headless Chromium (Debian's, no browser download)."""

from __future__ import annotations

import os
import shutil

import pytest
from aiohttp.test_utils import TestServer

from bot.app import build_runtime, build_web_app, seed_sandbox
from bot.clock import system_clock
from bot.config import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.browser


@pytest.fixture
def chromium_path() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip("Debian chromium not installed")
    return CHROMIUM


async def test_rep_pastes_chat_toggles_tag_and_confirms(tmp_path, chromium_path):
    from playwright.async_api import async_playwright

    settings = Settings(database_url=f"sqlite:///{tmp_path}/g.db", data_dir=tmp_path / "var",
                        worker_poll_seconds=0.05)
    runtime = build_runtime(settings, clock=system_clock)
    seed_sandbox(runtime)
    server = TestServer(build_web_app(runtime, sandbox=True), host="127.0.0.1")
    await server.start_server()
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=chromium_path, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            )
            page = await browser.new_page()
            await page.goto(str(server.make_url("/")))
            await page.wait_for_selector("#member option", state="attached")
            assert await page.locator("#member option").count() == 3
            chat = "华康医疗的蔡经理说价格太高了，要我们重新报价，电话 13912345678，明天上午十点再打电话"
            await page.fill("#text", chat)
            await page.click("#send")
            card = page.locator(".card").last
            await card.wait_for(timeout=15_000)
            assert "13912345678" in await card.inner_text()
            selected = card.locator(".tags button.on")
            assert "要报价" in await selected.all_inner_texts()
            await card.locator(".tags button", has_text="要演示").click()
            updated = page.locator(".card").nth(1)
            await updated.wait_for(timeout=15_000)
            assert "要演示" in await updated.locator(".tags button.on").all_inner_texts()
            await updated.locator(".buttons button", has_text="确认").click()
            await page.locator(".bubble", has_text="已保存").wait_for(timeout=15_000)
            await browser.close()
    finally:
        await server.close()
