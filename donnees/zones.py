"""Contrôle des zones d'une opération : seuils, constats et règles, à un seul endroit.

Appelé par les trois chemins d'écriture : le formulaire de saisie (:mod:`pages.saisie`), l'import de fichiers
(:mod:`donnees.import_operations`) et la façade des droits (:mod:`donnees.droits.zones`). Chaque règle
produit un :class:`Constat` (niveau, zone, code de règle, texte français, valeurs chiffrées) ; seul le
conseil final du texte dépend du chemin (« Dessinez-la… » au formulaire, « Vérifiez le code INSEE… » à
l'import), la décision et le code de règle jamais.

Règles :
- erreurs : géométrie vide (``geometrie_vide``), point ou ligne (``pas_une_surface``), coordonnées hors
  des degrés, sans doute en Lambert-93 (``hors_degres``), contour qui se recoupe (``contour_invalide``),
  zone à plus de 50 % hors de la commune (``hors_commune``) ;
- avertissements : zone à plus de 10 % hors de la commune (``en_partie_hors_commune``), surface < 1 m²
  (``surface_minuscule``) ou > 10 ha (``surface_immense``), chevauchement avec une autre zone de la même
  saisie ou du même fichier (``chevauchement_saisie``) ou avec une opération déjà enregistrée
  (``chevauchement_enregistree``).
Surfaces en Lambert-93 (:mod:`donnees.geometrie`), nombres par :func:`donnees.format.formater_nombre`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from donnees.erreurs import decrire_invalidite
from donnees.format import formater_nombre
from donnees.geometrie import CRS_STOCKAGE, en_lambert93, en_wgs84, vers_lambert93

# ------------------------------------------------------------------------------------ seuils
# Une zone plus petite qu'un mètre carré est presque toujours un clic involontaire ou des coordonnées
# mal déclarées (degrés lus comme des mètres).
SURFACE_MIN_M2 = 1.0
# 10 ha : plus grand que les plus grandes cours, places et parkings désimperméabilisés du bassin ; au-delà,
# la zone couvre sans doute tout un quartier au lieu du seul site aménagé.
SURFACE_MAX_M2 = 100_000.0
# Plus de la moitié hors de la commune : mauvaise commune, mauvais code INSEE ou mauvais système de
# coordonnées (erreur) ; un référent ne saisit pas chez le voisin en déclarant sa commune.
PART_MAX_HORS_COMMUNE = 0.5
# De 10 à 50 % hors de la commune : contour qui déborde (avertissement) ; en deçà, imprécision du tracé
# ou des limites communales.
PART_ALERTE_HORS_COMMUNE = 0.1
# Chevauchement signalé au-delà d'un mètre carré : en deçà, bords communs tracés à la main.
CHEVAUCHEMENT_MIN_M2 = 1.0

ERREUR = "erreur"
AVERTISSEMENT = "avertissement"
CONTEXTES = ("formulaire", "import", "facade")


@dataclass(frozen=True)
class Constat:
    """Un constat sur une zone : niveau (« erreur » ou « avertissement »), libellé de la zone, texte français,
    code de la règle, valeurs chiffrées (surface, part hors commune…) et rang de la zone (1, 2…)."""

    niveau: str
    zone: str
    texte: str
    code: str = ""
    valeurs: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    rang: int | None = None

    def __str__(self) -> str:
        return f"{self.zone} : {self.texte}"


MessageZone = Constat  # ancien nom (formulaire)

# Code → (niveau, textes par chemin). Le texte « formulaire » sert aussi à la façade si elle n'a pas le sien.
_REGLES: dict[str, tuple[str, dict[str, str]]] = {
    "geometrie_vide": (ERREUR, {
        "formulaire": "géométrie vide : dessinez le contour de la zone.",
        "import": "géométrie vide. Dessinez le contour de la zone."}),
    "pas_une_surface": (ERREUR, {
        "formulaire": "« {type} » n'est pas une surface : une zone se dessine avec l'outil polygone ou rectangle.",
        "import": "type « {type} » non admis : une zone est une surface (Polygon ou MultiPolygon), pas un point "
                  "ni une ligne. Dessinez le contour de la zone."}),
    "hors_degres": (ERREUR, {
        "formulaire": "coordonnées hors des limites de la longitude et de la latitude : la géométrie est sans "
                      "doute en mètres (Lambert-93 ?). Redessinez la zone sur la carte.",
        "import": "coordonnées hors des limites de la longitude et de la latitude : la géométrie est sans doute "
                  "en mètres (Lambert-93 ?). Indiquez son système de coordonnées (EPSG:2154) lors de la lecture "
                  "du fichier, ou écrivez « SRID=2154; » devant le WKT."}),
    "contour_invalide": (ERREUR, {
        "formulaire": "contour invalide : {raison}. Supprimez la zone et redessinez-la sans croiser ses bords.",
        "import": "géométrie invalide : {raison}. Corrigez le contour dans votre SIG (outil « Réparer les "
                  "géométries ») ou relancez avec la correction automatique."}),
    "hors_commune": (ERREUR, {
        "formulaire": "zone à {part} hors de la commune {commune}. Dessinez-la dans la commune, ou choisissez "
                      "la bonne commune.",
        "import": "zone à {part} hors de la commune {commune}. Vérifiez le code INSEE, ou le système de "
                  "coordonnées du fichier.",
        "facade": "{part} de sa surface est hors de la commune {commune}. Un référent ne saisit que dans ses "
                  "communes : redessinez la zone, ou demandez au syndicat de bassin."}),
    "en_partie_hors_commune": (AVERTISSEMENT, {
        "formulaire": "zone à {part} hors de la commune {commune}. Vérifiez le contour.",
        "import": "zone à {part} hors de la commune {commune}. Vérifiez le contour."}),
    "surface_minuscule": (AVERTISSEMENT, {
        "formulaire": "zone minuscule ({surface}, moins de 1 m²). Est-ce un clic involontaire ?",
        "import": "zone minuscule ({surface}). Vérifiez le contour et le système de coordonnées."}),
    "surface_immense": (AVERTISSEMENT, {
        "formulaire": "zone très grande ({hectares}, plus de 10 ha). Vérifiez qu'elle ne couvre que le site.",
        "import": "zone très grande ({hectares}, plus de 10 ha). Vérifiez qu'il s'agit bien de la surface "
                  "aménagée."}),
    "chevauchement_saisie": (AVERTISSEMENT, {
        "formulaire": "chevauche {autre} sur {surface}. Une même surface compterait deux fois.",
        "import": "la zone chevauche {autre} sur {surface}. Doublon ? Vérifiez les contours."}),
    "chevauchement_enregistree": (AVERTISSEMENT, {
        "formulaire": "chevauche l'opération déjà enregistrée {operation} sur {surface}. Doublon ? Vérifiez "
                      "avant d'enregistrer.",
        "import": "la zone chevauche une opération déjà enregistrée ({operation}) sur {surface}. Doublon ? "
                  "Vérifiez avant d'importer."}),
}
CODES_REGLES = tuple(_REGLES)


def formater_surface(surface_m2: float) -> str:
    """Surface en m² pour un message : décimales sous 10 m² (« 0,25 m² »), entière au-delà (« 2 500 m² »)."""
    return formater_nombre(surface_m2, 0 if surface_m2 >= 10 else 2, "m²")


def formater_part(part: float) -> str:
    """Part (0 à 1) en pourcentage entier : « 83 % » (un seul format de pourcentage)."""
    return formater_nombre(part * 100, 0, "%")


def constater(code: str, zone: str, contexte: str = "formulaire", rang: int | None = None,
              **valeurs: Any) -> Constat:
    """Constat de la règle ``code`` sur une zone ; le texte est celui du chemin ``contexte``."""
    niveau, textes = _REGLES[code]
    modele = textes.get(contexte, textes["formulaire"])
    mots = {cle: valeur for cle, valeur in valeurs.items()}
    if "surface_m2" in valeurs:
        mots["surface"] = formater_surface(valeurs["surface_m2"])
        mots["hectares"] = formater_nombre(valeurs["surface_m2"] / 10000, 1, "ha")
    if "part_hors" in valeurs:
        mots["part"] = formater_part(valeurs["part_hors"])
    return Constat(niveau, zone, modele.format(**mots), code, dict(valeurs), rang)


def decider(constats: Sequence[Constat]) -> str:
    """Décision d'un ensemble de constats : « refusé » (une erreur), « averti » ou « accepté »."""
    if any(c.niveau == ERREUR for c in constats):
        return "refusé"
    return "averti" if constats else "accepté"


def en_degres(geometrie: BaseGeometry) -> bool:
    """Vrai si l'emprise tient dans les bornes de la longitude et de la latitude."""
    xmin, ymin, xmax, ymax = geometrie.bounds
    return bool(np.isfinite([xmin, ymin, xmax, ymax]).all() and -180 <= xmin <= xmax <= 180
                and -90 <= ymin <= ymax <= 90)


# ------------------------------------------------------------------------------------ règles d'une zone


def controler_forme(geometrie: BaseGeometry | None, zone: str, contexte: str = "formulaire",
                    rang: int | None = None) -> Constat | None:
    """Première erreur de forme d'une zone en WGS84 (vide, point ou ligne, hors degrés, contour invalide)."""
    if geometrie is None or geometrie.is_empty:
        return constater("geometrie_vide", zone, contexte, rang)
    if geometrie.geom_type not in ("Polygon", "MultiPolygon"):
        return constater("pas_une_surface", zone, contexte, rang, type=geometrie.geom_type)
    if not en_degres(geometrie):
        return constater("hors_degres", zone, contexte, rang)
    if not geometrie.is_valid:
        return constater("contour_invalide", zone, contexte, rang, raison=decrire_invalidite(geometrie))
    return None


def controler_mesures(geometrie_l93: BaseGeometry, zone: str, commune_l93: BaseGeometry | None,
                      nom_commune: str, contexte: str = "formulaire", rang: int | None = None) -> list[Constat]:
    """Surface minuscule ou immense, part hors de la commune (contour de la commune en Lambert-93)."""
    constats = []
    surface = geometrie_l93.area
    if surface < SURFACE_MIN_M2:
        constats.append(constater("surface_minuscule", zone, contexte, rang, surface_m2=surface))
    elif surface > SURFACE_MAX_M2:
        constats.append(constater("surface_immense", zone, contexte, rang, surface_m2=surface))
    if commune_l93 is not None and not commune_l93.is_empty and surface > 0:
        hors = 1 - geometrie_l93.intersection(commune_l93).area / surface
        code = ("hors_commune" if hors > PART_MAX_HORS_COMMUNE else
                "en_partie_hors_commune" if hors > PART_ALERTE_HORS_COMMUNE else None)
        if code:
            constats.append(constater(code, zone, contexte, rang, part_hors=hors, commune=nom_commune))
    return constats


# ------------------------------------------------------------------------------------ chevauchements


def controler_chevauchements(geometries_l93: Sequence[BaseGeometry], zones: Sequence[str],
                             contexte: str = "formulaire",
                             nommer: Callable[[int, int], str] | None = None) -> list[Constat]:
    """Zones d'une même saisie (ou d'un même fichier) qui se chevauchent de plus du seuil.

    Le constat porte sur la seconde zone de chaque paire (``rang`` = sa position + 1) ; ``nommer(i, j)``
    désigne la première dans le texte (par défaut son libellé).
    """
    if not len(geometries_l93):
        return []
    geometries = np.asarray(list(geometries_l93), dtype=object)
    paires = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    constats = []
    for i, j in sorted((int(i), int(j)) for i, j in zip(*paires) if i < j):
        commun = geometries[i].intersection(geometries[j]).area
        if commun > CHEVAUCHEMENT_MIN_M2:
            autre = nommer(i, j) if nommer else zones[i]
            constats.append(constater("chevauchement_saisie", zones[j], contexte, j + 1, surface_m2=commun,
                                      autre=autre))
    return constats


def controler_chevauchements_enregistrees(geometries_l93: Sequence[BaseGeometry], zones: Sequence[str],
                                          existantes, contexte: str = "formulaire",
                                          operation_exclue: int | None = None) -> list[Constat]:
    """Zones qui chevauchent de plus du seuil une zone d'une opération déjà enregistrée.

    ``existantes`` : GeoDataFrame des zones enregistrées (colonnes ``operation_id`` et, si possible,
    ``nom``) ; ``operation_exclue`` : l'opération en cours de modification. Un constat par zone et opération.
    """
    if existantes is None or not len(existantes) or not len(geometries_l93):
        return []
    if operation_exclue is not None and "operation_id" in existantes.columns:
        existantes = existantes[existantes["operation_id"] != operation_exclue]
    autres = en_lambert93(existantes[existantes.geometry.notna()], crs_defaut=CRS_STOCKAGE)
    if not len(autres):
        return []
    cibles = shapely.make_valid(autres.geometry.to_numpy())
    ids = autres["operation_id"].tolist() if "operation_id" in autres.columns else [None] * len(autres)
    noms = autres["nom"].tolist() if "nom" in autres.columns else [None] * len(autres)
    entree, trouvees = shapely.STRtree(cibles).query(np.asarray(list(geometries_l93), dtype=object),
                                                     predicate="intersects")
    constats, deja = [], set()
    for i, k in sorted(zip(entree.tolist(), trouvees.tolist())):
        commun = geometries_l93[i].intersection(cibles[k]).area
        if commun > CHEVAUCHEMENT_MIN_M2 and (i, ids[k]) not in deja:
            deja.add((i, ids[k]))
            operation = " ".join(filter(None, [f"n° {ids[k]}" if ids[k] is not None else None,
                                               f"« {noms[k]} »" if noms[k] else None]))
            constats.append(constater("chevauchement_enregistree", zones[i], contexte, i + 1, surface_m2=commun,
                                      operation=operation, operation_id=ids[k]))
    return constats


# ------------------------------------------------------------------------------------ une saisie entière


def controler_geometries(geometries: Sequence[BaseGeometry | None], zones: Sequence[str],
                         commune_l93: BaseGeometry | None, nom_commune: str, existantes=None,
                         operation_exclue: int | None = None, contexte: str = "formulaire") -> list[Constat]:
    """Tous les constats sur les zones d'une saisie (géométries en WGS84, commune en Lambert-93)."""
    formes = [controler_forme(g, z, contexte, rang) for rang, (z, g) in enumerate(zip(zones, geometries), start=1)]
    bonnes = [i for i, forme in enumerate(formes) if forme is None]
    l93 = list(vers_lambert93(np.asarray([geometries[i] for i in bonnes], dtype=object))) if bonnes else []
    projetees = dict(zip(bonnes, l93))
    noms_bonnes = [zones[i] for i in bonnes]
    constats: list[Constat] = []
    for i, forme in enumerate(formes):  # zone par zone, dans l'ordre de la saisie
        if forme is not None:
            constats.append(forme)
        else:
            constats += controler_mesures(projetees[i], zones[i], commune_l93, nom_commune, contexte, i + 1)
    rangs = dict(enumerate(bonnes))
    for constat in (controler_chevauchements(l93, noms_bonnes, contexte)
                    + controler_chevauchements_enregistrees(l93, noms_bonnes, existantes, contexte,
                                                            operation_exclue)):
        constats.append(Constat(constat.niveau, constat.zone, constat.texte, constat.code, constat.valeurs,
                                rangs[constat.rang - 1] + 1))
    return constats


def controler_zones(zones, libelles: list[str], commune: BaseGeometry | None, nom_commune: str,
                    existantes=None, operation_exclue: int | None = None,
                    contexte: str = "formulaire") -> list[Constat]:
    """Erreurs et avertissements sur les zones d'une saisie (appel du formulaire).

    ``zones`` : GeoDataFrame (WGS84 si sans système) ; ``libelles`` : nom de chaque zone (« Dessin 1 »,
    « Parcelle AB 12 »…) ; ``commune`` : contour de la commune en WGS84 ; ``existantes`` : zones déjà
    enregistrées (colonnes ``operation_id`` et, si possible, ``nom``) ; ``operation_exclue`` : opération en
    cours de modification.
    """
    geometries = list(en_wgs84(zones.geometry, crs_defaut=CRS_STOCKAGE)) if len(zones) else []
    commune_l93 = vers_lambert93(commune) if commune is not None and not commune.is_empty else None
    return controler_geometries(geometries, libelles, commune_l93, nom_commune, existantes, operation_exclue,
                                contexte)
