"""What a record's text states about its customer: the company, a labelled role, phone numbers.

The extractor (bot/extract) fills a customer's empty fields from the first record and leaves later,
different values unsaid; reading them again here is how a contradiction becomes visible."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.extract.company import find_companies
from bot.extract.phone import find_phones

# "职位：采购总监", "职务: 财务经理": a role stated as such (a titled name like 王总 is not a role claim).
_ROLE = re.compile(r"(?:职位|职务|岗位|角色)\s*[:：]\s*(?P<role>[\u4e00-\u9fffA-Za-z]{2,12})")


@dataclass(frozen=True)
class RecordFacts:
    companies: tuple[str, ...]
    titles: tuple[str, ...]
    phones: tuple[str, ...]  # E.164


def record_facts(text: str) -> RecordFacts:
    """Companies the text names as the customer's (not a competitor or our own: `foreign` mentions are
    left out), labelled roles, and phone numbers."""
    companies = tuple(dict.fromkeys(c.name for c in find_companies(text) if not c.foreign))
    titles = tuple(dict.fromkeys(m.group("role") for m in _ROLE.finditer(text)))
    return RecordFacts(companies=companies, titles=titles, phones=tuple(find_phones(text)))
