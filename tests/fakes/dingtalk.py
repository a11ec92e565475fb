"""A protocol-faithful fake DingTalk for tests: the Stream gateway and the server API on 127.0.0.1.

Gateway: POST /v1.0/gateway/connections/open checks clientId/clientSecret and answers {endpoint,
ticket}; the websocket at that endpoint takes the ticket once, then pushes frames the way the real
gateway does — CALLBACK frames (headers topic, messageId, contentType, time; `data` is a JSON string)
only for subscribed topics, SYSTEM ping (expects the opaque echoed in the ack) and disconnect — and
reads the client's acks ({code, headers.messageId, message, data}). A frame not acked is pushed again
on the next connection, as DingTalk redelivers; the fake can drop a socket abruptly after N acks.

API: accessToken (tokens expire and can be revoked: 401 InvalidAuthentication), robot batchSend
(invalidStaffIdList / flowControlledStaffIdList), groupMessages/send, messageFiles/download (a
downloadUrl, then the bytes), StandardCard interactiveCards send (cardBizId idempotent) and update,
the card-instance API of a card-builder template (card/instances create, deliver, createAndDeliver,
PUT update — validated as below) and sessionWebhook URLs that expire. Every call is recorded. No code
under test is imported here.

Console login (OAuth2, https://open.dingtalk.com/document/orgapp/tutorial-obtaining-user-personal-information):
GET /oauth2/auth (login.dingtalk.com in real life) checks client_id, response_type=code and scope,
then sends the browser back to redirect_uri with `authCode` and the caller's state, as `login_user`;
POST /v1.0/oauth2/userAccessToken takes that code once, within 5 minutes, for a user token;
GET /v1.0/contact/users/me names the user (unionId); the oapi's POST /topapi/user/getbyunionid (app
token in the query) maps the unionId to the org's userid (60121 when not in the org).

Card instances (https://open.dingtalk.com/document/orgapp/create-and-deliver-cards and
.../interactive-card-update-interface; space and deliver models as the dingtalk_stream SDK's
CardReplier builds them): cardTemplateId must be a published template of this fake
(`card_templates`), outTrackId is required and unique, callbackType STREAM (HTTP needs a
callbackRouteKey), cardData.cardParamMap holds strings only, openSpaceId is
dtv1.card//IM_ROBOT.<userId> with imRobotOpenDeliverModel.spaceType IM_ROBOT, or
dtv1.card//IM_GROUP.<openConversationId> with imGroupOpenDeliverModel.robotCode. An update replaces
the cardParamMap, or merges it with cardUpdateOptions.updateCardDataByKey. `instance_click` builds
the callback a tap on a live button sends on /v1.0/card/instances/callback; a tap on a button the card
no longer shows cannot happen and is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

TOPIC_BOT = "/v1.0/im/bot/messages/get"
TOPIC_CARD = "/v1.0/card/instances/callback"
_seq = itertools.count(1)


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Sent:
    """One message or card as a DingTalk user would see it."""

    via: str  # webhook | batch | group | card | card_update
    to: str | None  # user id (1:1) or None
    chat: str | None  # open conversation id (group) or None
    body: dict[str, Any]


@dataclass
class Conn:
    ws: web.WebSocketResponse
    request: web.Request
    topics: set[str]
    number: int


@dataclass
class FakeDingTalk:
    client_id: str = "dingfakeappkey"
    client_secret: str = "fake-secret"
    token_ttl: int = 7200
    calls: list[Call] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    card_templates: set[str] = field(default_factory=lambda: {"genjin-followup.schema"})
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)  # outTrackId -> {params, space, ...}
    invalid_users: set[str] = field(default_factory=set)
    flow_controlled: set[str] = field(default_factory=set)
    open_failures: int = 0  # the next N connections/open answer HTTP 500
    close_on_connect: int = 0  # the next N sockets close right after the handshake
    drop_after_acks: int | None = None  # abort the socket (no close frame) once this many acks arrived
    on_ack: Callable[[str], None] | None = None
    acked: list[str] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[tuple[int, str]] = field(default_factory=list)  # (connection number, messageId)
    opens: int = 0
    connections: int = 0
    login_user: str | None = None  # who is signed in to the DingTalk client the browser runs in
    outsiders: set[str] = field(default_factory=set)  # DingTalk users who are not in this org

    def __post_init__(self) -> None:
        self._tokens: dict[str, float] = {}
        self._tickets: dict[str, set[str]] = {}
        self._sessions: dict[str, int] = {}  # sessionWebhook id -> expiry (ms since epoch)
        self._pending: dict[str, dict[str, Any]] = {}
        self._live: list[Conn] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._auth_codes: dict[str, dict[str, Any]] = {}
        self._user_tokens: dict[str, str] = {}  # user access token -> userid
        self._app_codes: dict[str, dict[str, Any]] = {}  # H5 免登 codes (requestAuthCode)

    # ------------------------------------------------------------------ server life

    async def start(self) -> FakeDingTalk:
        app = web.Application()
        app.add_routes([
            web.post("/v1.0/gateway/connections/open", self._open),
            web.get("/gateway/connect", self._socket),
            web.post("/v1.0/oauth2/accessToken", self._token),
            web.post("/v1.0/robot/oToMessages/batchSend", self._batch_send),
            web.post("/v1.0/robot/groupMessages/send", self._group_send),
            web.post("/v1.0/robot/messageFiles/download", self._download),
            web.get("/files/{code}", self._file),
            web.post("/v1.0/im/v1.0/robot/interactiveCards/send", self._card_send),
            web.put("/v1.0/im/robots/interactiveCards", self._card_update),
            web.post("/robot/sendBySession", self._session_webhook),
            web.get("/oauth2/auth", self._oauth_authorize),
            web.post("/v1.0/oauth2/userAccessToken", self._user_access_token),
            web.get("/v1.0/contact/users/me", self._users_me),
            web.post("/topapi/user/getbyunionid", self._get_by_unionid),
            web.post("/topapi/v2/user/getuserinfo", self._app_code_user),
            web.post("/v1.0/card/instances", self._instance_create),
            web.post("/v1.0/card/instances/deliver", self._instance_deliver),
            web.post("/v1.0/card/instances/createAndDeliver", self._instance_create_and_deliver),
            web.put("/v1.0/card/instances", self._instance_update),
        ])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        for conn in list(self._live):
            await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _record(self, request: web.Request, body: dict[str, Any]) -> None:
        self.calls.append(Call(request.method, request.path, body, dict(request.headers)))
        self._changed.set()

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    # ------------------------------------------------------------------ gateway

    async def _open(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        self.opens += 1
        if self.open_failures > 0:
            self.open_failures -= 1
            return web.json_response({"code": "ServiceUnavailable", "message": "gateway busy"}, status=500)
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return web.json_response({"code": "InvalidAuthentication", "message": "clientId/secret"}, status=401)
        topics = {s["topic"] for s in body.get("subscriptions", []) if s.get("type") == "CALLBACK"}
        ticket = uuid.uuid4().hex
        self._tickets[ticket] = topics
        return web.json_response({"endpoint": f"ws://{request.host}/gateway/connect", "ticket": ticket})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        topics = self._tickets.pop(request.query.get("ticket", ""), None)
        if topics is None:  # tickets are single use
            return web.json_response({"code": "InvalidTicket"}, status=401)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        conn = Conn(ws, request, topics, self.connections)
        if self.close_on_connect > 0:
            self.close_on_connect -= 1
            await ws.close()
            return ws
        self._live.append(conn)
        self._changed.set()
        for frame in list(self._pending.values()):  # redelivery of everything not acked yet
            await self._push(conn, frame)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_ack(conn, json.loads(msg.data))
        finally:
            if conn in self._live:
                self._live.remove(conn)
            self._changed.set()
        return ws

    def _on_ack(self, conn: Conn, ack: dict[str, Any]) -> None:
        self.acks.append(ack)
        message_id = str((ack.get("headers") or {}).get("messageId", ""))
        if message_id in self._pending and ack.get("code") == 200:
            del self._pending[message_id]
            self.acked.append(message_id)
            if self.on_ack is not None:
                self.on_ack(message_id)
        self._changed.set()
        if self.drop_after_acks is not None and len(self.acked) >= self.drop_after_acks:
            self.drop_after_acks = None
            self.abort_connections()

    async def _push(self, conn: Conn, frame: dict[str, Any]) -> None:
        topic = frame["headers"].get("topic")
        if frame["type"] == "CALLBACK" and topic not in conn.topics:
            return
        if conn.ws.closed:
            return
        try:
            await conn.ws.send_str(json.dumps(frame, ensure_ascii=False))
        except (ConnectionError, RuntimeError):
            return  # the socket died under us: the frame stays pending for the next connection
        self.deliveries.append((conn.number, frame["headers"]["messageId"]))

    async def push(self, frame: dict[str, Any]) -> str:
        """Queue a frame; the live connection (if any) gets it now, a later one otherwise."""
        message_id = frame["headers"]["messageId"]
        if frame["type"] == "CALLBACK":
            self._pending[message_id] = frame
        for conn in list(self._live)[-1:]:
            await self._push(conn, frame)
        return message_id

    async def redeliver(self, message_id: str, frame: dict[str, Any]) -> None:
        """Push a frame again although it was acked (DingTalk does when an ack got lost)."""
        self._pending[message_id] = frame
        await self.push(frame)

    def abort_connections(self) -> None:
        """Drop every socket abruptly: no close frame, as when a network path dies."""
        for conn in list(self._live):
            transport = conn.request.transport
            if transport is not None:
                transport.abort()

    async def close_connections(self) -> None:
        for conn in list(self._live):
            await conn.ws.close()

    @property
    def pending(self) -> list[str]:
        return list(self._pending)

    @property
    def live(self) -> int:
        return len([c for c in self._live if not c.ws.closed])

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("fake DingTalk: condition not reached in time")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.05))

    # ------------------------------------------------------------------ API

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return web.json_response({"code": "invalidClientIdOrSecret", "message": "无效的appKey"}, status=400)
        token = uuid.uuid4().hex
        self._tokens[token] = time.monotonic() + self.token_ttl
        return web.json_response({"accessToken": token, "expireIn": self.token_ttl})

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    async def _authed(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        body = await request.json()
        self._record(request, body)
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        if self._tokens.get(token, 0) < time.monotonic():
            return body, web.json_response({"code": "InvalidAuthentication", "message": "不合法的access_token"},
                                           status=401)
        if body.get("robotCode") not in (None, self.client_id):
            return body, web.json_response({"code": "robot.notExist", "message": "robotCode"}, status=400)
        return body, None

    async def _batch_send(self, request: web.Request) -> web.Response:
        body, error = await self._authed(request)
        if error:
            return error
        users = list(body.get("userIds") or [])
        param = json.loads(body["msgParam"])
        invalid = [u for u in users if u in self.invalid_users]
        held = [u for u in users if u in self.flow_controlled]
        for user in users:
            if user not in invalid and user not in held:
                self.sent.append(Sent("batch", user, None, {"msgKey": body["msgKey"], **param}))
        return web.json_response({"processQueryKey": uuid.uuid4().hex, "invalidStaffIdList": invalid,
                                  "flowControlledStaffIdList": held})

    async def _group_send(self, request: web.Request) -> web.Response:
        body, error = await self._authed(request)
        if error:
            return error
        param = json.loads(body["msgParam"])
        self.sent.append(Sent("group", None, body["openConversationId"], {"msgKey": body["msgKey"], **param}))
        return web.json_response({"processQueryKey": uuid.uuid4().hex})

    async def _download(self, request: web.Request) -> web.Response:
        body, error = await self._authed(request)
        if error:
            return error
        code = body.get("downloadCode", "")
        if code not in self.files:
            return web.json_response({"code": "invalidParameter.downloadCode", "message": "downloadCode"}, status=400)
        return web.json_response({"downloadUrl": f"{self.base_url}/files/{code}"})

    async def _file(self, request: web.Request) -> web.Response:
        self._record(request, {})
        data = self.files.get(request.match_info["code"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _card_send(self, request: web.Request) -> web.Response:
        body, error = await self._authed(request)
        if error:
            return error
        if body.get("cardTemplateId") != "StandardCard" or not body.get("cardBizId"):
            return web.json_response({"code": "invalidParameter", "message": "card"}, status=400)
        biz = body["cardBizId"]
        receiver = json.loads(body["singleChatReceiver"]) if body.get("singleChatReceiver") else {}
        if biz not in self.cards:  # cardBizId is idempotent: a resend does not show a second card
            self.cards[biz] = json.loads(body["cardData"])
            self.sent.append(Sent("card", receiver.get("userId"), body.get("openConversationId"),
                                  {"cardBizId": biz, "card": self.cards[biz]}))
        return web.json_response({"processQueryKey": biz})

    async def _card_update(self, request: web.Request) -> web.Response:
        body, error = await self._authed(request)
        if error:
            return error
        biz = body.get("cardBizId", "")
        if biz not in self.cards:
            return web.json_response({"code": "invalidParameter.cardBizId", "message": "card not found"}, status=400)
        self.cards[biz] = json.loads(body["cardData"])
        self.sent.append(Sent("card_update", None, None, {"cardBizId": biz, "card": self.cards[biz]}))
        return web.json_response({"success": True})

    # ------------------------------------------------------------------ OAuth2 login (console)

    @staticmethod
    def union_id(user: str) -> str:
        return "union-" + user

    async def _oauth_authorize(self, request: web.Request) -> web.Response:
        self._record(request, dict(request.query))
        q = request.query
        redirect_uri = q.get("redirect_uri", "")
        if (q.get("client_id") != self.client_id or q.get("response_type") != "code"
                or "openid" not in q.get("scope", "").split() or not redirect_uri.startswith(("http://", "https://"))):
            return web.Response(status=400, text="invalid request", content_type="text/html")
        if self.login_user is None:
            return web.Response(status=403, text="请在钉钉中打开", content_type="text/html")
        code = uuid.uuid4().hex
        self._auth_codes[code] = {"user": self.login_user, "issued": time.monotonic(), "used": False}
        sep = "&" if "?" in redirect_uri else "?"
        target = f"{redirect_uri}{sep}" + urlencode({"authCode": code, "state": q.get("state", "")})
        return web.Response(status=302, headers={"Location": target})

    async def _user_access_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return web.json_response({"code": "invalidClientIdOrSecret", "message": "无效的clientId"}, status=400)
        found = self._auth_codes.get(str(body.get("code", "")))
        if (body.get("grantType") != "authorization_code" or found is None or found["used"]
                or found["issued"] < time.monotonic() - 300):
            return web.json_response({"code": "invalidAuthCode", "message": "不合法的临时授权码"}, status=400)
        found["used"] = True
        token = uuid.uuid4().hex
        self._user_tokens[token] = found["user"]
        return web.json_response({"accessToken": token, "refreshToken": uuid.uuid4().hex, "expireIn": 7200,
                                  "corpId": "dingcorp"})

    async def _users_me(self, request: web.Request) -> web.Response:
        self._record(request, {})
        user = self._user_tokens.get(request.headers.get("x-acs-dingtalk-access-token", ""))
        if user is None:
            return web.json_response({"code": "InvalidAuthentication", "message": "不合法的access_token"}, status=401)
        return web.json_response({"nick": user, "unionId": self.union_id(user), "openId": "open-" + user})

    async def _get_by_unionid(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if self._tokens.get(request.query.get("access_token", ""), 0) < time.monotonic():
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        union = str(body.get("unionid", ""))
        user = union.removeprefix("union-") if union.startswith("union-") else None
        if user is None or user in self.outsiders:
            return web.json_response({"errcode": 60121, "errmsg": "找不到该用户"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "result": {"contact_type": 0, "userid": user},
                                  "request_id": uuid.uuid4().hex})

    def app_auth_code(self, user: str) -> str:
        """What `dd.runtime.permission.requestAuthCode` gives a page inside DingTalk for `user`: a
        one-time code valid for 5 minutes (the JS side is the DingTalk client, not this server)."""
        code = uuid.uuid4().hex
        self._app_codes[code] = {"user": user, "issued": time.monotonic(), "used": False}
        return code

    async def _app_code_user(self, request: web.Request) -> web.Response:
        """topapi/v2/user/getuserinfo: the app's access_token plus an H5 免登 code -> the member's userid.
        https://open.dingtalk.com/document/orgapp/obtain-the-userid-of-a-user-by-using-the-log-free"""
        body = await request.json()
        self._record(request, body)
        if self._tokens.get(request.query.get("access_token", ""), 0) < time.monotonic():
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        found = self._app_codes.get(str(body.get("code", "")))
        if found is None or found["used"] or found["issued"] < time.monotonic() - 300:
            return web.json_response({"errcode": 40078, "errmsg": "不存在的临时授权码"})
        found["used"] = True
        user = found["user"]
        if user in self.outsiders:
            return web.json_response({"errcode": 60121, "errmsg": "找不到该用户"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "result": {
            "userid": user, "unionid": self.union_id(user), "name": user, "device_id": uuid.uuid4().hex,
            "sys": False, "sys_level": 0, "associated_unionid": ""}, "request_id": uuid.uuid4().hex})

    # ------------------------------------------------------------------ card instances

    def _instance_problem(self, body: dict[str, Any]) -> str | None:
        if body.get("cardTemplateId") not in self.card_templates:
            return "cardTemplateId: no such published template"
        track = body.get("outTrackId")
        if not isinstance(track, str) or not track or len(track) > 128:
            return "outTrackId required"
        if track in self.instances:
            return "outTrackId already exists"
        callback = body.get("callbackType", "STREAM")
        if callback not in ("STREAM", "HTTP") or (callback == "HTTP" and not body.get("callbackRouteKey")):
            return "callbackType must be STREAM (or HTTP with callbackRouteKey)"
        return _param_problem(body)

    def _space_problem(self, body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
        """(problem, user, chat) of a deliver request's openSpaceId and deliver model."""
        space = str(body.get("openSpaceId") or "")
        kind, _, target = space.removeprefix("dtv1.card//").partition(".")
        if not space.startswith("dtv1.card//") or not target:
            return "openSpaceId must be dtv1.card//IM_ROBOT.<userId> or dtv1.card//IM_GROUP.<cid>", None, None
        if kind == "IM_ROBOT":
            if (body.get("imRobotOpenDeliverModel") or {}).get("spaceType") != "IM_ROBOT":
                return "imRobotOpenDeliverModel.spaceType IM_ROBOT required", None, None
            if target in self.invalid_users:
                return "user not in this robot's range", None, None
            return None, target, None
        if kind == "IM_GROUP":
            if (body.get("imGroupOpenDeliverModel") or {}).get("robotCode") != self.client_id:
                return "imGroupOpenDeliverModel.robotCode required", None, None
            return None, None, target
        return f"unknown space type {kind}", None, None

    def _deliver(self, track: str, user: str | None, chat: str | None) -> None:
        instance = self.instances[track]
        instance.update(user=user, chat=chat, delivered=True)
        self.sent.append(Sent("card_instance", user, chat, {"outTrackId": track, "params": dict(instance["params"])}))

    async def _instance_create(self, request: web.Request) -> web.Response:
        body, error = await self._authed(request)
        if error:
            return error
        if (problem := self._instance_problem(body)) is not None:
            return _bad(problem)
        self.instances[body["outTrackId"]] = {"template": body["cardTemplateId"], "delivered": False,
                                              "params": dict(body["cardData"]["cardParamMap"])}
        return web.json_response({"success": True, "result": body["outTrackId"]})

    async def _instance_deliver(self, request: web.Request) -> web.Response:
        body, error = await self._authed(request)
        if error:
            return error
        track = body.get("outTrackId")
        if track not in self.instances:
            return _bad("outTrackId: no such card instance")
        problem, user, chat = self._space_problem(body)
        if problem is not None:
            return _bad(problem)
        self._deliver(str(track), user, chat)
        return web.json_response({"success": True, "result": [{"spaceId": user or chat, "success": True}]})

    async def _instance_create_and_deliver(self, request: web.Request) -> web.Response:
        body, error = await self._authed(request)
        if error:
            return error
        problem = self._instance_problem(body)
        space_problem, user, chat = self._space_problem(body)
        if problem is not None or space_problem is not None:
            return _bad(problem or space_problem or "")
        track = body["outTrackId"]
        self.instances[track] = {"template": body["cardTemplateId"], "params": dict(body["cardData"]["cardParamMap"])}
        self._deliver(track, user, chat)
        return web.json_response({"success": True, "result": {"outTrackId": track, "deliverResults": [
            {"spaceType": "IM_ROBOT" if user else "IM_GROUP", "spaceId": user or chat, "success": True}]}})

    async def _instance_update(self, request: web.Request) -> web.Response:
        body, error = await self._authed(request)
        if error:
            return error
        track = body.get("outTrackId")
        if track not in self.instances:
            return _bad("outTrackId: no such card instance")
        if (problem := _param_problem(body)) is not None:
            return _bad(problem)
        params = body["cardData"]["cardParamMap"]
        instance = self.instances[str(track)]
        by_key = bool((body.get("cardUpdateOptions") or {}).get("updateCardDataByKey"))
        instance["params"] = {**instance["params"], **params} if by_key else dict(params)
        self.sent.append(Sent("card_instance_update", instance.get("user"), instance.get("chat"),
                              {"outTrackId": track, "by_key": by_key, "params": dict(instance["params"])}))
        return web.json_response({"success": True, "result": True})

    def live_actions(self, out_track_id: str) -> set[str]:
        """What a member can still tap on the card as shown (the template hides buttons unless open)."""
        params = self.instances[out_track_id]["params"]
        if params.get("status", "open") != "open":
            return set()
        return {str(item["action"]) for key in ("tags", "buttons") for item in json.loads(params.get(key) or "[]")}

    def instance_click(self, *, user: str, out_track_id: str, action: str) -> dict[str, Any]:
        """The card callback data of a tap on a loop button of the template (its params carry the action)."""
        if action not in self.live_actions(out_track_id):
            raise AssertionError(f"{action!r} is not a live button on card {out_track_id}")
        instance = self.instances[out_track_id]
        chat = instance.get("chat")
        content = {"cardPrivateData": {"actionIds": ["action_button"], "params": {"action": action}}}
        return {"extension": "{}", "corpId": "dingcorp", "type": "actionCallback", "userId": user,
                "content": json.dumps(content, ensure_ascii=False), "outTrackId": out_track_id,
                "spaceType": "IM_GROUP" if chat else "IM_ROBOT", "spaceId": chat or user,
                "openConversationId": chat or "", "userIdType": 1}

    def new_session(self, ttl_ms: int = 90 * 60 * 1000) -> tuple[str, int]:
        """A sessionWebhook URL and its expiry, as put into each robot message."""
        session = uuid.uuid4().hex
        expires = int(time.time() * 1000) + ttl_ms
        self._sessions[session] = expires
        return f"{self.base_url}/robot/sendBySession?session={session}", expires

    async def _session_webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        expires = self._sessions.get(request.query.get("session", ""))
        if expires is None or expires < time.time() * 1000:
            return web.json_response({"errcode": 300001, "errmsg": "session 不存在或已过期"})
        self.sent.append(Sent("webhook", None, None, body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # ------------------------------------------------------------------ frames and payloads

    def robot_message(self, msgtype: str, *, sender: str, msg_id: str | None = None, group: str | None = None,
                      session_ttl_ms: int = 90 * 60 * 1000, **body: Any) -> dict[str, Any]:
        """The `data` of a robot message frame (1:1 unless `group` is a conversation id)."""
        webhook, expires = self.new_session(session_ttl_ms)
        data: dict[str, Any] = {
            "conversationId": group or f"cid-1to1-{sender}", "conversationType": "2" if group else "1",
            "chatbotCorpId": "dingcorp", "chatbotUserId": "$:LWCP_v1:$bot", "msgId": msg_id or f"msg{next(_seq)}",
            "senderNick": "王芳", "isAdmin": False, "senderStaffId": sender, "senderId": f"$:LWCP_v1:${sender}",
            "sessionWebhookExpiredTime": expires, "sessionWebhook": webhook, "createAt": int(time.time() * 1000),
            "senderCorpId": "dingcorp", "robotCode": self.client_id, "msgtype": msgtype,
        }
        if group:
            data.update(isInAtList=True, conversationTitle="销售一组", atUsers=[{"dingtalkId": "$:LWCP_v1:$bot"}])
        data.update(body)
        return data

    def card_click(self, *, user: str, card_biz_id: str, action_ids: list[str]) -> dict[str, Any]:
        content = {"cardPrivateData": {"actionIds": action_ids, "params": {}}}
        return {"extension": "{}", "corpId": "dingcorp", "type": "actionCallback", "userId": user,
                "content": json.dumps(content), "outTrackId": card_biz_id, "spaceType": "IM", "spaceId": "",
                "userIdType": 1}


def _bad(message: str) -> web.Response:
    return web.json_response({"code": "invalidParameter", "message": message}, status=400)


def _param_problem(body: dict[str, Any]) -> str | None:
    params = (body.get("cardData") or {}).get("cardParamMap")
    if not isinstance(params, dict):
        return "cardData.cardParamMap required"
    if any(not isinstance(k, str) or not isinstance(v, str) for k, v in params.items()):
        return "cardParamMap values must be strings"
    return None


def callback_frame(topic: str, data: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
    return {
        "specVersion": "1.0", "type": "CALLBACK",
        "headers": {"appId": "fake-app", "connectionId": "conn", "contentType": "application/json",
                    "messageId": message_id or uuid.uuid4().hex, "time": str(int(time.time() * 1000)),
                    "topic": topic},
        "data": json.dumps(data, ensure_ascii=False),
    }


def system_frame(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"specVersion": "1.0", "type": "SYSTEM",
            "headers": {"contentType": "application/json", "messageId": uuid.uuid4().hex,
                        "time": str(int(time.time() * 1000)), "topic": topic},
            "data": json.dumps(data)}
