"""The chaos run (bench/chaos.py) as a test: seeded and bounded, on the suite's database."""
