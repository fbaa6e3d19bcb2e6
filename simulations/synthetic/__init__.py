"""Deterministic synthetic hospitals: clinical notes with gold PHI spans, instruction pairs, dialogues, preferences."""
