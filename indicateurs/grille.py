"""Grille de calcul des modèles chaleur et eau : occupation du sol rastérisée en Lambert-93.

- La grille couvre l'emprise du territoire en EPSG:2154, à la résolution ``resolution_grille_m``
  (10 m par défaut, CONCEPTION §5), calée sur des multiples de la résolution.
- Chaque cellule porte l'**indice d'un revêtement** (``uint8``) : ``0`` = hors territoire (nodata),
  ``i ≥ 1`` = ``i``-ième code de ``donnees/nomenclatures/revetements.csv``. L'occupation OCS GE est
  traduite par ``ocsge_revetements.csv`` (``code_cs`` + ``code_us`` d'abord, puis ``code_cs`` seul, puis
  le code parent : ``CS2.2.1`` + ``US1.1`` → vigne, ``CS2.2.1`` → pelouse).
- Rastérisation par ``rasterio.features.rasterize`` au centre des cellules (``all_touched=False``) :
  une cellule prend le polygone qui couvre son centre.
- **Masque urbain** (fixe pour tous les scénarios, calculé sur l'occupation OCS GE avant opérations) :
  une cellule est urbaine si son couvert est artificialisé (OCS GE ``CS1.1.*`` : bâti, voiries,
  surfaces minérales) **ou** si elle est dans le tissu bâti, c'est-à-dire si la part de cellules
  artificialisées dans un disque de rayon ``rayon_tissu_urbain_m`` (100 m) autour d'elle atteint
  ``part_artificialisee_tissu_urbain`` (50 %). Les jardins, squares et cours d'école en ville sont donc
  urbains, les vignes et bois hors des bourgs ne le sont pas.
- Statistiques par zone (communes, opérations) par ``np.bincount`` sur des étiquettes entières, sans
  boucle Python sur les cellules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from rasterio import features

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_CALCUL, en_lambert93
from indicateurs.parametres import lire_correspondance_revetements, lire_parametres_revetements

INDICE_HORS_TERRITOIRE = 0
PREFIXE_ARTIFICIALISE = "CS1.1"
TOLERANCE_PART = 1e-4  # arrondi des convolutions FFT en simple précision (parts entre 0 et 1)
SCENARIOS = {
    "sans_operations": (),
    "realisees": ("realisee",),
    "realisees_programmees": ("realisee", "en_travaux", "programmee"),
}
LIBELLES_SCENARIOS = {
    "sans_operations": "Sans opérations",
    "realisees": "Opérations réalisées",
    "realisees_programmees": "Réalisées + programmées",
}


@dataclass(frozen=True)
class Grille:
    """Grille régulière en Lambert-93 : origine haut-gauche, ``resolution`` m, ``hauteur × largeur``."""

    x_min: float
    y_max: float
    resolution: float
    largeur: int
    hauteur: int
    crs: str = CRS_CALCUL

    @property
    def transform(self) -> Affine:
        """Transformation affine (pixel → coordonnées), convention rasterio/GDAL."""
        return Affine(self.resolution, 0.0, self.x_min, 0.0, -self.resolution, self.y_max)

    @property
    def forme(self) -> tuple[int, int]:
        return (self.hauteur, self.largeur)

    @property
    def surface_cellule_m2(self) -> float:
        return float(self.resolution) ** 2

    @property
    def emprise(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) en m."""
        return (self.x_min, self.y_max - self.hauteur * self.resolution,
                self.x_min + self.largeur * self.resolution, self.y_max)


def definir_grille(emprise: tuple[float, float, float, float], resolution_m: float) -> Grille:
    """Grille calée sur des multiples de ``resolution_m`` couvrant ``emprise`` (x_min, y_min, x_max, y_max)."""
    if not resolution_m > 0:
        raise ErreurDonnees(f"Résolution de grille invalide : {resolution_m} m (attendu > 0).", "grille")
    x_min, y_min, x_max, y_max = (float(v) for v in emprise)
    if not (np.isfinite([x_min, y_min, x_max, y_max]).all() and x_max > x_min and y_max > y_min):
        raise ErreurDonnees(f"Emprise de grille vide ou invalide : {emprise}.", "grille")
    x0 = np.floor(x_min / resolution_m) * resolution_m
    y1 = np.ceil(y_max / resolution_m) * resolution_m
    largeur = int(np.ceil((x_max - x0) / resolution_m - 1e-9))
    hauteur = int(np.ceil((y1 - y_min) / resolution_m - 1e-9))
    return Grille(float(x0), float(y1), float(resolution_m), max(largeur, 1), max(hauteur, 1))


# ------------------------------------------------------------------------------- revêtements


@lru_cache(maxsize=None)
def lister_codes_revetement() -> tuple[str, ...]:
    """Codes de revêtement dans l'ordre de ``revetements.csv`` ; l'indice raster du code ``k`` est ``k + 1``."""
    return tuple(lire_parametres_revetements().index)


def indexer_revetements(codes) -> np.ndarray:
    """Indices raster (``uint8``) de codes de revêtement ; lève :class:`ErreurDonnees` si un code est inconnu."""
    connus = pd.Index(lister_codes_revetement())
    valeurs = pd.Index(pd.Series(codes, dtype="object").astype(str))
    positions = connus.get_indexer(valeurs)
    if (positions < 0).any():
        inconnus = sorted(set(valeurs[positions < 0]))
        raise ErreurDonnees(f"Revêtement(s) inconnu(s) : {', '.join(inconnus)} (connus : {', '.join(connus)}).",
                            "zones", "revetement")
    return (positions + 1).astype(np.uint8)


def tabuler_proprietes_revetements(colonnes=("c_ruissellement", "albedo", "ombre", "kc", "espace_vert")
                                   ) -> dict[str, np.ndarray]:
    """Tables de correspondance indice → propriété (``float64``, ``NaN`` à l'indice 0 hors territoire)."""
    table = lire_parametres_revetements()
    resultat = {}
    for colonne in colonnes:
        valeurs = np.full(len(table) + 1, np.nan)
        valeurs[1:] = pd.to_numeric(table[colonne]).to_numpy(dtype=float)
        resultat[colonne] = valeurs
    return resultat


def traduire_ocsge(code_cs, code_us) -> tuple[np.ndarray, np.ndarray]:
    """Revêtement (indice) et drapeau « artificialisé » (OCS GE ``CS1.1.*``) de chaque polygone OCS GE.

    Ordre de recherche dans ``ocsge_revetements.csv`` : (code_cs, code_us), (code_cs, sans usage), puis les
    codes parents de ``code_cs``. Un code introuvable lève :class:`ErreurDonnees`.
    """
    correspondance = lire_correspondance_revetements()
    avec_usage = {(cs, us): rev for cs, us, rev in zip(correspondance["code_cs"], correspondance["code_us"],
                                                         correspondance["revetement"]) if us}
    sans_usage = {cs: rev for cs, us, rev in zip(correspondance["code_cs"], correspondance["code_us"],
                                                   correspondance["revetement"]) if not us}
    cs = pd.Series(code_cs, dtype="object").fillna("").astype(str)
    us = pd.Series(code_us, dtype="object").fillna("").astype(str)
    inverse, combinaisons = pd.MultiIndex.from_arrays([cs.to_numpy(), us.to_numpy()]).factorize()
    combinaisons = np.array([list(c) for c in combinaisons], dtype=str).reshape(-1, 2)
    revetements, inconnus = [], []
    for code, usage in combinaisons:
        trouve = avec_usage.get((code, usage))
        parent = code
        while trouve is None and parent:
            trouve = sans_usage.get(parent)
            parent = parent.rpartition(".")[0] if "." in parent else ""
        if trouve is None:
            inconnus.append(code or "(vide)")
            trouve = lister_codes_revetement()[0]
        revetements.append(trouve)
    if inconnus:
        raise ErreurDonnees(
            f"Occupation du sol : code(s) OCS GE sans revêtement : {', '.join(sorted(set(inconnus)))}. "
            "Ajoutez-les à donnees/nomenclatures/ocsge_revetements.csv.", "occupation", "code_cs")
    indices = indexer_revetements(revetements)[inverse.ravel()]
    artificialise = np.char.startswith(combinaisons[:, 0].astype(str), PREFIXE_ARTIFICIALISE)[inverse.ravel()]
    return indices, artificialise


# ------------------------------------------------------------------------------- rastérisation


def projeter_lambert93(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """La couche en Lambert-93 (sans copie si elle y est déjà) ; lève :class:`ErreurDonnees` sans CRS."""
    if table.crs is None:
        raise ErreurDonnees("Couche sans système de coordonnées : impossible de la placer sur la grille.",
                            "grille", "geometry")
    return en_lambert93(table)


def rasteriser_valeurs(geometries, valeurs, grille: Grille, fond: int = 0, dtype="uint8",
                       sortie: np.ndarray | None = None, tout_touche: bool = False) -> np.ndarray:
    """Rastérise des géométries (Lambert-93) avec une valeur entière chacune ; les suivantes recouvrent.

    ``sortie`` fournie : gravée en place (copie à la charge de l'appelant).
    """
    geometries = np.asarray(geometries, dtype=object)
    valeurs = np.asarray(valeurs)
    if sortie is None:
        sortie = np.full(grille.forme, fond, dtype=dtype)
    garde = ~(shapely.is_missing(geometries) | shapely.is_empty(geometries)) if len(geometries) else []
    if len(geometries) and np.any(garde):
        features.rasterize(decrire_polygones(geometries[garde], valeurs[garde]), out=sortie,
                           transform=grille.transform, all_touched=tout_touche)
    return sortie


def decrire_polygones(geometries: np.ndarray, valeurs: np.ndarray) -> list[tuple[dict, object]]:
    """Paires (polygone GeoJSON, valeur) pour ``rasterize`` : parties des multipolygones séparées, dans
    l'ordre (même résultat), coordonnées extraites en bloc par shapely (plus rapide que
    ``__geo_interface__`` polygone par polygone)."""
    parties, origine = shapely.get_parts(geometries, return_index=True)
    if not np.isin(shapely.get_type_id(parties), [shapely.GeometryType.POLYGON.value]).all():
        return list(zip(geometries, valeurs.tolist()))
    anneaux, parent = shapely.get_rings(parties, return_index=True)
    fins = np.cumsum(shapely.get_num_coordinates(anneaux)).tolist()
    points = shapely.get_coordinates(anneaux).tolist()
    listes = [points[a:b] for a, b in zip([0] + fins[:-1], fins)]
    fins_parties = np.cumsum(np.bincount(parent, minlength=len(parties))).tolist()
    return [({"type": "Polygon", "coordinates": listes[a:b]}, v)
            for a, b, v in zip([0] + fins_parties[:-1], fins_parties, valeurs[origine].tolist())]


@dataclass
class OccupationGrille:
    """Occupation du sol sur la grille : revêtement (indice ``uint8``), artificialisation et communes."""

    grille: Grille
    revetement: np.ndarray
    artificialise: np.ndarray
    commune: np.ndarray
    codes_insee: tuple[str, ...]
    urbain: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def valide(self) -> np.ndarray:
        return self.revetement != INDICE_HORS_TERRITOIRE


def rasteriser_occupation(occupation: gpd.GeoDataFrame, grille: Grille) -> tuple[np.ndarray, np.ndarray]:
    """Indices de revêtement (``uint8``, 0 hors occupation) et masque artificialisé (OCS GE ``CS1.1.*``)."""
    occupation = projeter_lambert93(occupation)
    code_us = occupation["code_us"] if "code_us" in occupation.columns else pd.Series([""] * len(occupation))
    indices, artificialise = traduire_ocsge(occupation["code_cs"].to_numpy(), code_us.to_numpy())
    # bit de poids fort = artificialisé : une seule rastérisation pour les deux couches
    codes = indices.astype(np.uint8) | (artificialise.astype(np.uint8) << 7)
    brut = rasteriser_valeurs(occupation.geometry.values, codes, grille)
    return brut & np.uint8(0x7F), (brut >> 7).astype(bool)


def rasteriser_communes(communes: gpd.GeoDataFrame, grille: Grille) -> tuple[np.ndarray, tuple[str, ...]]:
    """Étiquette de commune par cellule (``int16``, 0 hors communes, ``k`` = ``codes[k - 1]``)."""
    communes = projeter_lambert93(communes)
    codes = tuple(communes["code_insee"].astype(str))
    etiquettes = rasteriser_valeurs(communes.geometry.values, np.arange(1, len(codes) + 1), grille,
                                    dtype="int16")
    return etiquettes, codes


# ------------------------------------------------------------------------------- masque urbain


def construire_noyau_disque(rayon_px: float) -> np.ndarray:
    """Noyau binaire ``distance ≤ rayon`` (en cellules, centre à centre), non normalisé (float64)."""
    demi = int(np.floor(rayon_px))
    y, x = np.mgrid[-demi:demi + 1, -demi:demi + 1]
    return (np.hypot(y, x) <= rayon_px).astype(np.float64)


def calculer_masque_urbain(artificialise: np.ndarray, valide: np.ndarray, resolution_m: float,
                           rayon_m: float, part_min: float) -> np.ndarray:
    """Masque urbain = artificialisé OU part d'artificialisé ≥ ``part_min`` dans un disque de ``rayon_m``.

    Part = Σ artificialisé / Σ cellules valides dans le disque (les bords et le hors-territoire ne comptent
    pas). Convolution FFT ; unité : sans dimension. Source : définition du projet (module docstring).
    """
    from scipy.signal import fftconvolve

    noyau = construire_noyau_disque(rayon_m / resolution_m)
    art = (artificialise & valide).astype(np.float32)
    somme = fftconvolve(art, noyau.astype(np.float32), mode="same")
    nombre = fftconvolve(valide.astype(np.float32), noyau.astype(np.float32), mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        part = np.where(nombre > 0.5, somme / np.maximum(nombre, 1e-9), 0.0)
    # les sommes sont des entiers : la tolérance absorbe l'arrondi FFT en simple précision
    return valide & (artificialise | (part >= part_min - TOLERANCE_PART))


def preparer_occupation_grille(occupation: gpd.GeoDataFrame, communes: gpd.GeoDataFrame,
                               resolution_m: float, rayon_urbain_m: float, part_urbaine: float
                               ) -> OccupationGrille:
    """Grille du territoire : emprise des communes, occupation rastérisée, communes, masque urbain.

    Les cellules hors communes sont hors territoire (revêtement 0), même si un polygone d'occupation
    déborde.
    """
    communes = projeter_lambert93(communes)
    grille = definir_grille(tuple(communes.total_bounds), resolution_m)
    revetement, artificialise = rasteriser_occupation(occupation, grille)
    commune, codes = rasteriser_communes(communes, grille)
    hors = commune == 0
    revetement[hors] = INDICE_HORS_TERRITOIRE
    artificialise[hors] = False
    valide = revetement != INDICE_HORS_TERRITOIRE
    urbain = calculer_masque_urbain(artificialise, valide, grille.resolution, rayon_urbain_m, part_urbaine)
    return OccupationGrille(grille, revetement, artificialise, commune, codes, urbain)


# ------------------------------------------------------------------------------- scénarios


def choisir_revetements_scenario(zones: pd.DataFrame, scenario: str) -> np.ndarray:
    """Revêtement de chaque zone dans un scénario : ``revetement_apres`` si son statut y est compté, sinon
    ``revetement_avant`` (``sans_operations`` : toutes les zones avec leur revêtement d'avant)."""
    if scenario not in SCENARIOS:
        raise ErreurDonnees(f"Scénario inconnu « {scenario} » (connus : {', '.join(SCENARIOS)}).", "scenario")
    if not len(zones):
        return np.empty(0, dtype=object)
    apres = zones["statut"].isin(SCENARIOS[scenario]).to_numpy()
    return np.where(apres, zones["revetement_apres"].to_numpy(dtype=object),
                    zones["revetement_avant"].to_numpy(dtype=object))


def graver_zones(revetement: np.ndarray, geometries, codes, grille: Grille) -> np.ndarray:
    """Copie de ``revetement`` où les zones (Lambert-93) sont gravées avec leur code ; hors territoire inchangé."""
    sortie = revetement.copy()
    if len(codes):
        rasteriser_valeurs(geometries, indexer_revetements(codes), grille, sortie=sortie)
        sortie[revetement == INDICE_HORS_TERRITOIRE] = INDICE_HORS_TERRITOIRE
    return sortie


def construire_scenarios(occupation: OccupationGrille, zones: gpd.GeoDataFrame,
                         scenarios=tuple(SCENARIOS)) -> dict[str, np.ndarray]:
    """Grille de revêtements de chaque scénario (zones gravées selon leur statut)."""
    zones_l93 = projeter_lambert93(zones) if len(zones) else zones
    geometries = zones_l93.geometry.values if len(zones) else np.empty(0, dtype=object)
    return {nom: graver_zones(occupation.revetement, geometries, choisir_revetements_scenario(zones, nom),
                              occupation.grille)
            for nom in scenarios}


# ------------------------------------------------------------------------------- statistiques


def sommer_par_etiquette(etiquettes: np.ndarray, valeurs: np.ndarray | None = None,
                         masque: np.ndarray | None = None, nombre: int | None = None) -> np.ndarray:
    """Σ valeurs par étiquette entière (``np.bincount``) ; sans ``valeurs`` : nombre de cellules.

    ``masque`` restreint les cellules ; les valeurs ``NaN`` sont ignorées. Longueur ``nombre`` (défaut :
    étiquette max + 1).
    """
    etiquettes = np.asarray(etiquettes).ravel()
    garde = np.ones(etiquettes.shape, dtype=bool) if masque is None else np.asarray(masque).ravel().copy()
    if valeurs is not None:
        valeurs = np.asarray(valeurs).ravel()
        garde &= ~np.isnan(valeurs)
    nombre = int(nombre if nombre is not None else (etiquettes.max() + 1 if etiquettes.size else 1))
    poids = None if valeurs is None else valeurs[garde].astype(np.float64)
    return np.bincount(etiquettes[garde].astype(np.int64), weights=poids, minlength=nombre)[:nombre]


def moyenner_par_etiquette(etiquettes: np.ndarray, valeurs: np.ndarray, masque: np.ndarray | None = None,
                           nombre: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(moyenne, nombre de cellules) par étiquette ; moyenne ``NaN`` pour une étiquette sans cellule."""
    somme = sommer_par_etiquette(etiquettes, valeurs, masque, nombre)
    garde = None if masque is None else np.asarray(masque)
    garde = ~np.isnan(valeurs) if garde is None else garde & ~np.isnan(valeurs)
    compte = sommer_par_etiquette(etiquettes, None, garde, len(somme))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(compte > 0, somme / np.maximum(compte, 1), np.nan), compte


# Cellules de chaque géométrie déjà rastérisée, par (WKB, grille, règle des petites géométries) : après une
# écriture, seules les zones nouvelles ou déplacées sont rastérisées à nouveau (mise à jour en secondes).
_CELLULES_GEOMETRIES: dict[tuple, np.ndarray] = {}
TAILLE_CACHE_CELLULES = 50_000  # géométries gardées (quelques centaines de cellules chacune au plus)


def _rasteriser_geometrie(geometrie, grille: Grille, tout_touche_si_vide: bool) -> np.ndarray:
    """Indices à plat des cellules dont le centre est dans ``geometrie`` (Lambert-93), rastérisée dans sa
    fenêtre ; une géométrie trop petite pour couvrir un centre prend les cellules qu'elle touche."""
    r, x0, y1 = grille.resolution, grille.x_min, grille.y_max
    bx0, by0, bx1, by1 = shapely.bounds(geometrie)
    col0 = int(np.clip(np.floor((bx0 - x0) / r), 0, grille.largeur))
    col1 = int(np.clip(np.ceil((bx1 - x0) / r), 0, grille.largeur))
    lig0 = int(np.clip(np.floor((y1 - by1) / r), 0, grille.hauteur))
    lig1 = int(np.clip(np.ceil((y1 - by0) / r), 0, grille.hauteur))
    if col1 <= col0 or lig1 <= lig0:
        return np.empty(0, np.int64)
    forme = (lig1 - lig0, col1 - col0)
    transform = Affine(r, 0.0, x0 + col0 * r, 0.0, -r, y1 - lig0 * r)
    fenetre = features.rasterize([(geometrie, 1)], out_shape=forme, transform=transform, fill=0, dtype="uint8")
    if not fenetre.any() and tout_touche_si_vide:
        fenetre = features.rasterize([(geometrie, 1)], out_shape=forme, transform=transform, fill=0,
                                     dtype="uint8", all_touched=True)
    lignes, colonnes = np.nonzero(fenetre)
    return ((lignes + lig0) * grille.largeur + (colonnes + col0)).astype(np.int64)


def indexer_cellules_geometries(geometries, grille: Grille, tout_touche_si_vide: bool = True
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Paires (n° de géométrie, indice de cellule à plat) des cellules dont le centre est dans chaque
    géométrie (Lambert-93), géométries superposées comprises.

    Rastérisation dans la fenêtre de chaque géométrie (pas de boucle sur les cellules) ; une géométrie
    trop petite pour couvrir un centre de cellule prend les cellules qu'elle touche. Les cellules d'une
    géométrie déjà vue sur la même grille sont relues en mémoire (mêmes indices).
    """
    geometries = np.asarray(geometries, dtype=object)
    if not len(geometries):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    vides = shapely.is_missing(geometries)
    vides[~vides] = shapely.is_empty(geometries[~vides])
    cles = shapely.to_wkb(geometries)
    numeros, cellules = [], []
    for i, geometrie in enumerate(geometries):
        if vides[i]:
            continue
        cle = (cles[i], grille, bool(tout_touche_si_vide))
        trouvees = _CELLULES_GEOMETRIES.get(cle)
        if trouvees is None:
            trouvees = _rasteriser_geometrie(geometrie, grille, tout_touche_si_vide)
            _CELLULES_GEOMETRIES[cle] = trouvees
            while len(_CELLULES_GEOMETRIES) > TAILLE_CACHE_CELLULES:
                _CELLULES_GEOMETRIES.pop(next(iter(_CELLULES_GEOMETRIES)))
        if trouvees.size:
            numeros.append(np.full(trouvees.size, i, dtype=np.int64))
            cellules.append(trouvees)
    if not numeros:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(numeros), np.concatenate(cellules).astype(np.int64)


def moyenner_par_geometrie(numeros: np.ndarray, cellules: np.ndarray, valeurs: np.ndarray, nombre: int
                           ) -> tuple[np.ndarray, np.ndarray]:
    """(moyenne, nombre de cellules valides) de ``valeurs`` par géométrie, à partir des paires
    de :func:`indexer_cellules_geometries` (``NaN`` ignorés)."""
    v = np.asarray(valeurs).ravel()[cellules]
    garde = ~np.isnan(v)
    somme = np.bincount(numeros[garde], weights=v[garde].astype(np.float64), minlength=nombre)
    compte = np.bincount(numeros[garde], minlength=nombre)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(compte > 0, somme / np.maximum(compte, 1), np.nan), compte
