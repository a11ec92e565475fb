"""A small aiohttp client for the DingTalk server API (钉钉服务端 API), base URLs settable for the fake.

The dingtalk_stream SDK's own helpers use blocking `requests` and must never run in our event loop;
everything we send or fetch goes through here. One access token is shared by every call of this
client: fetched on first use, refreshed a few minutes before it expires, and refreshed once more
when DingTalk answers 401 (token revoked or expired early) — by one caller at a time.

https://open.dingtalk.com/document/orgapp/obtain-the-access_token-of-an-internal-app (accessToken)
https://open.dingtalk.com/document/orgapp/chatbots-send-one-on-one-chat-messages-in-batches (batchSend)
https://open.dingtalk.com/document/orgapp/the-robot-sends-a-group-message (groupMessages/send)
https://open.dingtalk.com/document/orgapp/download-the-file-content-of-the-robot-receiving-message
https://open.dingtalk.com/document/orgapp/robots-send-interactive-cards (interactiveCards/send)
https://open.dingtalk.com/document/orgapp/update-the-robot-to-send-interactive-cards
https://open.dingtalk.com/document/orgapp/establish-a-persistent-connection (gateway/connections/open)
https://open.dingtalk.com/document/orgapp/obtain-identity-credentials (the console's OAuth2 login: userAccessToken)
https://open.dingtalk.com/document/orgapp/dingtalk-retrieve-user-information (contact/users/me)
https://open.dingtalk.com/document/orgapp/query-a-user-by-the-union-id (topapi/user/getbyunionid)
https://open.dingtalk.com/document/orgapp/create-and-deliver-cards (card/instances/createAndDeliver)
https://open.dingtalk.com/document/orgapp/interactive-card-update-interface (PUT card/instances)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import structlog

from bot.platforms.http import REFRESH_MARGIN_SECONDS, TokenApiClient

log = structlog.get_logger("genjin.dingtalk_api")

DEFAULT_BASE = "https://api.dingtalk.com"
OAPI_BASE = "https://oapi.dingtalk.com"

TOKEN_HEADER = "x-acs-dingtalk-access-token"
STANDARD_CARD = "StandardCard"  # DingTalk's built-in template: the card JSON itself carries the layout


class DingTalkError(Exception):
    """DingTalk refused the request (an error code in the answer)."""

    def __init__(self, status: int, code: str, message: str, path: str = "") -> None:
        super().__init__(f"DingTalk {path} HTTP {status} code={code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.path = path


class DingTalkHTTPError(Exception):
    """A transport-level failure (server error, not JSON, connection lost): worth retrying later."""


class DingTalkApi(TokenApiClient):
    def __init__(self, *, client_id: str, client_secret: str, robot_code: str, api_base: str = DEFAULT_BASE,
                 oapi_base: str = OAPI_BASE, timeout: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 refresh_margin: float = REFRESH_MARGIN_SECONDS) -> None:
        super().__init__(api_base=api_base, timeout=timeout, clock=clock, refresh_margin=refresh_margin)
        self.oapi_base = oapi_base.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.robot_code = robot_code

    # ------------------------------------------------------------------ transport

    async def _request(self, method: str, url: str, *, body: dict[str, Any] | None = None,
                       headers: dict[str, str] | None = None, path: str = "") -> dict[str, Any]:
        try:
            async with self._http().request(method, url, json=body, headers=headers) as resp:
                status = resp.status
                raw = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DingTalkHTTPError(f"{path or url}: {type(exc).__name__}: {exc}") from exc
        try:
            data = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            raise DingTalkHTTPError(f"{path or url} HTTP {status} answered non-JSON") from None
        if not isinstance(data, dict):
            raise DingTalkHTTPError(f"{path or url} answered a non-object")
        if status >= 500:
            raise DingTalkHTTPError(f"{path or url} HTTP {status}: {data.get('message', '')}")
        if status >= 400:
            raise DingTalkError(status, str(data.get("code", "")), str(data.get("message", "")), path or url)
        # The old oapi-style endpoints (sessionWebhook) answer 200 with errcode/errmsg.
        errcode = data.get("errcode")
        if errcode not in (None, 0, "0"):
            raise DingTalkError(status, str(errcode), str(data.get("errmsg", "")), path or url)
        return data

    async def _fetch_token(self) -> tuple[str, float]:
        path = "/v1.0/oauth2/accessToken"
        data = await self._request("POST", self.api_base + path, path=path,
                                   body={"appKey": self.client_id, "appSecret": self.client_secret})
        token = data.get("accessToken")
        if not isinstance(token, str) or not token:
            raise DingTalkHTTPError("accessToken answered without accessToken")
        log.info("dingtalk_token_refreshed", expires_in=data.get("expireIn"))
        return token, float(data.get("expireIn") or 7200)

    async def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """An authenticated call; a 401 means the token is no longer good: replace it and try once more."""
        token = await self.access_token()
        try:
            return await self._request(method, self.api_base + path, body=body, headers={TOKEN_HEADER: token},
                                       path=path)
        except DingTalkError as exc:
            if exc.status != 401:
                raise
            log.warning("dingtalk_token_rejected", code=exc.code, path=path)
        token = await self.access_token(stale=token)
        return await self._request(method, self.api_base + path, body=body, headers={TOKEN_HEADER: token}, path=path)

    # ------------------------------------------------------------------ stream gateway

    async def open_connection(self, subscriptions: list[dict[str, str]], *, user_agent: str) -> dict[str, Any]:
        """Ask the gateway for a websocket endpoint and a one-time ticket (no access token needed)."""
        path = "/v1.0/gateway/connections/open"
        body = {"clientId": self.client_id, "clientSecret": self.client_secret, "subscriptions": subscriptions,
                "ua": user_agent, "localIp": ""}
        data = await self._request("POST", self.api_base + path, body=body, path=path)
        if not isinstance(data.get("endpoint"), str) or not isinstance(data.get("ticket"), str):
            raise DingTalkHTTPError("connections/open answered without endpoint/ticket")
        return data

    # ------------------------------------------------------------------ sending

    async def send_to_users(self, user_ids: list[str], msg_key: str, msg_param: dict[str, Any]) -> dict[str, Any]:
        """Robot 1:1 push. The answer lists invalidStaffIdList / flowControlledStaffIdList: those got nothing."""
        body = {"robotCode": self.robot_code, "userIds": user_ids, "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False)}
        return await self.call("POST", "/v1.0/robot/oToMessages/batchSend", body)

    async def send_to_group(self, open_conversation_id: str, msg_key: str,
                            msg_param: dict[str, Any]) -> dict[str, Any]:
        body = {"robotCode": self.robot_code, "openConversationId": open_conversation_id, "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False)}
        return await self.call("POST", "/v1.0/robot/groupMessages/send", body)

    async def reply_webhook(self, session_webhook: str, message: dict[str, Any]) -> dict[str, Any]:
        """Answer inside the conversation through its sessionWebhook (the URL itself is the credential)."""
        return await self._request("POST", session_webhook, body=message, path="sessionWebhook")

    async def send_card(self, card_biz_id: str, card_data: dict[str, Any], *, user_id: str | None = None,
                        open_conversation_id: str | None = None) -> dict[str, Any]:
        """An interactive card to one user (1:1 with the robot) or to a group. cardBizId is DingTalk's
        idempotency key: sending the same id again does not make a second card."""
        body: dict[str, Any] = {"cardTemplateId": STANDARD_CARD, "cardBizId": card_biz_id,
                                "robotCode": self.robot_code,
                                "cardData": json.dumps(card_data, ensure_ascii=False), "sendOptions": {}}
        if open_conversation_id:
            body["openConversationId"] = open_conversation_id
        elif user_id:
            body["singleChatReceiver"] = json.dumps({"userId": user_id})
        else:
            raise ValueError("send_card needs a user or a conversation")
        return await self.call("POST", "/v1.0/im/v1.0/robot/interactiveCards/send", body)

    async def update_card(self, card_biz_id: str, card_data: dict[str, Any]) -> dict[str, Any]:
        body = {"cardBizId": card_biz_id, "cardData": json.dumps(card_data, ensure_ascii=False)}
        return await self.call("PUT", "/v1.0/im/robots/interactiveCards", body)

    # ------------------------------------------------------------------ console login

    async def user_id_from_auth_code(self, auth_code: str) -> str | None:
        """The org member behind a DingTalk OAuth2 `authCode` (login.dingtalk.com/oauth2/auth, which
        works inside DingTalk's in-app browser with no JS SDK): the code buys a user token
        (oauth2/userAccessToken), the token names the person (contact/users/me → unionId), and the
        app's own token maps the unionId to the org's userid (topapi/user/getbyunionid). None when
        DingTalk refuses the code (used, expired, other app) or the person is not in the org."""
        try:
            grant = await self._request("POST", self.api_base + "/v1.0/oauth2/userAccessToken",
                                        path="/v1.0/oauth2/userAccessToken",
                                        body={"clientId": self.client_id, "clientSecret": self.client_secret,
                                              "code": auth_code, "grantType": "authorization_code"})
            user_token = grant.get("accessToken")
            if not isinstance(user_token, str) or not user_token:
                return None
            me = await self._request("GET", self.api_base + "/v1.0/contact/users/me", path="/v1.0/contact/users/me",
                                     headers={TOKEN_HEADER: user_token})
            union_id = me.get("unionId")
            if not isinstance(union_id, str) or not union_id:
                return None
            return await self._oapi_userid("/topapi/user/getbyunionid", {"unionid": union_id})
        except DingTalkError as exc:
            log.info("dingtalk_oauth_code_refused", code=exc.code, path=exc.path)
            return None

    async def user_id_from_app_code(self, code: str) -> str | None:
        """The org member behind an H5 免登 code (`dd.runtime.permission.requestAuthCode` inside DingTalk):
        the app's token and the code buy the userid in one call (topapi/v2/user/getuserinfo,
        https://open.dingtalk.com/document/orgapp/obtain-the-userid-of-a-user-by-using-the-log-free).
        None when DingTalk refuses the code (used, expired, another app)."""
        try:
            return await self._oapi_userid("/topapi/v2/user/getuserinfo", {"code": code})
        except DingTalkError as exc:
            log.info("dingtalk_app_code_refused", code=exc.code, path=exc.path)
            return None

    async def _oapi_userid(self, path: str, body: dict[str, Any]) -> str | None:
        """An oapi `topapi` call with the app's token whose `result.userid` names the org member."""
        token = await self.access_token()
        found = await self._request("POST", f"{self.oapi_base}{path}?access_token={token}", path=path, body=body)
        userid = (found.get("result") or {}).get("userid")
        return userid if isinstance(userid, str) and userid else None

    async def create_and_deliver_card(self, *, template_id: str, out_track_id: str, params: dict[str, str],
                                      user_id: str | None = None,
                                      open_conversation_id: str | None = None) -> dict[str, Any]:
        """A card from our card-builder template, delivered 1:1 in the robot chat or to a group, its
        clicks coming back on the Stream topic /v1.0/card/instances/callback (callbackType STREAM).
        The space and deliver models follow the dingtalk_stream SDK's CardReplier: 1:1 is
        dtv1.card//IM_ROBOT.<userId> with imRobotOpenDeliverModel.spaceType, a group is
        dtv1.card//IM_GROUP.<openConversationId> with imGroupOpenDeliverModel.robotCode."""
        if any(not isinstance(v, str) for v in params.values()):
            raise ValueError("cardParamMap values must be strings")
        body: dict[str, Any] = {"cardTemplateId": template_id, "outTrackId": out_track_id,
                                "callbackType": "STREAM", "cardData": {"cardParamMap": params},
                                "userIdType": 1}
        if open_conversation_id:
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{open_conversation_id}"
            body["imGroupOpenSpaceModel"] = {"supportForward": False}
            body["imGroupOpenDeliverModel"] = {"robotCode": self.robot_code}
        elif user_id:
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{user_id}"
            body["imRobotOpenSpaceModel"] = {"supportForward": False}
            body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT"}
        else:
            raise ValueError("create_and_deliver_card needs a user or a conversation")
        data = await self.call("POST", "/v1.0/card/instances/createAndDeliver", body)
        result = data.get("result")
        if not isinstance(result, dict):
            result = {}
        failed = [r for r in result.get("deliverResults") or [] if isinstance(r, dict) and not r.get("success")]
        if failed:  # created but not shown: DingTalk says so per space, not with an error status
            raise DingTalkError(400, "deliverFailed", str(failed[0].get("errorMsg") or "deliver failed"),
                                "/v1.0/card/instances/createAndDeliver")
        return data

    async def update_card_instance(self, out_track_id: str, params: dict[str, str], *,
                                   by_key: bool = False) -> dict[str, Any]:
        """Replace the card's data (or, by_key, only the keys given) for everyone who sees it."""
        if any(not isinstance(v, str) for v in params.values()):
            raise ValueError("cardParamMap values must be strings")
        body: dict[str, Any] = {"outTrackId": out_track_id, "cardData": {"cardParamMap": params},
                                "userIdType": 1}
        if by_key:
            body["cardUpdateOptions"] = {"updateCardDataByKey": True}
        return await self.call("PUT", "/v1.0/card/instances", body)

    # ------------------------------------------------------------------ receiving files

    async def download(self, download_code: str, *, max_bytes: int) -> bytes:
        """The file behind a message's downloadCode: first a short-lived URL, then the bytes."""
        data = await self.call("POST", "/v1.0/robot/messageFiles/download",
                               {"downloadCode": download_code, "robotCode": self.robot_code})
        url = data.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise DingTalkHTTPError("messageFiles/download answered without downloadUrl")
        try:
            async with self._http().get(url) as resp:
                if resp.status != 200:
                    raise DingTalkHTTPError(f"file download HTTP {resp.status}")
                blob = await resp.content.read(max_bytes + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DingTalkHTTPError(f"file download: {type(exc).__name__}: {exc}") from exc
        if len(blob) > max_bytes:
            raise DingTalkError(413, "fileTooLarge", f"file larger than {max_bytes} bytes", "download")
        return blob
