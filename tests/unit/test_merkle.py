"""The Merkle tree hash is RFC 6962's, however the leaves arrive."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from pathway.domain.merkle import EMPTY_ROOT, leaf_hash, node_hash, prefix_roots, tree_root


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, written as the RFC defines it (recursively)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_the_streamed_root_is_the_recursive_definition(leaves: list[bytes]) -> None:
    assert tree_root(leaves) == mth(leaves).hex()


def test_known_values() -> None:
    assert tree_root([]) == EMPTY_ROOT == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    # RFC 6962's test vector: the tree of the single empty leaf.
    assert tree_root([b""]) == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


@given(st.lists(st.binary(max_size=4), max_size=40), st.sets(st.integers(0, 45)))
def test_prefix_roots_are_the_roots_of_the_prefixes(leaves: list[bytes], sizes: set[int]) -> None:
    size, root, found = prefix_roots(leaves, sizes)
    assert (size, root) == (len(leaves), mth(leaves).hex())
    assert found == {n: mth(leaves[:n]).hex() for n in sizes if n <= len(leaves)}
