"""Understanding what a rep said: biasing the recogniser toward the rep's own book, correcting
near-miss names by pinyin, reading dictated numbers, and learning tag weights from corrections.

Nothing is imported here: bot/extract uses numbers.py, and this package uses bot/extract.
"""
