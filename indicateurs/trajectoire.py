"""Trajectoire et ratio de compensation SDAGE (CONCEPTION §5, « Trajectoire »).

- Surface cumulée désimperméabilisée par année (opérations réalisées) comparée à l'objectif cumulé de la
  couche ``objectifs`` ; projection avec les opérations en travaux et programmées, à leur année de fin
  prévue.
- Ratio de compensation (%) = 100 × m² désimperméabilisés / m² nouvellement imperméabilisés sur une
  période, comparé à 100 × ``ratio_sdage_cible`` (SDAGE Rhône-Méditerranée 2022-2027, disposition 5A-04 : 150 %).

Objectif d'une année : interpolation linéaire entre les années déclarées, NaN hors de leur intervalle.
Objectif du bassin : lignes ``bassin`` de la couche ; à défaut, ou si la sélection ne couvre qu'une
partie des communes, somme des objectifs des communes retenues (NaN si l'une n'en a pas).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from indicateurs.communs import CODE_BASSIN, POURCENT, diviser

STATUT_REALISE = "realisee"
COLONNES_TRAJECTOIRE = ["surface_cumulee", "surface_cumulee_projetee", "objectif_cumule", "ecart_objectif",
                        "taux_atteinte_objectif"]


def interpoler_objectifs(objectifs: pd.DataFrame | None, codes_communes: Sequence[str],
                         annees: Iterable[int], selection_complete: bool = True) -> pd.DataFrame:
    """Objectif cumulé (m²) par territoire (communes + ``bassin``) et année, en tableau large.

    Index : territoires ; colonnes : années. Interpolation linéaire entre années déclarées, NaN hors de
    l'intervalle déclaré. Voir la règle du bassin dans la docstring du module.
    """
    annees = np.asarray(list(annees), dtype=float)
    codes = [str(c) for c in codes_communes]
    table = pd.DataFrame(np.nan, index=[*codes, CODE_BASSIN], columns=annees.astype(int), dtype=float)
    if objectifs is None or objectifs.empty or not len(annees):
        return table
    territoires = objectifs["territoire"].astype(str).to_numpy()
    for territoire in set(territoires) & set(table.index):
        lignes = objectifs.loc[territoires == territoire].sort_values("annee")
        table.loc[territoire] = np.interp(annees, lignes["annee"].to_numpy(float),
                                          lignes["surface_m2"].to_numpy(float), left=np.nan, right=np.nan)
    if not selection_complete or CODE_BASSIN not in set(territoires):
        table.loc[CODE_BASSIN] = table.loc[codes].sum(axis=0, skipna=False) if codes else np.nan
    return table


def calculer_trajectoire(operations: pd.DataFrame, objectifs: pd.DataFrame | None,
                         codes_communes: Sequence[str], annees: Iterable[int],
                         annee_reference: int | None = None, selection_complete: bool = True) -> pd.DataFrame:
    """Trajectoire par territoire et par année (tableau long).

    ``operations`` : une ligne par opération retenue, avec ``code_insee``, ``annee``, ``statut`` et
    ``surface_desimpermeabilisee`` (m²) ; les opérations sans année ne sont pas placées.
    ``annees`` : années à produire (le cumul part toujours de la première opération).
    Colonnes : ``territoire``, ``annee``,

    - ``surface_cumulee`` (m²) = Σ des surfaces désimperméabilisées des opérations réalisées jusqu'à
      l'année incluse (NaN après ``annee_reference``) ;
    - ``surface_cumulee_projetee`` (m²) = même cumul avec les opérations en travaux et programmées ;
    - ``objectif_cumule`` (m²) ; ``ecart_objectif`` (m²) = surface cumulée − objectif ;
    - ``taux_atteinte_objectif`` (%) = 100 × surface cumulée / objectif (NaN si objectif nul ou absent).
    """
    codes = [str(c) for c in codes_communes]
    annees = sorted({int(a) for a in annees})
    territoires = [*codes, CODE_BASSIN]
    if not annees:
        return pd.DataFrame({"territoire": pd.Series(dtype=str), "annee": pd.Series(dtype="Int64"),
                             **{c: pd.Series(dtype=float) for c in COLONNES_TRAJECTOIRE}})
    placees = operations.loc[operations["annee"].notna().to_numpy(bool)
                             & operations["code_insee"].astype(str).isin(codes).to_numpy(bool)]
    premiere = int(min([annees[0], *placees["annee"].astype(int)]))
    grille = np.arange(premiere, annees[-1] + 1)

    def cumuler(lignes: pd.DataFrame) -> pd.DataFrame:
        par_annee = (lignes.assign(code_insee=lignes["code_insee"].astype(str), annee=lignes["annee"].astype(int))
                     .pivot_table(index="code_insee", columns="annee", values="surface_desimpermeabilisee",
                                  aggfunc="sum", fill_value=0.0)
                     .reindex(index=codes, columns=grille, fill_value=0.0).astype(float))
        par_annee.loc[CODE_BASSIN] = par_annee.sum(axis=0)
        return par_annee.cumsum(axis=1)

    realise = cumuler(placees.loc[placees["statut"].eq(STATUT_REALISE).to_numpy(bool)])
    if annee_reference is not None:
        realise.loc[:, realise.columns > annee_reference] = np.nan
    projete = cumuler(placees)
    objectif = interpoler_objectifs(objectifs, codes, grille, selection_complete)

    def allonger(large: pd.DataFrame) -> np.ndarray:
        return large.reindex(index=territoires, columns=annees).to_numpy(float).ravel()

    table = pd.DataFrame({"territoire": np.repeat(territoires, len(annees)),
                          "annee": np.tile(annees, len(territoires)),
                          "surface_cumulee": allonger(realise),
                          "surface_cumulee_projetee": allonger(projete),
                          "objectif_cumule": allonger(objectif)})
    table["territoire"] = table["territoire"].astype(str)
    table["annee"] = table["annee"].astype("Int64")
    table["ecart_objectif"] = table["surface_cumulee"] - table["objectif_cumule"]
    table["taux_atteinte_objectif"] = diviser(table["surface_cumulee"], table["objectif_cumule"]) * POURCENT
    return table


def sommer_nouvelles_surfaces(nouvelles_surfaces: pd.DataFrame | None, annees: Iterable[int] | None = None,
                              par_annee: bool = False) -> pd.Series:
    """Surfaces nouvellement imperméabilisées (m²) par commune [et année] sur les années données
    (``None`` : toutes les années disponibles)."""
    cles = ["code_insee", "annee"] if par_annee else ["code_insee"]
    if nouvelles_surfaces is None or nouvelles_surfaces.empty:
        return pd.Series(dtype=float, name="nouvelles_surfaces_impermeabilisees")
    table = pd.DataFrame({"code_insee": nouvelles_surfaces["code_insee"].astype(str).to_numpy(),
                          "annee": nouvelles_surfaces["annee"].astype(int).to_numpy(),
                          "surface": nouvelles_surfaces["surface_m2"].to_numpy(float)})
    if annees is not None:
        table = table[table["annee"].isin(list(annees))]
    return table.groupby(cles)["surface"].sum().rename("nouvelles_surfaces_impermeabilisees")


def calculer_ratio_compensation(surface_desimpermeabilisee, nouvelles_surfaces_impermeabilisees):
    """Ratio de compensation SDAGE (%) = 100 × m² désimperméabilisés / m² nouvellement imperméabilisés sur
    la même période. NaN si aucune surface nouvellement imperméabilisée n'est connue.
    Source : SDAGE Rhône-Méditerranée 2022-2027, disposition 5A-04."""
    return diviser(surface_desimpermeabilisee, nouvelles_surfaces_impermeabilisees) * POURCENT


def cible_sdage_pourcent(cible: float) -> float:
    """Cible du ratio SDAGE en % : ``ratio_sdage_cible`` (paramètre sans unité, 1,5) × 100 = 150 %."""
    return float(cible) * POURCENT


def evaluer_ratio_sdage(ratio, cible: float) -> pd.array:
    """Ratio atteint (booléen nullable) : ratio (%) ≥ 100 × ``ratio_sdage_cible`` ; <NA> si le ratio est NaN."""
    ratio = np.asarray(ratio, dtype=float)
    return pd.array(np.where(np.isnan(ratio), None, ratio >= cible_sdage_pourcent(cible)), dtype="boolean")
