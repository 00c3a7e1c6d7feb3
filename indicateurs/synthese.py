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


def separer_realise_programme(realise: pd.DataFrame, projete: pd.DataFrame, colonne: str,
                              annee_courante: int) -> pd.DataFrame:
    """Par année : part « réalisée » et part « programmée » d'un indicateur additif.

    ``realise`` : valeurs par ``annee`` des opérations réalisées ; ``projete`` : celles des opérations en
    travaux et programmées. Une valeur « réalisée » d'une année postérieure à ``annee_courante`` (date de fin
    saisie dans le futur) passe dans la part programmée : le futur n'est jamais compté comme fait.
    Colonnes : ``annee``, ``realise``, ``programme`` ; années où les deux parts sont nulles écartées.
    """
    annees = sorted(set(realise["annee"].dropna().astype(int)) | set(projete["annee"].dropna().astype(int)))
    fait = realise.assign(annee=realise["annee"].astype(int)).groupby("annee")[colonne].sum().reindex(annees)
    prevu = projete.assign(annee=projete["annee"].astype(int)).groupby("annee")[colonne].sum().reindex(annees)
    table = pd.DataFrame({"annee": annees, "realise": fait.fillna(0.0).to_numpy(float),
                          "programme": prevu.fillna(0.0).to_numpy(float)})
    futur = table["annee"] > annee_courante
    table.loc[futur, "programme"] += table.loc[futur, "realise"]
    table.loc[futur, "realise"] = 0.0
    return table[(table["realise"] != 0) | (table["programme"] != 0)].reset_index(drop=True)
