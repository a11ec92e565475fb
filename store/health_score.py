"""The data-health score of a rep (数据健康度, 0–100): a pure function of counted facts, no database.

Five parts, each a share between 0 and 1, weighted (README "Console (web)" documents the weights):

- completeness  (30): of the five fields of a confirmed record — customer (named, not 「未命名客户…」),
  tags, next contact, amount, stage (the record names one, or its customer is past 初步接触) — the
  share filled, averaged over the records;
- plausibility  (15): stage moves that were neither refused (a skip or missing evidence) nor backward,
  over all attempted moves;
- confirmation  (20): records confirmed, over records made;
- corrections   (15): confirmed records nobody had to correct (no Correction row), over confirmed records;
- first response (20): leads first contacted within `FIRST_RESPONSE_TARGET` of arriving, over leads
  that arrived.

A part with nothing to count (no leads this week) is left out and the other weights scaled up to 100,
so a rep is not punished for an empty week; with nothing at all there is no score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

FIELDS = ("customer", "tags", "next_contact", "amount", "stage")
WEIGHTS: dict[str, int] = {"completeness": 30, "plausibility": 15, "confirmation": 20, "corrections": 15,
                           "first_response": 20}
LABELS: dict[str, str] = {"completeness": "五项完整度", "plausibility": "阶段变更合理", "confirmation": "确认率",
                          "corrections": "无需修改", "first_response": "首次响应及时"}
FIRST_RESPONSE_TARGET = timedelta(hours=2)  # the weekly report's 首次响应达标
COACHING_BELOW = 70  # the playbook: below 70 a supervisor coaches
# Hook for the product catalog (another branch): a sixth part, "amounts taken from the catalog", would
# be one more entry in WEIGHTS/LABELS and one more share in HealthCounts.shares(); not counted yet.


@dataclass(frozen=True)
class HealthCounts:
    """What was counted for one rep over one period."""

    records: int = 0  # follow-up records made
    confirmed: int = 0
    fields_filled: int = 0  # over confirmed records, of len(FIELDS) each
    corrected: int = 0  # confirmed records with at least one Correction row
    stage_moves: int = 0  # stage changes made (forward or backward)
    stage_backward: int = 0
    stage_refused: int = 0
    leads: int = 0
    leads_on_time: int = 0
    first_response_minutes: float | None = None  # median, for display (not scored beyond on-time)

    def shares(self) -> dict[str, float | None]:
        attempted = self.stage_moves + self.stage_refused
        return {
            "completeness": _share(self.fields_filled, self.confirmed * len(FIELDS)),
            "plausibility": _share(attempted - self.stage_refused - self.stage_backward, attempted),
            "confirmation": _share(self.confirmed, self.records),
            "corrections": _share(self.confirmed - self.corrected, self.confirmed),
            "first_response": _share(self.leads_on_time, self.leads),
        }


@dataclass(frozen=True)
class HealthScore:
    score: int | None  # 0–100, None with nothing counted
    parts: dict[str, float | None]  # each part's share (None: nothing to count)
    points: dict[str, float]  # each counted part's contribution to the score (sums to the score)

    @property
    def needs_coaching(self) -> bool:
        return self.score is not None and self.score < COACHING_BELOW


def _share(part: int, whole: int) -> float | None:
    if whole <= 0:
        return None
    return min(max(part / whole, 0.0), 1.0)


def health_score(counts: HealthCounts, weights: dict[str, int] = WEIGHTS) -> HealthScore:
    parts = counts.shares()
    counted = {name: share for name, share in parts.items() if share is not None}
    total = sum(weights[name] for name in counted)
    if not total:
        return HealthScore(score=None, parts=parts, points={})
    points = {name: 100 * weights[name] * share / total for name, share in counted.items()}
    return HealthScore(score=round(sum(points.values())), parts=parts, points=points)
