"""Datasets: the record type, loaders (LASSIE, E-LASSIE, Pascal-Part, image folder), crops, synthetic benchmark."""
