"""Indicateurs financiers (CONCEPTION §5, « Finances »).

Coûts HT et aides déclarés par opération (table des opérations et des financements du magasin). Les
rapports (taux d'aide, €/m², €/(m³/an)) ne portent que sur les opérations dont le coût est connu : une
opération sans coût ne fausse pas le coût unitaire. Dénominateur nul → NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicateurs.communs import (
    CODE_BASSIN,
    POURCENT,
    Filtres,
    diviser,
    identifiants_operations,
    masque_filtres,
)

# Colonnes additives auxiliaires : part des grandeurs portée par les opérations de coût connu.
AUXILIAIRES_COUT_CONNU = {"montant_aides": "_aides_cout_connu",
                          "surface_desimpermeabilisee": "_surface_cout_connu",
                          "volume_infiltre": "_volume_cout_connu"}


def preparer_colonnes_financieres(table: pd.DataFrame) -> pd.DataFrame:
    """Ajoute à une table d'opérations les colonnes additives utiles aux rapports financiers.

    ``nombre_operations_cout_connu`` (1 si le coût HT est connu) et les colonnes auxiliaires
    ``_…_cout_connu`` (valeur de l'opération si son coût est connu, 0 sinon). Renvoie une copie.
    """
    table = table.copy()
    connu = table["cout_total_ht"].notna().to_numpy()
    table["nombre_operations_cout_connu"] = connu.astype(np.int64)
    for colonne, auxiliaire in AUXILIAIRES_COUT_CONNU.items():
        table[auxiliaire] = np.where(connu, table[colonne].to_numpy(float), 0.0)
    return table


def calculer_ratios_financiers(table: pd.DataFrame) -> pd.DataFrame:
    """Rapports financiers d'une table (opérations ou agrégats) préparée par
    :func:`preparer_colonnes_financieres` puis éventuellement sommée.

    - ``reste_a_charge`` (€) = coût HT − aides (opérations de coût connu) ;
    - ``taux_aide`` (%) = 100 × aides / coût HT ;
    - ``cout_par_m2`` (€/m²) = coût HT / surface désimperméabilisée ;
    - ``cout_par_m3_infiltre`` (€/(m³/an)) = coût HT / volume retenu supplémentaire (NaN si ce
      volume est nul ou négatif).

    Renvoie une copie sans les colonnes auxiliaires.
    """
    table = table.copy()
    cout = table["cout_total_ht"].to_numpy(float)
    aides = table["_aides_cout_connu"].to_numpy(float)
    volume = table["_volume_cout_connu"].to_numpy(float)
    table["reste_a_charge"] = cout - aides
    table["taux_aide"] = diviser(aides, cout) * POURCENT
    table["cout_par_m2"] = diviser(cout, table["_surface_cout_connu"].to_numpy(float))
    table["cout_par_m3_infiltre"] = diviser(cout, np.where(volume > 0, volume, np.nan))
    return table.drop(columns=list(AUXILIAIRES_COUT_CONNU.values()))


def calculer_aides_par_financeur(operations: pd.DataFrame, financements: pd.DataFrame,
                                 filtres: Filtres | None = None, par_annee: bool = False) -> pd.DataFrame:
    """Aides par financeur, par commune et pour le bassin (tableau long).

    Colonnes : ``territoire`` (code INSEE ou ``bassin``), [``annee``], ``financeur``, ``montant_aides``
    (€, Σ des montants), ``part_aides_financeur`` (%, 100 × montant / total des aides du territoire
    [et de l'année]). Opérations retenues par ``filtres`` ; aucune aide → tableau vide.
    """
    retenues = operations.loc[masque_filtres(operations, filtres)]
    cles = ["annee"] if par_annee else []
    infos = pd.DataFrame({"operation_id": identifiants_operations(retenues).to_numpy(),
                          "territoire": retenues["code_insee"].astype(str).to_numpy(),
                          "annee": retenues["annee"].astype("Int64").array})
    aides = pd.DataFrame({"operation_id": financements["operation_id"].to_numpy(),
                          "financeur": financements["financeur"].astype(str).to_numpy(),
                          "montant_aides": financements["montant_eur"].to_numpy(float)})
    aides = aides.merge(infos, on="operation_id", how="inner")
    colonnes = ["territoire", *cles, "financeur", "montant_aides", "part_aides_financeur"]
    if aides.empty:
        types = {"territoire": str, "annee": "Int64", "financeur": str, "montant_aides": float,
                 "part_aides_financeur": float}
        return pd.DataFrame({c: pd.Series(dtype=types[c]) for c in colonnes})
    par_commune = aides.groupby(["territoire", *cles, "financeur"], as_index=False, dropna=False)["montant_aides"].sum()
    bassin = aides.groupby([*cles, "financeur"], as_index=False, dropna=False)["montant_aides"].sum()
    bassin.insert(0, "territoire", CODE_BASSIN)
    table = pd.concat([par_commune, bassin], ignore_index=True)
    totaux = table.groupby(["territoire", *cles], dropna=False)["montant_aides"].transform("sum")
    table["part_aides_financeur"] = diviser(table["montant_aides"], totaux) * POURCENT
    table["territoire"] = table["territoire"].astype(str)
    return table.sort_values(["territoire", *cles, "montant_aides"], ascending=[True] * (1 + len(cles)) + [False],
                             ignore_index=True)[colonnes]
