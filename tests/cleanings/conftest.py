"""Fixtures shared by the listing and search tests: a signed-in viewer."""

import pytest

from phresh.config import Settings
from phresh.db import Connection
from phresh.models import User
from tests.fixtures.factories import auth_headers, create_user


@pytest.fixture
async def viewer(connection: Connection) -> User:
    return await create_user(connection, username="viewer")


@pytest.fixture
def headers(settings: Settings, viewer: User) -> dict[str, str]:
    return auth_headers(settings, viewer)
