"""Turn a rep's pasted chat, note or voice transcript into structured follow-up fields."""

from .amount import parse_amount
from .chat import ChatLine, clean_display_name, split_chat
from .extractor import extract
from .model import Extraction
from .phone import normalize_phone
from .tags import DEFAULT_TAGS, TagRule, load_tag_rules, tag_rules
from .when import parse_when

__all__ = [
    "DEFAULT_TAGS",
    "ChatLine",
    "Extraction",
    "TagRule",
    "clean_display_name",
    "extract",
    "load_tag_rules",
    "normalize_phone",
    "parse_amount",
    "parse_when",
    "split_chat",
    "tag_rules",
]
