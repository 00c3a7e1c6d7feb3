"""Tableaux lisibles : en-têtes en français (catalogue), codes remplacés par leurs libellés."""

from __future__ import annotations

import pandas as pd

from donnees.nomenclatures import STATUTS, VALIDATIONS, lire_types_site
from indicateurs.catalogue import COLONNES_IDENTIFIANTS, lire_catalogue, titre_axe

LIBELLES_CODES = {"type_site": lire_types_site, "statut": lambda: STATUTS, "validation": lambda: VALIDATIONS}


def traduire_codes(table: pd.DataFrame) -> pd.DataFrame:
    """Copie où type de site, statut et validation sont remplacés par leurs libellés français."""
    table = table.copy()
    for colonne, libelles in LIBELLES_CODES.items():
        if colonne in table.columns:
            correspondance = libelles()
            table[colonne] = table[colonne].map(lambda v, c=correspondance: c.get(v, v))
    return table


def titrer_colonnes(table: pd.DataFrame, libelles: dict[str, str] | None = None) -> pd.DataFrame:
    """Copie aux en-têtes français : « Libellé (unité) » pour les indicateurs du catalogue."""
    catalogue = lire_catalogue()
    noms = {}
    for colonne in table.columns:
        if libelles and colonne in libelles:
            noms[colonne] = libelles[colonne]
        elif colonne in catalogue.index:
            noms[colonne] = titre_axe(colonne)
        elif colonne in COLONNES_IDENTIFIANTS:
            noms[colonne] = COLONNES_IDENTIFIANTS[colonne]
    return table.rename(columns=noms)


def arrondir_indicateurs(table: pd.DataFrame) -> pd.DataFrame:
    """Copie où chaque indicateur du catalogue est arrondi à ses décimales d'affichage."""
    catalogue = lire_catalogue()
    table = table.copy()
    for colonne in table.columns:
        if colonne in catalogue.index and pd.api.types.is_float_dtype(table[colonne]):
            table[colonne] = table[colonne].round(int(catalogue.loc[colonne, "decimales"]))
    return table


def preparer_tableau(table: pd.DataFrame, colonnes: list[str], libelles: dict[str, str] | None = None) -> pd.DataFrame:
    """Colonnes choisies, arrondies, codes traduits, en-têtes français : prêt pour l'affichage ou l'export."""
    return titrer_colonnes(traduire_codes(arrondir_indicateurs(table[colonnes])), libelles)
