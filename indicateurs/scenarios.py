"""Scénarios prospectifs (issue 15, partie 2) : coût estimé des sites d'après le registre, synthèse de l'effet.

Coût d'un site (€) = surface (m²) × médiane des coûts au m² des opérations du registre de même type de site et de
même revêtement après travaux dominant (coût HT / surface désimperméabilisée, :mod:`indicateurs.finances`) ;
fourchette = surface × [1er quartile ; 3e quartile]. Avec moins de ``effectif_min_cout`` opérations chiffrées,
l'estimation se fait par type de site seul, puis sur tout le registre ; la base retenue et l'effectif sont donnés
avec chaque estimation (``indicateurs/parametres/scenarios.csv``).

Fonctions pures : tables en entrée, tables en sortie.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from indicateurs.parametres import lire_table_parametres

FICHIER_SCENARIOS = Path(__file__).resolve().parent / "parametres" / "scenarios.csv"
BASES_COUT = {"type_revetement": "même type de site et même revêtement après travaux",
              "type": "même type de site", "registre": "tout le registre", "aucune": "aucune opération chiffrée"}


def lire_parametres_scenarios() -> dict[str, float]:
    """Paramètres des scénarios (``scenarios.csv``)."""
    return lire_table_parametres(FICHIER_SCENARIOS)["valeur"].astype(float).to_dict()


def relever_couts_unitaires(operations: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    """Coût au m² de chaque opération chiffrée du registre, avec son type de site et son revêtement après travaux
    dominant (par la surface de ses zones). ``operations`` : indicateurs par opération (``operation_id``,
    ``type_site``, ``cout_par_m2``) ; ``zones`` : ``operation_id``, ``revetement_apres``, ``surface_m2``."""
    chiffrees = operations.loc[pd.to_numeric(operations["cout_par_m2"], errors="coerce").gt(0).to_numpy(bool),
                               ["operation_id", "type_site", "cout_par_m2"]]
    if chiffrees.empty or zones is None or zones.empty:
        return pd.DataFrame({"operation_id": [], "type_site": [], "revetement_apres": [], "cout_par_m2": []})
    surfaces = (pd.DataFrame({"operation_id": zones["operation_id"].to_numpy(),
                              "revetement_apres": zones["revetement_apres"].astype(str).to_numpy(),
                              "surface_m2": zones["surface_m2"].to_numpy(float)})
                .groupby(["operation_id", "revetement_apres"], as_index=False)["surface_m2"].sum()
                .sort_values(["operation_id", "surface_m2", "revetement_apres"], ascending=[True, False, True]))
    dominant = surfaces.drop_duplicates("operation_id")[["operation_id", "revetement_apres"]]
    return chiffrees.merge(dominant, on="operation_id", how="inner").astype({"cout_par_m2": float})


def _statistiques(valeurs: pd.Series) -> tuple[float, float, float, int]:
    valeurs = valeurs.to_numpy(float)
    return (float(np.median(valeurs)), float(np.quantile(valeurs, 0.25)), float(np.quantile(valeurs, 0.75)),
            len(valeurs))


def estimer_couts_sites(sites: pd.DataFrame, couts: pd.DataFrame, effectif_min: int) -> pd.DataFrame:
    """Coût estimé de chaque site (colonnes ``cout_estime``, ``cout_bas``, ``cout_haut`` en €, ``cout_m2_median``,
    ``base_cout`` (clé de :data:`BASES_COUT`), ``effectif_cout``) ; ``sites`` : ``type_site``,
    ``revetement_apres``, ``surface_m2``."""
    lignes = []
    for type_site, revetement, surface in zip(sites["type_site"], sites["revetement_apres"],
                                              sites["surface_m2"].astype(float)):
        choix = [("type_revetement", couts[(couts["type_site"] == type_site)
                                           & (couts["revetement_apres"] == revetement)]["cout_par_m2"]),
                 ("type", couts[couts["type_site"] == type_site]["cout_par_m2"]),
                 ("registre", couts["cout_par_m2"])]
        base, valeurs = next(((b, v) for b, v in choix if len(v) >= effectif_min),
                             ("registre", choix[-1][1]) if len(choix[-1][1]) else ("aucune", None))
        if valeurs is None:
            lignes.append((np.nan, np.nan, np.nan, np.nan, base, 0))
            continue
        mediane, q1, q3, n = _statistiques(valeurs)
        lignes.append((surface * mediane, surface * q1, surface * q3, mediane, base, n))
    return pd.DataFrame(lignes, columns=["cout_estime", "cout_bas", "cout_haut", "cout_m2_median", "base_cout",
                                         "effectif_cout"], index=sites.index)


def moyenner_chaleur_bassin(communes: pd.DataFrame, scenario: str) -> tuple[float, float]:
    """(T_air moyenne du bassin en °C pondérée par la surface urbaine des communes, surface en îlot de chaleur en
    m²) d'un scénario de la table des communes du modèle de chaleur."""
    lignes = communes[communes["scenario"] == scenario]
    poids = lignes["surface_urbaine_m2"].to_numpy(float)
    t_air = lignes["t_air_moyenne_c"].to_numpy(float)
    connus = np.isfinite(t_air) & (poids > 0)
    moyenne = float(np.average(t_air[connus], weights=poids[connus])) if connus.any() else float("nan")
    return moyenne, float(lignes["surface_ilot_chaleur_m2"].sum())
