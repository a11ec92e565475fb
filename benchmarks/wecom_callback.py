"""WeCom callback ack benchmark: our real callback route vs a bare endpoint that only decrypts.

Drives N encrypted, signed callbacks (distinct MsgIds, as WeCom sends them) with C in flight against
each server on loopback, in the same run, and prints throughput and p50/p99 ack latency for both
and their ratio. Each server runs in its own process (the app as `genjin serve` builds it, SQLite
in a temp dir unless --db is given); the load generator is this process.

    .venv/bin/python benchmarks/wecom_callback.py -n 2000 -c 100
    .venv/bin/python benchmarks/wecom_callback.py --with-worker   # worker/outbox running too

Targets (issue #3, 2-core machine, SQLite): real p99 under 50 ms at C=100, real throughput at least
half the bare endpoint's.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.wecom import WeComCallbackDriver  # noqa: E402

CORP_ID, TOKEN, AGENT_ID = "wwbenchcorp0001", "benchToken", 1000002
AES_KEY = base64.b64encode(b"genjin-benchmark-aes-key-32bytes").decode()[:43]
PATH = "/wecom/callback"


# ---------------------------------------------------------------- the two servers (child processes)


def serve_real(port: int, db_url: str, data_dir: str, with_worker: bool) -> None:
    from aiohttp import web

    from bot.app import build_runtime, build_web_app
    from bot.clock import system_clock
    from bot.config import Settings, WeComSettings
    from bot.logs import configure_logging

    # Production logging (INFO, one JSON line per callback), written to /dev/null by the parent.
    settings = Settings(database_url=db_url, data_dir=Path(data_dir), log_level="INFO", log_format="json",
                        wecom=WeComSettings(corp_id=CORP_ID, agent_id=AGENT_ID, secret="unused", token=TOKEN,
                                            encoding_aes_key=AES_KEY, api_base="http://127.0.0.1:9"))
    configure_logging(settings.log_level, settings.log_format)
    app = build_web_app(build_runtime(settings, clock=system_clock), background=with_worker)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=lambda *_: print("READY", flush=True))


def serve_bare(port: int) -> None:
    from aiohttp import web

    # the same wechatpy crypto, through the one package that imports it
    from bot.platforms.wecom.callback import WeChatCrypto

    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)

    async def handle(request: web.Request) -> web.Response:
        q = request.query
        crypto.decrypt_message(await request.text(), q["msg_signature"], q["timestamp"], q["nonce"])
        return web.Response(status=200)

    app = web.Application()
    app.add_routes([web.post(PATH, handle)])
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=lambda *_: print("READY", flush=True))


# ---------------------------------------------------------------- the load generator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "READY" not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process so far (Linux): per-request CPU is steadier than req/s when
    other work shares the machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def callbacks(url: str, n: int, start_id: int) -> list[tuple[dict[str, str], bytes]]:
    driver = WeComCallbackDriver(url, token=TOKEN, aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID)
    text = "许总说报价43万偏高，东软便宜一截，周四上午给答复"
    return [driver.envelope(driver.text_xml(f"rep{i % 50}", text, msg_id=str(start_id + i))) for i in range(n)]


async def drive(url: str, load: list[tuple[dict[str, str], bytes]], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    queue = iter(load)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            nonlocal failures
            for query, body in queue:
                t0 = time.perf_counter()
                async with http.post(url, params=query, data=body) as resp:
                    await resp.read()
                    if resp.status != 200:
                        failures += 1
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return {"rps": len(load) / elapsed, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, "failures": failures}


async def bench(servers: dict[str, tuple[list[str], int]], n: int, c: int, warmup: int,
                rounds: int) -> dict[str, list[dict[str, Any]]]:
    """Both servers up at once; their loads alternate, round after round, so a noisy neighbour on
    the machine hits both alike. Every callback carries a fresh MsgId."""
    procs = {name: start(args) for name, (args, _port) in servers.items()}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    next_id = 10_000_000
    try:
        for _args, port in servers.values():
            url = f"http://127.0.0.1:{port}{PATH}"
            await drive(url, callbacks(url, warmup, next_id), min(c, warmup))
            next_id += warmup
        for _ in range(rounds):
            for name, (_args, port) in servers.items():
                url = f"http://127.0.0.1:{port}{PATH}"
                load = callbacks(url, n, next_id)
                cpu0 = cpu_seconds(procs[name].pid)
                result = await drive(url, load, c)
                result["cpu_us"] = (cpu_seconds(procs[name].pid) - cpu0) / n * 1e6
                results[name].append(result)
                next_id += n
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=10)
    return results


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99", "cpu_us")} | {
        "failures": sum(r["failures"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="callbacks per server (default 2000)")
    parser.add_argument("-c", type=int, default=100, help="callbacks in flight (default 100)")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server (median shown)")
    parser.add_argument("--db", help="database URL for the real server (default: SQLite in a temp dir)")
    parser.add_argument("--with-worker", action="store_true", help="run the worker and outbox sender too")
    parser.add_argument("--serve", choices=["real", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "real":
        serve_real(args.port, args.db, args.data_dir, args.with_worker)
        return
    if args.serve == "bare":
        serve_bare(args.port)
        return

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/bench.db"
        from store.db import migrate

        migrate(db)
        bare_port, real_port = free_port(), free_port()
        real_name = "genjin callback" + (" (+worker)" if args.with_worker else "")
        real_args = ["--serve", "real", "--port", str(real_port), "--db", db, "--data-dir", tmp]
        servers = {"bare decrypt-only": (["--serve", "bare", "--port", str(bare_port)], bare_port),
                   real_name: (real_args + (["--with-worker"] if args.with_worker else []), real_port)}
        runs = asyncio.run(bench(servers, args.n, args.c, args.warmup, args.rounds))
    print(f"WeCom callback ack benchmark: N={args.n} C={args.c} rounds={args.rounds} "
          f"db={'sqlite' if not args.db else args.db} cpus={os.cpu_count()} (median of rounds)")
    print(f"{'server':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server CPU/req':>15} {'errors':>7}")
    summary = {name: median_of(r) for name, r in runs.items()}
    for name, r in summary.items():
        print(f"{name:28} {r['rps']:9.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['cpu_us']:12.0f} us {r['failures']:7d}")
    bare, real = summary["bare decrypt-only"], summary[real_name]
    print(f"ratio real/bare: throughput {real['rps'] / bare['rps']:.2f}x, p50 {real['p50'] / bare['p50']:.2f}x, "
          f"p99 {real['p99'] / bare['p99']:.2f}x, server CPU per request {real['cpu_us'] / bare['cpu_us']:.2f}x")
    if args.rounds > 1:
        for name, r in runs.items():
            print(f"  {name} per round: " + ", ".join(f"{x['rps']:.0f} req/s p99 {x['p99']:.1f} ms" for x in r))


if __name__ == "__main__":
    main()
