"""The console over HTTP (no browser): login through the WeCom and DingTalk fakes' OAuth endpoints,
state and code checks, signed expiring sessions on the injected clock, permissions, the edit form."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from store.customers import create_customer
from store.db import session_scope
from store.followups import create_followup
from store.models import Customer, FollowUp, Member
from tests.console_support import client, console_stack, correction_rows, follow, load


@pytest.fixture
async def stack(tmp_path, db_url, clock):
    async with console_stack(tmp_path, db_url, clock) as s:
        yield s


async def login_wecom(stack, http, user="wangfang", target="/console/mine"):
    stack.wecom.login_user = user
    return await follow(http, stack.url(f"/console/login/wecom?next={target}"))


async def test_wecom_login_lands_on_the_page_asked_for(stack):
    async with client() as http:
        resp, text, hops = await login_wecom(stack, http)
        assert resp.status == 200, text
        assert resp.url.path == "/console/mine"
        assert "王芳" in text and "蔡经理" in text
        authorize = urlparse(hops[1])
        assert authorize.path == "/connect/oauth2/authorize"
        query = parse_qs(authorize.query)
        assert query["scope"] == ["snsapi_base"] and query["appid"] == [stack.wecom.corp_id]
        assert query["redirect_uri"] == [stack.url("/console/auth/wecom")]
        assert len(stack.wecom.calls_to("/cgi-bin/auth/getuserinfo")) == 1
        cookie = next(c for c in http.cookie_jar if c.key == "genjin_session")
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]


async def test_dingtalk_login(stack):
    stack.dingtalk.login_user = "lisi-ding"
    async with client() as http:
        resp, text, hops = await follow(http, stack.url("/console/login/dingtalk?next=/console/mine"))
        assert resp.status == 200, text
        assert "李明" in text and "周总" in text and "蔡经理" not in text
        assert urlparse(hops[1]).path == "/oauth2/auth"
        paths = [c.path for c in stack.dingtalk.calls]
        assert "/v1.0/oauth2/userAccessToken" in paths and "/topapi/user/getbyunionid" in paths


async def test_dingtalk_in_app_code_signs_in_once_and_desktop_keeps_the_redirect(tmp_path, sqlite_url, clock):
    async with console_stack(tmp_path, sqlite_url, clock, dingtalk_corp_id="dingcorp-test") as stack:
        inside = {"User-Agent": "Mozilla/5.0 AliApp(DingTalk/7.6.0) com.laiwang.DingTalk/31234567"}
        code = stack.dingtalk.app_auth_code("lisi-ding")
        async with client() as http:
            async with http.get(stack.url("/console/login/dingtalk?next=/console/mine"), headers=inside,
                                allow_redirects=False) as resp:
                page = await resp.text()
                assert resp.status == 200 and 'data-corp-id="dingcorp-test"' in page
                assert "/console/static/vendor/dingtalk-jsapi-3.2.9.js" in page and "https://" not in page
                state = page.split('data-state="')[1].split('"')[0]
            async with http.get(stack.url("/console/static/vendor/dingtalk-jsapi-3.2.9.js")) as sdk:
                assert sdk.status == 200 and "requestAuthCode" in await sdk.text()
            async with http.get(stack.url("/console/static/vendor/../login.html")) as other:
                assert other.status == 404
            callback = f"/console/auth/dingtalk?authCode={code}&state={state}&via=app"
            resp, text, _ = await follow(http, stack.url(callback))
            assert resp.status == 200 and resp.url.path == "/console/mine" and "李明" in text
        async with client() as http:  # the same code again, with a fresh valid state: refused
            async with http.get(stack.url("/console/login/dingtalk"), headers=inside) as resp:
                state = (await resp.text()).split('data-state="')[1].split('"')[0]
            again = f"/console/auth/dingtalk?authCode={code}&state={state}&via=app"
            resp, text, _ = await follow(http, stack.url(again))
            assert resp.status == 403 and not any(c.key == "genjin_session" for c in http.cookie_jar)
        assert len(stack.dingtalk.calls_to("/topapi/v2/user/getuserinfo")) == 2
        # A desktop browser: DingTalk's OAuth2 redirect, as before.
        async with client() as http, http.get(stack.url("/console/login/dingtalk"), allow_redirects=False) as resp:
            assert resp.status == 302 and urlparse(resp.headers["Location"]).path == "/oauth2/auth"


async def test_reused_code_is_refused(stack):
    stack.wecom.login_user = "wangfang"
    async with client() as http:
        _, _, hops = await login_wecom(stack, http)
        callback = hops[2]  # /console/auth/wecom?code=…&state=…
        code = parse_qs(urlparse(callback).query)["code"][0]
    async with client() as http:
        # A fresh login attempt (valid state for this browser) presenting the used code.
        async with http.get(stack.url("/console/login/wecom"), allow_redirects=False) as resp:
            state = parse_qs(urlparse(resp.headers["Location"]).query)["state"][0]
        resp, text, _ = await follow(http, stack.url(f"/console/auth/wecom?code={code}&state={state}"))
        assert resp.status == 403 and "授权码无效" in text
        assert not any(c.key == "genjin_session" for c in http.cookie_jar)


async def test_bad_state_is_refused(stack):
    stack.wecom.login_user = "wangfang"
    async with client() as http:
        async with http.get(stack.url("/console/login/wecom"), allow_redirects=False) as resp:
            authorize = resp.headers["Location"]
        forged = authorize.replace("state=", "state=x")
        resp, text, _ = await follow(http, forged)
        assert resp.status == 400 and "登录请求已失效" in text
        assert stack.wecom.calls_to("/cgi-bin/auth/getuserinfo") == []  # refused before the code is spent
    async with client() as http:  # no state cookie at all (the link was opened in another browser)
        resp, _, _ = await follow(http, stack.url("/console/auth/wecom?code=abc&state=abc"))
        assert resp.status == 400


async def test_unknown_and_inactive_members_get_403(stack):
    async with client() as http:
        resp, text, _ = await login_wecom(stack, http, user="stranger")
        assert resp.status == 403 and "没有访问权限" in text
    async with client() as http:
        resp, _, _ = await login_wecom(stack, http)
        assert resp.status == 200
        with session_scope(stack.runtime.engine) as s:
            rep = s.get(Member, stack.org.rep_a.id)
            rep.active = False
            s.add(rep)
        resp, text, _ = await follow(http, stack.url("/console/mine"))  # signed in, then deactivated: out
        assert resp.status == 403 and "蔡经理" not in text
    async with client() as http:
        resp, text, _ = await login_wecom(stack, http)
        assert resp.status == 403


async def test_session_expires_on_the_injected_clock(stack, clock):
    async with client() as http:
        resp, _, _ = await login_wecom(stack, http)
        assert resp.status == 200
        clock.now += timedelta(hours=11, minutes=59)
        resp, _, _ = await follow(http, stack.url("/console/mine"))
        assert resp.url.path == "/console/mine"
        clock.now += timedelta(minutes=2)  # past the 12-hour default
        async with http.get(stack.url("/console/mine"), allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"].startswith("/console/login?next=")


async def test_tampered_cookie_is_not_a_session(stack):
    async with client() as http:
        await login_wecom(stack, http)
        token = next(c for c in http.cookie_jar if c.key == "genjin_session").value
        body, mac = token.split(".")
        import base64
        import json

        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        payload["m"] = stack.org.admin.id  # try to become the admin with the old signature
        forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode() + "." + mac
        for value in (forged, token[:-2] + "xx", "garbage", ""):
            http.cookie_jar.update_cookies({"genjin_session": value}, response_url=stack.server.make_url("/console/"))
            async with http.get(stack.url("/console/pipeline"), allow_redirects=False) as resp:
                assert resp.status == 303, value


async def test_rep_cannot_open_another_reps_customer(stack):
    async with client() as http:
        await login_wecom(stack, http)
        resp, text, _ = await follow(http, stack.url(f"/console/customers/{stack.book.others}"))
        assert resp.status == 404 and "周总" not in text
        resp, text, _ = await follow(http, stack.url(f"/console/customers/{stack.book.mine}"))
        assert resp.status == 200
        assert "+8613912345678" in text  # the owner sees the full number
        resp, text, _ = await follow(http, stack.url("/console/pipeline"))
        assert "周总" not in text and "蔡经理" in text


async def test_supervisor_sees_the_team_with_phones_masked(stack):
    with session_scope(stack.runtime.engine) as s:
        sup = s.get(Member, stack.org.supervisor.id)
        sup.wecom_userid = "chen"
        s.add(sup)
    async with client() as http:
        resp, text, _ = await login_wecom(stack, http, user="chen", target="/console/pipeline")
        assert resp.status == 200 and "蔡经理" in text and "周总" in text
        assert "30万元" in text  # the confirmed record's amount in the grid
        resp, text, _ = await follow(http, stack.url(f"/console/customers/{stack.book.mine}"))
        assert "+86139****5678" in text and "+8613912345678" not in text
        assert f"记录 #{stack.book.confirmed}" in text  # timeline rows trace to their record
        resp, text, _ = await follow(http, stack.url(f"/console/customers/{stack.book.mine}?source=阶段"))
        assert "价格异议" not in text
        resp, text, _ = await follow(http, stack.url(f"/console/pipeline?rep={stack.org.rep_b.id}"))
        assert "周总" in text and "蔡经理" not in text


async def _form(http, stack, followup_id):
    resp, text, _ = await follow(http, stack.url(f"/console/followups/{followup_id}/edit"))
    assert resp.status == 200, text
    csrf = text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return csrf


def _fields(**overrides):
    base = {"customer_name": "蔡经理", "company": "华康医疗", "phone": "+8613912345678", "email": "cai@huakang.cn",
            "product": "移动CRM", "amount": "", "next_contact": "", "stage": "需求确认", "tags": ["价格异议"]}
    base.update(overrides)
    return [(k, v) for k, vs in base.items() for v in (vs if isinstance(vs, list) else [vs])]


async def test_edit_form_saves_corrections_then_confirms(stack):
    fid = stack.book.draft
    async with client() as http:
        await login_wecom(stack, http)
        csrf = await _form(http, stack, fid)
        data = _fields(company="华康医疗集团", amount="5万", next_contact="2026-11-19T15:00",
                       tags=["价格异议", "要报价"], csrf=csrf)
        async with http.post(stack.url(f"/console/followups/{fid}/edit"), data=data, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
        got = correction_rows(stack.runtime, fid)
        assert ("company", "华康医疗", "华康医疗集团") in got
        assert ("amount_cny", None, "50000") in got
        assert ("tag", None, "要报价") in got
        assert any(f == "next_contact_at" and a.startswith("2026-11-19T07:00") for f, _, a in got)
        async with http.post(stack.url(f"/console/followups/{fid}/confirm"), data={"csrf": csrf}) as resp:
            text = await resp.text()
            assert resp.status == 200 and "已保存" in text
    followup = load(stack.runtime, FollowUp, fid)
    customer = load(stack.runtime, Customer, stack.book.mine)
    assert followup.confirmed and followup.amount_cny == 50_000 and followup.tags == ["价格异议", "要报价"]
    assert customer.company == "华康医疗集团"
    assert customer.next_contact_at == followup.next_contact_at


async def test_confirm_on_the_form_saves_what_is_on_it_first(stack):
    fid = stack.book.draft
    async with client() as http:
        await login_wecom(stack, http)
        csrf = await _form(http, stack, fid)
        data = [*_fields(customer_name="蔡建国", csrf=csrf), ("then", "confirm")]
        async with http.post(stack.url(f"/console/followups/{fid}/edit"), data=data) as resp:
            text = await resp.text()
            assert resp.status == 200 and "已保存 蔡建国 的跟进记录" in text
    assert load(stack.runtime, FollowUp, fid).confirmed
    assert ("customer_name", "蔡经理", "蔡建国") in correction_rows(stack.runtime, fid)


async def test_a_confirmed_record_is_not_edited(stack):
    fid = stack.book.confirmed
    async with client() as http:
        await login_wecom(stack, http)
        resp, text, _ = await follow(http, stack.url(f"/console/followups/{fid}/edit"))
        assert resp.status == 200 and 'id="edit-form"' not in text
        csrf = text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        async with http.post(stack.url(f"/console/followups/{fid}/edit"), data=_fields(company="X", csrf=csrf)) as r:
            assert r.status == 409
    assert correction_rows(stack.runtime, fid) == []


async def test_edit_form_refuses_bad_input_and_saves_nothing(stack):
    fid = stack.book.draft
    async with client() as http:
        await login_wecom(stack, http)
        csrf = await _form(http, stack, fid)
        data = _fields(phone="12", email="not-an-email", amount="很多", next_contact="2026-11-01T10:00",
                       stage="已成交", company="新公司", csrf=csrf)
        async with http.post(stack.url(f"/console/followups/{fid}/edit"), data=data) as resp:
            text = await resp.text()
            assert resp.status == 422
        for message in ("电话号码无法识别", "邮箱格式不正确", "金额无法识别", "已经过去",
                        "不能从「需求确认」改为「已成交」"):
            assert message in text
        assert correction_rows(stack.runtime, fid) == []
        async with http.post(stack.url(f"/console/followups/{fid}/edit"), data=_fields(company="X")) as resp:
            assert resp.status == 403  # no form token
        assert correction_rows(stack.runtime, fid) == []


async def test_edit_form_stage_gate_allows_what_the_record_shows(stack):
    fid = stack.book.draft
    async with client() as http:
        await login_wecom(stack, http)
        csrf = await _form(http, stack, fid)
        # 方案演示 needs 要演示 / 演示: the earlier confirmed record has it, so the gate allows the move.
        async with http.post(stack.url(f"/console/followups/{fid}/edit"), data=_fields(stage="方案演示", csrf=csrf),
                             allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.post(stack.url(f"/console/followups/{fid}/confirm"), data={"csrf": csrf}) as resp:
            assert "阶段已更新：需求确认 → 方案演示" in await resp.text()
    assert load(stack.runtime, Customer, stack.book.mine).stage == "方案演示"
    assert ("stage_hint", None, "方案演示") in correction_rows(stack.runtime, fid)


async def test_another_rep_cannot_edit(stack):
    stack.dingtalk.login_user = "lisi-ding"
    async with client() as http:
        await follow(http, stack.url("/console/login/dingtalk"))
        resp, text, _ = await follow(http, stack.url(f"/console/followups/{stack.book.draft}/edit"))
        assert resp.status == 404 and "蔡经理" not in text


async def test_everything_escaped(stack):
    with session_scope(stack.runtime.engine) as s:
        c = s.get(Customer, stack.book.mine)
        c.company = "<script>alert(1)</script>"
        s.add(c)
    async with client() as http:
        resp, text, _ = await login_wecom(stack, http, target=f"/console/customers/{stack.book.mine}")
        assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


async def test_next_must_stay_inside_the_console(stack):
    async with client() as http:
        resp, _, hops = await login_wecom(stack, http, target="https://evil.example/")
        assert resp.url.host == "127.0.0.1" and resp.url.path.startswith("/console/")
        assert all("evil" not in urlparse(h).netloc for h in hops)


async def test_sandbox_picker_only_in_the_sandbox(tmp_path, sqlite_url, clock):
    async with (console_stack(tmp_path, sqlite_url, clock) as stack, client() as http,
                http.post(stack.url("/console/login/sandbox"), data={"member": "rep-a"},
                          allow_redirects=False) as resp):
        assert resp.status == 404
    sandbox_db = f"sqlite:///{tmp_path}/sandbox.db"  # a database of its own: the first stack seeded the other
    async with console_stack(tmp_path / "sb", sandbox_db, clock, sandbox=True) as stack, client() as http:
        async with http.post(stack.url("/console/login/sandbox"), data={"member": "rep-a", "next": "/console/mine"},
                             allow_redirects=False) as resp:
            assert resp.status == 303
        resp, text, _ = await follow(http, stack.url("/console/mine"))
        assert "王芳" in text



async def test_logout_ends_the_session(stack):
    async with client() as http:
        _, text, _ = await login_wecom(stack, http)
        csrf = text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        async with http.post(stack.url("/console/logout"), data={"csrf": csrf}, allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.get(stack.url("/console/mine"), allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"].startswith("/console/login")


async def test_cookies_are_secure_behind_https(tmp_path, sqlite_url, clock):
    async with console_stack(tmp_path, sqlite_url, clock,
                             console={"public_url": "https://genjin.example.cn"}) as stack, client() as http:
        stack.wecom.login_user = "wangfang"
        async with http.get(stack.url("/console/login/wecom"), allow_redirects=False) as resp:
            authorize = resp.headers["Location"]
            assert "Secure" in resp.headers["Set-Cookie"]
        # The redirect_uri names the public address, not the Host this request came in on.
        assert parse_qs(urlparse(authorize).query)["redirect_uri"] == ["https://genjin.example.cn/console/auth/wecom"]


async def test_generated_signing_key_is_kept_under_data_dir(tmp_path, sqlite_url, clock):
    async with console_stack(tmp_path, sqlite_url, clock) as stack, client() as http:
        await login_wecom(stack, http)
        token = next(c for c in http.cookie_jar if c.key == "genjin_session").value
    key_file = tmp_path / "var" / "console_session.key"
    assert key_file.exists() and key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    from bot.config import Settings
    from bot.web.sessions import Signer, load_or_create_key

    # A restart reads the same key: the session is still good; a configured key replaces it.
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path / "var")
    assert Signer(load_or_create_key(settings), clock).loads("session", token) is not None
    other = Settings(database_url=sqlite_url, data_dir=tmp_path / "var", console={"session_key": "x" * 32})
    assert Signer(load_or_create_key(other), clock).loads("session", token) is None


async def test_bad_input_never_a_server_error(stack):
    async with client() as http:
        await login_wecom(stack, http)
        for path in ("/console/customers/abc", "/console/customers/-1", "/console/customers/" + "9" * 40,
                     "/console/followups/x/edit", "/console/followups/99999/edit",
                     "/console/pipeline?rep=abc&stage=%00&channel=" + "渠" * 500 + "&product=" + "x" * 5000,
                     f"/console/customers/{stack.book.mine}?source=" + "%FF" * 10, "/console/login/nosuch",
                     "/console/auth/nosuch?code=1&state=1", "/console/auth/wecom?code=" + "c" * 5000):
            async with http.get(stack.url(path), allow_redirects=False) as resp:
                assert resp.status < 500, path
        bodies = [(b"--x\r\nbroken", "multipart/form-data; boundary=x"), (b"\xff\xfe=%%%", "application/x-www-form"
                                                                                          "-urlencoded; charset=utf-8"),
                  (b"a=1", "multipart/form-data")]
        for body, ctype in bodies:
            draft = stack.book.draft
            for path in (f"/console/followups/{draft}/edit", f"/console/followups/{draft}/confirm",
                         "/console/logout", "/console/login/sandbox"):
                async with http.post(stack.url(path), data=body, headers={"Content-Type": ctype}) as resp:
                    assert resp.status < 500, (path, ctype)
    assert correction_rows(stack.runtime, stack.book.draft) == []
    assert not load(stack.runtime, FollowUp, stack.book.draft).confirmed


async def test_a_pasted_draft_is_a_record_to_confirm_not_a_customer_yet(stack, clock):
    with session_scope(stack.runtime.engine) as s:
        rep = s.get(Member, stack.org.rep_a.id)
        draft = create_customer(session=s, actor=rep, name="吴总", company="新桥科技", draft=True, at=clock.now)
        record = create_followup(session=s, actor=rep, customer_id=draft.id, kind="chat", text="吴总想了解报价",
                                 tags=[], at=clock.now)
    async with client() as http:
        _, text, _ = await login_wecom(stack, http)
        drafts = text.split('id="drafts"', 1)[1].split("</ul>", 1)[0]
        customers = text.split('id="customers"', 1)[1]
        assert f"记录 #{record.id}" in drafts and "吴总" in drafts
        assert "吴总" not in customers  # not in the book until its record is confirmed
        _, text, _ = await follow(http, stack.url("/console/pipeline"))
        assert "吴总" not in text


async def test_the_form_takes_no_step_back_by_one_tap(stack):
    fid = stack.book.draft
    async with client() as http:
        await login_wecom(stack, http)
        csrf = await _form(http, stack, fid)
        data = _fields(stage="初步接触", csrf=csrf)
        async with http.post(stack.url(f"/console/followups/{fid}/edit"), data=data) as r:
            assert r.status == 422 and "这是回退" in await r.text()
    assert correction_rows(stack.runtime, fid) == []
