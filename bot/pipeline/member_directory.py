"""Is this platform user one of our active members? Asked by the adapters before they download media.

A stranger's voice memo or file is not fetched from the platform nor written to disk: the message
row alone gets the usual "not a member" answer from the worker. One indexed lookup (the platform
id columns are unique) on the ack path, only for messages that carry media.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine
from sqlmodel import Session

from store.members import get_member_by_platform_id


class MemberDirectory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def is_active_now(self, platform: str, user_id: str) -> bool:
        with Session(self.engine) as session:
            member = get_member_by_platform_id(session=session, platform=platform, user_id=user_id)
            return member is not None and member.active

    async def is_active(self, platform: str, user_id: str) -> bool:
        return await asyncio.to_thread(self.is_active_now, platform, user_id)
