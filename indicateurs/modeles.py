"""Modèles chaleur et eau au format d'InVEST : calcul pur sur des tableaux déjà lus.

- Mode « InVEST » : reclassement de l'occupation du sol (``lucode``) par la table biophysique, modèle sur la
  grille, moyennes et totaux par zone aux colonnes d'InVEST (``avg_cc``, ``avg_tmp_v``, ``avg_tmp_an`` ;
  ``total_retention_volume``…).
- Territoire du projet : zones qui entrent dans les modèles, conversions des grilles et des résultats en
  tableaux (pour le cache disque) et retour.

La lecture et l'écriture des fichiers sont dans :mod:`donnees.rasters` et :mod:`donnees.cache_modeles` ;
l'orchestration (fichiers → calcul → fichiers, cache) dans :mod:`services.modeles`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import reprojeter
from indicateurs.chaleur import ChaleurTerritoire, ModeleChaleur, ParametresChaleur, agreger_chaleur_communes
from indicateurs.communs import ecarter_zones_approximatives
from indicateurs.eau_grille import modeliser_eau
from indicateurs.grille import SCENARIOS, Grille, OccupationGrille, indexer_cellules_geometries

VOLUMES_EAU = ("retention", "runoff", "percolation")


@dataclass
class ModelesTerritoire:
    """Résultats des modèles sur le territoire : chaleur (grilles T_air + tables), eau par commune."""

    occupation: OccupationGrille
    chaleur: ChaleurTerritoire
    eau_communes: pd.DataFrame
    dossier_donnees: Path | None = None  # dossier dont le cache disque garde les résultats dérivés ; None : aucun


# ------------------------------------------------------------------------------------ mode InVEST


def positionner_lucodes(valeurs: np.ndarray, valide: np.ndarray, table: pd.DataFrame, nom_occupation: str,
                       nom_table: str) -> np.ndarray:
    """Ligne de la table (triée par ``lucode``) de chaque cellule, ``len(table)`` hors données (une passe) ;
    lucode absent → ErreurDonnees. Codes entiers d'étendue raisonnable : table de correspondance directe."""
    lucodes = table.index.to_numpy(dtype=np.int64)
    hors = len(lucodes)
    if not hors:
        raise ErreurDonnees(f"Table biophysique {nom_table} vide : ajoutez une ligne par lucode de "
                            f"{nom_occupation}.", "biophysique", "lucode")
    type_position = np.int16 if hors < np.iinfo(np.int16).max else np.int32
    entiers = np.issubdtype(valeurs.dtype, np.integer) or bool(np.all(np.mod(valeurs[valide], 1) == 0))
    bas = int(min(lucodes.min(), valeurs[valide].min())) if valide.any() else 0
    haut = int(max(lucodes.max(), valeurs[valide].max())) if valide.any() else 0
    if entiers and haut - bas < 2 ** 22:
        correspondance = np.full(haut - bas + 2, -1, dtype=type_position)
        correspondance[lucodes - bas] = np.arange(hors, dtype=type_position)
        correspondance[-1] = hors
        decale = (valeurs if entiers and np.issubdtype(valeurs.dtype, np.integer)
                  else np.where(valide, valeurs, bas)).astype(np.int64)
        decale -= bas
        decale[~valide] = haut + 1 - bas
        positions = correspondance[decale]
        del decale
    else:
        positions = np.full(valeurs.shape, hors, dtype=type_position)
        codes = valeurs[valide].astype(np.int64)
        trouve = np.clip(np.searchsorted(lucodes, codes), 0, hors - 1)
        positions[valide] = np.where(lucodes[trouve] == codes, trouve, -1)
    absents = np.unique(valeurs[positions < 0]).astype(np.int64).tolist()
    if absents:
        raise ErreurDonnees(f"Occupation {nom_occupation} : lucode(s) {', '.join(map(str, absents[:10]))} "
                            f"absent(s) de la table biophysique {nom_table}. Ajoutez-y une ligne par "
                            "code.", "biophysique", "lucode")
    return positions


def reclasser_colonnes(valeurs: np.ndarray, valide: np.ndarray, table: pd.DataFrame, colonnes,
                       nom_occupation: str, nom_table: str) -> dict[str, np.ndarray]:
    """Grilles (``float32``, ``NaN`` hors données) de plusieurs colonnes de la table : l'occupation n'est
    reclassée qu'une fois (:func:`positionner_lucodes`), puis chaque colonne est lue par indice."""
    positions = positionner_lucodes(valeurs, valide, table, nom_occupation, nom_table)
    sorties = {}
    for colonne in colonnes:
        valeurs_table = np.append(table[colonne].to_numpy(dtype=np.float32), np.float32(np.nan))
        sorties[colonne] = valeurs_table[positions]
    return sorties


def reclasser(valeurs: np.ndarray, valide: np.ndarray, table: pd.DataFrame, colonne: str,
              nom_occupation: str, nom_table: str) -> np.ndarray:
    """Valeur de ``colonne`` pour chaque lucode (``NaN`` hors données) ; lucode absent → ErreurDonnees."""
    return reclasser_colonnes(valeurs, valide, table, (colonne,), nom_occupation, nom_table)[colonne]


def indexer_zones_grille(zones: gpd.GeoDataFrame, crs, transform: Affine, forme) -> tuple:
    """Paires (zone, cellule) au centre des cellules, sur la grille du raster (zones reprojetées)."""
    zones = reprojeter(zones, crs)
    grille = Grille(transform.c, transform.f, transform.a, forme[1], forme[0], str(crs))
    return indexer_cellules_geometries(zones.geometry.values, grille)


def moyenner_zones(numeros, cellules, valeurs, nombre) -> np.ndarray:
    """Moyenne des cellules valides de chaque zone (``NaN`` pour une zone sans cellule valide)."""
    v = valeurs.ravel()[cellules].astype(np.float64)
    garde = ~np.isnan(v)
    somme = np.bincount(numeros[garde], weights=v[garde], minlength=nombre)
    compte = np.bincount(numeros[garde], minlength=nombre)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(compte > 0, somme / np.maximum(compte, 1), np.nan)


def sommer_zones(numeros, cellules, valeurs, nombre) -> np.ndarray:
    """Somme des cellules valides de chaque zone."""
    v = valeurs.ravel()[cellules].astype(np.float64)
    garde = ~np.isnan(v)
    return np.bincount(numeros[garde], weights=v[garde], minlength=nombre)


def attributs_zones(zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Attributs des zones, sans la géométrie, index 0…n-1."""
    return pd.DataFrame(zones.drop(columns=zones.geometry.name)).reset_index(drop=True)


def modeliser_chaleur_zones(proprietes: dict, et0: np.ndarray, valide: np.ndarray, transform: Affine, crs,
                            zones: gpd.GeoDataFrame, parametres: ParametresChaleur) -> tuple:
    """Modèle de rafraîchissement urbain sur une grille alignée, et moyennes par zone.

    ``proprietes`` : grilles ``kc``, ``green_area``, ``shade``, ``albedo`` (reclassées ; retirées du
    dictionnaire pendant le calcul, pour libérer la mémoire) ; ``et0`` : ET0 (NaN
    hors ``valide``). Renvoie ``(ResultatChaleur, table des zones avec avg_cc, avg_tmp_v, avg_tmp_an)``.
    """
    et0_max = float(np.round(np.nanmax(et0).astype(np.float64), 9))
    modele = ModeleChaleur(valide, abs(transform.a), parametres, garder_spectres=False)
    # grilles retirées du dictionnaire : libérées pendant le calcul, avant les convolutions (mémoire de pointe)
    resultat = modele.calculer(proprietes.pop("kc"), proprietes.pop("green_area"), proprietes.pop("shade"),
                               proprietes.pop("albedo"), et0, et0_max)
    del modele  # convolutions des masques libérées avant les statistiques par zone
    numeros, cellules = indexer_zones_grille(zones, crs, transform, valide.shape)
    table_zones = attributs_zones(zones)
    table_zones["avg_cc"] = moyenner_zones(numeros, cellules, resultat.cc, len(zones))
    table_zones["avg_tmp_v"] = moyenner_zones(numeros, cellules, resultat.t_air, len(zones))
    table_zones["avg_tmp_an"] = table_zones["avg_tmp_v"] - parametres.t_ref_c
    return resultat, table_zones


def choisir_selon_groupe_sol(par_groupe: np.ndarray, groupes: np.ndarray, valide: np.ndarray) -> np.ndarray:
    """Grille du coefficient du groupe de sol de chaque cellule (``par_groupe`` : 4 grilles, A à D)."""
    choix = np.clip(groupes, 1, 4) - 1
    return np.where(valide, np.take_along_axis(par_groupe, choix[None], 0)[0], np.nan)


def modeliser_eau_zones(ratios: dict, pluie, valide: np.ndarray, transform: Affine, crs,
                        zones: gpd.GeoDataFrame) -> tuple:
    """Modèle de rétention des eaux pluviales sur une grille alignée, et ratios moyens / volumes par zone.

    ``ratios`` : ``{"rc": grille, "pe": grille facultative}`` ; ``pluie`` : grille ou valeur (mm/an).
    Renvoie ``(ResultatEau, table des zones aux colonnes d'InVEST)``.
    """
    surface = abs(transform.a * transform.e)
    resultat = modeliser_eau(ratios["rc"], ratios.get("pe"), pluie, surface, valide)
    numeros, cellules = indexer_zones_grille(zones, crs, transform, valide.shape)
    table_zones = attributs_zones(zones)
    for prefixe, ratio, volume in zip(VOLUMES_EAU,
                                      (resultat.ratio_retention, resultat.ratio_ruissellement,
                                       resultat.ratio_percolation),
                                      (resultat.volume_retention, resultat.volume_ruissellement,
                                       resultat.volume_percolation)):
        if ratio is None:
            continue
        table_zones[f"mean_{prefixe}_ratio"] = moyenner_zones(numeros, cellules, ratio, len(zones))
        table_zones[f"total_{prefixe}_volume"] = sommer_zones(numeros, cellules, volume, len(zones))
    return resultat, table_zones


# ------------------------------------------------------------------------------------ territoire


def selectionner_zones_modeles(zones: pd.DataFrame, operations: pd.DataFrame) -> pd.DataFrame:
    """Zones qui entrent dans les modèles du territoire : opérations validées, emplacement non approximatif.

    Les emplacements approximatifs (opérations sans géométrie) ne sont pas gravés dans les grilles. Seules
    les opérations validées par le syndicat entrent dans les modèles : ces indicateurs sont publics et les
    mêmes pour tous les rôles, sans rien révéler des saisies en attente.
    """
    zones = ecarter_zones_approximatives(zones, operations)
    return zones[zones["validation"].eq("validee").to_numpy(bool)]


def occupation_en_tableaux(occupation: OccupationGrille) -> dict[str, np.ndarray]:
    """Occupation rastérisée en tableaux NumPy (pour le cache disque)."""
    g = occupation.grille
    return {"grille": np.array([g.x_min, g.y_max, g.resolution, g.largeur, g.hauteur]),
            "revetement": occupation.revetement, "artificialise": occupation.artificialise,
            "commune": occupation.commune, "urbain": occupation.urbain,
            "codes_insee": np.array(occupation.codes_insee, dtype=str)}


def occupation_depuis_tableaux(tableaux: dict[str, np.ndarray]) -> OccupationGrille:
    """Inverse de :func:`occupation_en_tableaux` (``KeyError`` si un tableau manque)."""
    g = tableaux["grille"]
    grille = Grille(float(g[0]), float(g[1]), float(g[2]), int(g[3]), int(g[4]))
    return OccupationGrille(grille, tableaux["revetement"], tableaux["artificialise"], tableaux["commune"],
                            tuple(tableaux["codes_insee"].tolist()), tableaux["urbain"])


def chaleur_en_tableaux(chaleur: ChaleurTerritoire) -> dict[str, np.ndarray]:
    """Grilles T_air par scénario et table des opérations en tableaux NumPy (pour le cache disque)."""
    return {"operations": np.array(chaleur.operations.to_json(orient="split")),
            **{f"t_air_{nom}": grille for nom, grille in chaleur.t_air.items()}}


def chaleur_depuis_tableaux(tableaux: dict[str, np.ndarray], occupation: OccupationGrille,
                            parametres: ParametresChaleur, cle: str,
                            communes: pd.DataFrame | None = None,
                            operations: pd.DataFrame | None = None) -> ChaleurTerritoire:
    """Inverse de :func:`chaleur_en_tableaux` (``KeyError`` ou ``ValueError`` si l'archive est incomplète) ;
    ``communes``, ``operations`` : tables gardées avec l'archive, sinon réagrégées sur les grilles (communes) ou
    relues du JSON (opérations)."""
    t_air = {nom: tableaux[f"t_air_{nom}"] for nom in SCENARIOS if f"t_air_{nom}" in tableaux}
    if operations is None:
        operations = pd.read_json(io.StringIO(str(tableaux["operations"])), orient="split",
                                  dtype={"code_insee": str})
    if communes is None:
        communes = agreger_chaleur_communes(t_air, occupation, parametres)
    return ChaleurTerritoire(occupation.grille, t_air, communes, operations, cle, parametres)
