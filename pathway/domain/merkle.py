"""The RFC 6962 Merkle tree hash over a sequence of leaves, computed as they stream by.

A checkpoint records the size and root of the tree over every event hash in append
order. The database *extends* the checkpoint when its first ``size`` leaves still give
that root: nothing before the checkpoint was removed, rewritten or reordered. The
verifier holds every leaf, so it recomputes that root directly (the consistency proof
of RFC 6962 is what one would send to a party without the leaves).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class TreeBuilder:
    """The Merkle tree hash of the leaves added so far, in O(log n) memory.

    Keeps the roots of the complete subtrees (sizes powers of two, largest first);
    folding them right to left gives RFC 6962's MTH, whose split is the largest power
    of two below the size.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []

    def add(self, leaf: bytes) -> None:
        size, digest = 1, leaf_hash(leaf)
        while self._stack and self._stack[-1][0] == size:
            _, left = self._stack.pop()
            size, digest = size * 2, node_hash(left, digest)
        self._stack.append((size, digest))
        self.size += 1

    def root(self) -> str:
        if not self._stack:
            return EMPTY_ROOT
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest.hex()


def tree_root(leaves: Iterable[bytes]) -> str:
    builder = TreeBuilder()
    for leaf in leaves:
        builder.add(leaf)
    return builder.root()


def prefix_roots(leaves: Iterable[bytes], sizes: Iterable[int]) -> tuple[int, str, dict[int, str]]:
    """One pass: the total size and root, and the root of the first ``n`` leaves for each wanted ``n``.

    A wanted size beyond the total is absent from the result (those leaves are gone).
    """
    wanted = set(sizes)
    builder = TreeBuilder()
    found = {0: EMPTY_ROOT} if 0 in wanted else {}
    for leaf in leaves:
        builder.add(leaf)
        if builder.size in wanted:
            found[builder.size] = builder.root()
    return builder.size, builder.root(), found
