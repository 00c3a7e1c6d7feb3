"""Villes pairs : comparaison d'une commune avec celles de taille ou d'imperméabilisation voisines.

- par population : les communes dont la population est la plus proche en rapport, |ln(P/P₀)| minimal ;
- par imperméabilisation : celles dont le taux d'imperméabilisation est le plus proche, |τ − τ₀| minimal.

Indicateurs rapportés : par habitant (S_désimp / P, m²/hab) et par hectare imperméable
(S_désimp / (S_imp / 10 000), m²/ha).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicateurs.communs import CODE_BASSIN, diviser

M2_PAR_HA = 10_000.0
CRITERES = {"population": "Population voisine", "impermeabilisation": "Imperméabilisation voisine"}


def calculer_ratios_communes(table_communes: pd.DataFrame, populations: pd.Series) -> pd.DataFrame:
    """Ajoute population et surfaces désimperméabilisées par habitant et par hectare imperméable (copie).

    ``table_communes`` : sortie de :func:`indicateurs.calcul.calculer_indicateurs_communes` ;
    ``populations`` : population par code INSEE. Ligne ``bassin`` : somme des populations.
    """
    table = table_communes.copy()
    population = table["territoire"].map(populations).astype(float)
    bassin = table["territoire"].eq(CODE_BASSIN).to_numpy()
    population[bassin] = float(populations.reindex(table.loc[~bassin, "territoire"]).sum())
    table["population"] = population.to_numpy()
    table["surface_desimpermeabilisee_par_habitant"] = diviser(table["surface_desimpermeabilisee"], table["population"])
    table["surface_desimpermeabilisee_par_ha_impermeable"] = diviser(table["surface_desimpermeabilisee"],
                                                                     table["surface_impermeable"] / M2_PAR_HA)
    return table


def choisir_villes_pairs(table: pd.DataFrame, code: str, critere: str = "population", nombre: int = 5) -> pd.DataFrame:
    """La commune ``code`` et ses ``nombre`` villes pairs selon ``critere``, colonne ``est_commune``.

    ``table`` : sortie de :func:`calculer_ratios_communes`. Tri : la commune d'abord, puis par proximité.
    """
    communes = table[table["territoire"] != CODE_BASSIN].copy()
    if code not in set(communes["territoire"]):
        return communes.iloc[0:0].assign(est_commune=pd.Series(dtype=bool), distance=pd.Series(dtype=float))
    reference = communes.set_index("territoire").loc[code]
    if critere == "population":
        distance = np.abs(np.log(communes["population"].to_numpy(float).clip(min=1)
                                 / max(float(reference["population"]), 1.0)))
    elif critere == "impermeabilisation":
        distance = np.abs(communes["taux_impermeabilisation"].to_numpy(float)
                          - float(reference["taux_impermeabilisation"]))
    else:
        raise ValueError(f"Critère de comparaison inconnu : {critere} ({', '.join(CRITERES)}).")
    communes["distance"] = distance
    communes["est_commune"] = communes["territoire"].eq(code).to_numpy()
    communes = communes.sort_values(["est_commune", "distance"], ascending=[False, True], na_position="last")
    return communes.head(nombre + 1).reset_index(drop=True)
