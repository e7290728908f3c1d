from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sms"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def sms_fixture():
    def load(name: str) -> bytes:
        return (FIXTURES / f"{name}.form").read_bytes().strip()

    return load
