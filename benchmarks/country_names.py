"""Writes bot/extract/country_names.json: every region libphonenumber knows, by its Chinese and its English name.

Usage: python benchmarks/country_names.py [--check]

The names come from libphonenumber's own geocoding data (the pinned `phonenumbers`), frozen into the repository
because importing that data costs ~100 MB of RSS per process for a table of a few hundred names
(bot/extract/phone.py reads the JSON). `--check` exits 1 when the file differs from what the installed library
gives (tests/test_phone_named_country.py runs it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import phonenumbers
from phonenumbers import geocoder

OUT = Path(__file__).resolve().parent.parent / "bot" / "extract" / "country_names.json"


def table() -> dict[str, str]:
    """name -> region, mainland China left out (the default region)."""
    names: dict[str, str] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS - {"CN"}):
        example = phonenumbers.example_number(region)
        if example is None:
            continue
        for lang in ("zh", "en"):
            name = geocoder.country_name_for_number(example, lang)
            # "*zh": an alias the library leaves unresolved for a few regions, no name
            if len(name) >= 2 and not name.startswith("*") and name not in names:
                names[name] = region
    return names


def render(names: dict[str, str]) -> str:
    return json.dumps({"source": f"phonenumbers {phonenumbers.__version__} geocoder, zh and en", "names": names},
                      ensure_ascii=False, indent=0, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render(table())
    if "--check" in argv:
        return 0 if OUT.read_text("utf-8") == text else 1
    OUT.write_text(text, "utf-8")
    print(f"wrote {OUT} ({len(table())} names)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
