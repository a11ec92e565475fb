"""One package per chat platform, the same split in each (nonebot2's adapters/): how messages
come in (callback / stream / adapter), the platform's API client, the deliverer the outbox
sender calls, and the renderer from neutral cards. http.py is the token client they share.

Only bot/app.py, the composition root, imports these (an import-linter contract in pyproject).
"""
