"""The local sandbox chat: adapter.py (the page, its HTTP API and the in-memory deliverer),
render.py (cards as the page shows them), static/ (the page).
"""
