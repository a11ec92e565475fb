"""Login: WeCom OAuth2 `snsapi_base`, DingTalk OAuth2 (authCode), the sandbox's member picker.

WeCom (https://developer.work.weixin.qq.com/document/path/91022 and 91023): the browser goes to
open.weixin.qq.com/connect/oauth2/authorize with appid=corp id, scope snsapi_base and the agent id;
WeCom sends it back to redirect_uri with `code` and our `state`; the code buys the userid
(auth/getuserinfo). Inside WeCom this is silent.

DingTalk, inside the DingTalk app with `dingtalk.corp_id` set: H5 免登
(https://open.dingtalk.com/document/orgapp/logon-free-process). The page runs
`dd.runtime.permission.requestAuthCode` from the dingtalk-jsapi npm package, bundled into
static/vendor/ and served by genjin (no CDN), and hands the one-time code to /auth/dingtalk with
`via=app`; the server exchanges it (topapi/v2/user/getuserinfo → userid). Silent, no consent screen.
Elsewhere (a desktop browser, no corp id, or the SDK failing): DingTalk's OAuth2 redirect
(https://open.dingtalk.com/document/orgapp/tutorial-obtaining-user-personal-information):
login.dingtalk.com/oauth2/auth with response_type=code, which signs the member in with one
confirmation and comes back with `authCode` and `state`; the code is exchanged server-side
(bot/platforms/dingtalk/api.py user_id_from_auth_code).

`state` is a random nonce also kept in a short-lived signed cookie: a callback whose state does
not match the cookie set for this browser (forged, replayed elsewhere, expired) is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.config import DingTalkSettings, WeComSettings

Identify = Callable[[str], Awaitable[str | None]]  # a platform's code -> user id (None: refused)

STATE_TTL_SECONDS = 600


@dataclass(frozen=True)
class InAppLogin:
    """A platform's in-app JS login: a page asks the app for a one-time code, no redirect or consent."""

    template: str  # the page that runs the platform's JS SDK
    params: dict[str, str]  # what the page's script needs (DingTalk: corp_id, client_id, sdk)
    identify: Identify  # that code -> user id (a different exchange from the OAuth2 code's)


@dataclass(frozen=True)
class LoginProvider:
    name: str  # wecom | dingtalk: also the Member column suffix (wecom_userid, dingtalk_userid)
    label: str
    code_param: str  # the query parameter the platform puts the code in
    authorize: Callable[[str, str], str]  # (redirect_uri, state) -> URL to send the browser to
    identify: Identify
    user_agent_hint: str  # in this platform's in-app browser, /console/login goes straight to it
    in_app: InAppLogin | None = None  # used inside the platform's app instead of the redirect


def wecom_provider(config: WeComSettings, identify: Identify) -> LoginProvider:
    def authorize(redirect_uri: str, state: str) -> str:
        query = urlencode({"appid": config.corp_id, "redirect_uri": redirect_uri, "response_type": "code",
                           "scope": "snsapi_base", "state": state, "agentid": str(config.agent_id)})
        return f"{config.oauth_base.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"

    return LoginProvider(name="wecom", label="企业微信登录", code_param="code", authorize=authorize,
                         identify=identify, user_agent_hint="wxwork")


DINGTALK_SDK = "dingtalk-jsapi-3.2.9.js"  # static/vendor/, built by build_dingtalk_jsapi.sh from npm


def dingtalk_provider(config: DingTalkSettings, identify: Identify,
                      identify_in_app: Identify | None = None) -> LoginProvider:
    def authorize(redirect_uri: str, state: str) -> str:
        query = urlencode({"redirect_uri": redirect_uri, "response_type": "code", "client_id": config.client_id,
                           "scope": "openid", "state": state, "prompt": "consent"})
        return f"{config.login_base.rstrip('/')}/oauth2/auth?{query}"

    in_app = None
    if config.corp_id and identify_in_app is not None:
        in_app = InAppLogin(template="dingtalk_login.html", identify=identify_in_app,
                            params={"corp_id": config.corp_id, "client_id": config.client_id, "sdk": DINGTALK_SDK})
    return LoginProvider(name="dingtalk", label="钉钉登录", code_param="authCode", authorize=authorize,
                         identify=identify, user_agent_hint="DingTalk", in_app=in_app)


def new_state() -> str:
    return secrets.token_urlsafe(18)


def safe_next(value: str | None, prefix: str) -> str:
    """Where to go after login: only a path inside the console (no other host, no scheme-relative //)."""
    if value and value.startswith(prefix + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return prefix + "/"
