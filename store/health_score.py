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
- catalog       (10): yuan on confirmed records that came from the product catalog (the record's
  amount is its quote lines' total), over all yuan recorded — counted only where a catalog exists;
- post-visit    (10): visits whose memo or note came within the post-visit window, over visits
  judged (scheduler/postvisit.py; cancelled and moved visits are not judged).

(The weights of the first five are the original 30/15/20/15/20 scaled by 0.8, so a rep with no
catalog amounts and no visits gets the same score as before those parts existed.)

A part with nothing to count (no leads this week) is left out and the other weights scaled up to 100,
so a rep is not punished for an empty week; with nothing at all there is no score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

FIELDS = ("customer", "tags", "next_contact", "amount", "stage")
WEIGHTS: dict[str, int] = {"completeness": 24, "plausibility": 12, "confirmation": 16, "corrections": 12,
                           "first_response": 16, "catalog": 10, "post_visit": 10}
LABELS: dict[str, str] = {"completeness": "五项完整度", "plausibility": "阶段变更合理", "confirmation": "确认率",
                          "corrections": "无需修改", "first_response": "首次响应及时", "catalog": "金额来自目录",
                          "post_visit": "拜访后按时记录"}
FIRST_RESPONSE_TARGET = timedelta(hours=2)  # the weekly report's 首次响应达标
COACHING_BELOW = 70  # the playbook: below 70 a supervisor coaches


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
    amount_total: int = 0  # yuan on confirmed records; 0 where no catalog exists (the part is left out)
    amount_from_catalog: int = 0
    visits_judged: int = 0
    visits_noted: int = 0  # of which the note came in time

    def shares(self) -> dict[str, float | None]:
        attempted = self.stage_moves + self.stage_refused
        return {
            "completeness": _share(self.fields_filled, self.confirmed * len(FIELDS)),
            "plausibility": _share(attempted - self.stage_refused - self.stage_backward, attempted),
            "confirmation": _share(self.confirmed, self.records),
            "corrections": _share(self.confirmed - self.corrected, self.confirmed),
            "first_response": _share(self.leads_on_time, self.leads),
            "catalog": _share(self.amount_from_catalog, self.amount_total),
            "post_visit": _share(self.visits_noted, self.visits_judged),
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
