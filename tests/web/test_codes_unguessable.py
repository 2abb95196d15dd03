"""Codes handed out by the API cannot be enumerated: knowing some tells nothing of the next.

A counter, a timestamp or a sequence id encoded in base 62 would show as codes that sort in
creation order, share most characters with their predecessor, or step by a constant. The
codes are 7 characters drawn by `secrets` from 62: 62**7 ≈ 3.5e12, about 41.7 bits each
(docs/operations.md works out what a scan costs).
"""

from __future__ import annotations

import math
from itertools import pairwise
from statistics import mean

import pytest

from shortener.codes import ALPHABET, GENERATED_LENGTH

LINKS = 200


def as_number(code: str) -> int:
    return sum(ALPHABET.index(ch) * 62**i for i, ch in enumerate(reversed(code)))


def rank_correlation(values: list[int]) -> float:
    """Spearman's rho between position in the list and value."""
    ranks = {value: rank for rank, value in enumerate(sorted(values))}
    n = len(values)
    d2 = sum((i - ranks[v]) ** 2 for i, v in enumerate(values))
    return 1 - 6 * d2 / (n * (n * n - 1))


# Codes come from shortener.codes whatever the database: one kind is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_codes_from_the_api_show_no_order_step_or_shared_prefix(client):
    codes = []
    for i in range(LINKS):
        response = client.post("/api/links", json={"url": f"https://example.com/{i}"})
        assert response.status_code == 201
        codes.append(response.get_json()["code"])
    assert len(set(codes)) == LINKS
    assert all(len(code) == GENERATED_LENGTH for code in codes)

    numbers = [as_number(code) for code in codes]
    # Uncorrelated with creation order (for random codes |rho| has a spread of ~0.07).
    assert abs(rank_correlation(numbers)) < 0.3
    # No constant (or nearly constant) step between one code and the next.
    steps = [b - a for a, b in pairwise(numbers)]
    assert len(set(steps)) == len(steps)
    assert sum(step > 0 for step in steps) / len(steps) < 0.65
    # Neighbours share about 7/62 of their positions, not a common prefix.
    shared = [sum(x == y for x, y in zip(a, b, strict=True)) for a, b in pairwise(codes)]
    assert mean(shared) < 0.5
    # Every position draws from (nearly) the whole alphabet.
    for position in range(GENERATED_LENGTH):
        assert len({code[position] for code in codes}) >= 52


def test_the_code_space_is_documented_as_about_42_bits():
    assert len(ALPHABET) == 62
    assert math.isclose(GENERATED_LENGTH * math.log2(len(ALPHABET)), 41.7, abs_tol=0.05)
