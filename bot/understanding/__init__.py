"""Understanding what a rep said: biasing the recogniser toward the rep's own book, correcting
near-miss names by pinyin, and learning tag weights from corrections.

One way only: this package uses bot/extract (dictated digits are read there, bot/extract/numbers.py),
bot/transcribe's runner uses this package; neither is imported back.
"""
