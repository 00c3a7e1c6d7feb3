"""Seuils de l'import : ceux des zones viennent de :mod:`donnees.zones` (les mêmes partout), les autres
(surface déclarée, emplacements approchés) sont propres à l'import."""

from donnees.zones import (  # noqa: F401  (réexport)
    CHEVAUCHEMENT_MIN_M2,
    PART_ALERTE_HORS_COMMUNE,
    PART_MAX_HORS_COMMUNE,
    SURFACE_MAX_M2,
    SURFACE_MIN_M2,
)

ECART_SURFACE_DECLAREE = 0.10
COTE_EMPLACEMENT_M = 10.0
PAS_EMPLACEMENT_M = 15.0
REVETEMENT_EMPLACEMENT = "enrobe"
