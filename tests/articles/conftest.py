"""Fixtures of the article tests."""

from __future__ import annotations

import pytest

from stance.articles import load_gazetteer


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()
