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
import rasterio
from rasterio import features
from rasterio.enums import MergeAlg

try:  # rastérisation GDAL de rasterio sans la validation Python forme par forme (API interne, rasterio ≥ 1.3)
    from rasterio._features import _rasterize as _RASTERISER_GDAL
except ImportError:  # pragma: no cover - autre version de rasterio : fonction publique
    _RASTERISER_GDAL = None

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_CALCUL, en_lambert93
from indicateurs.parametres import lire_correspondance_revetements, lire_parametres_revetements

INDICE_HORS_TERRITOIRE = 0
PREFIXE_ARTIFICIALISE = "CS1.1"
TOLERANCE_PART = 1e-4  # marge sur la part (comptes exacts ; garde la décision de l'ancienne FFT en simple précision)
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
        formes = decrire_polygones(geometries[garde], valeurs[garde])
        if _RASTERISER_GDAL is not None and formes and isinstance(formes[0][0], dict):
            # polygones GeoJSON bâtis ici, valides par construction : la validation Python de rasterio (une
            # fonction par forme, ~20 % du temps sur 550 000 polygones) est sautée
            with rasterio.Env():
                _RASTERISER_GDAL(formes, sortie, grille.transform, tout_touche, MergeAlg.replace)
            return sortie
        features.rasterize(formes, out=sortie, transform=grille.transform, all_touched=tout_touche)
    return sortie


def decrire_polygones(geometries: np.ndarray, valeurs: np.ndarray) -> list[tuple[dict, object]]:
    """Paires (polygone GeoJSON, valeur) pour ``rasterize`` : parties des multipolygones séparées, dans
    l'ordre (même résultat), coordonnées extraites en bloc par shapely (plus rapide que
    ``__geo_interface__`` polygone par polygone), points en tuples (x, y) bâtis par ``zip`` (plus rapide que
    ``tolist`` d'un tableau à deux colonnes)."""
    parties, origine = shapely.get_parts(geometries, return_index=True)
    if not np.isin(shapely.get_type_id(parties), [shapely.GeometryType.POLYGON.value]).all():
        return list(zip(geometries, valeurs.tolist()))
    anneaux, parent = shapely.get_rings(parties, return_index=True)
    fins = np.cumsum(shapely.get_num_coordinates(anneaux)).tolist()
    coordonnees = shapely.get_coordinates(anneaux)
    points = list(zip(coordonnees[:, 0].tolist(), coordonnees[:, 1].tolist()))  # paires : 3× moins cher
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


def rasteriser_occupation(occupation, grille: Grille) -> tuple[np.ndarray, np.ndarray]:
    """Indices de revêtement (``uint8``, 0 hors occupation) et masque artificialisé (OCS GE ``CS1.1.*``).

    ``occupation`` : une table, ou des tables successives (une par commune, lues à la demande : mémoire bornée
    par la plus grosse) gravées dans l'ordre sur la même grille — même résultat que leur concaténation, les
    polygones suivants recouvrant les précédents dans les deux cas."""
    morceaux = [occupation] if isinstance(occupation, pd.DataFrame) else occupation
    brut = np.zeros(grille.forme, dtype=np.uint8)
    for morceau in morceaux:
        morceau = projeter_lambert93(morceau)
        code_us = morceau["code_us"] if "code_us" in morceau.columns else pd.Series([""] * len(morceau))
        indices, artificialise = traduire_ocsge(morceau["code_cs"].to_numpy(), code_us.to_numpy())
        # bit de poids fort = artificialisé : une seule rastérisation pour les deux couches
        codes = indices.astype(np.uint8) | (artificialise.astype(np.uint8) << 7)
        rasteriser_valeurs(morceau.geometry.values, codes, grille, sortie=brut)
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


def sommer_dans_disque(valeurs: np.ndarray, rayon_px: float) -> np.ndarray:
    """Σ des valeurs (entières) dans le disque ``distance ≤ rayon`` (cellules) centré sur chaque cellule, hors
    grille compté nul ; exact (``int32``). Le disque est une pile de segments de ligne : sommes cumulées le
    long des lignes, puis une différence par ligne du disque (image intégrale par lignes, sans FFT)."""
    hauteur, largeur = valeurs.shape
    noyau = construire_noyau_disque(rayon_px)
    demi = noyau.shape[0] // 2
    # cumul[:, demi + k] = Σ valeurs[:, :k] pour k de −demi à largeur + demi (bornes recopiées)
    cumul = np.zeros((hauteur, largeur + 1 + 2 * demi), dtype=np.int32)
    np.cumsum(valeurs, axis=1, dtype=np.int32, out=cumul[:, demi + 1:demi + 1 + largeur])
    cumul[:, demi + 1 + largeur:] = cumul[:, [demi + largeur]]
    somme = np.zeros(valeurs.shape, dtype=np.int32)
    for dy in range(-demi, demi + 1):
        w = int(noyau[dy + demi].sum()) // 2  # demi-largeur du segment de la ligne dy
        l0, l1 = max(0, -dy), min(hauteur, hauteur - dy)  # lignes i telles que i + dy est dans la grille
        if l1 > l0:
            somme[l0:l1] += cumul[l0 + dy:l1 + dy, demi + w + 1:demi + w + 1 + largeur]
            somme[l0:l1] -= cumul[l0 + dy:l1 + dy, demi - w:demi - w + largeur]
    return somme


def calculer_masque_urbain(artificialise: np.ndarray, valide: np.ndarray, resolution_m: float,
                           rayon_m: float, part_min: float) -> np.ndarray:
    """Masque urbain = artificialisé OU part d'artificialisé ≥ ``part_min`` dans un disque de ``rayon_m``.

    Part = Σ artificialisé / Σ cellules valides dans le disque (les bords et le hors-territoire ne comptent
    pas), comptes exacts (:func:`sommer_dans_disque`) ; unité : sans dimension. Source : définition du projet
    (module docstring).
    """
    rayon_px = rayon_m / resolution_m
    decalage = int(construire_noyau_disque(rayon_px).sum()).bit_length()  # bits d'un compte du disque
    if artificialise.shape[1] << (2 * decalage) < 2 ** 31:  # les deux comptes en un seul passage (entiers)
        paquet = sommer_dans_disque((artificialise & valide).astype(np.int32)
                                    | (valide.astype(np.int32) << decalage), rayon_px)
        somme, nombre = paquet & ((1 << decalage) - 1), paquet >> decalage
    else:
        somme = sommer_dans_disque((artificialise & valide).view(np.uint8), rayon_px)
        nombre = sommer_dans_disque(valide.view(np.uint8), rayon_px)
    with np.errstate(invalid="ignore", divide="ignore"):
        part = np.where(nombre > 0, somme / np.maximum(nombre, 1), 0.0)
    # comptes exacts : la tolérance ne sert plus qu'à garder la décision de l'ancienne FFT en simple précision
    return valide & (artificialise | (part >= part_min - TOLERANCE_PART))


def preparer_occupation_grille(occupation, communes: gpd.GeoDataFrame,
                               resolution_m: float, rayon_urbain_m: float, part_urbaine: float
                               ) -> OccupationGrille:
    """Grille du territoire : emprise des communes, occupation rastérisée (une table, ou des tables par commune :
    voir :func:`rasteriser_occupation`), communes, masque urbain.

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


SEUIL_FENETRE_VECTORISEE = 20_000  # cellules candidates d'une géométrie : au-delà, rastérisation GDAL
LOT_CENTRES = 2_000_000  # centres de cellules testés par lot (mémoire bornée)


def _fenetres_geometries(geometries: np.ndarray, grille: Grille) -> np.ndarray:
    """(ligne début, ligne fin, colonne début, colonne fin) de l'emprise de chaque géométrie, dans la grille."""
    r, x0, y1 = grille.resolution, grille.x_min, grille.y_max
    bornes = shapely.bounds(geometries)
    col0 = np.clip(np.floor((bornes[:, 0] - x0) / r), 0, grille.largeur)
    col1 = np.clip(np.ceil((bornes[:, 2] - x0) / r), 0, grille.largeur)
    lig0 = np.clip(np.floor((y1 - bornes[:, 3]) / r), 0, grille.hauteur)
    lig1 = np.clip(np.ceil((y1 - bornes[:, 1]) / r), 0, grille.hauteur)
    return np.stack([lig0, lig1, col0, col1], axis=1).astype(np.int64)


def _cellules_par_centres(geometries: np.ndarray, fenetres: np.ndarray, grille: Grille,
                          touchees: bool = False) -> list[np.ndarray]:
    """Cellules (indices à plat, ordre des lignes) dont le centre est dans chaque géométrie — ou, avec
    ``touchees``, dont l'intérieur rencontre la géométrie (comme ``all_touched`` de GDAL) : toutes les cellules
    des fenêtres testées d'un coup (shapely, géométries préparées), par lots. ``None`` pour une géométrie dont
    un centre (ou une cellule touchée) est exactement sur son bord : GDAL en décide (:func:`_rasteriser_geometrie`)."""
    hauteurs = np.maximum(fenetres[:, 1] - fenetres[:, 0], 0)
    largeurs = np.maximum(fenetres[:, 3] - fenetres[:, 2], 0)
    tailles = hauteurs * largeurs
    shapely.prepare(geometries)
    r, resultats, debut = grille.resolution, [], 0
    while debut < len(geometries):
        fin = debut + max(1, int(np.searchsorted(np.cumsum(tailles[debut:]), LOT_CENTRES, side="right")))
        n = tailles[debut:fin]
        numero = np.repeat(np.arange(debut, fin), n)
        rang = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        ligne = fenetres[numero, 0] + rang // np.maximum(largeurs[numero], 1)
        colonne = fenetres[numero, 2] + rang % np.maximum(largeurs[numero], 1)
        x, y = grille.x_min + colonne * r, grille.y_max - ligne * r  # coin haut-gauche
        if touchees:
            boites = shapely.box(x, y - r, x + r, y)
            bord = shapely.touches(geometries[numero], boites)
            dedans = shapely.intersects(geometries[numero], boites) & ~bord
        else:
            dedans = shapely.contains_xy(geometries[numero], x + 0.5 * r, y - 0.5 * r)
            bord = ~dedans & shapely.intersects_xy(geometries[numero], x + 0.5 * r, y - 0.5 * r)
        cellules = (ligne * grille.largeur + colonne)[dedans]
        bornes = np.searchsorted(numero[dedans], np.arange(debut, fin + 1))
        douteuses = set(np.unique(numero[bord]).tolist())  # centre ou cellule sur le bord : règle de GDAL
        resultats.extend(None if i in douteuses else cellules[a:b]
                         for i, a, b in zip(range(debut, fin), bornes[:-1], bornes[1:]))
        debut = fin
    return resultats


def _rasteriser_nouvelles(geometries: np.ndarray, grille: Grille, tout_touche_si_vide: bool) -> list[np.ndarray]:
    """Cellules de chaque géométrie (non vide) : cellules testées en bloc pour les petites fenêtres, GDAL pour
    les grandes ; une géométrie qui ne couvre aucun centre prend les cellules qu'elle touche."""
    fenetres = _fenetres_geometries(geometries, grille)
    tailles = np.maximum(fenetres[:, 1] - fenetres[:, 0], 0) * np.maximum(fenetres[:, 3] - fenetres[:, 2], 0)
    petites = np.flatnonzero(tailles <= SEUIL_FENETRE_VECTORISEE)
    trouvees: list = [None] * len(geometries)
    for i, cellules in zip(petites, _cellules_par_centres(geometries[petites], fenetres[petites], grille)):
        trouvees[i] = cellules
    if tout_touche_si_vide:
        sans_centre = np.array([i for i in petites if trouvees[i] is not None and not trouvees[i].size
                                and tailles[i]], dtype=np.int64)
        for i, cellules in zip(sans_centre, _cellules_par_centres(geometries[sans_centre], fenetres[sans_centre],
                                                                   grille, touchees=True)):
            trouvees[i] = cellules
    for i, geometrie in enumerate(geometries):
        if trouvees[i] is None:
            trouvees[i] = _rasteriser_geometrie(geometrie, grille, tout_touche_si_vide)
    return trouvees


def indexer_cellules_geometries(geometries, grille: Grille, tout_touche_si_vide: bool = True
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Paires (n° de géométrie, indice de cellule à plat) des cellules dont le centre est dans chaque
    géométrie (Lambert-93), géométries superposées comprises.

    Sans boucle sur les cellules ni appel GDAL par petite géométrie : les centres des cellules de l'emprise
    de chaque géométrie sont testés en bloc (:func:`_cellules_par_centres`) ; une géométrie trop petite pour
    couvrir un centre de cellule prend les cellules qu'elle touche. Les cellules d'une géométrie déjà vue
    sur la même grille sont relues en mémoire (mêmes indices).
    """
    geometries = np.asarray(geometries, dtype=object)
    if not len(geometries):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    vides = shapely.is_missing(geometries)
    vides[~vides] = shapely.is_empty(geometries[~vides])
    cles = shapely.to_wkb(geometries)
    regle = bool(tout_touche_si_vide)
    par_geometrie = [None if vides[i] else _CELLULES_GEOMETRIES.get((cles[i], grille, regle))
                     for i in range(len(geometries))]
    nouvelles = [i for i, c in enumerate(par_geometrie) if c is None and not vides[i]]
    if nouvelles:
        nouvelles_geom = shapely.from_wkb(cles[nouvelles])  # copies : la préparation ne touche pas l'appelant
        for i, cellules in zip(nouvelles, _rasteriser_nouvelles(nouvelles_geom, grille, regle)):
            par_geometrie[i] = cellules.astype(np.int64)
            _CELLULES_GEOMETRIES[(cles[i], grille, regle)] = par_geometrie[i]
        while len(_CELLULES_GEOMETRIES) > TAILLE_CACHE_CELLULES:
            _CELLULES_GEOMETRIES.pop(next(iter(_CELLULES_GEOMETRIES)))
    gardees = [(i, c) for i, c in enumerate(par_geometrie) if c is not None and c.size]
    if not gardees:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    numeros = np.concatenate([np.full(c.size, i, dtype=np.int64) for i, c in gardees])
    return numeros, np.concatenate([c for _, c in gardees]).astype(np.int64, copy=False)


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
