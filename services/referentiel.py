"""Référentiel du territoire pour l'application : description, couches et leurs fichiers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from donnees.config import dossier_donnees
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_STOCKAGE, vers_lambert93, vers_wgs84
from donnees.nomenclatures import lire_correspondance_ocsge
from donnees.referentiel import chemin_couche, lire_couche_facultative, lire_territoire

__all__ = ["ContoursCommune", "caler_fenetre", "chemin_couche", "choisir_envoi_contours", "codes_bati_ocsge",
           "lire_couche_territoire", "lire_territoire", "preparer_contours_commune", "selectionner_fenetre",
           "signer_couches", "signer_fichier"]


def lire_couche_territoire(nom: str, dossier: Path | None = None, **selection):
    """Couche validée du référentiel, entière ou restreinte (``communes``, ``emprise``, ``colonnes`` : voir
    :func:`donnees.referentiel.lire_couche`) ; une couche facultative absente est une table vide (territoire réel
    partiellement importé)."""
    return lire_couche_facultative(nom, Path(dossier) if dossier else dossier_donnees(), **selection)


def signer_fichier(chemin: Path) -> int:
    """Date de modification (ns) d'un fichier, 0 s'il manque : invalide un cache après régénération."""
    return chemin.stat().st_mtime_ns if chemin.exists() else 0


def signer_couches(dossier: Path, *noms: str) -> tuple:
    """Signatures des fichiers des couches ``noms`` (petite clé de cache)."""
    return tuple(signer_fichier(chemin_couche(nom, dossier)) for nom in noms)


# ------------------------------------------------------------------------------------ carte de saisie


@dataclass(frozen=True)
class ContoursCommune:
    """Parcelles (colonne ``reference`` « AB 123 ») et bâtiments d'une commune, simplifiés, en WGS84.

    ``source_batiments`` : « cadastre » (couche des bâtiments importée), « occupation du sol » (polygones
    bâtis de l'OCS GE, faute de couche des bâtiments) ou « aucune ».
    """

    code_insee: str
    parcelles: gpd.GeoDataFrame
    batiments: gpd.GeoDataFrame
    source_batiments: str


def _alleger(geometries, tolerance_m: float, precision_degres: float) -> np.ndarray:
    """Contours simplifiés en Lambert-93 (``tolerance_m``), rendus en WGS84 arrondis à ``precision_degres``."""
    simplifiees = shapely.simplify(vers_lambert93(np.asarray(geometries)), tolerance_m, preserve_topology=True)
    return shapely.set_precision(vers_wgs84(simplifiees), precision_degres)


def codes_bati_ocsge() -> list[str]:
    """Codes de couverture OCS GE (``code_cs``) au revêtement bâti (``donnees/nomenclatures/ocsge_revetements.csv``)."""
    correspondance = lire_correspondance_ocsge()
    return sorted(set(correspondance.loc[correspondance["revetement"].eq("bati").to_numpy(bool), "code_cs"]))


def preparer_contours_commune(code_insee: str, communes: pd.DataFrame, parcelles: pd.DataFrame,
                              batiments: pd.DataFrame, occupation: pd.DataFrame,
                              tolerance_m: float, precision_degres: float) -> ContoursCommune:
    """Parcelles et bâtiments de la commune ``code_insee`` pour la surimpression de la carte de saisie.

    Bâtiments : couche « batiments » du cadastre si elle couvre la commune, sinon polygones d'occupation du sol
    au code de couverture bâti. Lève :class:`ErreurDonnees` si la commune n'est pas du territoire.
    """
    if code_insee not in set(communes["code_insee"]):
        raise ErreurDonnees(f"Commune « {code_insee} » inconnue du territoire : choisissez l'une de ses "
                            f"{len(communes)} communes (code INSEE à 5 caractères, ex. "
                            f"{communes['code_insee'].iloc[0] if len(communes) else '34301'}).",
                            "communes", "code_insee")
    retenues = parcelles[parcelles["commune"].eq(code_insee).to_numpy(bool)]
    table_parcelles = gpd.GeoDataFrame(
        {"reference": (retenues["section"].astype(str) + " " + retenues["numero"].astype(str)).to_numpy()},
        geometry=_alleger(retenues.geometry.values, tolerance_m, precision_degres), crs=CRS_STOCKAGE)
    bati = batiments[batiments["commune"].eq(code_insee).to_numpy(bool)] if len(batiments) else batiments
    source = "cadastre"
    if not len(bati):
        masque = occupation["code_insee"].eq(code_insee) & occupation["code_cs"].isin(codes_bati_ocsge())
        bati, source = occupation[masque.to_numpy(bool)], "occupation du sol"
    table_batiments = gpd.GeoDataFrame(geometry=_alleger(bati.geometry.values, tolerance_m, precision_degres),
                                       crs=CRS_STOCKAGE)
    return ContoursCommune(code_insee, _garder_non_vides(table_parcelles), _garder_non_vides(table_batiments),
                           source if len(table_batiments) else "aucune")


def _garder_non_vides(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Sans les contours réduits à rien par la simplification (morceau plus petit que la précision)."""
    return table[~shapely.is_empty(table.geometry.values)].reset_index(drop=True)


def caler_fenetre(bornes: tuple[float, float, float, float], maille_m: float,
                  marge_m: float) -> tuple[float, float, float, float]:
    """Emprise WGS84 (lon min, lat min, lon max, lat max) élargie de ``marge_m`` puis calée sur une maille de
    ``maille_m`` en Lambert-93 : de petits déplacements de la carte donnent la même fenêtre (même clé de cache)."""
    xmin, ymin, xmax, ymax = shapely.bounds(vers_lambert93(shapely.box(*bornes)))
    calee = [np.floor((xmin - marge_m) / maille_m) * maille_m, np.floor((ymin - marge_m) / maille_m) * maille_m,
             np.ceil((xmax + marge_m) / maille_m) * maille_m, np.ceil((ymax + marge_m) / maille_m) * maille_m]
    return tuple(round(float(v), 6) for v in shapely.bounds(vers_wgs84(shapely.box(*calee))))


def selectionner_fenetre(contours: ContoursCommune, fenetre: tuple[float, float, float, float]) -> ContoursCommune:
    """Parcelles et bâtiments qui touchent l'emprise WGS84 ``fenetre`` (lon min, lat min, lon max, lat max)."""
    xmin, ymin, xmax, ymax = fenetre
    return ContoursCommune(contours.code_insee, contours.parcelles.cx[xmin:xmax, ymin:ymax],
                           contours.batiments.cx[xmin:xmax, ymin:ymax], contours.source_batiments)


def choisir_envoi_contours(contours: ContoursCommune, vue: dict | None,
                           reglages: dict) -> tuple[str, tuple[float, float, float, float] | None]:
    """Ce que la carte de saisie reçoit des contours, selon le budget de charge (``reglages`` : section
    ``surimpression`` de ``vues/fonds_carte.json``) : ``("commune", None)`` si toute la commune tient dans
    ``budget_octets`` (à ``octets_par_contour`` le contour) ; sinon ``("emprise", fenetre)`` autour de la vue
    (``vue`` : ``{"zoom", "bounds"}`` renvoyé par la carte) à partir de ``zoom_min`` ; sinon ``("rien", None)``."""
    nombre = len(contours.parcelles) + len(contours.batiments)
    if nombre * reglages["octets_par_contour"] <= reglages["budget_octets"]:
        return "commune", None
    bornes = (vue or {}).get("bounds") or {}
    if (vue or {}).get("zoom") is None or vue["zoom"] < reglages["zoom_min"] or not bornes.get("_southWest"):
        return "rien", None
    sud_ouest, nord_est = bornes["_southWest"], bornes["_northEast"]
    centre = shapely.Point((sud_ouest["lng"] + nord_est["lng"]) / 2, (sud_ouest["lat"] + nord_est["lat"]) / 2)
    demi = reglages["cote_max_fenetre_m"] / 2
    limite = vers_wgs84(shapely.box(*vers_lambert93(centre).buffer(demi).bounds))
    vue_bornes = shapely.box(sud_ouest["lng"], sud_ouest["lat"], nord_est["lng"], nord_est["lat"])
    visible = vue_bornes.intersection(limite)
    if visible.is_empty:
        return "rien", None
    return "emprise", caler_fenetre(visible.bounds, reglages["maille_fenetre_m"], reglages["marge_fenetre_m"])
