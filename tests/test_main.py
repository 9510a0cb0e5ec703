"""The application's front door: the bare addresses lead somewhere useful."""

import httpx
import pytest


@pytest.mark.parametrize("url", ["http://test/", "http://test/api/v1"])
async def test_the_bare_addresses_redirect_to_the_docs(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)

    assert response.status_code == 307
    assert response.headers["location"] == "/docs"
