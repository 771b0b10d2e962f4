"""The numbers of the encounter-building rules: game-rule tables, not SRD prose.

Sources (cited, not copied text):
- `XP_BY_CR`: experience points by challenge rating, the Monster Manual (2014) and the 2024
  Monster Manual (the same figures; the SRD's stat blocks print them beside each CR).
- `THRESHOLDS_2014`, `MULTIPLIERS_2014`: Dungeon Master's Guide (2014), chapter 3, "Creating a
  Combat Encounter": XP Thresholds by Character Level (p. 82) and Encounter Multipliers (p. 82),
  with its party-size adjustment (fewer than three characters: the next higher multiplier; six
  or more: the next lower; ×0.5 for one monster fighting a large party).
- `BUDGET_2024`: Dungeon Master's Guide (2024), chapter 4, "Combat Encounters": XP Budget per
  Character (p. 114), Low / Moderate / High; no multiplier.
"""

from __future__ import annotations

from typing import Final

LEVELS: Final = range(1, 21)

# challenge rating → XP of one creature
XP_BY_CR: Final[dict[float, int]] = {
    0: 10, 0.125: 25, 0.25: 50, 0.5: 100,
    1: 200, 2: 450, 3: 700, 4: 1100, 5: 1800, 6: 2300, 7: 2900, 8: 3900, 9: 5000, 10: 5900,
    11: 7200, 12: 8400, 13: 10000, 14: 11500, 15: 13000, 16: 15000, 17: 18000, 18: 20000,
    19: 22000, 20: 25000, 21: 33000, 22: 41000, 23: 50000, 24: 62000, 25: 75000, 26: 90000,
    27: 105000, 28: 120000, 29: 135000, 30: 155000,
}  # fmt: skip

DIFFICULTIES_2014: Final = ("easy", "medium", "hard", "deadly")
# character level → (easy, medium, hard, deadly) XP threshold of one character
THRESHOLDS_2014: Final[dict[int, tuple[int, int, int, int]]] = {
    1: (25, 50, 75, 100),
    2: (50, 100, 150, 200),
    3: (75, 150, 225, 400),
    4: (125, 250, 375, 500),
    5: (250, 500, 750, 1100),
    6: (300, 600, 900, 1400),
    7: (350, 750, 1100, 1700),
    8: (450, 900, 1400, 2100),
    9: (550, 1100, 1600, 2400),
    10: (600, 1200, 1900, 2800),
    11: (800, 1600, 2400, 3600),
    12: (1000, 2000, 3000, 4500),
    13: (1100, 2200, 3400, 5100),
    14: (1250, 2500, 3800, 5700),
    15: (1400, 2800, 4300, 6400),
    16: (1600, 3200, 4800, 7200),
    17: (2000, 3900, 5900, 8800),
    18: (2100, 4200, 6300, 9500),
    19: (2400, 4900, 7300, 10900),
    20: (2800, 5700, 8500, 12700),
}

# The Encounter Multipliers column, with the steps the party-size adjustment moves to: ×0.5
# below the first row and ×5 beyond the last.
MULTIPLIER_STEPS_2014: Final = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)
# (fewest monsters of the row, index of its multiplier in MULTIPLIER_STEPS_2014), first row first
MULTIPLIERS_2014: Final = ((1, 1), (2, 2), (3, 3), (7, 4), (11, 5), (15, 6))
SMALL_PARTY_2014: Final = 3  # fewer characters than this: the next higher multiplier
LARGE_PARTY_2014: Final = 6  # this many characters or more: the next lower multiplier

DIFFICULTIES_2024: Final = ("low", "moderate", "high")
# character level → (low, moderate, high) XP budget of one character
BUDGET_2024: Final[dict[int, tuple[int, int, int]]] = {
    1: (50, 75, 100),
    2: (100, 150, 200),
    3: (150, 225, 400),
    4: (250, 375, 500),
    5: (500, 750, 1100),
    6: (600, 1000, 1400),
    7: (750, 1300, 1700),
    8: (1000, 1700, 2100),
    9: (1300, 2000, 2600),
    10: (1600, 2300, 3100),
    11: (1900, 2900, 4100),
    12: (2200, 3700, 4700),
    13: (2600, 4200, 5400),
    14: (2900, 4900, 6200),
    15: (3300, 5400, 7800),
    16: (3800, 6100, 9800),
    17: (4500, 7200, 11700),
    18: (5000, 8700, 14200),
    19: (5500, 10700, 17200),
    20: (6400, 13200, 22000),
}
