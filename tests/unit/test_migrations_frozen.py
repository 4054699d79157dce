"""A released migration is never edited: its text is frozen by hash (append a new migration instead)."""

from __future__ import annotations

import hashlib

from engine.store.migrations import MIGRATIONS, SCHEMA_VERSION

# sha256 of each released migration's text, in order. Releasing a new migration appends its hash here.
RELEASED = [
    "dbcd8d395f9e9ffd5c1bcd502ab5c0864cc5680d954d3f141e9afd112beeb737",
    "fdfb930708cf247f777d1f25dfacacac4269dcfda26ad90c1cb8fe2b13cbce59",
    "d304d4f6ec94b9f6df24514ef6c50b9fc7060e6357cf0c62bb078d213e4ca587",
]


def test_released_migrations_are_unchanged() -> None:
    assert len(MIGRATIONS) >= len(RELEASED), "a released migration was removed"
    for version, expected in enumerate(RELEASED, 1):
        actual = hashlib.sha256(MIGRATIONS[version - 1].encode()).hexdigest()
        assert actual == expected, f"migration {version} was edited: append a new migration instead"


def test_schema_version_counts_the_migrations() -> None:
    assert len(MIGRATIONS) == SCHEMA_VERSION
