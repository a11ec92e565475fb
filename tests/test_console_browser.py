"""The console in real headless Chromium (Debian's, no browser download) at phone (390 px) and desktop
(1280 px) widths: login through the WeCom and DingTalk fakes' OAuth endpoints, every page, a rep
refused another rep's customer, and the edit form changing a field and confirming. Screenshots of
every page at each width are saved under artifacts/console/ (GENJIN_ARTIFACTS overrides)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlmodel import col, select

from store.db import session_scope
from store.models import Correction, Customer, FollowUp
from tests.console_support import console_stack, correction_rows, load, supervisor_on_dingtalk

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("GENJIN_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts")) / "console"
WIDTHS = {"phone": 390, "desktop": 1280}
WXWORK_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 wxwork/4.1.20 MicroMessenger/7.0.1 Language/zh")
pytestmark = pytest.mark.browser


@pytest.fixture
def chromium_path() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip("Debian chromium not installed")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=chromium_path, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield chromium
        await chromium.close()


async def _new_page(browser, width: int, user_agent: str | None = None):
    context = await browser.new_context(viewport={"width": width, "height": 844 if width < 600 else 900},
                                        user_agent=user_agent, locale="zh-CN")
    return await context.new_page()


async def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    width = page.viewport_size["width"]
    # Usable at this width: nothing pushes the page sideways (wide tables scroll inside their box).
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, name


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_rep_logs_in_through_wecom_and_sees_every_page(tmp_path, sqlite_url, clock, browser, size):
    width = WIDTHS[size]
    async with console_stack(tmp_path, sqlite_url, clock) as stack:
        stack.wecom.login_user = "wangfang"
        # On the phone the page is opened inside WeCom (its user agent): /console/ signs in by itself.
        page = await _new_page(browser, width, WXWORK_UA if size == "phone" else None)
        await page.goto(stack.url("/console/"))
        if size == "desktop":
            await page.click("#login-wecom")
        await page.wait_for_url("**/console/mine*")  # WeCom's #wechat_redirect fragment rides along
        assert len(stack.wecom.calls_to("/connect/oauth2/authorize")) == 1
        assert "蔡经理" in await page.locator("#customers").inner_text()
        assert f"记录 #{stack.book.draft}" in await page.locator("#drafts").inner_text()
        await _shot(page, f"wecom-mine-{size}")

        await page.goto(stack.url("/console/pipeline"))
        grid = await page.locator("#grid").inner_text()
        assert "王芳" in grid and "李明" not in grid
        await _shot(page, f"wecom-pipeline-{size}")

        await page.click(f"#customers a[href='/console/customers/{stack.book.mine}']")
        await page.wait_for_url(f"**/console/customers/{stack.book.mine}")
        assert await page.locator("#phone").inner_text() == "+8613912345678"  # the owner sees it in full
        timeline = page.locator("#timeline li")
        assert await timeline.count() >= 3
        assert "价格异议" in await timeline.first.inner_text()  # newest first
        await _shot(page, f"wecom-customer-{size}")

        await page.goto(stack.url(f"/console/followups/{stack.book.draft}/edit"))
        await page.wait_for_selector("#edit-form")
        await _shot(page, f"wecom-edit-{size}")

        # A rep opening another rep's customer by URL: refused, and nothing of it shown.
        response = await page.goto(stack.url(f"/console/customers/{stack.book.others}"))
        assert response is not None and response.status == 404
        body = await page.locator("body").inner_text()
        assert "找不到这位客户" in body and "周总" not in body
        await _shot(page, f"wecom-forbidden-customer-{size}")


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_supervisor_logs_in_through_dingtalk(tmp_path, sqlite_url, clock, browser, size):
    width = WIDTHS[size]
    async with console_stack(tmp_path, sqlite_url, clock) as stack:
        stack.dingtalk.login_user = supervisor_on_dingtalk(stack)
        page = await _new_page(browser, width)
        await page.goto(stack.url(f"/console/customers/{stack.book.mine}"))  # a deep link from a card
        await page.click("#login-dingtalk")
        await page.wait_for_url(f"**/console/customers/{stack.book.mine}")
        assert await page.locator("#phone").inner_text() == "+86139****5678"  # not the owner: masked
        await _shot(page, f"dingtalk-customer-{size}")
        await page.goto(stack.url("/console/"))
        await page.wait_for_url("**/console/pipeline")
        grid = await page.locator("#grid").inner_text()
        assert "王芳" in grid and "李明" in grid
        await page.select_option("select[name=rep]", str(stack.org.rep_b.id))
        await page.click(".filters button")
        await page.wait_for_url("**rep=*")
        listed = await page.locator("#customers").inner_text()
        assert "周总" in listed and "蔡经理" not in listed
        await _shot(page, f"dingtalk-pipeline-{size}")
        await page.goto(stack.url("/console/mine"))
        await _shot(page, f"dingtalk-mine-{size}")


DINGTALK_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Mobile/15E148 AliApp(DingTalk/7.6.0) com.laiwang.DingTalk/31234567 Channel/201200 language/zh-Hans-CN")
# Inside DingTalk the client answers requestAuthCode over its JS bridge; Chromium has no such bridge, so
# the test plays the client: when the vendored SDK defines window.dd, its requestAuthCode is answered
# with a code the DingTalk fake minted (the server-side exchange is the real one, against the fake).
DINGTALK_CLIENT = """(() => {
  let real;
  Object.defineProperty(window, "dd", {configurable: true, get() { return real; }, set(value) {
    real = value;
    sessionStorage.setItem("sdk", typeof value.runtime.permission.requestAuthCode);
    value.ready = (fn) => fn();
    value.runtime.permission.requestAuthCode = (options) => {
      sessionStorage.setItem("asked", options.corpId + "/" + options.clientId);
      options.onSuccess({code: "%s"});
    };
  }});
})();"""


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_inside_dingtalk_the_console_signs_in_silently_with_the_vendored_sdk(tmp_path, sqlite_url, clock,
                                                                                   browser, size):
    async with console_stack(tmp_path, sqlite_url, clock, dingtalk_corp_id="dingcorp-test") as stack:
        userid = supervisor_on_dingtalk(stack)
        page = await _new_page(browser, WIDTHS[size], DINGTALK_UA)
        await page.add_init_script(DINGTALK_CLIENT % stack.dingtalk.app_auth_code(userid))
        hosts: set[str] = set()
        page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
        await page.goto(stack.url(f"/console/customers/{stack.book.mine}"))  # a deep link from a card
        await page.wait_for_url(f"**/console/customers/{stack.book.mine}")
        assert await page.evaluate("sessionStorage.getItem('sdk')") == "function"  # the real SDK, served by genjin
        assert await page.evaluate("sessionStorage.getItem('asked')") == f"dingcorp-test/{stack.dingtalk.client_id}"
        assert hosts == {stack.url("/").split("/")[2]}  # no CDN, nothing but genjin
        assert stack.dingtalk.calls_to("/oauth2/auth") == []  # no redirect, no consent screen
        assert len(stack.dingtalk.calls_to("/topapi/v2/user/getuserinfo")) == 1
        assert await page.locator("#phone").inner_text() == "+86139****5678"
        await _shot(page, f"dingtalk-h5-customer-{size}")


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_edit_form_changes_a_field_and_confirms(tmp_path, sqlite_url, clock, browser, size):
    width = WIDTHS[size]
    async with console_stack(tmp_path, sqlite_url, clock) as stack:
        stack.wecom.login_user = "wangfang"
        fid = stack.book.draft
        page = await _new_page(browser, width)
        await page.goto(stack.url(f"/console/followups/{fid}/edit"))
        await page.click("#login-wecom")
        await page.wait_for_selector("#edit-form")
        await page.fill("input[name=company]", "华康医疗集团")
        await page.fill("input[name=amount]", "8万")
        await page.check("input[name=tags][value=要报价]")
        await _shot(page, f"edit-filled-{size}")
        await page.click("#save")
        await page.wait_for_selector("#notice")
        assert "已保存修改" in await page.locator("#notice").inner_text()
        assert await page.input_value("input[name=company]") == "华康医疗集团"
        # The next fix and 确认 in one tap: what is on the page is saved, then the record confirmed.
        await page.fill("input[name=amount]", "12万")
        await page.click("#confirm")
        await page.wait_for_selector("#notice")
        assert "已保存 蔡经理 的跟进记录" in await page.locator("#notice").inner_text()
        assert await page.locator("#edit-form").count() == 0  # confirmed: no longer editable
        await _shot(page, f"edit-confirmed-{size}")
    followup = load(stack.runtime, FollowUp, fid)
    assert followup.confirmed and followup.amount_cny == 120_000 and "要报价" in followup.tags
    assert load(stack.runtime, Customer, stack.book.mine).company == "华康医疗集团"
    got = correction_rows(stack.runtime, fid)
    assert ("company", "华康医疗", "华康医疗集团") in got and ("amount_cny", None, "80000") in got
    assert ("amount_cny", "80000", "120000") in got
    assert ("tag", None, "要报价") in got
    with session_scope(stack.runtime.engine) as s:
        members = {c.member_id for c in s.exec(select(Correction).where(col(Correction.followup_id) == fid)).all()}
    assert members == {stack.org.rep_a.id}
