"""Hospital side: the Flower ClientApp, local data loading and processing, local training per stage."""
