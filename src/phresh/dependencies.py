"""Application-wide dependencies: what ``create_app`` put on ``app.state``.

All ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool, a thread hop
per request for what is only an attribute read.
"""

from typing import Annotated

from fastapi import Depends, Request

from phresh.config import Settings
from phresh.kit.pagination import CursorCodec


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_cursor_codec(request: Request) -> CursorCodec:
    codec: CursorCodec = request.app.state.cursor_codec
    return codec


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
CursorCodecDep = Annotated[CursorCodec, Depends(get_cursor_codec)]
