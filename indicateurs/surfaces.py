"""Indicateurs de surface (CONCEPTION §5, « Surfaces »).

Les fonctions de zone prennent la table de :func:`indicateurs.communs.preparer_zones` (surfaces en m²
recalculées en Lambert-93, paramètres des revêtements joints) et renvoient une valeur par zone ;
l'agrégation par opération, commune, bassin ou année est faite par :mod:`indicateurs.calcul`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import surfaces_m2
from donnees.nomenclatures import PREFIXE_IMPERMEABLE
from indicateurs.communs import POURCENT, diviser, recalculer_surfaces  # noqa: F401 (réexport)

# Codes OCS GE des surfaces imperméables bâties (le reste de CS1.1.1 est imperméable non bâti :
# routes, places, parkings, cours).
CODE_CS_BATI = "CS1.1.1.1"


def calculer_surface_desimpermeabilisee(zones: pd.DataFrame) -> pd.Series:
    """Surface désimperméabilisée par zone (m²).

    S = surface si le revêtement avant est imperméable et le revêtement après ne l'est pas, 0 sinon
    (colonne ``impermeable`` de ``revetements.csv``). Source : CONCEPTION §5.
    """
    desimpermeabilisee = zones["impermeable_avant"].to_numpy(bool) & ~zones["impermeable_apres"].to_numpy(bool)
    return pd.Series(np.where(desimpermeabilisee, zones["surface_m2"].to_numpy(float), 0.0), index=zones.index,
                     name="surface_desimpermeabilisee")


def calculer_surface_active_deconnectee(zones: pd.DataFrame) -> pd.Series:
    """Surface active déconnectée par zone (m²).

    S_a = surface × C_avant pour les zones des opérations qui déconnectent leurs eaux pluviales du
    réseau (``deconnexion_reseau``), 0 sinon. Source : CONCEPTION §5 (indicateur de l'agence de l'eau).
    """
    deconnectee = zones["deconnexion_reseau"].to_numpy(bool)
    valeur = zones["surface_m2"].to_numpy(float) * zones["c_avant"].to_numpy(float)
    return pd.Series(np.where(deconnectee, valeur, 0.0), index=zones.index, name="surface_active_deconnectee")


def calculer_surface_impermeable_communes(occupation: pd.DataFrame) -> pd.DataFrame:
    """Surface imperméable de l'occupation du sol par commune (m², Lambert-93).

    Imperméable = code de couvert ``code_cs`` commençant par ``CS1.1.1`` (bâti ``CS1.1.1.1`` et non
    bâti, le reste). Chaque polygone compte pour la commune de sa colonne ``code_insee`` (les polygones
    OCS GE sont découpés par commune). À calculer une fois par fichier d'occupation.
    Colonnes : ``code_insee``, ``surface_impermeable``, ``surface_impermeable_batie``,
    ``surface_impermeable_non_batie``.
    """
    codes = occupation["code_cs"].astype(str)
    impermeable = codes.str.startswith(PREFIXE_IMPERMEABLE).to_numpy(bool)
    retenus = occupation.loc[impermeable, ["code_insee", "code_cs", occupation.geometry.name]]
    if len(retenus) and retenus.crs is None:
        raise ErreurDonnees("Occupation du sol sans système de coordonnées.", "occupation", "geometry")
    surfaces = recalculer_surfaces(retenus) if len(retenus) else pd.Series(dtype=float)
    table = pd.DataFrame({"code_insee": retenus["code_insee"].astype(str).to_numpy(),
                          "surface": surfaces.to_numpy(float),
                          "batie": retenus["code_cs"].astype(str).eq(CODE_CS_BATI).to_numpy(bool)})
    table["surface_batie"] = np.where(table["batie"], table["surface"], 0.0)
    resultat = (table.groupby("code_insee", sort=True)[["surface", "surface_batie"]].sum()
                .rename(columns={"surface": "surface_impermeable", "surface_batie": "surface_impermeable_batie"}))
    resultat["surface_impermeable_non_batie"] = (resultat["surface_impermeable"]
                                                 - resultat["surface_impermeable_batie"])
    resultat = resultat.reset_index()
    resultat["code_insee"] = resultat["code_insee"].astype(str)
    return resultat


def calculer_surface_communes(communes: pd.DataFrame) -> pd.Series:
    """Surface de chaque commune (m², Lambert-93), indexée par code INSEE ; NaN sans géométrie."""
    codes = communes["code_insee"].astype(str).to_numpy()
    if hasattr(communes, "geometry") and getattr(communes, "crs", None) is not None:
        return pd.Series(surfaces_m2(communes), index=codes,
                         name="surface_commune")
    return pd.Series(np.nan, index=codes, name="surface_commune")


def calculer_taux_impermeabilisation(surface_impermeable, surface_commune):
    """Taux d'imperméabilisation (%) = 100 × surface imperméable / surface de la commune.

    NaN si la surface de la commune est nulle ou inconnue. Source : CONCEPTION §5.
    """
    return diviser(surface_impermeable, surface_commune) * POURCENT


def calculer_part_desimpermeabilisee(surface_desimpermeabilisee, surface_impermeable):
    """Part désimperméabilisée (%) = 100 × surface désimperméabilisée / surface imperméable.

    NaN si la surface imperméable est nulle ou inconnue. Source : CONCEPTION §5.
    """
    return diviser(surface_desimpermeabilisee, surface_impermeable) * POURCENT


def signaler_ecart_surface(surface_declaree, surface_dessinee, tolerance: float):
    """Écart relatif (%) entre surface déclarée et dessinée, et signalement de l'écart.

    écart = 100 × (S_déclarée − S_dessinée) / S_dessinée (NaN sans déclaration ou si S_dessinée = 0) ;
    signalé si |S_déclarée − S_dessinée| > tolérance × S_dessinée (paramètre ``ecart_surface_declaree``).
    Une surface déclarée alors que rien n'est dessiné est signalée. Renvoie ``(ecart, signale)``.
    Source : CONCEPTION §5.
    """
    declaree = np.asarray(surface_declaree, dtype=float)
    dessinee = np.asarray(surface_dessinee, dtype=float)
    ecart = diviser(declaree - dessinee, dessinee) * POURCENT
    with np.errstate(invalid="ignore"):
        signale = ~np.isnan(declaree) & (np.abs(declaree - dessinee) > tolerance * dessinee)
    return ecart, signale
