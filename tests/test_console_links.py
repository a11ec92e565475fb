"""The follow-up card links to the console: 编辑 (the record edit form) and 查看 (the customer page),
rendered for each platform; in the sandbox the links are relative and work end to end in Chromium."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from bot.app import build_runtime, build_web_app, seed_sandbox
from bot.cards.followup import build_followup_card
from bot.clock import system_clock
from bot.config import Settings
from bot.platforms.dingtalk.render import render_dingtalk
from bot.platforms.wecom.render import render_wecom
from store.models import Customer, FollowUp
from tests.factories import T0
from tests.harness import ChatDriver
from tests.test_console_browser import ARTIFACTS, browser, chromium_path  # noqa: F401 (fixtures)

CHAT = "华康医疗的蔡经理说价格太高了，要我们重新报价，电话 13912345678，明天上午十点再打电话"


def _card(confirmed: bool = False, console_url: str | None = "https://genjin.example.cn"):
    followup = FollowUp(id=7, customer_id=3, rep_id=1, text="t", tags=[], confirmed=confirmed, created_at=T0)
    customer = Customer(id=3, name="蔡经理", team_id=1, created_at=T0)
    return build_followup_card(followup=followup, customer=customer, history=[], all_tags=["要报价"], tz=T0.tzinfo,
                               console_url=console_url)


def test_card_links_to_the_edit_form_and_the_customer():
    card = _card()
    assert [(link.label, link.url) for link in card.links] == [
        ("编辑", "https://genjin.example.cn/console/followups/7/edit"),
        ("查看", "https://genjin.example.cn/console/customers/3")]
    assert [link.label for link in _card(confirmed=True).links] == ["查看"]  # nothing left to edit
    assert _card(console_url=None).links == []  # the console's address unknown: no dead links


def test_platform_renderers_carry_the_links():
    card = _card()
    assert render_wecom(card, task_id="t7")["card_action"] == {
        "type": 1, "url": "https://genjin.example.cn/console/followups/7/edit"}
    links = [c for c in render_dingtalk(card)["contents"] if c.get("id") == "links"]
    assert links and "[编辑](https://genjin.example.cn/console/followups/7/edit)" in links[0]["text"]
    assert "card_action" not in render_wecom(_card(console_url=None), task_id="t8")


def test_cards_link_only_where_the_console_is_reachable(tmp_path, sqlite_url, clock):
    from tests.factories import make_org

    runtime = build_runtime(Settings(database_url=sqlite_url, data_dir=tmp_path / "var"), clock=clock)
    make_org(runtime.engine)
    card = ChatDriver(runtime).reply_to("rep-a", CHAT).card  # the sandbox: links relative to its own page
    assert card is not None and card.links[0].url.startswith("/console/followups/")
    wecom = ChatDriver(runtime, platform="wecom").reply_to("wangfang", CHAT).card
    assert wecom is not None and wecom.links == []  # no public_url configured: a platform card has no links
    runtime = build_runtime(Settings(database_url=sqlite_url, data_dir=tmp_path / "var",
                                     console={"public_url": "https://genjin.example.cn/"}), clock=clock)
    driver = ChatDriver(runtime, platform="wecom")
    driver.new_messages()  # only what this message brings
    wecom = driver.reply_to("wangfang", "跟进 蔡经理 明天再打电话").card
    assert wecom is not None and wecom.links[-1].url.startswith("https://genjin.example.cn/console/customers/")


async def test_sandbox_card_edit_link_opens_the_form_in_chromium(tmp_path, browser):  # noqa: F811
    settings = Settings(database_url=f"sqlite:///{tmp_path}/g.db", data_dir=tmp_path / "var",
                        worker_poll_seconds=0.05)
    runtime = build_runtime(settings, clock=system_clock)
    seed_sandbox(runtime)
    server = TestServer(build_web_app(runtime, sandbox=True), host="127.0.0.1")
    await server.start_server()
    try:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(str(server.make_url("/")))
        await page.wait_for_selector("#member option", state="attached")
        await page.fill("#text", CHAT)
        await page.click("#send")
        card = page.locator(".card").last
        await card.wait_for(timeout=15_000)
        async with page.context.expect_page() as opened:
            await card.locator("a.link", has_text="编辑").click()
        form = await opened.value
        await form.wait_for_selector("#sandbox-login")  # not logged in yet: the sandbox's member picker
        await form.select_option("#member", "rep-wangfang")
        await form.click("#sandbox-login")
        await form.wait_for_selector("#edit-form")
        assert await form.input_value("input[name=phone]") == "+8613912345678"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await form.screenshot(path=str(ARTIFACTS / "sandbox-card-edit-link-phone.png"), full_page=True)
    finally:
        await server.close()
