"""Contrôle des zones saisies au formulaire (dessinées ou prises au cadastre), avant enregistrement.

Mêmes règles et mêmes seuils que l'import de fichiers (:mod:`donnees.import_operations`) :
- erreurs (enregistrement impossible) : géométrie vide, point ou ligne au lieu d'une surface, contour
  invalide (qui se recoupe), zone à plus de 50 % hors de la commune ;
- avertissements : zone à plus de 10 % hors de la commune, surface < 1 m² ou > 10 ha, chevauchement avec
  une autre zone de la saisie ou avec une zone d'une autre opération déjà enregistrée.
Les surfaces sont calculées en Lambert-93 (EPSG:2154).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from donnees.erreurs import decrire_invalidite
from donnees.format import formater_nombre
from donnees.geometrie import CRS_STOCKAGE, en_lambert93
from donnees.import_operations import (
    CHEVAUCHEMENT_MIN_M2,
    PART_ALERTE_HORS_COMMUNE,
    PART_MAX_HORS_COMMUNE,
    SURFACE_MAX_M2,
    SURFACE_MIN_M2,
)


@dataclass(frozen=True)
class MessageZone:
    """Un constat sur une zone : ``niveau`` (« erreur » ou « avertissement »), zone concernée, texte."""

    niveau: str
    zone: str
    texte: str

    def __str__(self) -> str:
        return f"{self.zone} : {self.texte}"


def _m2(valeur: float) -> str:
    return formater_nombre(valeur, 0, "m²")


def _pourcent(part: float) -> str:
    return formater_nombre(part * 100, 0, "%")


def controler_zones(zones: gpd.GeoDataFrame, libelles: list[str], commune: BaseGeometry | None,
                    nom_commune: str, existantes: gpd.GeoDataFrame | None = None,
                    operation_exclue: int | None = None) -> list[MessageZone]:
    """Erreurs et avertissements sur les zones d'une saisie.

    ``zones`` : zones en WGS84 ; ``libelles`` : nom de chaque zone (« Dessin 1 », « Parcelle AB 12 »…) ;
    ``commune`` : contour de la commune (WGS84) ; ``existantes`` : zones déjà enregistrées (colonnes
    ``operation_id`` et, si possible, ``nom``) ; ``operation_exclue`` : opération en cours de modification.
    """
    messages: list[MessageZone] = []
    crs = zones.crs or CRS_STOCKAGE
    l93 = en_lambert93(gpd.GeoSeries(list(zones.geometry), crs=crs))
    commune_l93 = (en_lambert93(gpd.GeoSeries([commune], crs=CRS_STOCKAGE)).iloc[0]
                   if commune is not None and not commune.is_empty else None)
    bonnes: list[tuple[str, BaseGeometry]] = []
    for libelle, geometrie, origine in zip(libelles, l93, zones.geometry):
        if geometrie is None or geometrie.is_empty:
            messages.append(MessageZone("erreur", libelle, "géométrie vide : dessinez le contour de la zone."))
            continue
        if geometrie.geom_type not in ("Polygon", "MultiPolygon"):
            messages.append(MessageZone("erreur", libelle, f"« {geometrie.geom_type} » n'est pas une surface : "
                                        "une zone se dessine avec l'outil polygone ou rectangle."))
            continue
        if not geometrie.is_valid:
            messages.append(MessageZone("erreur", libelle, f"contour invalide : {decrire_invalidite(origine)}. "
                                        "Supprimez la zone et redessinez-la sans croiser ses bords."))
            continue
        surface = geometrie.area
        if surface < SURFACE_MIN_M2:
            messages.append(MessageZone("avertissement", libelle,
                                        f"zone minuscule ({formater_nombre(surface, 2, 'm²')}, moins de 1 m²). "
                                        "Est-ce un clic involontaire ?"))
        elif surface > SURFACE_MAX_M2:
            taille = formater_nombre(surface / 10000, 1, 'ha')
            messages.append(MessageZone("avertissement", libelle, f"zone très grande ({taille}, plus de 10 ha). "
                                        "Vérifiez qu'elle ne couvre que le site."))
        if commune_l93 is not None and surface > 0:
            hors = 1 - geometrie.intersection(commune_l93).area / surface
            if hors > PART_MAX_HORS_COMMUNE:
                messages.append(MessageZone("erreur", libelle, f"zone à {_pourcent(hors)} hors de la commune "
                                            f"{nom_commune}. Dessinez-la dans la commune, ou choisissez la bonne "
                                            "commune."))
            elif hors > PART_ALERTE_HORS_COMMUNE:
                messages.append(MessageZone("avertissement", libelle, f"zone à {_pourcent(hors)} hors de la commune "
                                            f"{nom_commune}. Vérifiez le contour."))
        bonnes.append((libelle, geometrie))

    for i, (libelle_i, geometrie_i) in enumerate(bonnes):
        for libelle_j, geometrie_j in bonnes[i + 1:]:
            commun = geometrie_i.intersection(geometrie_j).area
            if commun > CHEVAUCHEMENT_MIN_M2:
                messages.append(MessageZone("avertissement", libelle_j, f"chevauche {libelle_i} sur {_m2(commun)}. "
                                            "Une même surface compterait deux fois."))
    if existantes is not None and len(existantes) and bonnes:
        if operation_exclue is not None and "operation_id" in existantes.columns:
            existantes = existantes[existantes["operation_id"] != operation_exclue]
        autres = en_lambert93(existantes[existantes.geometry.notna()], crs_defaut=CRS_STOCKAGE)
        geometries = shapely.make_valid(autres.geometry.to_numpy())
        arbre = shapely.STRtree(geometries)
        ids = autres["operation_id"].tolist() if "operation_id" in autres.columns else [None] * len(autres)
        noms = autres["nom"].tolist() if "nom" in autres.columns else [None] * len(autres)
        for libelle, geometrie in bonnes:
            deja: set = set()
            for k in arbre.query(geometrie, predicate="intersects"):
                commun = geometrie.intersection(geometries[k]).area
                if commun > CHEVAUCHEMENT_MIN_M2 and ids[k] not in deja:
                    deja.add(ids[k])
                    quelle = " ".join(filter(None, [f"n° {ids[k]}" if ids[k] is not None else None,
                                                    f"« {noms[k]} »" if noms[k] else None]))
                    messages.append(MessageZone("avertissement", libelle, f"chevauche l'opération déjà enregistrée "
                                                f"{quelle} sur {_m2(commun)}. Doublon ? Vérifiez avant "
                                                "d'enregistrer."))
    return messages
