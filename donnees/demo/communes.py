"""Géométrie du territoire de démonstration : étang, communes réelles, contour du bassin, noyaux urbains.

Contours des communes : IGN ADMIN EXPRESS (fichier embarqué, voir ``sources_demo.json``) ; l'étang de Thau
est un tracé approché (``parametres_demo.json``). Tout se calcule en Lambert-93 (EPSG:2154).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from donnees.demo.parametres import DOSSIER_DEMO
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_CALCUL, CRS_STOCKAGE, extraire_polygones, transformateur


def construire_lagune(parametres: dict) -> shapely.Polygon:
    """Étang de Thau (Lambert-93) : tracé approché, en WGS84 dans les paramètres (section ``lagune``)."""
    contour = np.asarray(parametres["lagune"]["contour_wgs84"], dtype=float)
    x, y = transformateur(CRS_STOCKAGE, CRS_CALCUL).transform(contour[:, 0], contour[:, 1])
    lagune = shapely.Polygon(np.column_stack([x, y]))
    if not lagune.is_valid:
        raise ErreurDonnees("Démonstration : le contour de l'étang (parametres_demo.json, lagune) se recoupe.",
                            "lagune", "contour_wgs84")
    return lagune


def lire_contours_communes(table: pd.DataFrame, parametres: dict) -> np.ndarray:
    """Contours réels des communes de ``table`` (même ordre), en Lambert-93, depuis le GeoJSON embarqué."""
    chemin = DOSSIER_DEMO / parametres["communes"]["fichier_contours"]
    contours = gpd.read_file(chemin).to_crs(CRS_CALCUL).set_index("code_insee")
    manquantes = sorted(set(table["code_insee"]) - set(contours.index))
    if manquantes:
        raise ErreurDonnees(f"Démonstration : communes absentes de {chemin.name} : {', '.join(manquantes)}.",
                            "communes", "code_insee")
    geometries = contours.geometry.loc[table["code_insee"]].to_numpy()
    return np.array([shapely.make_valid(g) if not g.is_valid else g for g in geometries], dtype=object)


def construire_bassin(communes: np.ndarray) -> shapely.Geometry:
    """Contour du bassin : union des communes (Lambert-93)."""
    return shapely.union_all(communes)


def generer_communes(contours: np.ndarray, lagune: shapely.Polygon) -> np.ndarray:
    """Communes de la démonstration : contours réels moins l'étang (la part d'étang de chaque riveraine)."""
    communes = extraire_polygones(shapely.difference(contours, lagune))
    return np.array([shapely.make_valid(g) if not g.is_valid else g for g in communes], dtype=object)


def placer_noyaux(table: pd.DataFrame, communes: np.ndarray, parametres: dict) -> pd.DataFrame:
    """Noyaux urbains (Lambert-93) : bourg principal de chaque commune et noyaux secondaires.

    Colonnes ``rang_commune``, ``lieu``, ``x``, ``y``, ``population`` (part de la population de la commune :
    ``part_population`` pour un noyau secondaire, le reste pour le bourg). Chaque noyau doit tomber dans sa
    commune hors de l'étang (sinon :class:`ErreurDonnees` nommant le fichier, la ligne et la correction).
    """
    chemin = DOSSIER_DEMO / parametres["communes"]["fichier_noyaux_secondaires"]
    secondaires = pd.read_csv(chemin, dtype={"code_insee": str})
    rang_de = {c: i for i, c in enumerate(table["code_insee"])}
    inconnus = sorted(set(secondaires["code_insee"]) - set(rang_de))
    if inconnus:
        raise ErreurDonnees(f"{chemin.name} : code INSEE hors de la démonstration : {', '.join(inconnus)}.",
                            "noyaux", "code_insee")
    part_secondaire = secondaires.groupby("code_insee")["part_population"].sum()
    if (part_secondaire >= 1).any():
        raise ErreurDonnees(f"{chemin.name} : les parts de population des noyaux secondaires d'une commune "
                            "doivent totaliser moins de 1.", "noyaux", "part_population")
    population = table["population"].to_numpy(dtype=float)
    bourgs = pd.DataFrame({"rang_commune": np.arange(len(table)), "lieu": table["nom"], "lon": table["lon"],
                           "lat": table["lat"], "ligne": np.arange(len(table)) + 2,
                           "population": population * (1 - table["code_insee"].map(part_secondaire).fillna(0))})
    autres = pd.DataFrame({"rang_commune": secondaires["code_insee"].map(rang_de), "lieu": secondaires["lieu"],
                           "lon": secondaires["lon"], "lat": secondaires["lat"],
                           "ligne": np.arange(len(secondaires)) + 2,
                           "population": secondaires["part_population"] * population[
                               secondaires["code_insee"].map(rang_de)]})
    noyaux = pd.concat([bourgs.assign(fichier="communes_bassin_thau.csv"), autres.assign(fichier=chemin.name)],
                       ignore_index=True)
    noyaux["x"], noyaux["y"] = transformateur(CRS_STOCKAGE, CRS_CALCUL).transform(
        noyaux["lon"].to_numpy(), noyaux["lat"].to_numpy())
    dedans = shapely.contains_xy(communes[noyaux["rang_commune"].to_numpy()], noyaux["x"], noyaux["y"])
    if not dedans.all():
        faute = noyaux[~dedans].iloc[0]
        raise ErreurDonnees(f"{faute['fichier']}, ligne {faute['ligne']} : le noyau « {faute['lieu']} » tombe hors "
                            "de sa commune ou dans l'étang ; corrigez lon/lat.", "noyaux", "lon")
    return noyaux[["rang_commune", "lieu", "x", "y", "population"]]


def calculer_rayons_urbains(population: np.ndarray, parametres: dict, facteur: float) -> np.ndarray:
    """Rayon urbain de chaque noyau (m) : base + facteur × √population du noyau."""
    p = parametres["parcellaire"]
    return (p["rayon_urbain_base_m"] + p["rayon_urbain_facteur_m"] * np.sqrt(population)) * facteur


def calculer_distance_relative(px: np.ndarray, py: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                               rayons: np.ndarray, qx: np.ndarray | None = None,
                               qy: np.ndarray | None = None) -> np.ndarray:
    """Distance au noyau urbain le plus « proche », rapportée à son rayon urbain (min sur les noyaux).

    Avec ``qx``, ``qy`` (coins opposés), distance au point le plus proche de chaque rectangle
    (px, py)–(qx, qy) : nulle si le rectangle contient le centre.
    """
    resultat = np.full(len(px), np.inf)
    for xc, yc, r in zip(cx, cy, rayons):  # une quarantaine de noyaux : boucle courte, calcul vectoriel
        if qx is None:
            dx, dy = px - xc, py - yc
        else:
            dx = np.maximum(np.maximum(px - xc, xc - qx), 0)
            dy = np.maximum(np.maximum(py - yc, yc - qy), 0)
        np.minimum(resultat, np.hypot(dx, dy) / r, out=resultat)
    return resultat


def calculer_surface_cible(u: np.ndarray, parametres: dict, taille: dict) -> np.ndarray:
    """Surface cible d'une parcelle (m²) selon la distance relative, interpolation log-linéaire."""
    p = parametres["parcellaire"]
    points = np.asarray(p["surfaces_cibles_m2"], dtype=float)
    facteurs = np.where(points[:, 0] < p["distance_relative_rurale"], taille["facteur_surface_urbaine"],
                        taille["facteur_surface_rurale"])
    return np.exp(np.interp(u, points[:, 0], np.log(points[:, 1] * facteurs)))
