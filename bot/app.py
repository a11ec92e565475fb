"""Composition root: settings -> engine (migrated) -> worker, outbox sender, scheduler, web app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.clock import system_clock
from bot.config import Settings
from bot.handlers import build_dispatcher
from bot.handlers.evidence import on_ocr_text
from bot.handlers.voice_memo import on_transcript
from bot.http_edge import deadline_middleware
from bot.leads.api import LeadApi
from bot.leads.events_api import EventApi
from bot.ocr.runner import OcrRunner
from bot.ops.endpoints import OpsEndpoints
from bot.ops.liveness import Heartbeat, Readiness
from bot.ops.metrics import Metrics
from bot.pipeline.inbox_writer import InboxWriter
from bot.pipeline.media_retry import DeferredMediaFetcher, Fetcher
from bot.pipeline.member_directory import MemberDirectory
from bot.pipeline.outbox import Deliverer, OutboxSender
from bot.pipeline.worker import Worker
from bot.platforms.dingtalk.deliverer import DingTalkDeliverer
from bot.platforms.dingtalk.inbound import MEDIA_PREFIX as DINGTALK_MEDIA_PREFIX
from bot.platforms.dingtalk.stream import StreamClient, api_from_settings, stream_context
from bot.platforms.sandbox.adapter import SandboxAdapter, SandboxDeliverer
from bot.platforms.sandbox.clock import OffsetClock
from bot.platforms.sandbox.seed import seed_demo_book
from bot.platforms.wecom.api import WeComApi
from bot.platforms.wecom.callback import MEDIA_PREFIX as WECOM_MEDIA_PREFIX
from bot.platforms.wecom.callback import WeComAdapter
from bot.platforms.wecom.deliverer import WeComDeliverer
from bot.transcribe.runner import TranscriptionRunner
from bot.web.console import build_console
from bot.web.login import LoginProvider, dingtalk_provider, wecom_provider
from scheduler.setup import SWEEP_SECONDS, build_scheduler, push_sweeps_job, watch_jobs
from store.db import make_engine, migrate, session_scope
from store.members import seed_demo_team

log = structlog.get_logger("genjin.app")


LOOPS = ("worker", "outbox", "transcriber", "ocr")  # every runtime has these; the rest depend on configuration


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    worker: Worker
    sender: OutboxSender
    metrics: Metrics
    readiness: Readiness
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    wecom_api: WeComApi | None = None
    transcriber: TranscriptionRunner | None = None
    ocr: OcrRunner | None = None


def build_runtime(settings: Settings, *, clock: Callable[[], datetime],
                  deliverers: dict[str, Deliverer] | None = None, engine: Engine | None = None) -> Runtime:
    url = settings.database_url.get_secret_value()
    engine = engine or make_engine(url)
    migrate(url)
    wecom = settings.wecom
    wecom_api = (WeComApi(corp_id=wecom.corp_id, secret=wecom.secret.get_secret_value(), agent_id=wecom.agent_id,
                          api_base=wecom.api_base, duplicate_check_seconds=wecom.duplicate_check_seconds)
                 if wecom else None)
    if deliverers is None:
        deliverers = {"sandbox": SandboxDeliverer()}
        if wecom_api is not None:
            deliverers["wecom"] = WeComDeliverer(wecom_api, engine, clock)
        if settings.dingtalk is not None:
            deliverers["dingtalk"] = DingTalkDeliverer(api_from_settings(settings.dingtalk), engine, clock,
                                                       card_template_id=settings.dingtalk.card_template_id)
    metrics = Metrics()
    metrics.watch_queues(engine, clock, settings.enabled_platforms)
    sender = OutboxSender(engine, deliverers, max_attempts=settings.outbox_max_attempts, clock=clock,
                          metrics=metrics, lease_seconds=settings.outbox_lease_seconds)
    transcriber = TranscriptionRunner(engine, settings, clock=clock, on_transcript=on_transcript,
                                      on_processed=sender.nudge, metrics=metrics)

    ocr = OcrRunner(engine, settings, clock=clock, on_text=on_ocr_text, on_processed=sender.nudge, metrics=metrics)

    def on_processed() -> None:  # a processed voice memo or image may have queued a transcription/OCR job
        sender.nudge()
        transcriber.nudge()
        ocr.nudge()

    worker = Worker(engine, settings, build_dispatcher(), clock=clock, on_processed=on_processed, metrics=metrics)
    readiness = Readiness(stale_factor=settings.readiness_stale_factor,
                          min_stale_seconds=settings.readiness_min_stale_seconds)
    for loop in LOOPS:  # not ready until _background starts them
        readiness.expect(loop)
    return Runtime(settings=settings, engine=engine, worker=worker, sender=sender, metrics=metrics,
                   readiness=readiness, wecom_api=wecom_api, transcriber=transcriber, ocr=ocr)


def sandbox_clock() -> OffsetClock:
    """The clock of `genjin sandbox` only: the system clock plus an offset the page can move forward."""
    return OffsetClock(system_clock)


def seed_sandbox(runtime: Runtime, *, book: bool = True) -> None:
    """The demo team and (book) its customers, records and a visit due soon: idempotent."""
    with session_scope(runtime.engine) as session:
        seed_demo_team(session=session, at=runtime.worker.clock())
    if book:
        with session_scope(runtime.engine) as session:
            seed_demo_book(session=session, at=runtime.worker.clock())


def build_web_app(runtime: Runtime, *, sandbox: bool = False, background: bool = True) -> web.Application:
    """The HTTP side. `sandbox=True` only for `genjin sandbox`: its page and API have no
    authentication (anyone reaching the port could act as any member and read conversations
    with full phone numbers), so `genjin serve` never mounts them."""
    app = web.Application(client_max_size=runtime.settings.max_body_bytes,
                          middlewares=[deadline_middleware(runtime.settings.http_request_timeout)])

    def on_inbound() -> None:
        runtime.worker.nudge()

    if sandbox:
        delivering = runtime.sender.deliverers.get("sandbox")
        changes = delivering.changes if isinstance(delivering, SandboxDeliverer) else None
        clock = runtime.worker.clock
        movable = clock if isinstance(clock, OffsetClock) else None  # never on `genjin serve`

        def sweep_now() -> None:  # after the sandbox clock moved: what became due goes out at once
            push_sweeps_job(runtime.engine, runtime.settings, clock, runtime.sender.nudge)

        app.add_routes(SandboxAdapter(runtime.engine, runtime.settings, on_inbound, clock, changes=changes,
                                      movable_clock=movable, sweep=sweep_now).routes())
    app.add_routes(LeadApi(runtime.engine, runtime.settings, on_queued=runtime.sender.nudge,
                           clock=runtime.worker.clock).routes())
    app.add_routes(EventApi(runtime.engine, runtime.settings, clock=runtime.worker.clock).routes())
    if runtime.settings.wecom is not None:
        writer = InboxWriter(runtime.engine, runtime.worker.clock)
        wecom = WeComAdapter(runtime.settings.wecom, writer=writer, members=MemberDirectory(runtime.engine),
                             on_inbound=on_inbound,
                             api=runtime.wecom_api, media_dir=runtime.settings.media_dir,
                             max_audio_bytes=runtime.settings.max_audio_bytes,
                             max_body_bytes=runtime.settings.max_body_bytes, clock=runtime.worker.clock,
                             max_file_bytes=runtime.settings.ocr.max_bytes)
        app.add_routes(wecom.routes())
        if runtime.wecom_api is not None:
            api = runtime.wecom_api
            app.on_cleanup.append(lambda _app: api.close())

    app.add_subapp("/console/", build_console(runtime.engine, runtime.settings, runtime.worker.clock,
                                              providers=console_logins(runtime), sandbox=sandbox))

    def in_process_status() -> dict[str, object]:
        return {"processed": runtime.worker.processed, "workers_running": sum(not t.done() for t in runtime.tasks)}

    token = runtime.settings.ops_token.get_secret_value() if runtime.settings.ops_token else None
    app.add_routes(OpsEndpoints(runtime.engine, runtime.metrics, runtime.readiness, in_process_status,
                                token=token).routes())
    if background:
        runtime.readiness.expect("scheduler")
        if platform_media_fetchers(runtime):
            runtime.readiness.expect("deferred_media")
    if runtime.settings.dingtalk is not None and background:
        runtime.readiness.expect("dingtalk_stream")

        def stream_started(client: StreamClient, task: asyncio.Task[None]) -> None:
            runtime.readiness.started("dingtalk_stream", client.heartbeat, alive=lambda: not task.done(),
                                      connected=lambda: client.connected)

        # Added before _background, so on cleanup the outbox stops first, then the stream (and its API).
        dingtalk = runtime.sender.deliverers.get("dingtalk")
        dingtalk_api = dingtalk.api if isinstance(dingtalk, DingTalkDeliverer) else None
        app.cleanup_ctx.append(lambda _app: stream_context(runtime.settings, runtime.engine, on_inbound,
                                                           runtime.worker.clock, dingtalk_api,
                                                           on_started=stream_started))
    if background:
        app.cleanup_ctx.append(lambda _app: _background(runtime))
    return app


def console_logins(runtime: Runtime) -> list[LoginProvider]:
    """The console's login per configured platform, each given its platform's code→user-id exchange
    as a plain callable (bot/web never imports platform code)."""
    logins = []
    if runtime.settings.wecom is not None and runtime.wecom_api is not None:
        logins.append(wecom_provider(runtime.settings.wecom, runtime.wecom_api.user_id_from_code))
    dingtalk = runtime.sender.deliverers.get("dingtalk")
    if runtime.settings.dingtalk is not None and isinstance(dingtalk, DingTalkDeliverer):
        logins.append(dingtalk_provider(runtime.settings.dingtalk, dingtalk.api.user_id_from_auth_code,
                                        dingtalk.api.user_id_from_app_code))
    return logins


def platform_media_fetchers(runtime: Runtime) -> dict[str, Fetcher]:
    """Download functions for media the adapters could not fetch before their ack."""
    cap = runtime.settings.max_audio_bytes
    fetchers: dict[str, Fetcher] = {}
    wecom_api = runtime.wecom_api
    if wecom_api is not None:
        async def wecom_media(media_id: str) -> bytes:
            return (await wecom_api.get_media(media_id, max_bytes=cap))[0]

        fetchers[WECOM_MEDIA_PREFIX] = wecom_media
    dingtalk = runtime.sender.deliverers.get("dingtalk")
    if isinstance(dingtalk, DingTalkDeliverer):
        dingtalk_api = dingtalk.api

        async def dingtalk_media(code: str) -> bytes:
            return await dingtalk_api.download(code, max_bytes=cap)

        fetchers[DINGTALK_MEDIA_PREFIX] = dingtalk_media
    return fetchers


async def _background(runtime: Runtime) -> AsyncIterator[None]:
    """Worker, outbox sender and scheduler live exactly as long as the web app."""
    loop = asyncio.get_running_loop()

    def nudge_sender_from_thread() -> None:  # scheduler jobs run in worker threads
        loop.call_soon_threadsafe(runtime.sender.nudge)

    scheduler = build_scheduler(runtime.engine, runtime.settings, clock=runtime.worker.clock,
                                on_queued=nudge_sender_from_thread)
    pulse = Heartbeat(SWEEP_SECONDS)
    watch_jobs(scheduler, on_tick=pulse.beat, on_finished=runtime.metrics.job_finished)
    scheduler.start()
    pulse.beat()
    runtime.readiness.started("scheduler", pulse, alive=lambda: scheduler.running)

    def start(name: str, loop: Coroutine[None, None, None], heartbeat: Heartbeat) -> None:
        task = asyncio.create_task(loop, name=name)
        runtime.tasks.append(task)
        runtime.readiness.started(name, heartbeat, alive=lambda: not task.done())

    runtime.tasks = []
    start("worker", runtime.worker.run(), runtime.worker.heartbeat)
    start("outbox", runtime.sender.run(runtime.settings.worker_poll_seconds), runtime.sender.heartbeat)
    if runtime.transcriber is not None:
        start("transcriber", runtime.transcriber.run(), runtime.transcriber.heartbeat)
    if runtime.ocr is not None:
        start("ocr", runtime.ocr.run(), runtime.ocr.heartbeat)
    fetchers = platform_media_fetchers(runtime)
    if fetchers:
        media = DeferredMediaFetcher(runtime.engine, runtime.settings.media_dir, fetchers, runtime.worker.clock,
                                     on_requeued=runtime.worker.nudge)
        start("deferred_media", media.run(), media.heartbeat)
    log.info("background_started", database=runtime.engine.url.render_as_string(hide_password=True))
    try:
        yield
    finally:
        scheduler.shutdown(wait=False)
        for task in runtime.tasks:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
        log.info("background_stopped")
