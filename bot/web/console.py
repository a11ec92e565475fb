"""The console web app (mounted under /console/ by bot/app.py): sessions, login, the auth gate.

Every page runs as the logged-in member, loaded fresh per request (a deactivated member is out at
once) and passed to the store's permission-filtered queries. Database work runs in a thread."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.config import Settings
from bot.web import anomalies, edit, pages, reports, stale
from bot.web.keys import MEMBER, SID
from bot.web.login import DINGTALK_SDK, STATE_TTL_SECONDS, LoginProvider, new_state, safe_next
from bot.web.render import PREFIX, make_environment, page, redirect
from bot.web.sessions import Signer, load_or_create_key
from store.db import read_only
from store.models import Member, Role

log = structlog.get_logger("genjin.web")

SESSION_COOKIE = "genjin_session"
STATE_COOKIE = "genjin_oauth"
STATIC = Path(__file__).parent / "static"
VENDOR_FILES = frozenset({DINGTALK_SDK})
ROLES = {Role.REP: "销售", Role.SUPERVISOR: "主管", Role.ADMIN: "管理员"}
PUBLIC = ("/login", "/auth/", "/static/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Console:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock, *, providers: Sequence[LoginProvider],
                 sandbox: bool) -> None:
        self.engine = engine
        self.read_engine = read_only(engine)  # pages that only read: no queue behind writers on SQLite
        self.settings = settings
        self.clock = clock
        self.providers = {p.name: p for p in providers}
        self.sandbox = sandbox
        self.signer = Signer(load_or_create_key(settings), clock)
        self.env = make_environment(settings.tz)

    # ------------------------------------------------------------------ app

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.add_routes([
            web.get("/", self.home),
            web.get("/login", self.login_page),
            web.post("/login/sandbox", self.sandbox_login),
            web.get("/login/{platform}", self.oauth_start),
            web.get("/auth/{platform}", self.oauth_callback),
            web.post("/logout", self.logout),
            web.get("/static/console.css", self.css),
            web.get("/static/dd_login.js", self.script),
            web.get("/static/vendor/{name}", self.vendor),
            *pages.routes(self),
            *edit.routes(self),
            *anomalies.routes(self),
            *reports.routes(self),
            *stale.routes(self),
        ])
        return app

    async def db(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.to_thread(fn)

    def render(self, request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
        me = request.get(MEMBER)
        context.setdefault("nav", "")
        return page(self.env, name, status, me=me, csrf=self.csrf(request) if me else "", **context)

    def message(self, request: web.Request, status: int, title: str, text: str, *, link: str | None = None,
                link_label: str = "") -> web.Response:
        return self.render(request, "message.html", status, title=title, text=text, link=link, link_label=link_label)

    # ------------------------------------------------------------------ sessions

    def _secure(self, request: web.Request) -> bool:
        forced = self.settings.console.secure_cookies
        if forced is not None:
            return forced
        public = self.settings.console.public_url or ""
        return public.startswith("https://") or request.secure or request.headers.get("X-Forwarded-Proto") == "https"

    def _set_cookie(self, request: web.Request, response: web.StreamResponse, name: str, value: str,
                    max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path=PREFIX + "/", httponly=True, samesite="Lax",
                            secure=self._secure(request))

    async def form(self, request: web.Request) -> Any:
        """The posted form, or None when it cannot be read (malformed multipart or encoding raise
        from deep inside aiohttp): the caller answers 400, never 500."""
        try:
            return await request.post()
        except web.HTTPException:
            raise  # 413 past client_max_size
        except (ValueError, LookupError, AssertionError, TypeError, HttpProcessingError, aiohttp.ClientError):
            log.warning("console_bad_form", path=request.path)
            return None

    def bad_form(self, request: web.Request) -> web.Response:
        return self.message(request, 400, "请求无效", "提交的内容无法读取，请刷新页面后重试。")

    def csrf(self, request: web.Request) -> str:
        return self.signer.tag("csrf", request.get(SID, ""))

    def check_csrf(self, request: web.Request, form: Any) -> bool:
        return hmac.compare_digest(str(form.get("csrf", "")), self.csrf(request))

    async def checked_form(self, request: web.Request) -> tuple[Any, web.Response | None]:
        """A signed-in member's posted form and None, or None and the refusal to answer with: 400 when
        it cannot be read, 403 when its CSRF token is not this session's."""
        form = await self.form(request)
        if form is None:
            return None, self.bad_form(request)
        if not self.check_csrf(request, form):
            return None, self.message(request, 403, "请求无效", "页面已过期，请刷新后再试。")
        return form, None

    def _start_session(self, request: web.Request, member: Member, target: str) -> web.StreamResponse:
        hours = self.settings.console.session_hours
        token = self.signer.dumps("session", {"m": member.id, "sid": secrets.token_urlsafe(12)},
                                  ttl_seconds=hours * 3600)
        response = redirect(target)
        self._set_cookie(request, response, SESSION_COOKIE, token, int(hours * 3600))
        response.del_cookie(STATE_COOKIE, path=PREFIX + "/")
        log.info("console_login", member_id=member.id)
        return response

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path[len(PREFIX):] if request.path.startswith(PREFIX) else request.path
        if path.startswith(PUBLIC):
            return await handler(request)
        payload = self.signer.loads("session", request.cookies.get(SESSION_COOKIE))
        if payload is None or not isinstance(payload.get("m"), int):
            if request.method != "GET":
                return self.message(request, 401, "登录已过期", "请重新登录后再提交。", link=PREFIX + "/login",
                                    link_label="重新登录")
            return redirect(f"{PREFIX}/login?" + _query({"next": request.path_qs}))
        member = await self.db(lambda: _member(self.read_engine, payload["m"]))
        if member is None or not member.active:
            return _forbidden(self, request)
        request[MEMBER] = member
        request[SID] = str(payload.get("sid", ""))
        return await handler(request)

    # ------------------------------------------------------------------ login

    async def home(self, request: web.Request) -> web.StreamResponse:
        member = request[MEMBER]
        return redirect(PREFIX + ("/mine" if member.role == Role.REP else "/pipeline"))

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        target = safe_next(request.query.get("next"), PREFIX)
        agent = request.headers.get("User-Agent", "")
        for provider in self.providers.values():  # opened from the app inside WeCom/DingTalk: no choice to make
            if provider.user_agent_hint in agent:
                return redirect(f"{PREFIX}/login/{provider.name}?" + _query({"next": target}))
        members = await self.db(lambda: _sandbox_members(self.engine)) if self.sandbox else []
        return self.render(request, "login.html", title="登录", providers=list(self.providers.values()),
                           members=members, roles=ROLES, next=target, error=None)

    async def sandbox_login(self, request: web.Request) -> web.StreamResponse:
        if not self.sandbox:
            raise web.HTTPNotFound()
        form = await self.form(request)
        if form is None:
            return self.bad_form(request)
        sandbox_id = str(form.get("member", ""))[:64]
        member = await self.db(lambda: _by_column(self.engine, "sandbox_id", sandbox_id))
        if member is None or not member.active:
            return _forbidden(self, request)
        return self._start_session(request, member, safe_next(str(form.get("next", "")), PREFIX))

    def _redirect_uri(self, request: web.Request, provider: LoginProvider) -> str:
        base = self.settings.console.public_url or f"{request.scheme}://{request.host}"
        return f"{base}{PREFIX}/auth/{provider.name}"

    async def oauth_start(self, request: web.Request) -> web.StreamResponse:
        provider = self.providers.get(request.match_info["platform"])
        if provider is None:
            raise web.HTTPNotFound()
        state = new_state()
        target = safe_next(request.query.get("next"), PREFIX)
        cookie = self.signer.dumps("oauth", {"s": state, "p": provider.name, "n": target},
                                   ttl_seconds=STATE_TTL_SECONDS)
        in_app = provider.in_app
        if in_app is not None and provider.user_agent_hint in request.headers.get("User-Agent", "") \
                and request.query.get("via") != "redirect":
            fallback = f"{PREFIX}/login/{provider.name}?" + _query({"next": target, "via": "redirect"})
            page: dict[str, Any] = {**in_app.params, "state": state, "fallback": fallback,
                                    "callback": f"{PREFIX}/auth/{provider.name}"}
            response: web.Response = self.render(request, in_app.template, title="登录", **page)
        else:
            response = redirect(provider.authorize(self._redirect_uri(request, provider), state), 302)
        self._set_cookie(request, response, STATE_COOKIE, cookie, STATE_TTL_SECONDS)
        return response

    async def oauth_callback(self, request: web.Request) -> web.StreamResponse:
        provider = self.providers.get(request.match_info["platform"])
        if provider is None:
            raise web.HTTPNotFound()
        saved = self.signer.loads("oauth", request.cookies.get(STATE_COOKIE))
        state = request.query.get("state", "")
        if saved is None or saved.get("p") != provider.name or not hmac.compare_digest(str(saved.get("s")), state):
            log.warning("console_bad_state", platform=provider.name)
            return self.message(request, 400, "登录请求已失效",
                                "这次登录不是从本页面发起的，或已超过 10 分钟。请重新登录。",
                                link=PREFIX + "/login", link_label="重新登录")
        code = request.query.get(provider.code_param, "")
        if not code or len(code) > 512:
            return self.message(request, 400, "登录未完成", "没有收到授权码，请重新登录。", link=PREFIX + "/login",
                                link_label="重新登录")
        try:
            in_app = provider.in_app if request.query.get("via") == "app" else None
            user_id = await (in_app.identify if in_app is not None else provider.identify)(code)
        except Exception:  # a platform outage must not look like a refusal, nor become a 500
            log.exception("console_identify_failed", platform=provider.name)
            return self.message(request, 503, "暂时无法登录", "无法连接到平台确认你的身份，请稍后再试。")
        if user_id is None:
            return self.message(request, 403, "无法确认身份", "授权码无效或已被使用，请从应用重新打开。",
                                link=PREFIX + "/login", link_label="重新登录")
        member = await self.db(lambda: _by_column(self.engine, f"{provider.name}_userid", user_id))
        if member is None or not member.active:
            log.info("console_unknown_member", platform=provider.name)
            return _forbidden(self, request)
        return self._start_session(request, member, safe_next(str(saved.get("n", "")), PREFIX))

    async def logout(self, request: web.Request) -> web.StreamResponse:
        _form, refused = await self.checked_form(request)
        if refused is not None:
            return refused
        response = redirect(PREFIX + "/login")
        response.del_cookie(SESSION_COOKIE, path=PREFIX + "/")
        return response

    async def css(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "console.css", headers={"Cache-Control": "public, max-age=3600"})

    async def script(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "dd_login.js", headers={"Cache-Control": "public, max-age=3600",
                                                                  "Content-Type": "text/javascript"})

    async def vendor(self, request: web.Request) -> web.StreamResponse:
        """Third-party browser assets genjin ships (static/vendor/NOTICE.md); versioned names, cached long."""
        name = request.match_info["name"]
        if name not in VENDOR_FILES:
            raise web.HTTPNotFound()
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "Content-Type": "text/javascript"}
        return web.FileResponse(STATIC / "vendor" / name, headers=headers)


def _forbidden(console: Console, request: web.Request) -> web.Response:
    return console.message(request, 403, "没有访问权限", "你不是跟进的成员，或账号已停用。请联系管理员开通。")


def _query(params: dict[str, str]) -> str:
    return urlencode(params)


def _member(engine: Engine, member_id: int) -> Member | None:
    with Session(engine) as session:
        return session.get(Member, member_id)


def _by_column(engine: Engine, column: str, value: str) -> Member | None:
    if not value:
        return None
    with Session(engine) as session:
        return session.exec(select(Member).where(col(getattr(Member, column)) == value)).first()


def _sandbox_members(engine: Engine) -> list[Member]:
    with Session(engine) as session:
        return list(session.exec(select(Member).where(col(Member.sandbox_id).is_not(None), col(Member.active))
                                 .order_by(col(Member.id))).all())


def build_console(engine: Engine, settings: Settings, clock: Clock, *, providers: Sequence[LoginProvider],
                  sandbox: bool) -> web.Application:
    return Console(engine, settings, clock, providers=providers, sandbox=sandbox).app()
