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

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from donnees.format import formater_nombre
from indicateurs.communs import CODE_BASSIN, diviser, identifiants_operations
from indicateurs.grille import OccupationGrille, definir_grille, indexer_cellules_geometries, projeter_lambert93
from indicateurs.parametres import FICHIER_CHALEUR_SITE, lire_table_parametres

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


# ------------------------------------------------------------------------------------ estimation par site


def lire_facteur_calibrage(chemin: Path = FICHIER_CHALEUR_SITE) -> float:
    """Facteur k de l'estimation par site (``chaleur_site.csv``, ligne ``facteur_reponse_locale``) : médiane,
    sur les opérations réalisées de la démonstration, du rapport ΔT_grille / ΔT_noyau (sans unité)."""
    return float(lire_table_parametres(chemin).at["facteur_reponse_locale", "valeur"])


def construire_noyau_site(parametres) -> np.ndarray:
    """Noyau de brassage du modèle sur grille (exponentiel normalisé de rayon r_mix, coupé à 5 × r_mix), à la
    résolution de la grille du territoire (``parametres`` : :func:`indicateurs.parametres.lire_parametres`)."""
    from indicateurs.chaleur import FACTEUR_COUPURE_NOYAU, construire_noyau_exponentiel, distance_en_cellules

    r_mix_px = distance_en_cellules(parametres["r_mix_m"], parametres["resolution_grille_m"])
    return construire_noyau_exponentiel(r_mix_px, FACTEUR_COUPURE_NOYAU * r_mix_px)


def reperer_cellules_locales(geometrie, centres_x: np.ndarray, centres_y: np.ndarray, resolution_m: float
                             ) -> np.ndarray:
    """Masque des cellules (centres donnés) dont le centre est dans ``geometrie`` ; une géométrie trop petite
    pour couvrir un centre prend les cellules qu'elle touche (même règle que
    :func:`indicateurs.grille.indexer_cellules_geometries`)."""
    shapely.prepare(geometrie)
    dedans = shapely.contains_xy(geometrie, centres_x, centres_y)
    if not dedans.any():
        demi = resolution_m / 2
        x0, y0, x1, y1 = shapely.bounds(geometrie)
        proches = np.flatnonzero((centres_x >= x0 - demi) & (centres_x <= x1 + demi)
                                 & (centres_y >= y0 - demi) & (centres_y <= y1 + demi))
        cellules = shapely.box(centres_x[proches] - demi, centres_y[proches] - demi,
                               centres_x[proches] + demi, centres_y[proches] + demi)
        dedans[proches[shapely.intersects(geometrie, cellules)]] = True
    return dedans


def calculer_reponse_noyau(geometries, delta_cc, noyau: np.ndarray, resolution_m: float,
                           largeur_anneau_m: float) -> tuple[float, int]:
    """Réponse locale d'une opération au brassage de l'air, sans grille du territoire :
    R = moyenne, sur les cellules de l'emprise et de son anneau de ``largeur_anneau_m``, de Σ_j K(i − j)·ΔCC_j
    (K : noyau de brassage normalisé ; ΔCC_j : variation de CC de la zone qui couvre la cellule j, la
    dernière zone l'emporte où elles se superposent).

    C'est la baisse de (1 − HM) du modèle sur grille quand HM = CC (sans effet parc), loin des bords ; le
    ΔT_air de la grille sur l'emprise + anneau vaut −UHI_max · R. Renvoie (R, nombre de cellules moyennées).
    ``geometries`` : zones de l'opération en Lambert-93 ; ``delta_cc`` : ΔCC par zone.
    """
    geometries = np.asarray(geometries, dtype=object)
    tampon = shapely.buffer(shapely.union_all(geometries), float(largeur_anneau_m))
    x0, y0, x1, y1 = tampon.bounds
    grille = definir_grille((x0 - resolution_m, y0 - resolution_m, x1 + resolution_m, y1 + resolution_m),
                            resolution_m)
    h, w = grille.forme
    colonnes, lignes = np.meshgrid(np.arange(w), np.arange(h))
    centres_x = (grille.x_min + (colonnes + 0.5) * resolution_m).ravel()
    centres_y = (grille.y_max - (lignes + 0.5) * resolution_m).ravel()
    source = np.zeros(h * w)
    emprise = np.zeros(h * w, dtype=bool)
    for geometrie, delta in zip(geometries, np.asarray(delta_cc, dtype=float)):
        dedans = reperer_cellules_locales(geometrie, centres_x, centres_y, resolution_m)
        source[dedans] = delta
        emprise |= dedans
    cibles = emprise | reperer_cellules_locales(tampon, centres_x, centres_y, resolution_m)
    centre = noyau.shape[0] // 2
    coupe = noyau[max(centre - h + 1, 0):centre + h, max(centre - w + 1, 0):centre + w].astype(np.float64)
    from scipy.signal import fftconvolve  # importé ici : 1,6 s au démarrage de chaque processus serveur sinon

    reponse = fftconvolve(source.reshape(h, w), coupe, mode="same").ravel()
    return (float(reponse[cibles].mean()) if cibles.any() else math.nan), int(cibles.sum())


_REPONSES: dict[tuple, tuple[float, int]] = {}  # réponse R et cellules par opération (zones, ΔCC, réglages)
TAILLE_CACHE_REPONSES = 20_000
COLONNES_SITE = ["operation_id", "delta_cc", "reponse_noyau", "cellules_site", "rafraichissement_site_c"]


def estimer_rafraichissement_operations(zones, parametres, facteur: float | None = None,
                                        delta_cc=None) -> pd.DataFrame:
    """Rafraîchissement local estimé de chaque opération sur son emprise et son anneau de
    ``largeur_anneau_operation_m`` (°C, positif = plus frais), calibré sur le modèle sur grille :

    ΔT_site = k · UHI_max · R,  R = :func:`calculer_reponse_noyau` (ΔCC des zones brassé par le noyau de
    rayon r_mix), k = :func:`lire_facteur_calibrage` (``facteur`` le remplace, pour le calibrage lui-même).

    ``zones`` : ``operation_id``, ``revetement_avant``, ``revetement_apres`` et une géométrie (WGS84 ou
    Lambert-93) ; ``delta_cc`` (facultatif) : ΔCC par zone donné à la place des revêtements. Colonnes :
    :data:`COLONNES_SITE` (``delta_cc`` : ΔCC moyen pondéré par la surface ;
    ``cellules_site`` : cellules de l'emprise et de l'anneau, comme la grille).
    """
    from indicateurs.chaleur import ParametresChaleur, calculer_cc_revetement

    if zones is None or not len(zones):
        return pd.DataFrame(columns=COLONNES_SITE)
    p = ParametresChaleur.depuis_parametres(parametres)
    k = lire_facteur_calibrage() if facteur is None else float(facteur)
    zones = projeter_lambert93(zones)
    presentes = ~(shapely.is_missing(zones.geometry.values) | shapely.is_empty(zones.geometry.values))
    if delta_cc is not None:
        delta_cc = np.asarray(delta_cc, dtype=float)[presentes]
    zones = zones[presentes]  # une zone sans géométrie n'a ni emprise ni anneau
    if not len(zones):
        return pd.DataFrame(columns=COLONNES_SITE)
    if delta_cc is None:
        cc = {code: calculer_cc_revetement(code, p)
              for code in set(zones["revetement_avant"]) | set(zones["revetement_apres"])}
        delta = (zones["revetement_apres"].map(cc) - zones["revetement_avant"].map(cc)).to_numpy(float)
    else:
        delta = np.asarray(delta_cc, dtype=float)
    surfaces = zones.geometry.area.to_numpy(float)
    reglages = (float(parametres["resolution_grille_m"]), float(parametres["largeur_anneau_operation_m"]),
                float(parametres["r_mix_m"]))
    noyau = None
    wkb = shapely.to_wkb(zones.geometry.values, output_dimension=2)
    lignes = []
    for operation, positions in zones.groupby("operation_id", sort=True).indices.items():
        cle = (b"".join(wkb[positions]), tuple(np.round(delta[positions], 12)), reglages)
        if cle not in _REPONSES:
            noyau = construire_noyau_site(parametres) if noyau is None else noyau
            _REPONSES[cle] = calculer_reponse_noyau(zones.geometry.values[positions], delta[positions], noyau,
                                                    reglages[0], reglages[1])
            while len(_REPONSES) > TAILLE_CACHE_REPONSES:
                _REPONSES.pop(next(iter(_REPONSES)))
        reponse, cellules = _REPONSES[cle]
        delta_cc = float(diviser((delta[positions] * surfaces[positions]).sum(), surfaces[positions].sum()))
        lignes.append((operation, delta_cc, reponse, cellules, k * p.uhi_max_c * reponse))
    return pd.DataFrame(lignes, columns=COLONNES_SITE)


def calculer_rafraichissement_emprise(zones, operations, codes, parametres) -> pd.Series:
    """Rafraîchissement local estimé sur l'emprise des opérations et leur anneau (°C, positif = plus frais),
    par commune ``codes`` et pour leur ensemble (``bassin``) : moyenne des ΔT_site de
    :func:`estimer_rafraichissement_operations` pondérée par les cellules de l'emprise et de l'anneau (comme
    le rafraîchissement aux abords de la grille). ``zones`` : zones géographiques des opérations retenues ;
    ``operations`` : ``id`` et ``code_insee``. Commune sans opération → NaN.
    """
    sites = ponderer_sites(estimer_rafraichissement_operations(zones, parametres))
    communes = pd.Series(operations["code_insee"].astype(str).to_numpy(), index=identifiants_operations(operations))
    sites["code_insee"] = sites["operation_id"].map(communes).to_numpy()
    return moyenner_rafraichissement(sites, codes)


def ponderer_sites(sites: pd.DataFrame) -> pd.DataFrame:
    """Par opération (:func:`estimer_rafraichissement_operations`) : ``somme_ponderee`` = ΔT_site × cellules
    (0 sans cellule) et ``cellules``, les deux termes additifs de la moyenne pondérée."""
    cellules = sites["cellules_site"].to_numpy(float)
    ponderee = sites["rafraichissement_site_c"].to_numpy(float) * cellules
    return pd.DataFrame({"operation_id": sites["operation_id"].to_numpy(),
                         "somme_ponderee": np.where(cellules > 0, ponderee, 0.0), "cellules": cellules})


def moyenner_rafraichissement(sommes: pd.DataFrame, codes) -> pd.Series:
    """Moyenne pondérée par les cellules (°C) par commune ``codes`` et pour leur ensemble (``bassin``) :
    Σ somme_ponderee / Σ cellules des lignes de ``sommes`` (``code_insee``, ``somme_ponderee``, ``cellules`` : une
    ligne par opération, ou déjà sommées par groupe). Commune sans ligne ou sans cellule → NaN."""
    codes = [str(c) for c in codes]
    sommes = sommes.groupby("code_insee")[["somme_ponderee", "cellules"]].sum().reindex(codes)
    sommes.loc[CODE_BASSIN] = sommes.sum(axis=0, min_count=1)
    return pd.Series(diviser(sommes["somme_ponderee"].to_numpy(float), sommes["cellules"].to_numpy(float)),
                     index=pd.Index([*codes, CODE_BASSIN], name="territoire"), name="rafraichissement_emprise")


def decrire_estimation_site(parametres) -> str:
    """Ce que mesure l'estimation par site, pour les libellés : « sur l'emprise et son anneau de 100 m, après
    brassage de l'air ; calibré sur le modèle sur grille »."""
    largeur = formater_nombre(float(parametres["largeur_anneau_operation_m"]), 0, "m")
    return f"sur l'emprise et son anneau de {largeur}, après brassage de l'air ; calibré sur le modèle sur grille"


def estimer_chaleur_site(zones: pd.DataFrame, parametres) -> dict:
    """Chaleur d'une opération sans grille du territoire : CC moyen avant et après (:func:`estimer_score_site`)
    et rafraîchissement local calibré (:func:`estimer_rafraichissement_operations`).

    ``zones`` : ``revetement_avant``, ``revetement_apres`` et une géométrie ou ``surface_m2`` (sans
    géométrie, l'opération est prise comme un disque de même surface, au ΔCC moyen). Renvoie ``cc_avant``,
    ``cc_apres``, ``delta_cc``, ``rafraichissement_site_c`` (°C, positif = plus frais), ``delta_t_site_c``
    (°C, son opposé : négatif = rafraîchissement), ``delta_t_sans_brassage_c`` (−ΔCC·UHI_max, l'ancienne
    estimation, sur le site seul avant tout brassage de l'air), ``surface_m2``, ``largeur_anneau_m`` et
    ``libelle`` (:func:`decrire_estimation_site`).
    """
    from indicateurs.chaleur import ParametresChaleur, estimer_score_site

    score = estimer_score_site(zones, ParametresChaleur.depuis_parametres(parametres))
    geographique = isinstance(zones, gpd.GeoDataFrame) and zones.geometry.notna().all()
    if geographique:
        sites = zones.assign(operation_id=0)
    else:
        disque = shapely.Point(0.0, 0.0).buffer(math.sqrt(score["surface_m2"] / math.pi), quad_segs=32)
        sites = gpd.GeoDataFrame({"operation_id": [0], "revetement_avant": [None], "revetement_apres": [None]},
                                 geometry=[disque], crs="EPSG:2154")
    ligne = (estimer_rafraichissement_operations(sites, parametres, delta_cc=None if geographique
                                                 else [score["delta_cc"]]).iloc[0])
    return {"cc_avant": score["cc_avant"], "cc_apres": score["cc_apres"], "delta_cc": score["delta_cc"],
            "rafraichissement_site_c": float(ligne["rafraichissement_site_c"]),
            "delta_t_site_c": -float(ligne["rafraichissement_site_c"]),
            "delta_t_sans_brassage_c": score["delta_t_local_c"], "surface_m2": score["surface_m2"],
            "largeur_anneau_m": float(parametres["largeur_anneau_operation_m"]),
            "libelle": decrire_estimation_site(parametres)}
