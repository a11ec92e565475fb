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
    """The sandbox renders the platforms' card semantics: one card, re-rendered in place on a tag tap
    and finished by 确认 (nothing left to tap); taps read as labels; replies arrive over server-sent
    events (no polling request is ever made); an upload error shows in the chat."""
    from playwright.async_api import async_playwright

    settings = Settings(database_url=f"sqlite:///{tmp_path}/g.db", data_dir=tmp_path / "var",
                        worker_poll_seconds=0.05, max_audio_bytes=1024)
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
            requested: list[tuple[str, str]] = []
            page.on("request", lambda r: requested.append((r.method, r.url)))
            await page.goto(str(server.make_url("/")))
            await page.wait_for_selector("#member option", state="attached")
            assert await page.locator("#member option").count() == 3
            welcome = page.locator(".sys .bubble", has_text="欢迎使用")
            await welcome.wait_for(timeout=5_000)
            # The seeded book: a first look already shows the pre-visit card of the visit in 10 minutes.
            await page.locator(".card", has_text="许志强").first.wait_for(timeout=15_000)
            await welcome.locator("button", has_text="填入示例").click()
            assert "许志强" in await page.input_value("#text")

            chat = "华康医疗的蔡经理说价格太高了，要我们重新报价，电话 13912345678，明天上午十点再打电话"
            await page.fill("#text", chat)
            await page.click("#send")
            card = page.locator(".card", has_text="请确认跟进记录")  # the seeded book pushes other cards too
            await card.first.wait_for(timeout=15_000)
            assert "13912345678" in await card.first.inner_text()
            assert "要报价" in await card.first.locator(".tags button.on").all_inner_texts()
            first_id = await card.first.get_attribute("data-card")

            await card.first.locator(".tags button", has_text="要演示").click()
            await page.locator(".msg.in .bubble", has_text="「标签：要演示」").wait_for(timeout=15_000)
            await page.wait_for_function(
                "id => !document.querySelector(`.card[data-card='${id}']`)", arg=first_id, timeout=15_000)
            assert await card.count() == 1  # the same element, re-rendered: no second card
            assert "要演示" in await card.first.locator(".tags button.on").all_inner_texts()

            await card.first.locator(".buttons button", has_text="确认").click()
            await page.locator(".bubble", has_text="已保存").wait_for(timeout=15_000)
            await page.locator(".card.done .final", has_text="已确认").wait_for(timeout=15_000)
            card = page.locator(".card", has_text="请确认跟进记录")
            assert await card.count() == 1
            assert not await card.first.locator(".buttons").is_visible()  # nothing left to tap
            taps = await page.locator(".msg.in .bubble").all_inner_texts()
            assert "「确认」" in taps and not any("confirm:" in t or "tag:" in t for t in taps)

            await page.set_input_files("#voice", files=[{"name": "big.amr", "mimeType": "audio/amr",
                                                         "buffer": b"#!AMR\n" + b"0" * 4096}])
            await page.locator(".sys.error .bubble", has_text="超过").wait_for(timeout=15_000)
            # The 图片/文件 upload: a broken photo is stored and answered in Chinese.
            await page.set_input_files("#file", files=[{"name": "shot.png", "mimeType": "image/png",
                                                        "buffer": b"\x89PNG\r\n\x1a\n" + b"0" * 64}])
            await page.locator(".bubble", has_text="这个文件无法读取").wait_for(timeout=15_000)
            polls = [url for method, url in requested if method == "GET" and "/sandbox/api/messages" in url]
            assert polls == []  # pushed over server-sent events, not polled
            assert any("/sandbox/api/events" in url for _, url in requested)
            await browser.close()
    finally:
        await server.close()


async def test_first_look_and_the_sandbox_clock(tmp_path, chromium_path):
    """`genjin sandbox` as run: the seeded book's pushes are on screen at once, and the header's clock
    control moves the sandbox's own clock a week on, after which what became due arrives pushed."""
    from playwright.async_api import async_playwright

    from bot.app import sandbox_clock

    settings = Settings(database_url=f"sqlite:///{tmp_path}/g.db", data_dir=tmp_path / "var",
                        worker_poll_seconds=0.05)
    runtime = build_runtime(settings, clock=sandbox_clock())
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
            await page.select_option("#member", "rep-liming")
            await page.locator(".msg.out", has_text="刘洋").first.wait_for(timeout=15_000)  # quiet for weeks
            assert await page.locator(".msg.out", has_text="周杰").count() == 0  # contacted 5 days ago
            await page.locator("#clock").wait_for(state="visible", timeout=5_000)
            await page.click("#clock button[data-hours='168']")
            await page.locator(".sys .bubble", has_text="沙盒时间已前进").wait_for(timeout=15_000)
            await page.locator(".msg.out", has_text="周杰").first.wait_for(timeout=15_000)
            await browser.close()
    finally:
        await server.close()
