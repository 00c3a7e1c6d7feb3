"""Priorités : où désimperméabiliser ensuite (CONCEPTION §5, « Priorités »).

Par parcelle cadastrale :

1. **Surfaces imperméables** (:func:`calculer_impermeabilite_parcelles`) : aire exacte de l'intersection
   parcelle ∩ polygones d'occupation du sol de couvert ``CS1.1.1*``, en Lambert-93, séparée en bâti
   (``CS1.1.1.1``) et non bâti (le reste : voiries, parkings, places, cours). Calcul vectoriel :
   paires candidates par un arbre STR (prédicat ``intersects`` sur la parcelle rétractée de
   ``tolerance_contact_m`` pour écarter les simples contacts de bord), polygone entièrement contenu →
   son aire, sinon aire de ``shapely.intersection`` ; sommes par ``np.bincount``. Précision : aire exacte
   à l'arrondi près ; les bandes communes plus fines que la tolérance (au plus tolérance × périmètre
   m² par parcelle) sont ignorées. Si des polygones d'occupation se recouvrent (ce que l'OCS GE exclut),
   la surface est plafonnée à celle de la parcelle.
2. **Anomalie de chaleur moyenne** (:func:`calculer_anomalie_parcelles`, facultative) : moyenne des
   cellules de la grille (tableau ``anomalie`` en °C + transformation affine en EPSG:2154) dont le centre
   tombe dans la parcelle (``rasterio.features.rasterize`` des indices de parcelle + ``np.bincount``) ;
   une parcelle plus petite qu'une cellule prend la valeur de la cellule de son point intérieur.
3. **Score** (:func:`calculer_priorites`), sur 100, somme pondérée de composantes normalisées entre 0 et 1
   (poids et références dans ``indicateurs/parametres/priorites.csv``, avec leurs justifications) ::

       n_surface = min(1, S_non_bâtie / surface_reference_m2)
       n_part    = S_imperméable / S_parcelle
       n_chaleur = min(1, max(0, anomalie / uhi_max_c))
       n_public  = 1 si la parcelle est publique (liste fournie), 0 sinon
       score     = 100 × Σ_k poids_k · n_k / Σ_k poids_k   (composantes connues seulement)

   Une composante inconnue pour une parcelle (pas de grille de chaleur, parcelle hors grille, pas de
   liste de parcelles publiques) est écartée et les poids restants renormalisés. Sont *candidates* les
   parcelles d'au moins ``surface_candidate_min_m2`` m² imperméables non bâtis qu'aucune opération du
   registre ne cite ; elles sont classées par commune (rang 1 = score le plus haut).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from affine import Affine
from rasterio.features import rasterize

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_CALCUL, en_lambert93
from donnees.nomenclatures import PREFIXE_IMPERMEABLE
from indicateurs.communs import POURCENT, diviser, lire_parametres_defaut
from indicateurs.parametres import lire_table_parametres
from indicateurs.surfaces import CODE_CS_BATI

FICHIER_PRIORITES = Path(__file__).resolve().parent / "parametres" / "priorites.csv"
COMPOSANTES = {"surface": "poids_surface_non_batie", "part": "poids_part_impermeable", "chaleur": "poids_chaleur",
               "public": "poids_public"}
COLONNES_PRIORITES = ["id", "code_insee", "surface_parcelle", "surface_impermeable_parcelle",
                      "surface_impermeable_non_batie_parcelle", "part_impermeable_parcelle",
                      "anomalie_chaleur_parcelle", "proprietaire_public", "deja_traitee", "parcelle_candidate",
                      "score_priorite", "rang_priorite"]


def lire_parametres_priorites(surcharges: dict | None = None) -> dict[str, float]:
    """Paramètres du score (``priorites.csv``), éventuellement surchargés (bornes vérifiées)."""
    table = lire_table_parametres(FICHIER_PRIORITES)
    valeurs = table["valeur"].to_dict()
    for code, valeur in (surcharges or {}).items():
        if code not in table.index:
            raise ErreurDonnees(f"Paramètre de priorité inconnu : « {code} » (connus : {', '.join(table.index)}).",
                                "priorites", code)
        if not table.at[code, "minimum"] <= float(valeur) <= table.at[code, "maximum"]:
            raise ErreurDonnees(f"Paramètre de priorité « {code} » = {valeur} hors des bornes "
                                f"[{table.at[code, 'minimum']} ; {table.at[code, 'maximum']}].", "priorites", code)
        valeurs[code] = float(valeur)
    return valeurs


def _geometries_lambert93(table) -> np.ndarray:
    if table.crs is None:
        raise ErreurDonnees("Couche sans système de coordonnées (attendu EPSG:4326 ou EPSG:2154).",
                            "priorites", "geometry")
    geometries = en_lambert93(table.geometry)
    return np.asarray(geometries.values, dtype=object)


def calculer_impermeabilite_parcelles(parcelles, occupation, tolerance_m: float | None = None) -> pd.DataFrame:
    """Surfaces imperméables de chaque parcelle (m², Lambert-93), par intersection exacte.

    ``parcelles`` : GeoDataFrame (``id``, ``commune``, géométrie) ; ``occupation`` : GeoDataFrame
    (``code_cs``, géométrie). Colonnes : ``id``, ``code_insee``, ``surface_parcelle``,
    ``surface_impermeable_parcelle``, ``surface_impermeable_non_batie_parcelle`` (méthode : docstring du
    module). À calculer une fois par couple de fichiers (c'est l'étape coûteuse).
    """
    if tolerance_m is None:
        tolerance_m = lire_parametres_priorites()["tolerance_contact_m"]
    geometries = _geometries_lambert93(parcelles)
    surface = shapely.area(geometries)
    codes = occupation["code_cs"].astype(str)
    impermeables = occupation.loc[codes.str.startswith(PREFIXE_IMPERMEABLE).to_numpy(bool)]
    occupees = _geometries_lambert93(impermeables) if len(impermeables) else np.empty(0, dtype=object)
    batie = impermeables["code_cs"].astype(str).eq(CODE_CS_BATI).to_numpy(bool)
    totale = np.zeros(len(geometries))
    non_batie = np.zeros(len(geometries))
    if len(occupees) and len(geometries):
        arbre = shapely.STRtree(occupees)
        retractees = shapely.buffer(geometries, -tolerance_m, join_style="mitre") if tolerance_m > 0 else geometries
        i_parcelle, i_occupation = arbre.query(retractees, predicate="intersects")
        shapely.prepare(geometries)
        contenue = shapely.contains(geometries[i_parcelle], occupees[i_occupation])
        aires = shapely.area(occupees[i_occupation])
        partielles = ~contenue
        aires[partielles] = shapely.area(shapely.intersection(geometries[i_parcelle[partielles]],
                                                              occupees[i_occupation[partielles]]))
        shapely.destroy_prepared(geometries)
        totale = np.bincount(i_parcelle, weights=aires, minlength=len(geometries))
        non_batie = np.bincount(i_parcelle, weights=np.where(batie[i_occupation], 0.0, aires),
                                minlength=len(geometries))
    plafond = np.minimum(totale, surface)
    non_batie = np.minimum(non_batie, plafond)
    return pd.DataFrame({"id": parcelles["id"].astype(str).to_numpy(),
                         "code_insee": parcelles["commune"].astype(str).to_numpy(),
                         "surface_parcelle": surface,
                         "surface_impermeable_parcelle": plafond,
                         "surface_impermeable_non_batie_parcelle": non_batie})


def calculer_anomalie_parcelles(parcelles, anomalie: np.ndarray, transformation: Affine) -> np.ndarray:
    """Anomalie de chaleur moyenne par parcelle (°C), ou NaN hors de la grille.

    ``anomalie`` : tableau 2D (°C, NaN = sans valeur) ; ``transformation`` : transformation affine de la
    grille en EPSG:2154. Moyenne des cellules dont le centre est dans la parcelle ; parcelle sans cellule
    → cellule de son point intérieur.
    """
    geometries = _geometries_lambert93(parcelles)
    anomalie = np.asarray(anomalie, dtype=float)
    hauteur, largeur = anomalie.shape
    n = len(geometries)
    sommes = np.zeros(n + 1)
    comptes = np.zeros(n + 1)
    if n:
        gauche, haut = transformation @ (0, 0)
        droite, bas = transformation @ (largeur, hauteur)
        emprise = shapely.box(min(gauche, droite), min(haut, bas), max(gauche, droite), max(haut, bas))
        dedans = np.nonzero(shapely.intersects(geometries, emprise))[0]
        if len(dedans):
            indices = rasterize(zip(geometries[dedans], (dedans + 1).tolist()), out_shape=anomalie.shape,
                                transform=transformation, fill=0, dtype="int32", all_touched=False)
            valides = (indices > 0) & np.isfinite(anomalie)
            sommes = np.bincount(indices[valides], weights=anomalie[valides], minlength=n + 1)
            comptes = np.bincount(indices[valides], minlength=n + 1).astype(float)
    moyenne = diviser(sommes[1:], comptes[1:])
    sans_cellule = np.nonzero(comptes[1:] == 0)[0]
    if len(sans_cellule):
        points = shapely.point_on_surface(geometries[sans_cellule])
        colonnes, lignes = ~transformation @ (shapely.get_x(points), shapely.get_y(points))
        colonnes = np.floor(colonnes).astype(np.int64)
        lignes = np.floor(lignes).astype(np.int64)
        dans = (lignes >= 0) & (lignes < hauteur) & (colonnes >= 0) & (colonnes < largeur)
        valeurs = np.full(len(sans_cellule), np.nan)
        valeurs[dans] = anomalie[lignes[dans], colonnes[dans]]
        moyenne[sans_cellule] = valeurs
    return moyenne


def _parcelles_citees(operations: pd.DataFrame | None) -> set[str]:
    if operations is None or "parcelles" not in operations.columns or operations.empty:
        return set()
    return set(operations["parcelles"].explode().dropna().astype(str))


def calculer_score_priorite(composantes: pd.DataFrame, poids: dict[str, float]) -> np.ndarray:
    """Score sur 100 = 100 × Σ_k poids_k · n_k / Σ_k poids_k sur les composantes connues (non NaN).

    ``composantes`` : une colonne par composante (``surface``, ``part``, ``chaleur``, ``public``),
    valeurs entre 0 et 1 ; ``poids`` : poids par composante. NaN si aucune composante n'est connue.
    """
    valeurs = composantes[list(poids)].to_numpy(float)
    w = np.array([poids[k] for k in poids], dtype=float)
    connues = ~np.isnan(valeurs)
    numerateur = np.where(connues, valeurs, 0.0) @ w
    denominateur = connues.astype(float) @ w
    return diviser(numerateur, denominateur) * POURCENT


def calculer_priorites(parcelles, occupation=None, impermeabilite: pd.DataFrame | None = None,
                       anomalie: np.ndarray | None = None, transformation: Affine | None = None,
                       parcelles_publiques: Iterable[str] | None = None, operations: pd.DataFrame | None = None,
                       parametres=None, parametres_priorites: dict | None = None) -> pd.DataFrame:
    """Indicateurs et score de priorité par parcelle, classés par commune.

    ``impermeabilite`` : résultat de :func:`calculer_impermeabilite_parcelles` (sinon calculé depuis
    ``occupation``) ; ``anomalie`` + ``transformation`` : grille d'anomalie de chaleur (°C, EPSG:2154),
    facultative ; ``parcelles_publiques`` : identifiants des parcelles publiques (ex. DGFiP, parcelles des
    personnes morales), facultatif ; ``operations`` : registre (colonne ``parcelles``) pour écarter les
    parcelles déjà traitées ; ``parametres`` : paramètres de modèle (``uhi_max_c``) ;
    ``parametres_priorites`` : surcharges de ``priorites.csv``.
    Colonnes : :data:`COLONNES_PRIORITES` ; tri par commune puis rang (non candidates à la fin).
    Formule et méthode : docstring du module.
    """
    reglages = lire_parametres_priorites(parametres_priorites)
    modele = lire_parametres_defaut(parametres)
    if parcelles.crs is not None and not parcelles.crs.equals(CRS_CALCUL):
        parcelles = en_lambert93(parcelles[["id", "commune", parcelles.geometry.name]])  # une seule fois
    if impermeabilite is None:
        if occupation is None:
            raise ErreurDonnees("Priorités : donnez l'occupation du sol ou les surfaces imperméables des parcelles.",
                                "priorites", "occupation")
        impermeabilite = calculer_impermeabilite_parcelles(parcelles, occupation, reglages["tolerance_contact_m"])
    table = (pd.DataFrame({"id": parcelles["id"].astype(str).to_numpy()})
             .merge(impermeabilite, on="id", how="left", validate="one_to_one"))
    table["part_impermeable_parcelle"] = diviser(table["surface_impermeable_parcelle"],
                                                 table["surface_parcelle"]) * POURCENT
    if anomalie is not None:
        if transformation is None:
            raise ErreurDonnees("Priorités : la grille d'anomalie de chaleur doit venir avec sa transformation "
                                "affine (EPSG:2154).", "priorites", "transformation")
        table["anomalie_chaleur_parcelle"] = calculer_anomalie_parcelles(parcelles, anomalie, transformation)
    else:
        table["anomalie_chaleur_parcelle"] = np.nan
    if parcelles_publiques is not None:
        table["proprietaire_public"] = pd.array(table["id"].isin(set(map(str, parcelles_publiques))),
                                                dtype="boolean")
    else:
        table["proprietaire_public"] = pd.array([pd.NA] * len(table), dtype="boolean")
    table["deja_traitee"] = table["id"].isin(_parcelles_citees(operations)).to_numpy(bool)

    composantes = pd.DataFrame({
        "surface": np.minimum(1.0, table["surface_impermeable_non_batie_parcelle"].to_numpy(float)
                              / reglages["surface_reference_m2"]),
        "part": table["part_impermeable_parcelle"].to_numpy(float) / POURCENT,
        "chaleur": np.clip(diviser(table["anomalie_chaleur_parcelle"].to_numpy(float), modele["uhi_max_c"]), 0, 1),
        "public": table["proprietaire_public"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
    })
    table["score_priorite"] = calculer_score_priorite(composantes,
                                                      {k: reglages[c] for k, c in COMPOSANTES.items()})
    table["parcelle_candidate"] = ((table["surface_impermeable_non_batie_parcelle"].to_numpy(float)
                                    >= reglages["surface_candidate_min_m2"]) & ~table["deja_traitee"].to_numpy(bool))
    table = table.sort_values(["code_insee", "parcelle_candidate", "score_priorite",
                               "surface_impermeable_non_batie_parcelle", "id"],
                              ascending=[True, False, False, False, True], na_position="last", ignore_index=True)
    rang = (table.groupby("code_insee").cumcount() + 1).astype("Int64")
    table["rang_priorite"] = rang.where(table["parcelle_candidate"])
    return table[COLONNES_PRIORITES]


def classer_parcelles(priorites: pd.DataFrame, code_insee: str | None = None,
                      nombre: int | None = None) -> pd.DataFrame:
    """Parcelles candidates classées (rang croissant), pour une commune ou toutes, limitées à ``nombre``
    par commune."""
    table = priorites[priorites["parcelle_candidate"].to_numpy(bool)]
    if code_insee is not None:
        table = table[table["code_insee"].eq(str(code_insee)).to_numpy(bool)]
    if nombre is not None:
        table = table[table["rang_priorite"].to_numpy(dtype=float, na_value=np.nan) <= nombre]
    return table.sort_values(["code_insee", "rang_priorite"], ignore_index=True)
