"""Every Prometheus metric genjin exports, on one registry per runtime.

The loops (worker, outbox sender, transcription runner, scheduler) get a `Metrics` object and call
its plain methods (`processed`, `failed`, `delivered`, ...); nothing else imports prometheus_client.
The registry is the runtime's own, not the library's global one: tests build several runtimes in one
process, and a second global registration of the same name would raise.

Queue depth and age are not kept in memory: a collector reads them from the tables at scrape time
(store/queues.py), so they are true across instances and restarts, and ages use the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from store.queues import OPEN_STATUSES, open_queue_stats

log = structlog.get_logger("genjin.metrics")

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus version scrapes

# created_at -> sent: replies take seconds, rate-limited and digested pushes minutes to hours.
LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 7200, 21600, 86400)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        queue_labels = ["queue", "platform"]
        self._processed = Counter("genjin_queue_processed", "Rows finished successfully (inbox handled, outbox "
                                  "delivered, memo transcribed).", queue_labels, registry=r)
        self._failed = Counter("genjin_queue_failed", "Rows given up for good (status failed).",
                               queue_labels, registry=r)
        self._retried = Counter("genjin_queue_retried", "Rows put back for a later attempt after an error.",
                                queue_labels, registry=r)
        self._latency = Histogram("genjin_outbox_delivery_latency_seconds",
                                  "From an outbox row's creation to its delivery (injected clock).",
                                  ["platform"], buckets=LATENCY_BUCKETS, registry=r)
        self._holds = Counter("genjin_outbox_rate_limit_holds",
                              "Outbox rows held back (delayed or folded into a digest) by a platform rate limit.",
                              ["platform"], registry=r)
        self._job_runs = Counter("genjin_scheduler_job_runs", "Scheduler job runs, failed ones included.",
                                 ["job"], registry=r)
        self._job_failures = Counter("genjin_scheduler_job_failures", "Scheduler job runs that raised.",
                                     ["job"], registry=r)

    # -- hooks called by the loops -------------------------------------------------------------

    def processed(self, queue: str, platform: str) -> None:
        self._processed.labels(queue, platform).inc()

    def failed(self, queue: str, platform: str) -> None:
        self._failed.labels(queue, platform).inc()

    def retried(self, queue: str, platform: str) -> None:
        self._retried.labels(queue, platform).inc()

    def delivered(self, platform: str, created_at: datetime, sent_at: datetime) -> None:
        """One outbox row delivered: counted as processed and its latency observed."""
        self.processed("outbox", platform)
        self._latency.labels(platform).observe(max(0.0, (sent_at - created_at).total_seconds()))

    def rate_limited(self, platform: str) -> None:
        self._holds.labels(platform).inc()

    def job_finished(self, job_id: str, ok: bool) -> None:
        self._job_runs.labels(job_id).inc()
        if not ok:
            self._job_failures.labels(job_id).inc()

    # -- exposition ----------------------------------------------------------------------------

    def watch_queues(self, engine: Engine, clock: Callable[[], datetime], platforms: Sequence[str]) -> None:
        self.registry.register(QueueCollector(engine, clock, platforms))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class QueueCollector:
    """genjin_queue_depth / genjin_queue_oldest_age_seconds by queue, status and platform, read at scrape.

    Every open status of every known platform gets a sample (0 when empty), so a drained queue reads
    0 instead of vanishing from the graphs."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], platforms: Sequence[str]) -> None:
        self.engine = engine
        self.clock = clock
        self.platforms = list(platforms)

    def describe(self) -> Iterable[Metric]:  # lets register() learn the names without a query
        return [*self._families(), GaugeMetricFamily("genjin_queue_stats_up", "")]

    def collect(self) -> Iterable[Metric]:
        depth, age = self._families()
        up = GaugeMetricFamily("genjin_queue_stats_up", "1 when the queue tables could be read at this scrape.")
        try:
            with Session(self.engine) as session:
                stats = open_queue_stats(session=session)
        except SQLAlchemyError as exc:  # the counters still scrape; /readyz says what is wrong
            log.warning("queue_stats_unavailable", error=type(exc).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        now = self.clock()
        seen: dict[tuple[str, str, str], tuple[int, timedelta]] = {
            (s.queue, s.status, s.platform): (s.count, now - s.oldest) for s in stats}
        platforms = sorted(set(self.platforms) | {s.platform for s in stats})
        for queue, statuses in OPEN_STATUSES.items():
            for status in statuses:
                for platform in platforms:
                    count, oldest = seen.get((queue, status, platform), (0, timedelta(0)))
                    depth.add_metric([queue, status, platform], count)
                    age.add_metric([queue, status, platform], max(0.0, oldest.total_seconds()))
        return [depth, age, up]

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        labels = ["queue", "status", "platform"]
        return (GaugeMetricFamily("genjin_queue_depth", "Open rows (not done/sent/merged) in a durable queue.",
                                  labels=labels),
                GaugeMetricFamily("genjin_queue_oldest_age_seconds",
                                  "Age of the oldest open row (injected clock); 0 when there is none.",
                                  labels=labels))
