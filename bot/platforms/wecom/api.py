"""A small aiohttp client for the WeCom server API (企业微信服务端 API), base URL settable for the fake.

One access token is shared by every call of this client: fetched on first use, refreshed a few
minutes before it expires, and refreshed again when WeCom says it is invalid (40014) or expired
(42001) — by one caller at a time, the others wait and reuse the new token.
https://developer.work.weixin.qq.com/document/path/91039 (gettoken),
https://developer.work.weixin.qq.com/document/path/90236 (message/send),
https://developer.work.weixin.qq.com/document/path/94888 (message/update_template_card),
https://developer.work.weixin.qq.com/document/path/90254 (media/get),
https://developer.work.weixin.qq.com/document/path/91023 (auth/getuserinfo: the console's OAuth2 login).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import structlog

from bot.platforms.http import REFRESH_MARGIN_SECONDS, TokenApiClient

log = structlog.get_logger("genjin.wecom_api")

DEFAULT_BASE = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = frozenset({40014, 42001})  # invalid / expired access_token: refresh and call once more
# message/send's own idempotency (document/path/90236): with enable_duplicate_check, the same request
# JSON within duplicate_check_interval seconds (default 1800, at most 4 hours) is not delivered again.
DUPLICATE_CHECK_DEFAULT = 1800
DUPLICATE_CHECK_MAX = 4 * 3600


class WeComError(Exception):
    """WeCom answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, path: str = "") -> None:
        super().__init__(f"WeCom {path} errcode={errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path


class WeComHTTPError(Exception):
    """A transport-level failure (status, not JSON): worth retrying later."""


class WeComApi(TokenApiClient):
    def __init__(self, *, corp_id: str, secret: str, agent_id: int, api_base: str = DEFAULT_BASE,
                 timeout: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 refresh_margin: float = REFRESH_MARGIN_SECONDS,
                 duplicate_check_seconds: int = DUPLICATE_CHECK_DEFAULT) -> None:
        super().__init__(api_base=api_base, timeout=timeout, clock=clock, refresh_margin=refresh_margin)
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        if not 0 < duplicate_check_seconds <= DUPLICATE_CHECK_MAX:
            raise ValueError("duplicate_check_seconds must be 1..14400")
        self.duplicate_check_seconds = duplicate_check_seconds

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"corpid": self.corp_id, "corpsecret": self.secret}
        data = await self._request("GET", "/cgi-bin/gettoken", params=params)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeComHTTPError("gettoken answered without access_token")
        log.info("wecom_token_refreshed", expires_in=data.get("expires_in"))
        return token, float(data.get("expires_in") or 7200)

    async def _request(self, method: str, path: str, *, params: dict[str, str],
                       body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self._http().request(method, self.api_base + path, params=params, json=body) as resp:
            if resp.status != 200:
                raise WeComHTTPError(f"{path} HTTP {resp.status}")
            raw = await resp.read()
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WeComHTTPError(f"{path} answered non-JSON") from exc
        if not isinstance(data, dict):
            raise WeComHTTPError(f"{path} answered a non-object")
        errcode = int(data.get("errcode") or 0)
        if errcode:
            raise WeComError(errcode, str(data.get("errmsg", "")), path)
        return data

    async def call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        """An authenticated call; a token WeCom calls invalid or expired is replaced once."""
        token = await self.access_token()
        try:
            return await self._request(method, path, params={**(params or {}), "access_token": token}, body=body)
        except WeComError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.warning("wecom_token_rejected", errcode=exc.errcode, path=path)
        token = await self.access_token(stale=token)
        return await self._request(method, path, params={**(params or {}), "access_token": token}, body=body)

    async def _send(self, touser: str, msgtype: str, content: dict[str, Any]) -> dict[str, Any]:
        # Always with WeCom's duplicate check: a re-send of the very same request (a sender that
        # crashed between WeCom's answer and marking the row sent) is answered ok and not shown twice.
        body = {"touser": touser, "msgtype": msgtype, "agentid": self.agent_id, msgtype: content,
                "enable_duplicate_check": 1, "duplicate_check_interval": self.duplicate_check_seconds}
        data = await self.call("POST", "/cgi-bin/message/send", body=body)
        # One recipient: WeCom may still say ok and list the user as invalid; then nothing was sent.
        if data.get("invaliduser"):
            raise WeComError(81013, f"invaliduser {data['invaliduser']}", "/cgi-bin/message/send")
        return data

    async def send_text(self, touser: str, content: str) -> dict[str, Any]:
        return await self._send(touser, "text", {"content": content})

    async def send_markdown(self, touser: str, content: str) -> dict[str, Any]:
        return await self._send(touser, "markdown", {"content": content})

    async def send_template_card(self, touser: str, template_card: dict[str, Any]) -> dict[str, Any]:
        """The answer carries a `response_code` that may update this card once (within 72 h)."""
        return await self._send(touser, "template_card", template_card)

    async def update_template_card(self, userid: str, response_code: str,
                                   template_card: dict[str, Any]) -> dict[str, Any]:
        body = {"userids": [userid], "agentid": self.agent_id, "response_code": response_code,
                "template_card": template_card}
        return await self.call("POST", "/cgi-bin/message/update_template_card", body=body)

    async def user_id_from_code(self, code: str) -> str | None:
        """The member behind an OAuth2 `snsapi_base` code (document/path/91023), or None when WeCom
        refuses the code (unknown, used or expired: 40029) or it belongs to someone outside the corp
        (the answer then has `openid` instead of `userid`). A code works once, for 5 minutes."""
        try:
            data = await self.call("GET", "/cgi-bin/auth/getuserinfo", params={"code": code})
        except WeComError as exc:
            log.info("wecom_oauth_code_refused", errcode=exc.errcode)
            return None
        userid = data.get("userid") or data.get("UserId")
        return userid if isinstance(userid, str) and userid else None

    async def finish_template_card(self, userid: str, response_code: str, replace_name: str) -> dict[str, Any]:
        """The clicked card's buttons become one grey, unclickable button reading `replace_name`
        (document/path/94888, 更新按钮为不可点击状态); the rest of the card stays as it was."""
        body = {"userids": [userid], "agentid": self.agent_id, "response_code": response_code,
                "button": {"replace_name": replace_name}}
        return await self.call("POST", "/cgi-bin/message/update_template_card", body=body)

    async def get_media(self, media_id: str, *, max_bytes: int) -> tuple[bytes, str]:
        """Download a temporary media file (ids expire after 3 days). WeCom reports an error as a JSON
        body with errcode instead of the file, so a JSON answer is never taken for audio."""
        token = await self.access_token()
        for attempt in range(2):
            params = {"access_token": token, "media_id": media_id}
            async with self._http().get(self.api_base + "/cgi-bin/media/get", params=params) as resp:
                if resp.status != 200:
                    raise WeComHTTPError(f"media/get HTTP {resp.status}")
                ctype = resp.headers.get("Content-Type", "")
                data = await _read_at_most(resp, max_bytes)
            error = _json_error(data, ctype)
            if error is None and ctype.lower().startswith("text/"):
                # An HTML or text page (a proxy's error page) is not the file: fetch again later.
                raise WeComHTTPError(f"media/get answered {ctype.split(';')[0]}, not a file")
            if error is None:
                return data, ctype
            if error.errcode in TOKEN_ERRORS and attempt == 0:
                token = await self.access_token(stale=token)
                continue
            raise error
        raise AssertionError("unreachable")


async def _read_at_most(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > max_bytes:  # stop reading: a bigger file is refused, not buffered
            raise WeComError(-2, f"media larger than {max_bytes} bytes", "/cgi-bin/media/get")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_error(data: bytes, content_type: str) -> WeComError | None:
    looks_json = "json" in content_type or "text/plain" in content_type or data[:1] == b"{"
    if not looks_json:
        return None
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(parsed, dict) and "errcode" in parsed:
        return WeComError(int(parsed.get("errcode") or -1), str(parsed.get("errmsg", "")), "/cgi-bin/media/get")
    return None
