"""WeCom (企业微信) self-built app: callback.py (verify, decrypt, parse, insert, ack), xml.py,
api.py (the server API client), deliverer.py (outbox -> message/send), render.py (template cards).

The only package that imports wechatpy.
"""
