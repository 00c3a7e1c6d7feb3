"""Chiffres de synthèse du registre : comptes d'opérations et surfaces de zones par statut.

Les surfaces sont celles des zones, calculées en Lambert-93 à l'enregistrement (colonne ``surface_m2``).
"""

from __future__ import annotations

import pandas as pd

from donnees.nomenclatures import STATUTS


def calculer_chiffres_cles(operations: pd.DataFrame, zones: pd.DataFrame) -> dict:
    """Nombre d'opérations, de communes concernées et m² de zones par statut.

    Renvoie ``{"operations": n, "communes": n, "surface_par_statut": {statut: m²}, "surface_totale": m²}``.
    """
    surfaces = (zones.groupby("statut")["surface_m2"].sum() if len(zones)
                else pd.Series(dtype="float64"))
    par_statut = {code: float(surfaces.get(code, 0.0)) for code in STATUTS}
    return {
        "operations": int(len(operations)),
        "communes": int(operations["code_insee"].nunique()) if len(operations) else 0,
        "surface_par_statut": par_statut,
        "surface_totale": float(sum(par_statut.values())),
    }


def compter_operations_par_commune(operations: pd.DataFrame) -> pd.Series:
    """Nombre d'opérations par code INSEE."""
    if not len(operations):
        return pd.Series(dtype="int64", name="operations")
    return operations.groupby("code_insee").size().rename("operations")
