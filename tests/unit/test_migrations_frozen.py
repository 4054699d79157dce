"""A released migration is never edited: its text is frozen by hash (append a new migration instead)."""

from __future__ import annotations

import hashlib

from engine.store.migrations import MIGRATIONS, SCHEMA_VERSION

# sha256 of each released migration's text, in order. Releasing a new migration appends its hash here.
RELEASED = [
    "dbcd8d395f9e9ffd5c1bcd502ab5c0864cc5680d954d3f141e9afd112beeb737",
    "fdfb930708cf247f777d1f25dfacacac4269dcfda26ad90c1cb8fe2b13cbce59",
    "d304d4f6ec94b9f6df24514ef6c50b9fc7060e6357cf0c62bb078d213e4ca587",
    "e97df619f259dbc5b297a251ba3b0131d2274c49b3d46b037228b4c6cdd64008",
    "098fcbf8a72b537e19bc02841f84fe16c6ce511c59c7c9e5c24d2d53fd24f682",
    "d218b629185f079d95779ab570b825311529a8e2c71d313ae0fb250a35b78108",
    "8fe8c993b5909d795b3901c91897b9cc031d250394c2751115908a7dd8aa6fc2",
    "d4a20cd8b6e68de33d122c7f59c932c33b053d5b33f65b022e19a64479ab0465",
    "1727abd535a2e3499cbd6faee495f05839dd5d31ea5699ef7a2c53b8c59c8e36",
    "ccb698bd35a2f9e52424afe597710daffb8f6da4bf1eb22eec5c06df18dd1d8e",
]


def test_released_migrations_are_unchanged() -> None:
    assert len(MIGRATIONS) >= len(RELEASED), "a released migration was removed"
    for version, expected in enumerate(RELEASED, 1):
        actual = hashlib.sha256(MIGRATIONS[version - 1].encode()).hexdigest()
        assert actual == expected, f"migration {version} was edited: append a new migration instead"


def test_schema_version_counts_the_migrations() -> None:
    assert len(MIGRATIONS) == SCHEMA_VERSION
