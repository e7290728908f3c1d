import json
import sys
from pathlib import Path

import pytest

from tests.fixtures import load_fixture

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the project may not be installed in the venv
    sys.path.insert(0, str(ROOT))



@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def fixture_bytes():
    def load(name: str) -> bytes:
        return load_fixture("whatsapp", name)

    return load


@pytest.fixture
def fixture_json(fixture_bytes):
    def load(name: str):
        return json.loads(fixture_bytes(name))

    return load
