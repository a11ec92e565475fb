"""extract(): run every field extractor over one pasted chat, note or transcript."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from rapidfuzz import fuzz

from store.stages import Stage

from . import company_ranker
from .amount import deal_amount
from .chat import FORWARD_MARK, ROLE_WORDS, ChatLine, split_chat
from .company import company_before_person, cue_companies, find_companies, labelled_company
from .contact import is_future, next_contact
from .contact_ranker import ContactInput, choose_contact
from .customer_ranker import CustomerInput, choose_customer
from .model import Extraction, StageInput, Stager, Tagger, TagInput
from .people import (
    TITLES,
    corrected_name,
    customer_speaker,
    full_name_for,
    fuller_latin_name,
    is_rep,
    name_behind_nickname,
    name_mentions,
    reported_person,
    surname_of,
    titled_for_latin,
)
from .persons import person_mentions
from .phone import customer_phones
from .segment import word_flag
from .stage import lost_to_competitor, said_to_be_new, stage_evidence, stage_from_evidence
from .tag_patterns import pattern_hits
from .tags import DEFAULT_TAGS, TagRule, find_keyword_hits, find_tag_hits, weighted_tags
from .textnorm import as_written, normalize_text, normalize_width, sentence_around
from .when import TimeMention, find_time_mentions

# Tags that need a date in the same sentence (a visit is only "booked" when it has a date or deadline).
DATED_TAGS = frozenset({"预约拜访"})
# Tags about what the customer asks for: a rep offering a demo is not the customer requesting one.
CUSTOMER_REQUEST_TAGS = frozenset({"要演示", "要报价"})
# Bounded and anchored at the local part's start so long junk runs cannot backtrack quadratically.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,24}"
)
# A customer reply that turns down what the rep just offered ("要不要安排个演示？" -> "不用了").
_REFUSAL = re.compile(r"^\s*(?:不用|不需要|暂时不|先不|不必|算了|没必要)")
# A customer introducing their own company ("我是X的", "我们公司（X）").
_INTRO_WORDS = re.compile(r"我是|我们是|我們是|公司[（(]")
_SELF_INTRO = re.compile(r"(?:我是|我们是|我們是|(?:我们|我們|本)公司[（(])\s*$")
_OWN_COMPANY_CUE = re.compile(r"(?:我是|我们是|我们|我司|本公司)[^，,。\s]{0,2}$")


def _without_declined_offers(turns: Sequence[ChatLine], customer: str | None) -> list[ChatLine]:
    """Drop rep turns the customer refused in the next reply, so a declined demo is no demo signal."""
    kept: list[ChatLine] = []
    for i, turn in enumerate(turns):
        reply = next((t for t in turns[i + 1 :] if t.speaker != turn.speaker), None)
        declined = (
            customer is not None
            and turn.speaker not in (None, customer)
            and reply is not None
            and reply.speaker == customer
            and bool(_REFUSAL.search(reply.text))
        )
        if not declined:
            kept.append(turn)
    return kept


# A customer reply that takes up what the rep just offered ("方便的话我周四过去演示？" -> "好，周四上午").
_ACCEPT = re.compile(r"^\s*(?:好|可以|行|没问题|ok|okay|great|sure|yes|那就|就这么定|方便|明天|后天|周|下周|这周|星期)",
                     re.IGNORECASE)


def _accepted_offers(turns: Sequence[ChatLine], customer: str | None) -> list[ChatLine]:
    """Rep turns the customer accepted in the next reply: an accepted demo offer is a demo request."""
    kept: list[ChatLine] = []
    for i, turn in enumerate(turns):
        if customer is None or turn.speaker in (None, customer):
            continue
        reply = next((t for t in turns[i + 1 :] if t.speaker != turn.speaker), None)
        if reply is not None and reply.speaker == customer and _ACCEPT.search(reply.text):
            kept.append(turn)
    return kept


def _join(turns: Sequence[ChatLine]) -> str:
    return "\n".join(t.text for t in turns if t.text)


def _roles(turns: Sequence[ChatLine], speaker: str | None) -> list[tuple[int, str]]:
    """(offset in _join(turns), side) of each turn: the customer's, the rep's, or a note without a speaker."""
    roles: list[tuple[int, str]] = []
    at = 0
    for t in turns:
        if not t.text:
            continue
        roles.append((at, "note" if t.speaker is None else "cust" if t.speaker == speaker else "rep"))
        at += len(t.text) + 1
    return roles


def _sides(turns: Sequence[ChatLine], speaker: str | None) -> tuple[tuple[str, str], ...]:
    """The turns in order as (side, text) for a tagger (TagInput.turns): "C" the customer, "R" anyone else, "N" a
    note without a speaker."""
    return tuple(("N" if t.speaker is None else "C" if t.speaker == speaker else "R", t.text) for t in turns if t.text)


def _in_company(start: int, name: str, text: str, spans: Sequence[tuple[int, int]]) -> bool:
    at = text.find(name, start)
    at = start if at < 0 else at
    return any(at < end and at + len(name) > begin for begin, end in spans)


def _customer_name(speaker: str | None, text: str, rep_names: Sequence[str]) -> str | None:
    if speaker:
        return fuller_latin_name(speaker, text)
    # A "name" inside a company's name is its brand ("金山" of "金山装饰"), not a person.
    spans = [(c.start, c.end) for c in find_companies(text)]
    mentions = [m for m in name_mentions(text) if not is_rep(m.name, rep_names)
                and (m.priority < 2 or not _in_company(m.start, m.name, text, spans))]
    persons = [p for p in person_mentions(text, surname_of) if not is_rep(p.name, rep_names)
               and not _in_company(p.start, p.name, text, spans)]
    # Patterns that say outright who the customer is (labelled, self-introduction, "见了X") first; then
    # the segmenter's person with customer context; then a surname with a title; then any person.
    if mentions and mentions[0].priority <= 2:
        name: str | None = mentions[0].name
    elif persons and persons[0].score >= 3:
        name = persons[0].name
    elif mentions:
        name = mentions[0].name
    else:
        name = persons[0].name if persons else None
    if name and len(name) <= 4 and name.endswith(TITLES):
        # "钱经理" when the text also gives 钱文斌: the full name, as the customer is to be filed.
        surname = surname_of(name)
        full = next((p.name for p in persons if surname and p.name.startswith(surname) and p.name != name), None)
        name = full or full_name_for(name, text) or name
    if name:
        candidates = [m.name for m in mentions if m.priority <= 3] + [p.name for p in persons if p.score >= 3]
        name = reported_person(name, candidates, text)
        name = titled_for_latin(fuller_latin_name(corrected_name(name, text), text), text)
    return name


# Display-name parts that are platforms or departments, not the customer's company.
_NOT_COMPANY_PARTS = re.compile(
    r"^(?:微信|企业微信|钉钉|wechat|wecom|dingtalk|转发自?|fwd?)$|部$|办$|处$|科$|组$|中心$", re.I
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PART_SPLIT = re.compile(r"[@\-_|｜/·()（）\s]+")


def _display_company(raw_speaker: str | None, name: str | None) -> str | None:
    """The company a customer wrote into their display name ("王海燕@宏达机电", "蓝天艺术培训-沈慧")."""
    if not raw_speaker or not name:
        return None
    raw = FORWARD_MARK.sub("", raw_speaker)
    parts = [p for p in _PART_SPLIT.split(raw) if p and p != name and name not in p]
    for part in parts:
        # "陶老师（前程外语学校教务）": the company inside a part that also names a department or role.
        inner = [c for c in find_companies(part) if c.start == 0 and c.end < len(part)]
        if inner:
            return inner[0].name
        # A two-character part is a company's short name only if the dictionary does not know it as a
        # word ("远鹏" is a name, "银行" or "财务" are not).
        long_enough = len(part) >= 3 or (len(part) == 2 and word_flag(part) is None)
        if long_enough and _CJK.search(part) and not _NOT_COMPANY_PARTS.search(part) and part not in ROLE_WORDS:
            return part
    return None


def _company(customer_text: str, rep_text: str, person: str | None, display: str | None = None) -> str | None:
    labelled = labelled_company(customer_text)
    if labelled:
        return labelled
    if display:
        return display
    # The customer's own words about their company come before any name the lexicon finds elsewhere
    # ("我们公司（博雅软件）… 海外分公司", "我是悦宝月子餐的运营"), then the company right before the
    # customer's name ("跟蓝鲸互动的 HR 总监 方雅琴").
    introduces = _INTRO_WORDS.search(customer_text)  # the cue scan is the costly part: only when it can hit
    introduced = [c for c in (cue_companies(customer_text) if introduces else []) if not c.foreign
                  and c.name != person and _SELF_INTRO.search(customer_text[max(0, c.start - 8) : c.start])]
    if introduced:
        return introduced[0].name
    found = find_companies(customer_text)
    anchored = company_before_person(customer_text, person, found)
    if anchored:
        return anchored
    candidates = [c for c in found if not c.foreign]
    if person:
        for c in candidates:
            near = customer_text[max(0, c.start - 16) : c.end + 12]
            if person in near:
                return c.name
    if candidates:
        return candidates[0].name
    cued = [c for c in cue_companies(customer_text) if not c.foreign and c.name != person]
    if cued:
        return cued[0].name
    # The rep may name the customer's company ("华康这边的需求…") but never their own ("我是星辰云的…").
    for c in find_companies(rep_text):
        if not c.foreign and not _OWN_COMPANY_CUE.search(rep_text[max(0, c.start - 6) : c.start]):
            return c.name
    return None


# A Japanese form of address written after a surname ("佐藤さん", "西村様", "Lee-san") is how the customer is
# named, like 王总 (../shared/corpus/README.md: surname plus title as written); kana never end a Chinese name. A
# romanised given name keeps only a romanised honorific ("Lee-san", but "Tomokoさん" is Tomoko).
_KANA_HONORIFIC = r"(?:さん|さま|様|くん|ちゃん)"
_LATIN_HONORIFIC = r"-(?:san|sama)(?![A-Za-z])"
_ADDRESSED = re.compile(rf"(?P<run>[\u4e00-\u9fff\u3005]{{2,}})(?P<honorific>{_KANA_HONORIFIC})")
# a character that ends the words before a name ("的佐藤さん", "见了山本さん") or greets ("谢谢陈さん", "您好"):
# never in a surname the fallback reads
_BEFORE_NAME = frozenset("的了是和跟给找问对与向把被让请叫谢您你好")


def _with_honorific(name: str | None, text: str, customer_text: str) -> str | None:
    """The name as the text addresses the person; with no name found, a surname the customer's side addresses so
    (not the rep's side, where the customer greets the rep: "陈さん，样品收到了")."""
    if not name:
        addressed = _ADDRESSED.search(customer_text)
        if not addressed:
            return None
        # the run before the honorific ends with the surname: two characters ("大阪的佐藤"), or a whole run of three
        # that does not start with a function character ("長谷川", "佐々木")
        run = addressed.group("run")
        surname = run if len(run) == 3 and run[0] not in _BEFORE_NAME else run[-2:]
        if any(ch in _BEFORE_NAME for ch in surname):
            return None  # "谢谢陈さん": the customer thanking the rep, no surname of two characters
        return surname + addressed.group("honorific")
    honorific = _LATIN_HONORIFIC if name.isascii() else f"{_KANA_HONORIFIC}|{_LATIN_HONORIFIC}"
    m = re.search(f"{re.escape(name)}(?:{honorific})", text)
    return m.group() if m else name


def _from_book(
    text: str, name: str | None, company: str | None, known: Sequence[tuple[str, str | None]],
    rep_names: Sequence[str],
) -> tuple[str | None, str | None]:
    """Prefer the rep's own spellings: a noisy transcript ("何志强和经理") still spells a known name."""
    companies = sorted({c for _, c in known if c}, key=len, reverse=True)
    if company not in companies:
        # A known company inside a longer guess ("核星河酒店") or anywhere in the text wins.
        inside = next((c for c in companies if company and c in company), None)
        spelled = next((c for c in companies if c in text), None)
        company = inside or spelled or company
    # A full name the text itself introduces (a new customer) stands; a bare title ("王总") or no name
    # gives way to a known name spelled in the text.
    strong = any(m.priority <= 2 for m in name_mentions(text) if m.name == name)
    if not strong:
        names = sorted({n for n, _ in known if len(n) >= 2 and not is_rep(n, rep_names)}, key=len, reverse=True)
        spelled_names = [(text.find(n), n) for n in names if n in text]
        if spelled_names:
            name = min(spelled_names)[1]
        elif name is None and company:
            contacts = {n for n, c in known if c == company}
            if len(contacts) == 1:
                name = contacts.pop()
    return name, company


def _tags(
    customer_text: str, rep_text: str, rules: Sequence[TagRule], mentions: dict[str, list[TimeMention]],
    ref_time: datetime, weights: Mapping[tuple[str, str], float] | None = None,
) -> tuple[str, ...]:
    tags: set[str] = set()
    for text, from_customer in ((customer_text, True), (rep_text, False)):
        for name, positions in weighted_tags(find_keyword_hits(text, rules), weights).items():
            if name in CUSTOMER_REQUEST_TAGS and not from_customer:
                continue
            if name in DATED_TAGS and not any(_dated(text, p, mentions[text], ref_time) for p in positions):
                continue
            tags.add(name)
    return tuple(sorted(tags))


def _pattern_tags(
    customer_text: str, rep_text: str, rules: Sequence[TagRule], mentions: dict[str, list[TimeMention]],
    ref_time: datetime,
) -> tuple[str, ...]:
    found: set[str] = set()
    for text, from_customer in ((customer_text, True), (rep_text, False)):
        for name, positions in pattern_hits(text, rules).items():
            if name in CUSTOMER_REQUEST_TAGS and not from_customer:
                continue
            if name in DATED_TAGS and not any(_dated(text, p, mentions[text], ref_time) for p in positions):
                continue
            found.add(name)
    return tuple(sorted(found))


def _dated(text: str, position: int, mentions: Sequence[TimeMention], ref_time: datetime) -> bool:
    sentence = sentence_around(text, position, position + 1)
    return any(m.text in sentence and is_future(m, ref_time) for m in mentions)


def _product(text: str, products: Sequence[str]) -> str | None:
    lowered = text.lower().replace(" ", "")
    best: tuple[int, str] | None = None
    for product in products:
        key = normalize_text(product).lower().replace(" ", "")
        if not key:
            continue
        pos = lowered.find(key)
        if pos < 0 and len(key) >= 4 and fuzz.partial_ratio(key, lowered) >= 90:
            pos = len(lowered)  # fuzzy hits rank after exact ones
        if pos >= 0 and (best is None or pos < best[0]):
            best = (pos, product)
    return best[1] if best else None


def extract(
    text: str,
    *,
    ref_time: datetime,
    tag_rules: Sequence[TagRule] = DEFAULT_TAGS,
    rep_names: Sequence[str] = (),
    products: Sequence[str] = (),
    tag_weights: Mapping[tuple[str, str], float] | None = None,
    known: Sequence[tuple[str, str | None]] = (),
    tagger: Tagger | None = None,
    stager: Stager | None = None,
) -> Extraction:
    """Structured follow-up fields from one chat copy, forwarded message, note or voice transcript.

    `tag_weights` are a team's learned keyword weights ((tag, keyword) -> weight, default 1.0);
    `known` is the rep's book as (name, company) pairs: a known name or company spelled in the text
    is preferred over a guess, and a known company's only contact stands in for a missing name.
    `tagger` replaces the keyword tags with its own decision (it sees them as evidence); relative dates
    resolve against `ref_time`, which must be the message's send time, not the processing time.
    `stager` replaces the rules' stage with its own decision (it sees it as evidence)."""
    normalized = normalize_text(text or "")
    turns = split_chat(normalized)
    speaker = customer_speaker(turns, rep_names)
    # Customer-side text: the customer's own turns plus the rep's free notes; the rep's chat turns are
    # kept apart so the rep's own phone, e-mail and company are never filed as the customer's.
    customer_turns = [t for t in turns if t.speaker is None or t.speaker == speaker]
    rep_turns = [t for t in _without_declined_offers(turns, speaker) if t.speaker not in (None, speaker)]
    customer_text, rep_text = _join(customer_turns), _join(rep_turns)
    full_text = _join(turns)
    signal_text = _join([t for t in turns if t in customer_turns or t in rep_turns])

    mentions = {t: find_time_mentions(t, ref_time=ref_time) for t in {customer_text, rep_text, full_text}}
    name = _customer_name(speaker, customer_text, rep_names)
    if speaker and name == speaker:
        name = name_behind_nickname(speaker, customer_text, rep_text)
    # The learned ranker weighs the rules' choice against the other people the text names (issue #13).
    name = choose_customer(CustomerInput(turns, speaker, customer_text, rep_text, rep_names, name))
    phones = customer_phones([(t.text, t.speaker is not None) for t in customer_turns if t.text], name)
    emails = _EMAIL.findall(customer_text)
    contact = next_contact(full_text, mentions[full_text], ref_time)
    # The learned chooser weighs the rules' date against the text's other future dates (issue #13, round 8).
    contact = choose_contact(ContactInput(full_text, mentions[full_text], ref_time, contact, _roles(turns, speaker)))
    # Requests: the customer's words plus rep offers the customer accepted.
    accepted = _join(_accepted_offers(turns, speaker))
    request_text = f"{customer_text}\n{accepted}" if accepted else customer_text
    if accepted:
        mentions[request_text] = find_time_mentions(request_text, ref_time=ref_time)
    tags = _tags(request_text, rep_text, tag_rules, mentions, ref_time, tag_weights)
    sides = _sides(turns, speaker)
    if tagger is not None:
        future = any(is_future(m, ref_time) for m in mentions[full_text])
        patterns = _pattern_tags(request_text, rep_text, tag_rules, mentions, ref_time)
        tags = tagger(TagInput(request_text, rep_text, tags, patterns, future, sides))
    competitor_hits = find_tag_hits(signal_text, tag_rules).get("竞品对比", [])
    lost = lost_to_competitor(signal_text, competitor_hits)
    if lost:
        tags = tuple(sorted({*tags, "流失风险"}))
    raw_speaker = next((t.raw_speaker for t in turns if t.speaker == speaker and t.raw_speaker), None)
    company = _company(customer_text, rep_text, name, _display_company(raw_speaker, speaker))
    if not labelled_company(customer_text):
        # A labelled "公司：X" line is exact; otherwise a learned ranker weighs the rules' choice against
        # every other candidate span (company_ranker.py).
        company = company_ranker.choose(customer_text, rep_text, raw_speaker, name, company)
    if known and not speaker:
        name, company = _from_book(customer_text, name, company, known, rep_names)
    own_words = _join([t for t in customer_turns if t.speaker is not None])  # the customer's chat turns
    has_customer = bool(name or company or phones or emails)
    # The rules' evidence is computed once: it gives the rule stage and travels to the stager on StageInput.
    evidence = stage_evidence(signal_text, tags, lost=lost, customer_words=own_words)
    stage = stage_from_evidence(evidence, customer=has_customer)
    if stager is not None:
        stage_text = f"{request_text}\n{rep_text}" if rep_text else request_text
        stage = stager(StageInput(request_text, rep_text, tags, stage, lost, has_customer,
                                  evidence or frozenset(), said_to_be_new(stage_text), sides))
    if stage is Stage.LOST and "流失风险" in {r.name for r in tag_rules}:
        # A customer or prospect who has decided to leave or not to buy is the churn the tag is for.
        tags = tuple(sorted({*tags, "流失风险"}))
    if company and company == name:
        company = None  # one span is a person or a firm, never both (no record of the pool names a firm so)
    written = normalize_width(text or "")
    return Extraction(
        customer_name=as_written(_with_honorific(name, normalized, customer_text), normalized, written),
        company=as_written(company, normalized, written),
        phone=phones[0] if phones else None,
        email=emails[0] if emails else None,
        tags=tags,
        next_contact=contact.when if contact else None,
        next_contact_has_time=bool(contact and contact.has_time),
        amount_cny=deal_amount(full_text),
        stage_hint=stage,
        product=_product(full_text, products),
    )
