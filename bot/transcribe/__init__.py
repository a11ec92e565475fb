"""Offline Mandarin transcription of voice memos (faster-whisper, int8, CPU).

audio.py decodes any supported memo to 16 kHz samples; model.py joins, verifies and loads the
pinned Whisper weights once per process; engine.py transcribes one file; text.py post-processes;
crosscheck.py compares with a platform's own recognition; runner.py is the durable job runner.
Nothing here is imported at start-up cost: the model and the decoders load on the first memo.
"""
