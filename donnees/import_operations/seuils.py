"""Seuils des contrôles de l'import (surfaces, part hors commune, chevauchements, emplacements approchés).

Lus aussi par :mod:`donnees.controles_zones` (formulaire, façade) : mêmes seuils partout.
"""

SURFACE_MIN_M2 = 1.0
SURFACE_MAX_M2 = 100_000.0                     # 10 ha
PART_MAX_HORS_COMMUNE = 0.5
PART_ALERTE_HORS_COMMUNE = 0.1
CHEVAUCHEMENT_MIN_M2 = 1.0
ECART_SURFACE_DECLAREE = 0.10
COTE_EMPLACEMENT_M = 10.0
PAS_EMPLACEMENT_M = 15.0
REVETEMENT_EMPLACEMENT = "enrobe"
