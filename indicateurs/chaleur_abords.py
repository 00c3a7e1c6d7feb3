"""Chaleur là où sont les opérations : rafraîchissement aux abords et surface sortie de l'îlot de chaleur.

La moyenne de T_air sur toutes les cellules urbaines du bassin dilue l'effet local des opérations (quelques
centièmes de degré) ; ces agrégats des grilles T_air du modèle (:mod:`indicateurs.chaleur`) disent ce que
les opérations changent là où elles sont :

- ``rafraichissement_abords`` (°C) = moyenne, sur les cellules de l'emprise des opérations réalisées et d'un
  tampon de ``largeur_anneau_operation_m`` autour, de T_air(sans opérations) − T_air(réalisées)
  (positif = plus frais) ;
- ``surface_abords`` (m²) = surface de ces cellules ;
- ``surface_sortie_ilot`` (m²) = surface des cellules urbaines en îlot de chaleur sans les opérations
  (T_air − T_ref > ``seuil_ilot_chaleur_c``) qui n'y sont plus avec les opérations réalisées.

Chaque cellule compte une fois (tampons superposés réunis) et appartient à la commune de la grille où elle
se trouve. Calcul pur sur tableaux : la grille, les zones (Lambert-93 ou WGS84) et les paramètres sont
donnés par l'appelant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from indicateurs.communs import CODE_BASSIN, diviser
from indicateurs.grille import OccupationGrille, indexer_cellules_geometries, projeter_lambert93

SCENARIO_SANS = "sans_operations"
SCENARIO_REALISE = "realisees"
STATUT_REALISE = "realisee"
COLONNES_ABORDS = ["rafraichissement_abords", "surface_abords", "surface_sortie_ilot"]


def reperer_cellules_abords(zones, occupation: OccupationGrille, largeur_m: float) -> np.ndarray:
    """Indices à plat (uniques, triés) des cellules valides dans l'emprise des zones ou à moins de
    ``largeur_m`` mètres de leur bord."""
    if zones is None or not len(zones):
        return np.empty(0, dtype=np.int64)
    geometries = shapely.buffer(projeter_lambert93(zones).geometry.values, float(largeur_m))
    _, cellules = indexer_cellules_geometries(geometries, occupation.grille)
    cellules = np.unique(cellules)
    return cellules[occupation.valide.ravel()[cellules]]


def sommer_chaleur_abords(t_air: dict[str, np.ndarray], occupation: OccupationGrille, zones, largeur_m: float,
                          t_ref_c: float, seuil_c: float) -> pd.DataFrame:
    """Sommes par commune de la grille (index ``code_insee``) : ``somme_ecart_c`` (Σ des écarts
    T_air(sans) − T_air(réalisées) sur les cellules des abords, °C), ``cellules_abords`` et
    ``cellules_sortie_ilot`` (nombres de cellules), ``surface_cellule_m2``.

    ``zones`` : zones des opérations **réalisées** qui entrent dans le modèle (voir
    :func:`selectionner_zones_realisees`). Sommes et comptes plutôt que moyennes : on les additionne pour
    un groupe de communes.
    """
    codes = list(occupation.codes_insee)
    nombre = len(codes) + 1  # étiquette 0 : hors commune
    etiquettes = occupation.commune.ravel().astype(np.int64)
    sans, realise = t_air[SCENARIO_SANS].ravel(), t_air[SCENARIO_REALISE].ravel()
    cellules = reperer_cellules_abords(zones, occupation, largeur_m)
    ecart = sans[cellules].astype(np.float64) - realise[cellules].astype(np.float64)
    garde = np.isfinite(ecart)
    somme = np.bincount(etiquettes[cellules][garde], weights=ecart[garde], minlength=nombre)
    compte = np.bincount(etiquettes[cellules][garde], minlength=nombre)
    urbain = (occupation.urbain if occupation.urbain is not None else occupation.valide).ravel()
    with np.errstate(invalid="ignore"):
        sortie = urbain & ((sans - t_ref_c) > seuil_c) & ((realise - t_ref_c) <= seuil_c)
    n_sortie = np.bincount(etiquettes[sortie], minlength=nombre)
    return pd.DataFrame({"somme_ecart_c": somme[1:], "cellules_abords": compte[1:],
                         "cellules_sortie_ilot": n_sortie[1:],
                         "surface_cellule_m2": occupation.grille.surface_cellule_m2},
                        index=pd.Index(codes, name="code_insee"))


def agreger_chaleur_abords(sommes: pd.DataFrame, codes) -> pd.DataFrame:
    """Indicateurs :data:`COLONNES_ABORDS` par commune ``codes`` et pour leur ensemble (ligne ``bassin``).

    Rafraîchissement du groupe = Σ écarts / Σ cellules (chaque cellule pèse pareil) ; surfaces sommées.
    Commune absente de la grille → NaN.
    """
    codes = [str(c) for c in codes]
    lignes = sommes.reindex(codes)
    groupe = lignes.sum(axis=0, min_count=1)
    table = pd.concat([lignes, groupe.to_frame(CODE_BASSIN).T])
    cellule = float(sommes["surface_cellule_m2"].iloc[0]) if len(sommes) else np.nan
    sortie = pd.DataFrame(index=pd.Index([*codes, CODE_BASSIN], name="territoire"))
    sortie["rafraichissement_abords"] = diviser(table["somme_ecart_c"].to_numpy(float),
                                                table["cellules_abords"].to_numpy(float))
    sortie["surface_abords"] = table["cellules_abords"].to_numpy(float) * cellule
    sortie["surface_sortie_ilot"] = table["cellules_sortie_ilot"].to_numpy(float) * cellule
    return sortie


def selectionner_zones_realisees(zones_modeles: pd.DataFrame) -> pd.DataFrame:
    """Zones du modèle (déjà choisies par :func:`indicateurs.modeles.selectionner_zones_modeles`) dont
    l'opération est réalisée : celles du scénario « réalisées »."""
    if zones_modeles is None or not len(zones_modeles):
        return zones_modeles
    return zones_modeles[zones_modeles["statut"].astype(str).eq(STATUT_REALISE).to_numpy(bool)]


def joindre_chaleur_abords(table_communes: pd.DataFrame, sommes: pd.DataFrame | None) -> pd.DataFrame:
    """Ajoute :data:`COLONNES_ABORDS` à une table par commune + ligne ``bassin`` (colonne ``territoire``) ;
    la ligne ``bassin`` porte sur les communes de la table. ``sommes`` absentes (pas de modèle) → NaN.
    Renvoie une copie."""
    table = table_communes.copy()
    if sommes is None:
        for colonne in COLONNES_ABORDS:
            table[colonne] = np.nan
        return table
    codes = [c for c in table["territoire"].astype(str) if c != CODE_BASSIN]
    abords = agreger_chaleur_abords(sommes, codes)
    for colonne in COLONNES_ABORDS:
        table[colonne] = table["territoire"].astype(str).map(abords[colonne]).to_numpy(float)
    return table


def calculer_rafraichissement_emprise(zones_preparees: pd.DataFrame, codes, parametres) -> pd.Series:
    """Rafraîchissement local estimé sur l'emprise des zones (°C, positif = plus frais), par commune ``codes``
    et pour leur ensemble (``bassin``) :

    ΔT_emprise ≈ UHI_max × Σ_z A_z (CC_après,z − CC_avant,z) / Σ_z A_z

    (InVEST, méthode des facteurs, ET0 uniforme ; estimation **sans brassage de l'air** : l'écart de
    température du site lui-même, avant que l'air ne le mélange avec ses voisins). ``zones_preparees`` :
    sortie de :func:`indicateurs.communs.preparer_zones` (``code_insee``, ``surface_m2``,
    ``revetement_avant``, ``revetement_apres``). Commune sans zone → NaN.
    """
    from indicateurs.chaleur import ParametresChaleur, calculer_cc_revetement

    p = ParametresChaleur.depuis_parametres(parametres)
    codes = [str(c) for c in codes]
    revetements = set(zones_preparees["revetement_avant"]) | set(zones_preparees["revetement_apres"])
    cc = {code: calculer_cc_revetement(code, p) for code in revetements}
    surfaces = zones_preparees["surface_m2"].to_numpy(float)
    gain = (zones_preparees["revetement_apres"].map(cc).to_numpy(float)
            - zones_preparees["revetement_avant"].map(cc).to_numpy(float)) * surfaces
    table = pd.DataFrame({"code_insee": zones_preparees["code_insee"].astype(str).to_numpy(), "gain": gain,
                          "surface": surfaces})
    sommes = table.groupby("code_insee")[["gain", "surface"]].sum().reindex(codes)
    sommes.loc[CODE_BASSIN] = sommes.sum(axis=0, min_count=1)
    return pd.Series(diviser(sommes["gain"].to_numpy(float), sommes["surface"].to_numpy(float)) * p.uhi_max_c,
                     index=pd.Index([*codes, CODE_BASSIN], name="territoire"), name="rafraichissement_emprise")
