"""Name keys for duplicate detection: "张伟", "张 伟" and "Zhang Wei" share the key "zhangwei"."""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz

from store.privacy import contains_contact, strip_contacts

_SPACES = re.compile(r"[\s·•\-_.]+")
_TITLES = ("总经理", "经理", "总监", "主任", "老师", "女士", "先生", "小姐", "总", "工")


def pinyin_of(name: str) -> str:
    """Space-separated lowercase syllables (Latin names keep their words)."""
    text = unicodedata.normalize("NFKC", name).strip()
    words = lazy_pinyin(_SPACES.sub(" ", text), style=Style.NORMAL, errors="default")
    return " ".join(w.strip().lower() for w in words if w.strip())


def name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", pinyin_of(name))


def name_similarity(a: str, b: str) -> float:
    """0..100; compares pinyin keys so script and spacing do not matter."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return 0.0
    return float(fuzz.ratio(ka, kb))


def same_company(a: str | None, b: str | None) -> bool:
    """Unknown on either side does not contradict; otherwise a close match is required."""
    if not a or not b:
        return True
    return fuzz.partial_ratio(name_key(a) or a, name_key(b) or b) >= 90


def strip_title(name: str) -> str:
    for title in _TITLES:
        if name.endswith(title) and len(name) > len(title):
            return name[: -len(title)]
    return name


UNNAMED = "未命名客户"
# What is left around a removed phone or e-mail: its label and the brackets it sat in.
_CONTACT_NOISE = re.compile(r"(?:电话|手机号?|座机|联系方式|邮箱|e-?mail|tel|mobile)\s*[:：]?|[()（）【】\[\]<>《》]",
                            re.IGNORECASE)


def customer_name(name: str | None, *, phone: str | None = None, company: str | None = None) -> str:
    """The name a customer is filed under: `name` without any phone number or e-mail address in it.

    A customer is never named after its contact data: names show in lists, pushes to supervisors
    and masked exports, where a phone in the name would undo the masking. With no name left, a
    neutral placeholder carries the company and the phone's last four digits, which is enough
    to tell two unnamed customers apart; the follow-up card asks the rep for the real name."""
    cleaned = (name or "").strip()
    if contains_contact(cleaned):  # "张伟（电话：139…）" -> "张伟"; "139…" -> nothing left
        cleaned = " ".join(_CONTACT_NOISE.sub(" ", strip_contacts(cleaned)).split()).strip(" ,，;；:：/|-")
    if cleaned:
        return cleaned[:100]
    hints = [company.strip()[:30]] if company and company.strip() else []
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if len(digits) >= 4:
        hints.append(f"尾号{digits[-4:]}")
    return UNNAMED + (f"（{'，'.join(hints)}）" if hints else "")


def is_unnamed(name: str) -> bool:
    """A placeholder from customer_name: the rep has not told us the customer's name yet."""
    return name.startswith(UNNAMED)
