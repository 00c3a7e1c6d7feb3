"""Priorités d'une commune : parcelles classées pour la désimperméabilisation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from donnees.config import dossier_donnees
from donnees.referentiel import lire_couche_facultative, lire_territoire
from indicateurs.parametres import lire_parametres
from indicateurs.priorites import calculer_priorites
from services.magasin import ouvrir_magasin


def calculer_priorites_commune(code: str, parcelles: pd.DataFrame, occupation: pd.DataFrame,
                               registre: pd.DataFrame, parametres) -> pd.DataFrame | None:
    """Priorités des parcelles de la commune ``code`` (``None`` si elle n'a pas de parcelle).

    ``registre`` : toutes les opérations (parcelles déjà traitées écartées), sans rien en afficher.
    """
    parcelles = parcelles[parcelles["commune"].eq(code).to_numpy(bool)]
    occupation = occupation[occupation["code_insee"].eq(code).to_numpy(bool)]
    if parcelles.empty:
        return None
    return calculer_priorites(parcelles, occupation, operations=registre, parametres=parametres)


def lire_priorites_commune(code: str, dossier: Path | None = None) -> pd.DataFrame | None:
    """Priorités d'une commune lues depuis le dossier de données et le magasin (ligne de commande, rapports)."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    with ouvrir_magasin(dossier) as magasin:
        registre = magasin.lire_operations()
    return calculer_priorites_commune(code, lire_couche_facultative("parcelles", dossier),
                                      lire_couche_facultative("occupation", dossier), registre, parametres)
