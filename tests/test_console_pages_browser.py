"""The funnel, data-health, weekly and stale pages in real headless Chromium at phone and desktop
widths: a supervisor signed in through the DingTalk fake sees the team on each, 暂缓 and 转给 from the
stale list; a rep signed in through the WeCom fake sees only own figures and no 转给. Screenshots go
to artifacts/console/ next to the other console pages' (tests/test_console_browser.py)."""

from __future__ import annotations

import pytest

from store.anomalies import file_anomaly
from store.db import session_scope
from store.models import Anomaly, Customer
from tests.console_support import console_stack, load, supervisor_on_dingtalk
from tests.test_console_browser import WIDTHS, _new_page, _shot, browser, chromium_path  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_supervisor_reports_and_stale_actions(tmp_path, sqlite_url, clock, browser, size):  # noqa: F811
    async with console_stack(tmp_path, sqlite_url, clock) as stack:
        stack.dingtalk.login_user = supervisor_on_dingtalk(stack)
        page = await _new_page(browser, WIDTHS[size])
        await page.goto(stack.url("/console/health"))
        await page.click("#login-dingtalk")
        await page.wait_for_url("**/console/health")
        table = await page.locator("#health").inner_text()
        assert "王芳" in table and "李明" in table and "赵强" not in table
        assert await page.locator("#health svg.spark").count() == 2
        await _shot(page, f"health-{size}")
        await page.click("a[href='/console/health?period=this']")
        await page.wait_for_url("**period=this")
        assert await page.locator("#health tr.coach").count() == 1  # 王芳's unconfirmed draft this week
        await _shot(page, f"health-this-week-{size}")

        await page.click("nav a[href='/console/funnel']")
        await page.wait_for_url("**/console/funnel")
        funnel = await page.locator("#funnel").inner_text()
        assert "抖音" in funnel and "官网" in funnel
        assert await page.locator("#funnel-chart-1 svg rect").count() == 2
        await _shot(page, f"funnel-{size}")

        await page.click("nav a[href='/console/weekly']")
        await page.wait_for_url("**/console/weekly")
        assert await page.locator("#last-week figure").count() == 7
        assert "王芳" in await page.locator("#last-week").inner_text()
        await _shot(page, f"weekly-{size}")

        await page.click("nav a[href='/console/stale']")
        await page.wait_for_url("**/console/stale")
        item = page.locator(f"#stale li[data-customer='{stack.book.mine}']")
        assert "蔡经理" in await item.inner_text()
        await _shot(page, f"stale-{size}")
        await item.locator("input[name=reason]").fill("客户出差")
        await item.locator("form.snooze button").click()
        await page.wait_for_selector("#notice")
        assert "已暂缓" in await page.locator("#notice").inner_text()
        item = page.locator(f"#stale li[data-customer='{stack.book.mine}']")
        await item.locator("select[name=member]").select_option(str(stack.org.rep_b.id))
        await item.locator("form.transfer button").click()
        await page.wait_for_selector("#notice")
        assert "已转给" in await page.locator("#notice").inner_text()
        await _shot(page, f"stale-transferred-{size}")
    customer = load(stack.runtime, Customer, stack.book.mine)
    assert customer.owner_id == stack.org.rep_b.id and customer.snoozed_until is not None


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_rep_sees_only_own_figures(tmp_path, sqlite_url, clock, browser, size):  # noqa: F811
    async with console_stack(tmp_path, sqlite_url, clock) as stack:
        stack.wecom.login_user = "wangfang"
        page = await _new_page(browser, WIDTHS[size])
        await page.goto(stack.url("/console/stale"))
        await page.click("#login-wecom")
        await page.wait_for_url("**/console/stale*")  # WeCom's #wechat_redirect fragment rides along
        assert "蔡经理" in await page.locator("#stale").inner_text()
        assert await page.locator("form.transfer").count() == 0
        await _shot(page, f"rep-stale-{size}")
        for path in ("/console/health", "/console/weekly"):
            await page.goto(stack.url(path))
            body = await page.locator("main").inner_text()
            assert "王芳" in body and "李明" not in body
            await _shot(page, f"rep-{path.rsplit('/', 1)[1]}-{size}")
        await page.goto(stack.url("/console/funnel"))
        funnel = await page.locator("#funnel").inner_text()
        assert "抖音" in funnel and "官网" not in funnel
        await _shot(page, f"rep-funnel-{size}")


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_anomaly_review_page(tmp_path, sqlite_url, clock, browser, size):  # noqa: F811
    async with console_stack(tmp_path, sqlite_url, clock) as stack:
        stack.dingtalk.login_user = supervisor_on_dingtalk(stack)
        with session_scope(stack.runtime.engine) as s:
            anomaly_id, _ = file_anomaly(session=s, key=f"amount:{stack.book.confirmed}", kind="amount",
                                         team_id=stack.org.rep_a.team_id, rep_id=stack.org.rep_a.id,
                                         customer_id=stack.book.mine, summary="蔡经理 的金额 398万元，相差超过 5 倍",
                                         followup_ids=[stack.book.confirmed], at=clock.now)
        page = await _new_page(browser, WIDTHS[size])
        await page.goto(stack.url("/console/anomalies"))
        await page.click("#login-dingtalk")
        await page.wait_for_url("**/console/anomalies")
        row = page.locator(f"#anomaly-{anomaly_id}")
        assert "398万元" in await row.inner_text() and "王芳" in await row.inner_text()
        await _shot(page, f"anomalies-{size}")
        await row.locator("button[value=ok]").click()
        await page.wait_for_selector(".notice")
        assert "已标记为没问题" in await page.locator(".notice").inner_text()
        assert load(stack.runtime, Anomaly, anomaly_id).status == "ok"
        await _shot(page, f"anomalies-reviewed-{size}")
