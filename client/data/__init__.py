"""Hospital data: load every export format, de-identify, clean, de-duplicate, check contamination, split.

``prepare_hospital_data`` is the one entry point the client calls; ``python -m client.data`` is the
command line for hospital IT (check a folder, print the data card, prepare the cache).
"""

from client.data.card import DataCard, StepCounts
from client.data.errors import DataError, Location
from client.data.pipeline import PreparedData, prepare_hospital_data

__all__ = ["DataCard", "DataError", "Location", "PreparedData", "StepCounts", "prepare_hospital_data"]
