"""Indicateurs de l'eau, forme vectorielle par zone (CONCEPTION §5, « Eau »).

Méthode rationnelle annuelle : le volume ruisselé d'une surface A sous une pluie P vaut C·P·A ; changer
de revêtement (C_avant → C_apres) retient sur place (C_avant − C_apres)·P·A de plus : une rétention,
infiltration et évapotranspiration confondues (la méthode ne les sépare pas). Les coefficients C viennent de
``revetements.csv`` (colonne ``c_ruissellement``), les pluies de ``modele.csv``. La forme maillée
(InVEST Urban Stormwater Retention) est dans ``indicateurs.eau_grille``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicateurs.communs import MM_PAR_M


def calculer_volume_retenu(zones: pd.DataFrame, pluie_mm: float) -> pd.Series:
    """Volume retenu supplémentaire par zone (infiltration + évapotranspiration, m³/an) : la baisse du
    ruissellement.

    V = A × P/1000 × (C_avant − C_apres), A en m² (Lambert-93), P = ``pluie_annuelle_mm`` (mm/an).
    Négatif si le nouveau revêtement ruisselle davantage. Source : CONCEPTION §5, méthode rationnelle.
    Code d'indicateur ``volume_infiltre`` gardé : c'est le nom du champ des exports GeoJSON / GeoPackage et
    des sorties de ``desimper indicateurs`` (fichiers déjà diffusés) ; son libellé dit ce qu'il mesure.
    """
    volume = (zones["surface_m2"].to_numpy(float) * pluie_mm / MM_PAR_M
              * (zones["c_avant"].to_numpy(float) - zones["c_apres"].to_numpy(float)))
    return pd.Series(volume, index=zones.index, name="volume_infiltre")


def calculer_volume_abattu(zones: pd.DataFrame, pluie_reference_mm: float) -> pd.Series:
    """Volume abattu par les revêtements pour la pluie de référence, par zone (m³).

    V = A × P_ref/1000 × (C_avant − C_apres), P_ref = ``pluie_reference_mm``. Le volume de stockage
    déclaré par opération s'y ajoute à l'échelle de l'opération (:func:`ajouter_volume_stockage`).
    Source : CONCEPTION §5.
    """
    return calculer_volume_retenu(zones, pluie_reference_mm).rename("volume_abattu_pluie_reference")


def ajouter_volume_stockage(volume_revetements, volume_stockage_m3):
    """Volume abattu d'une opération (m³) = volume des revêtements + volume de stockage déclaré.

    Un volume de stockage non déclaré (NaN) compte pour 0.
    """
    stockage = np.nan_to_num(np.asarray(volume_stockage_m3, dtype=float), nan=0.0)
    return np.asarray(volume_revetements, dtype=float) + stockage
