"""Seuils de l'import : ceux des zones viennent de :mod:`donnees.zones` (les mêmes partout), les autres
(surface déclarée, emplacements approchés) sont propres à l'import ; les bornes de travail d'un import
(taille, lignes, sommets, durées) sont lues dans ``limites_import.json``, avec leur justification."""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path

from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre
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

CHEMIN_LIMITES = Path(__file__).resolve().parent / "limites_import.json"
MIO = 1024 * 1024  # octets par Mo


@lru_cache(maxsize=1)
def lire_limites() -> dict:
    """Bornes de l'import (``limites_import.json``) : nombres positifs, chacun justifié."""
    brut = json.loads(CHEMIN_LIMITES.read_text(encoding="utf-8"))
    justification = brut.pop("justification", {})
    for cle, valeur in brut.items():
        if isinstance(valeur, bool) or not isinstance(valeur, (int, float)) or valeur <= 0:
            raise ErreurDonnees(f"{CHEMIN_LIMITES.name} : « {cle} » doit être un nombre positif.", "import", cle)
        if cle not in justification:
            raise ErreurDonnees(f"{CHEMIN_LIMITES.name} : « {cle} » sans justification.", "import", cle)
    return brut


def limite(cle: str) -> int | float:
    """Une borne de l'import (voir ``limites_import.json``)."""
    return lire_limites()[cle]


def refuser_lignes(nom: str, nombre: int | str, unite: str = "lignes") -> ErreurDonnees:
    """Refus d'un fichier qui dépasse le nombre maximal de lignes (ou d'entités)."""
    maximum = formater_nombre(limite("lignes_max_fichier"))
    compte = formater_nombre(nombre) if isinstance(nombre, int) else nombre
    return ErreurDonnees(f"{nom} : fichier refusé, {compte} {unite} (maximum {maximum}). Découpez-le en plusieurs "
                         "fichiers (par commune ou par année) et importez-les l'un après l'autre.",
                         "import", "fichier")


class Budget:
    """Borne de temps d'une étape de l'import : :meth:`verifier` lève :class:`ErreurDonnees` au-delà."""

    def __init__(self, secondes: float, message: str):
        self.fin = time.monotonic() + secondes
        self.secondes = secondes
        self.message = message

    def depasse(self) -> bool:
        """Vrai si le temps accordé est écoulé."""
        return time.monotonic() > self.fin

    def verifier(self) -> None:
        """Lève l'erreur du budget si le temps accordé est écoulé."""
        if self.depasse():
            raise ErreurDonnees(self.message, "import", "fichier")
