"""A protocol-faithful fake WeCom for tests: the server API on 127.0.0.1 and a callback driver.

FakeWeCom answers gettoken, message/send, message/update_template_card and media/get the way
qyapi.weixin.qq.com does — JSON with errcode/errmsg and HTTP 200 even for errors, a media error as
JSON instead of the file, tokens that expire, response codes usable once within 72 h, and messages
over 30/min or 1000/h per member *silently dropped* (answered ok, never delivered) — and records
every call. message/send implements WeCom's duplicate check (document/path/90236): with
`enable_duplicate_check: 1`, the same request JSON again within `duplicate_check_interval` seconds
(default 1800, at most 4 hours) is not delivered again — answered ok, recorded in `absorbed`; and a
template card's task_id can be used once per app, ever (a reuse is refused with 40058).
OAuth2 for the console (document/path/91022, 91023): /connect/oauth2/authorize (open.weixin.qq.com
in real life) checks appid, scope snsapi_base, response_type and agentid and sends the browser back
to redirect_uri with a fresh code and the caller's state, as the member `login_user`; auth/getuserinfo
turns a code into the userid once, within 5 minutes (a reused or unknown code: 40029).
Nothing here imports the code under test's crypto: WeComCallbackDriver encrypts and
signs on its own (AES-256-CBC per WeCom's 加解密方案) so a shared bug cannot hide.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import re
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# ---------------------------------------------------------------- crypto (independent implementation)


def _aes(aes_key: str) -> tuple[bytes, bytes]:
    key = base64.b64decode(aes_key + "=")
    return key, key[:16]


def wecom_encrypt(plain: str, aes_key: str, receive_id: str, random16: bytes | None = None) -> str:
    key, iv = _aes(aes_key)
    msg = plain.encode()
    data = (random16 or os.urandom(16)) + struct.pack(">I", len(msg)) + msg + receive_id.encode()
    pad = 32 - len(data) % 32  # WeCom pads PKCS#7-style to 32 bytes, not AES's 16
    data += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def wecom_decrypt(encrypted: str, aes_key: str) -> tuple[str, str]:
    key, iv = _aes(aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    data = dec.update(base64.b64decode(encrypted)) + dec.finalize()
    data = data[: -data[-1]]
    (length,) = struct.unpack(">I", data[16:20])
    return data[20 : 20 + length].decode(), data[20 + length :].decode()


def wecom_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


# ---------------------------------------------------------------- the server API

TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
RESPONSE_CODE_TTL = 72 * 3600
MEDIA_TTL = 3 * 24 * 3600
OAUTH_CODE_TTL = 300
DUPLICATE_CHECK_DEFAULT = 1800
DUPLICATE_CHECK_MAX = 4 * 3600


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeWeCom:
    corp_id: str = "wwfakecorp0001"
    secret: str = "fake-secret"
    agent_id: int = 1000002
    users: set[str] | None = None  # None: every user id is valid
    token_ttl: int = 7200
    calls: list[Call] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # delivered to a member's chat
    dropped: list[dict[str, Any]] = field(default_factory=list)  # over WeCom's per-member limit
    absorbed: list[dict[str, Any]] = field(default_factory=list)  # repeats its duplicate check held back
    updates: list[dict[str, Any]] = field(default_factory=list)
    offset: float = 0.0  # seconds added to the fake's clock (time travel)
    _tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry
    _media: dict[str, tuple[bytes, str, float]] = field(default_factory=dict)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _task_ids: set[str] = field(default_factory=set)
    _cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # task_id -> the card as last shown
    _recent: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)  # request JSON -> (at, answer)
    _failures: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    _delays: dict[str, list[float]] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    url: str = ""
    login_user: str | None = None  # who is signed in to the WeCom client the browser runs in
    outsiders: set[str] = field(default_factory=set)  # not in the corp: getuserinfo answers an openid
    _oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- control
    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def fail_next(self, path: str, errcode: int, errmsg: str = "injected", times: int = 1) -> None:
        self._failures.setdefault(path, []).extend([(errcode, errmsg)] * times)

    def delay(self, path: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls to `path` answer only after `seconds`."""
        self._delays.setdefault(path, []).extend([seconds] * times)

    def expire_tokens(self) -> None:
        for token in self._tokens:
            self._tokens[token] = self.now() - 1

    def add_media(self, data: bytes, content_type: str = "audio/amr") -> str:
        media_id = f"MEDIA_{next(self._seq)}_" + hashlib.sha1(data).hexdigest()[:16]
        self._media[media_id] = (data, content_type, self.now())
        return media_id

    def click(self, user: str, task_id: str) -> str:
        """What WeCom does when a member taps a card button: a fresh one-time ResponseCode."""
        return self._issue_code(user, task_id)

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def sent_to(self, user: str, msgtype: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["touser"] == user and (msgtype is None or m["msgtype"] == msgtype)]

    # -- lifecycle
    async def start(self) -> FakeWeCom:
        app = web.Application()
        app.add_routes([
            web.get("/cgi-bin/gettoken", self._gettoken),
            web.post("/cgi-bin/message/send", self._send),
            web.post("/cgi-bin/message/update_template_card", self._update_card),
            web.get("/cgi-bin/media/get", self._media_get),
            web.get("/connect/oauth2/authorize", self._authorize),
            web.get("/cgi-bin/auth/getuserinfo", self._getuserinfo),
        ])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- helpers
    def _issue_code(self, user: str, task_id: str) -> str:
        code = f"RC{next(self._seq)}" + hashlib.sha1(f"{user}{task_id}{self.now()}".encode()).hexdigest()[:20]
        self._codes[code] = {"user": user, "task_id": task_id, "issued": self.now(), "used": False}
        return code

    async def _enter(self, request: web.Request, body: Any = None) -> web.Response | None:
        self.calls.append(Call(request.method, request.path, dict(request.query), body))
        if self._delays.get(request.path):
            await asyncio.sleep(self._delays[request.path].pop(0))
        queued = self._failures.get(request.path)
        if queued:
            errcode, errmsg = queued.pop(0)
            return _err(errcode, errmsg)
        if request.path == "/cgi-bin/gettoken":
            return None
        token = request.query.get("access_token", "")
        if token not in self._tokens:
            return _err(40014, "invalid access_token")
        if self._tokens[token] <= self.now():
            return _err(42001, "access_token expired")
        return None

    # -- endpoints
    async def _gettoken(self, request: web.Request) -> web.Response:
        if (refused := await self._enter(request)) is not None:
            return refused
        if request.query.get("corpid") != self.corp_id:
            return _err(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.secret:
            return _err(40001, "invalid credential")
        # Within its lifetime WeCom hands out the same token again; afterwards a new one.
        live = [t for t, exp in self._tokens.items() if exp > self.now()]
        token = live[0] if live else f"TOKEN{next(self._seq)}"
        self._tokens.setdefault(token, self.now() + self.token_ttl)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token,
                                  "expires_in": int(self._tokens[token] - self.now())})

    async def _json_body(self, request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except ValueError:
            return None

    async def _send(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if (refused := await self._enter(request, body)) is not None:
            return refused
        if not isinstance(body, dict):
            return _err(47001, "data format error")
        if body.get("agentid") != self.agent_id:
            return _err(40056, "invalid agentid")
        user = body.get("touser")
        if not isinstance(user, str) or (self.users is not None and user not in self.users):
            return web.json_response({"errcode": 81013, "errmsg": "user & party & tag all invalid",
                                      "invaliduser": str(user)})
        msgtype = body.get("msgtype")
        content = body.get(msgtype) if isinstance(msgtype, str) else None
        check = body.get("enable_duplicate_check", 0)
        interval = body.get("duplicate_check_interval", DUPLICATE_CHECK_DEFAULT)
        if check not in (0, 1) or not isinstance(interval, int) or not 0 < interval <= DUPLICATE_CHECK_MAX:
            return _err(40058, "invalid enable_duplicate_check / duplicate_check_interval")
        # The duplicate check looks at the whole request ("同样内容(请求json)"), before anything else:
        # the same card again is a repeat, not a reuse of its task_id.
        request_key = json.dumps(body, sort_keys=True, ensure_ascii=False)
        if check == 1:
            seen = self._recent.get(request_key)
            if seen is not None and seen[0] > self.now() - interval:
                self.absorbed.append({"touser": user, "msgtype": msgtype, msgtype: content, "at": self.now()})
                return web.json_response(seen[1])
        problem = _check_message(msgtype, content, self._task_ids)
        if problem is not None:
            return _err(*problem)
        record = {"touser": user, "msgtype": msgtype, msgtype: content, "at": self.now()}
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "",
                                  "msgid": f"MSG{next(self._seq)}"}
        if msgtype == "template_card":
            self._task_ids.add(content["task_id"])
            self._cards[content["task_id"]] = content
            answer["response_code"] = record["response_code"] = self._issue_code(user, content["task_id"])
        if msgtype in ("text", "markdown") and len(content["content"].encode()) > 2048:
            record["truncated"] = True  # WeCom cuts the tail off without an error
        if check == 1:
            self._recent[request_key] = (self.now(), answer)
        recent = [m["at"] for m in self.sent if m["touser"] == user]
        if sum(t > self.now() - 60 for t in recent) >= 30 or sum(t > self.now() - 3600 for t in recent) >= 1000:
            self.dropped.append(record)  # the real thing answers ok and never delivers
        else:
            self.sent.append(record)
        return web.json_response(answer)

    def card_as_shown(self, task_id: str) -> dict[str, Any]:
        """The card a member sees now under `task_id` (after any in-place updates)."""
        return self._cards[task_id]

    async def _update_card(self, request: web.Request) -> web.Response:
        """message/update_template_card (document/path/94888): a ResponseCode from message/send or a
        click, usable once within 72 h, for the card it was issued for; the body carries the target
        (userids/partyids/tagids/atall) and either `button.replace_name` — only for button,
        vote and multiple interaction cards — or a whole new `template_card`."""
        body = await self._json_body(request)
        if (refused := await self._enter(request, body)) is not None:
            return refused
        if not isinstance(body, dict) or body.get("agentid") != self.agent_id:
            return _err(40056, "invalid agentid")
        code = self._codes.get(str(body.get("response_code")))
        if code is None or code["used"] or code["issued"] < self.now() - RESPONSE_CODE_TTL:
            return _err(40140, "invalid response_code")  # unknown, used or older than 72 h
        if not any(body.get(k) for k in ("userids", "partyids", "tagids", "atall")):
            return _err(40063, "userids/partyids/tagids/atall: one is required")
        if code["user"] not in (body.get("userids") or []) and body.get("atall") != 1:
            return _err(81013, "user invalid")
        original = self._cards.get(code["task_id"])
        if original is None:
            return _err(40058, "no card for this response_code")
        button, card = body.get("button"), body.get("template_card")
        if (button is None) == (card is None):
            return _err(40058, "exactly one of button / template_card")
        if button is not None:
            name = button.get("replace_name") if isinstance(button, dict) else None
            if not isinstance(name, str) or not name.strip():
                return _err(40063, "button.replace_name required")
            if original.get("card_type") not in INTERACTIVE_TYPES:
                return _err(40058, "only interaction cards can replace their button")
            code["used"] = True
            shown = {k: v for k, v in original.items() if k not in ("button_list", "button_selection",
                                                                    "checkbox", "select_list", "submit_button")}
            shown["replace_text"] = name  # WeCom draws one grey, unclickable button
            self._cards[code["task_id"]] = shown
            self.updates.append({"user": code["user"], "replaces_task_id": code["task_id"],
                                 "replace_name": name, "template_card": shown})
            return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})
        problem = _check_message("template_card", card, self._task_ids)
        if problem is not None:
            return _err(*problem)
        code["used"] = True
        self._task_ids.add(card["task_id"])
        self._cards[card["task_id"]] = self._cards[code["task_id"]] = card
        self.updates.append({"user": code["user"], "replaces_task_id": code["task_id"], "template_card": card})
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    async def _authorize(self, request: web.Request) -> web.Response:
        """The browser side of OAuth2: no token; WeCom shows an error page for a bad request."""
        self.calls.append(Call(request.method, request.path, dict(request.query), None))
        q = request.query
        redirect_uri = q.get("redirect_uri", "")
        if (q.get("appid") != self.corp_id or q.get("response_type") != "code" or q.get("scope") != "snsapi_base"
                or q.get("agentid") != str(self.agent_id) or not redirect_uri.startswith(("http://", "https://"))):
            return web.Response(status=400, text="参数错误", content_type="text/html")
        if self.login_user is None:
            return web.Response(status=403, text="请在企业微信客户端打开链接", content_type="text/html")
        code = f"OAUTH{next(self._seq)}" + hashlib.sha1(f"{self.login_user}{self.now()}".encode()).hexdigest()[:16]
        self._oauth_codes[code] = {"user": self.login_user, "issued": self.now(), "used": False}
        sep = "&" if "?" in redirect_uri else "?"
        target = f"{redirect_uri}{sep}" + urlencode({"code": code, "state": q.get("state", "")})
        return web.Response(status=302, headers={"Location": target})

    async def _getuserinfo(self, request: web.Request) -> web.Response:
        if (refused := await self._enter(request)) is not None:
            return refused
        found = self._oauth_codes.get(request.query.get("code", ""))
        if found is None or found["used"] or found["issued"] < self.now() - OAUTH_CODE_TTL:
            return _err(40029, "invalid code")
        found["used"] = True
        if found["user"] in self.outsiders:
            return web.json_response({"errcode": 0, "errmsg": "ok", "openid": "o" + found["user"]})
        return web.json_response({"errcode": 0, "errmsg": "ok", "userid": found["user"]})

    async def _media_get(self, request: web.Request) -> web.Response:
        if (refused := await self._enter(request)) is not None:
            return refused
        found = self._media.get(request.query.get("media_id", ""))
        if found is None or found[2] < self.now() - MEDIA_TTL:
            return _err(40007, "invalid media_id")
        data, ctype, _ = found
        return web.Response(body=data, headers={
            "Content-Type": ctype, "Content-disposition": 'attachment; filename="voice.amr"'})


def _err(errcode: int, errmsg: str) -> web.Response:
    # WeCom reports errors with HTTP 200 and a JSON body.
    return web.json_response({"errcode": errcode, "errmsg": errmsg})


def _check_message(msgtype: Any, content: Any, used_task_ids: set[str]) -> tuple[int, str] | None:
    if msgtype not in ("text", "markdown", "template_card") or not isinstance(content, dict):
        return 40008, "invalid message type"
    if msgtype in ("text", "markdown"):
        if not isinstance(content.get("content"), str) or not content["content"]:
            return 44004, "empty content"
        return None
    return _check_card(content, used_task_ids)


INTERACTIVE_TYPES = ("button_interaction", "vote_interaction", "multiple_interaction")


def _check_card(card: dict[str, Any], used_task_ids: set[str]) -> tuple[int, str] | None:
    """The required fields and limits WeCom enforces per card type (document/path/90236, 90372)."""
    card_type = card.get("card_type")
    if card_type not in INTERACTIVE_TYPES:
        return 40058, "card_type must be an interaction card here"
    task_id = card.get("task_id")
    if not isinstance(task_id, str) or not TASK_ID_RE.match(task_id):
        return 40058, "invalid task_id"
    if task_id in used_task_ids:
        return 40058, "task_id already exists"
    if card_type == "vote_interaction":
        box, submit = card.get("checkbox") or {}, card.get("submit_button") or {}
        options = box.get("option_list") or []
        if not box.get("question_key") or not 1 <= len(options) <= 20 or box.get("mode", 0) not in (0, 1):
            return 40058, "checkbox needs question_key and 1-20 options"
        if not submit.get("text") or not submit.get("key"):
            return 40063, "submit_button.text and key required"
        return None
    if card_type == "multiple_interaction":
        selects, submit = card.get("select_list") or [], card.get("submit_button") or {}
        if not 1 <= len(selects) <= 3 or any(not s.get("question_key") or not s.get("option_list") for s in selects):
            return 40058, "select_list needs 1-3 selections with question_key and options"
        if not submit.get("text") or not submit.get("key"):
            return 40063, "submit_button.text and key required"
        return None
    if not (card.get("main_title") or {}).get("title") and not card.get("sub_title_text"):
        return 40058, "main_title.title or sub_title_text required"
    buttons = card.get("button_list")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
        return 40058, "button_list needs 1-6 buttons"
    keys = [b.get("key") for b in buttons]
    if any(not isinstance(k, str) or not k or len(k.encode()) > 1024 for k in keys) or len(set(keys)) != len(keys):
        return 40058, "button keys must be unique, 1-1024 bytes"
    if any(not b.get("text") or b.get("style", 1) not in (1, 2, 3, 4) for b in buttons):
        return 40058, "button text/style invalid"
    if len(card.get("horizontal_content_list") or []) > 6:
        return 40058, "horizontal_content_list over 6"
    selection = card.get("button_selection")
    if selection is not None:
        options = selection.get("option_list") or []
        ids = [o.get("id") for o in options]
        if not selection.get("question_key") or not 1 <= len(options) <= 10:
            return 40058, "button_selection needs question_key and 1-10 options"
        if any(not isinstance(i, str) or len(i.encode()) > 128 for i in ids) or len(set(ids)) != len(ids):
            return 40058, "option ids must be unique, at most 128 bytes"
    return None


# ---------------------------------------------------------------- the callback driver


@dataclass
class Delivery:
    """What WeCom saw when it pushed one callback: one status per try (None = no answer in time)."""

    statuses: list[int | None]
    bodies: list[str]

    @property
    def final(self) -> int | None:
        return self.statuses[-1]


class WeComCallbackDriver:
    """Posts encrypted callbacks exactly as WeCom does. WeCom waits 5 s for an answer; without one it
    drops the connection and pushes the same callback again, three tries in all."""

    def __init__(self, url: str, *, token: str, aes_key: str, corp_id: str, agent_id: int = 1000002,
                 answer_timeout: float = 5.0, tries: int = 3, now: Callable[[], float] = time.time) -> None:
        self.url = url
        self.now = now  # WeCom signs its own clock's time; the bot's replay window compares it to its clock
        self.token = token
        self.aes_key = aes_key
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.answer_timeout = answer_timeout
        self.tries = tries
        self._seq = itertools.count(int(time.time()) * 1000)
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WeComCallbackDriver:
        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.session is not None:
            await self.session.close()

    def next_msg_id(self) -> str:
        return str(next(self._seq))

    def envelope(self, plain_xml: str, *, timestamp: str | None = None,
                 nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        timestamp = timestamp or str(int(self.now()))
        nonce = nonce or str(int.from_bytes(os.urandom(4), "big"))
        encrypted = wecom_encrypt(plain_xml, self.aes_key, self.corp_id)
        query = {"msg_signature": wecom_signature(self.token, timestamp, nonce, encrypted),
                 "timestamp": timestamp, "nonce": nonce}
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>")
        return query, body.encode()

    async def post_raw(self, query: dict[str, str], body: bytes) -> Delivery:
        assert self.session is not None, "use `async with WeComCallbackDriver(...)`"
        delivery = Delivery([], [])
        for _ in range(self.tries):
            try:
                async with self.session.post(self.url, params=query, data=body,
                                             headers={"Content-Type": "text/xml"},
                                             timeout=aiohttp.ClientTimeout(total=self.answer_timeout)) as resp:
                    delivery.statuses.append(resp.status)
                    delivery.bodies.append(await resp.text())
                    return delivery
            except TimeoutError:
                delivery.statuses.append(None)  # WeCom gives up on this try and pushes again
                delivery.bodies.append("")
        return delivery

    async def push(self, plain_xml: str) -> Delivery:
        return await self.post_raw(*self.envelope(plain_xml))

    async def verify_url(self, echo_plain: str) -> tuple[int, str]:
        assert self.session is not None
        timestamp, nonce = str(int(self.now())), "1372623149"
        echostr = wecom_encrypt(echo_plain, self.aes_key, self.corp_id)
        query = {"msg_signature": wecom_signature(self.token, timestamp, nonce, echostr), "timestamp": timestamp,
                 "nonce": nonce, "echostr": echostr}
        async with self.session.get(self.url, params=query) as resp:
            return resp.status, await resp.text()

    # -- the decrypted XML WeCom sends for each kind (document/path/90239 and 90240)
    def _head(self, user: str, msgtype: str, create_time: int | None) -> str:
        return (f"<ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
                f"<FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
                f"<MsgType><![CDATA[{msgtype}]]></MsgType>")

    def text_xml(self, user: str, content: str, msg_id: str | None = None) -> str:
        return (f"<xml>{self._head(user, 'text', None)}<Content><![CDATA[{content}]]></Content>"
                f"<MsgId>{msg_id or self.next_msg_id()}</MsgId><AgentID>{self.agent_id}</AgentID></xml>")

    def voice_xml(self, user: str, media_id: str, msg_id: str | None = None) -> str:
        return (f"<xml>{self._head(user, 'voice', None)}<MediaId><![CDATA[{media_id}]]></MediaId>"
                f"<Format><![CDATA[amr]]></Format><MsgId>{msg_id or self.next_msg_id()}</MsgId>"
                f"<AgentID>{self.agent_id}</AgentID></xml>")

    def image_xml(self, user: str, media_id: str, pic_url: str = "https://wework.qpic.cn/pic/1") -> str:
        return (f"<xml>{self._head(user, 'image', None)}<PicUrl><![CDATA[{pic_url}]]></PicUrl>"
                f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{self.next_msg_id()}</MsgId>"
                f"<AgentID>{self.agent_id}</AgentID></xml>")

    def link_xml(self, user: str, title: str, description: str, url: str) -> str:
        return (f"<xml>{self._head(user, 'link', None)}<Title><![CDATA[{title}]]></Title>"
                f"<Description><![CDATA[{description}]]></Description><Url><![CDATA[{url}]]></Url>"
                f"<PicUrl><![CDATA[]]></PicUrl><MsgId>{self.next_msg_id()}</MsgId>"
                f"<AgentID>{self.agent_id}</AgentID></xml>")

    def event_xml(self, user: str, event: str, key: str = "", create_time: int | None = None) -> str:
        return (f"<xml>{self._head(user, 'event', create_time)}<Event><![CDATA[{event}]]></Event>"
                f"<EventKey><![CDATA[{key}]]></EventKey><AgentID>{self.agent_id}</AgentID></xml>")

    def card_click_xml(self, user: str, *, event_key: str, task_id: str, response_code: str,
                       selected: dict[str, list[str]] | None = None, create_time: int | None = None,
                       card_type: str = "button_interaction") -> str:
        items = "".join(
            f"<SelectedItem><QuestionKey><![CDATA[{q}]]></QuestionKey><OptionIds>"
            + "".join(f"<OptionId><![CDATA[{o}]]></OptionId>" for o in options)
            + "</OptionIds></SelectedItem>"
            for q, options in (selected or {}).items()
        )
        return (f"<xml>{self._head(user, 'event', create_time)}<Event><![CDATA[template_card_event]]></Event>"
                f"<EventKey><![CDATA[{event_key}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
                f"<CardType><![CDATA[{card_type}]]></CardType><ResponseCode><![CDATA[{response_code}]]>"
                f"</ResponseCode><AgentID>{self.agent_id}</AgentID>"
                + (f"<SelectedItems>{items}</SelectedItems>" if items else "") + "</xml>")


# ---------------------------------------------------------------- the bot under test, wired to the fake


@dataclass
class WeComStack:
    fake: FakeWeCom
    runtime: Any  # bot.app.Runtime
    driver: WeComCallbackDriver
    server: Any  # aiohttp.test_utils.TestServer

    async def work(self) -> int:
        """Run the worker over everything stored, then one outbox pass: what a tick of the bot does."""
        processed = await asyncio.to_thread(self.runtime.worker.drain)
        await self.runtime.sender.run_once()
        return processed


def random_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()[:43]


@contextlib.asynccontextmanager
async def wecom_stack(database_url: str, data_dir: Any, *, clock: Any = None,
                      answer_timeout: float = 5.0, **settings: Any) -> AsyncIterator[WeComStack]:
    """The real app (build_runtime/build_web_app) on a loopback port, its WeCom API pointed at the fake."""
    from aiohttp.test_utils import TestServer

    from bot.app import build_runtime, build_web_app
    from bot.clock import system_clock
    from bot.config import Settings, WeComSettings

    fake = await FakeWeCom().start()
    config = WeComSettings(corp_id=fake.corp_id, agent_id=fake.agent_id, secret=fake.secret,
                           token="genjinTestToken", encoding_aes_key=random_aes_key(), api_base=fake.url)
    clock = clock or system_clock
    runtime = build_runtime(Settings(database_url=database_url, data_dir=data_dir, wecom=config, **settings),
                            clock=clock)
    server = TestServer(build_web_app(runtime, background=False), host="127.0.0.1")
    await server.start_server()
    driver = WeComCallbackDriver(str(server.make_url(config.callback_path)), token=config.token.get_secret_value(),
                                 aes_key=config.encoding_aes_key.get_secret_value(), corp_id=config.corp_id,
                                 agent_id=config.agent_id, answer_timeout=answer_timeout,
                                 now=lambda: clock().timestamp())
    try:
        async with driver:
            yield WeComStack(fake, runtime, driver, server)
    finally:
        await server.close()
        await fake.close()
        runtime.engine.dispose()
