"""The durable queues between the adapters and the handlers, and between the handlers and the
platforms: inbox writer, worker, outbox sender, media store and the deferred media fetch,
the adapters' pre-ack member check (member_directory.py), replies and pushes as outbox rows
(delivery.py, push.py), and the loops' shared wake-up.

Never imports a platform package: deliverers and fetchers are injected by bot/app.py.
"""
