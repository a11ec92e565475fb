"""Interoperability with WeCom's own crypto: the official test vectors through our callback routes,
and the fake driver's independent encryption checked against the same vectors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlmodel import Session, select

from bot.app import build_runtime, build_web_app
from bot.config import Settings, WeComSettings
from store.models import InboundMessage
from tests.fakes.wecom import wecom_decrypt, wecom_encrypt, wecom_signature

VECTORS = json.loads((Path(__file__).parent / "data" / "wecom_crypto_vectors.json").read_text(encoding="utf-8"))
CASES = [pytest.param(v, id=v["name"]) for v in VECTORS["vectors"]]


@pytest.mark.parametrize("vector", CASES)
def test_driver_crypto_matches_official_vectors(vector):
    url, msg = vector["verify_url"], vector["message"]
    assert wecom_signature(vector["token"], url["timestamp"], url["nonce"], url["echostr"]) == url["msg_signature"]
    plain, receive_id = wecom_decrypt(url["echostr"], vector["encoding_aes_key"])
    assert (plain, receive_id) == (url["expect"], vector["corp_id"])

    encrypted = msg["body"].split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert wecom_signature(vector["token"], msg["timestamp"], msg["nonce"], encrypted) == msg["msg_signature"]
    plain, receive_id = wecom_decrypt(encrypted, vector["encoding_aes_key"])
    assert receive_id == vector["corp_id"]
    assert msg["expect"]["Content"] in plain and msg["expect"]["FromUserName"] in plain

    # Our encryption with the vector's random prefix reproduces WeCom's ciphertext byte for byte.
    key = vector["encoding_aes_key"]
    again = wecom_encrypt(plain, key, vector["corp_id"], random16=_random_prefix(encrypted, key))
    assert again == encrypted


def _random_prefix(encrypted: str, aes_key: str) -> bytes:
    k = base64.b64decode(aes_key + "=")
    dec = Cipher(algorithms.AES(k), modes.CBC(k[:16])).decryptor()
    return (dec.update(base64.b64decode(encrypted)) + dec.finalize())[:16]


async def _serve(vector: dict, tmp_path: Path, sqlite_url: str, timestamp: str) -> tuple[TestServer, object]:
    """The bot with its clock at the vector's signing time: the replay window accepts it."""
    signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    config = WeComSettings(corp_id=vector["corp_id"], agent_id=1, secret="unused", token=vector["token"],
                           encoding_aes_key=vector["encoding_aes_key"], api_base="http://127.0.0.1:9")
    runtime = build_runtime(Settings(database_url=sqlite_url, data_dir=tmp_path / "var", wecom=config),
                            clock=lambda: signed_at)
    server = TestServer(build_web_app(runtime, background=False), host="127.0.0.1")
    await server.start_server()
    return server, runtime


@pytest.mark.parametrize("vector", CASES)
async def test_url_verification_answers_official_echostr(vector, tmp_path, sqlite_url):
    url = vector["verify_url"]
    server, _runtime = await _serve(vector, tmp_path, sqlite_url, url["timestamp"])
    try:
        async with aiohttp.ClientSession() as http:
            params = {k: url[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")}
            async with http.get(server.make_url("/wecom/callback"), params=params) as resp:
                assert resp.status == 200
                assert await resp.text() == url["expect"]  # the bare plaintext, nothing around it
            params["msg_signature"] = "0" * 40
            async with http.get(server.make_url("/wecom/callback"), params=params) as resp:
                assert resp.status == 403
    finally:
        await server.close()


@pytest.mark.parametrize("vector", CASES)
async def test_official_message_is_decrypted_and_stored(vector, tmp_path, sqlite_url):
    msg = vector["message"]
    server, runtime = await _serve(vector, tmp_path, sqlite_url, msg["timestamp"])
    try:
        async with aiohttp.ClientSession() as http:
            params = {k: msg[k] for k in ("msg_signature", "timestamp", "nonce")}
            for _ in range(2):  # the second post is WeCom's retry: a no-op
                async with http.post(server.make_url("/wecom/callback"), params=params,
                                     data=msg["body"].encode()) as resp:
                    assert resp.status == 200
                    assert await resp.read() == b""
        with Session(runtime.engine) as s:  # type: ignore[attr-defined]
            rows = s.exec(select(InboundMessage)).all()
        assert len(rows) == 1
        row = rows[0]
        assert (row.platform, row.kind, row.msg_id, row.sender, row.text) == (
            "wecom", "text", msg["expect"]["MsgId"], msg["expect"]["FromUserName"], msg["expect"]["Content"])
        assert f"<AgentID>{msg['expect']['AgentID']}</AgentID>" in row.raw  # raw kept as decrypted
    finally:
        await server.close()
