"""Graph API clients per access token, configured from settings (simulator or Meta)."""

from __future__ import annotations

import asyncio

from ctreflex.models import BusinessNumber
from ctreflex.services.crypto import decrypt
from ctreflex.settings import get_settings
from ctreflex.whatsapp import CloudAPIClient

_clients: dict[tuple[int, str, str, str], CloudAPIClient] = {}


class NoAccessToken(RuntimeError):
    pass


def client_for_token(token: str) -> CloudAPIClient:
    """A pooled client for this token on the running event loop."""
    settings = get_settings()
    try:
        loop_id = id(asyncio.get_running_loop())
    except RuntimeError:
        loop_id = 0
    key = (loop_id, settings.graph_url, settings.graph_api_version, token)
    client = _clients.get(key)
    if client is None:
        client = CloudAPIClient(
            token, base_url=settings.graph_url, api_version=settings.graph_api_version
        )
        _clients[key] = client
    return client


def client_for(number: BusinessNumber) -> CloudAPIClient:
    if not number.access_token_encrypted:
        raise NoAccessToken(f"No access token is stored for {number.e164}.")
    return client_for_token(decrypt(number.access_token_encrypted))


async def close_all() -> None:
    clients = list(_clients.values())
    _clients.clear()
    for client in clients:
        await client.aclose()
