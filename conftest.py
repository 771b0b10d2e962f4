"""The fixtures every test shares, the plugins' included: `tests/fixtures.py`."""

pytest_plugins = ["tests.fixtures", "tests.timeline"]
