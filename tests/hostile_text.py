"""Texts that mean something to FTS5, LIKE or SQL, which every method must take as plain text;
shared by the in-process checks (test_hostile.py) and the wire fuzzing (test_wire.py)."""

METACHARACTERS = [
    '"',
    "*",
    "%",
    "_",
    "\\",
    "NEAR(fire ice)",
    "fire OR ice",
    "fire AND NOT ice",
    "col:fire",
    "^fire*",
    '"fire" "',
    "'; DROP TABLE entry; --",
    "1) OR 1=1 --",
    "%' OR '%'='",
    "fire%",
    "fi_e",
]
