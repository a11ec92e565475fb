"""DingTalk (钉钉) enterprise robot in Stream mode: stream.py (the connection, insert, ack),
inbound.py (frames -> Inbound), api.py (the OpenAPI client), deliverer.py (outbox -> robot
messages and interactive cards), render.py (card JSON).

The only package that imports dingtalk_stream.
"""
