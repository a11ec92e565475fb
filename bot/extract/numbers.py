"""Dictated numbers as ASR writes them: spoken digits with near-homophones inside the run.

A rep reads a phone number digit by digit ("一三六 一一二七 八八五零"); Whisper writes each digit
as a numeral most of the time, but now and then as a homophone of it: 九 as 就 or 酒, 七 as 期,
八 as 吧, 幺 as 要. Such a character is read as a digit only when it sits among numerals in a run as
long as a phone number, so ordinary text ("就", "吧" in a sentence) is never touched.
"""

from __future__ import annotations

import re

# Readings of digits that are digits in every context (spoken forms and financial numerals).
DIGITS: dict[str, str] = {
    "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "壹": "1", "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6", "陆": "6", "七": "7",
    "柒": "7", "八": "8", "捌": "8", "九": "9", "玖": "9",
    **{str(d): str(d) for d in range(10)},
}
# Characters ASR writes for a digit it heard (same syllable, any tone). Only trusted inside a run.
HOMOPHONES: dict[str, str] = {
    "灵": "0", "铃": "0", "令": "0", "玲": "0", "要": "1", "腰": "1", "妖": "1", "衣": "1", "医": "1",
    "依": "1", "尔": "2", "耳": "2", "而": "2", "山": "3", "伞": "3", "散": "3", "寺": "4", "似": "4",
    "舞": "5", "武": "5", "午": "5", "无": "5", "吴": "5", "溜": "6", "留": "6", "流": "6", "期": "7",
    "奇": "7", "其": "7", "齐": "7", "妻": "7", "吧": "8", "巴": "8", "爸": "8", "就": "9", "久": "9",
    "酒": "9", "旧": "9",
}
MIN_RUN = 7  # shortest dictated number worth rewriting (a local landline without area code)
MOBILE_LENGTH = 11
_RUN = re.compile("[" + "".join(DIGITS) + "".join(HOMOPHONES) + r" \-]+")


def _edge_homophone(chars: list[str], index: int) -> bool:
    # Homophones at the edges belong to the neighbouring words ("是" / "就" before a number) unless
    # keeping one makes a complete mobile number ("要三六一一二七八八五零" is 136…).
    return chars[index] in HOMOPHONES and not (
        len(chars) == MOBILE_LENGTH and (index == -1 or HOMOPHONES[chars[0]] == "1")
    )


def _split(run: str) -> tuple[str, str, str] | None:
    """(leading words, ASCII digits, trailing words) for a dictated number, or None."""
    chars = [c for c in run if c not in " -"]
    lead = trail = ""
    while chars and _edge_homophone(chars, 0):
        lead += chars.pop(0)
    while chars and _edge_homophone(chars, -1):
        trail = chars.pop() + trail
    if all(c.isascii() for c in chars):
        return None  # typed digits ("2026-11-23", "139 1234 5678") are the extractors' business
    if len(chars) < MIN_RUN:
        return None
    # A few misheard digits per number, never a sentence of homophones that happens to be long.
    if sum(c in HOMOPHONES for c in chars) > max(1, len(chars) // 5):
        return None
    return lead, "".join(DIGITS.get(c) or HOMOPHONES[c] for c in chars), trail


def spoken_numbers_to_digits(text: str) -> str:
    """Rewrite dictated digit runs (numerals, 幺/两, spaces between groups, homophones inside) as ASCII
    digits; everything else, including short numerals ("三点", "十五万"), is left as it is."""

    def replace(m: re.Match[str]) -> str:
        run = m.group()
        core = run.strip(" -")
        parts = _split(core)
        if parts is None:
            return run
        left = run[: len(run) - len(run.lstrip(" -"))]
        right = run[len(run.rstrip(" -")) :]
        return left + "".join(parts) + right

    return _RUN.sub(replace, text)
