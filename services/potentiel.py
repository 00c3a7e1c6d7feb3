"""Potentiel de désimperméabilisation d'une commune (issue 15, partie 1) : parcelles, gisement et chaleur tirés des
priorités stockées (:mod:`services.priorites`), contraintes croisées avec les couches de critères, score de
:mod:`indicateurs.potentiel`.

Les couches de critères (sols, nappe, sites pollués, captages, cavités) sont lues dans le dossier de données
(``desimper importer sol|nappe|sites_pollues|captages|cavites``, ou la démonstration) par
:func:`lire_couches_criteres`, sauf si l'appelant les passe ; une couche absente n'est pas une erreur : le score
repose sur les autres critères et sa confiance le dit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine

from donnees.config import dossier_donnees
from donnees.referentiel import couche_presente, lire_couche, lire_territoire
from donnees.schemas import COUCHES_CRITERES_IMPORTABLES
from indicateurs.parametres import lire_parametres
from donnees.geometrie import CRS_CALCUL, en_lambert93, en_wgs84
from donnees.format import formater_nombre
from indicateurs.potentiel import (CLASSES_POTENTIEL, agreger_potentiel_ilots, calculer_potentiel, croiser_criteres,
                                   grouper_ilots, lire_regles_potentiel)
from indicateurs.priorites import calculer_anomalie_parcelles
from services.priorites import lire_couche_communes, lire_priorites_commune


def relever_anomalie_parcelles(parcelles, chaleur, scenario: str = "realisees") -> np.ndarray:
    """Anomalie de chaleur moyenne (°C) de chaque parcelle, lue dans la seule fenêtre de la grille T_air qui couvre
    les parcelles (pas la grille entière : un département en a 113 M cellules) ; NaN hors de la grille."""
    parcelles = en_lambert93(parcelles)
    t = chaleur.grille.transform
    hauteur, largeur = chaleur.t_air[scenario].shape
    xmin, ymin, xmax, ymax = parcelles.total_bounds
    col0, col1 = max(0, math.floor((xmin - t.c) / t.a) - 1), min(largeur, math.ceil((xmax - t.c) / t.a) + 1)
    lig0, lig1 = max(0, math.floor((ymax - t.f) / t.e) - 1), min(hauteur, math.ceil((ymin - t.f) / t.e) + 1)
    if col0 >= col1 or lig0 >= lig1:
        return np.full(len(parcelles), np.nan)
    fenetre = (np.asarray(chaleur.t_air[scenario][lig0:lig1, col0:col1], dtype=np.float64)
               - float(chaleur.parametres.t_ref_c))
    return calculer_anomalie_parcelles(parcelles, fenetre, t @ Affine.translation(col0, lig0))


COUCHES_STOCKEES = COUCHES_CRITERES_IMPORTABLES  # sol, nappe, sites_pollues, captages, cavites


def lire_couches_criteres(dossier: Path | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Couches de critères stockées dans le dossier de données (WGS84, validées) : celles qui manquent sont
    simplement absentes du dictionnaire (la confiance du score baisse) ; une couche vide (rien de recensé) est
    présente."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    return {nom: lire_couche(nom, dossier) for nom in COUCHES_STOCKEES if couche_presente(nom, dossier)}


def calculer_potentiel_commune(code: str, dossier: Path | None = None,
                               couches: Mapping[str, object] | None = None,
                               regles: Mapping[str, float] | None = None, modeles=None) -> pd.DataFrame | None:
    """Potentiel de chaque parcelle de la commune ``code`` (colonnes de
    :data:`indicateurs.potentiel.COLONNES_POTENTIEL`), ou ``None`` si elle n'a pas de parcelle.

    ``couches`` : couches de critères disponibles (``sol``, ``nappe``, ``sites_pollues``, ``captages``,
    ``cavites`` : GeoDataFrames), sinon celles du dossier (:func:`lire_couches_criteres` ; ``{}`` : aucune) ;
    ``regles`` : règles du score, sinon ``potentiel.csv`` surchargé par la clé
    ``potentiel`` de ``territoire.json`` ; ``modeles`` : modèles du territoire
    (:func:`services.modeles.calculer_modeles_territoire`, lus en cache s'ils ne sont pas fournis) pour l'anomalie
    de chaleur des parcelles (scénario des opérations réalisées)."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    territoire = lire_territoire(dossier)
    regles = regles or lire_regles_potentiel(territoire.get("potentiel"))
    priorites = lire_priorites_commune(code, dossier)
    if priorites is None or priorites.empty:
        return None
    couches = dict(lire_couches_criteres(dossier) if couches is None else couches)
    disponibles = set(couches)
    criteres = priorites[["id", "code_insee", "surface_parcelle", "surface_impermeable_non_batie_parcelle"]].copy()
    parcelles = lire_couche_communes("parcelles", dossier, [code])
    parcelles = parcelles.set_index("id").loc[criteres["id"]].reset_index()  # même ordre que les priorités
    if couche_presente("occupation", dossier):
        disponibles.add("occupation")
        if modeles is None:
            from services.modeles import calculer_modeles_territoire

            modeles = calculer_modeles_territoire(dossier)
    if modeles is not None:
        criteres["anomalie_chaleur_parcelle"] = relever_anomalie_parcelles(parcelles, modeles.chaleur)
        if criteres["anomalie_chaleur_parcelle"].notna().any():
            disponibles.add("chaleur")
    if couches:
        criteres = criteres.merge(croiser_criteres(parcelles, couches), on="id", how="left")
    uhi_max = float(lire_parametres(territoire.get("parametres"))["uhi_max_c"])
    potentiel = calculer_potentiel(criteres, disponibles, regles, uhi_max)
    for colonne in ("surface_parcelle", "surface_impermeable_non_batie_parcelle"):
        potentiel[colonne] = criteres[colonne].to_numpy(float)
    return potentiel


def calculer_potentiel_territoire(dossier: Path | None = None, couches: Mapping[str, object] | None = None,
                                  regles: Mapping[str, float] | None = None, modeles=None,
                                  codes: list[str] | None = None) -> pd.DataFrame:
    """Potentiel de toutes les parcelles du territoire (ou des communes ``codes``), commune par commune
    (:func:`calculer_potentiel_commune`) : modèles, règles et couches de critères (passées, sinon celles du dossier)
    lus une fois."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    territoire = lire_territoire(dossier)
    regles = regles or lire_regles_potentiel(territoire.get("potentiel"))
    if modeles is None and couche_presente("occupation", dossier):
        from services.modeles import calculer_modeles_territoire

        modeles = calculer_modeles_territoire(dossier)
    codes = codes if codes is not None else [str(c) for c in territoire["codes_insee"]]
    couches = lire_couches_criteres(dossier) if couches is None else couches
    morceaux = [calculer_potentiel_commune(code, dossier, couches, regles, modeles) for code in codes]
    morceaux = [m for m in morceaux if m is not None and len(m)]
    return pd.concat(morceaux, ignore_index=True) if morceaux else None


def calculer_potentiel_ilots(code: str, potentiel: pd.DataFrame | None, dossier: Path | None = None,
                             regles: Mapping[str, float] | None = None, tolerance_simplification_m: float = 1.0):
    """Potentiel des îlots urbains de la commune ``code`` (:func:`indicateurs.potentiel.agreger_potentiel_ilots`)
    à partir de celui de ses parcelles (:func:`calculer_potentiel_commune`) : GeoDataFrame WGS84, une ligne par
    îlot (identifiant ``<code INSEE>-I<rang>``), contour = union des parcelles simplifiée pour la carte ; ``None``
    sans parcelle."""
    if potentiel is None or potentiel.empty:
        return None
    dossier = Path(dossier) if dossier else dossier_donnees()
    regles = regles or lire_regles_potentiel(lire_territoire(dossier).get("potentiel"))
    parcelles = lire_couche_communes("parcelles", dossier, [code])
    parcelles = en_lambert93(parcelles.set_index("id").loc[potentiel["id"]].reset_index())
    numeros = grouper_ilots(parcelles, regles["distance_ilot_m"])
    ilots = agreger_potentiel_ilots(potentiel, potentiel, numeros, regles)
    # Contour : union des parcelles dilatées de la moitié de la distance des îlots puis érodées d'autant (les petits
    # écarts de numérisation se ferment), simplifiée pour la carte et réparée si la simplification l'a abîmée.
    demi = float(regles["distance_ilot_m"]) / 2
    dilatees = pd.Series(shapely.buffer(parcelles.geometry.to_numpy(), demi, quad_segs=2), index=parcelles.index)
    unions = dilatees.groupby(numeros).agg(lambda g: shapely.union_all(g.to_numpy())).to_numpy()
    contours = shapely.simplify(shapely.buffer(unions, -demi, quad_segs=2), tolerance_simplification_m)
    contours = np.where(shapely.is_valid(contours), contours, shapely.make_valid(contours))
    ilots["ilot"] = [f"{code}-I{n + 1:05d}" for n in ilots["ilot"]]
    table = gpd.GeoDataFrame(ilots, geometry=contours, crs=CRS_CALCUL)
    return en_wgs84(table)


def decrire_potentiel(potentiel: pd.DataFrame | None, nombre_montrees: int, ilots: pd.DataFrame | None = None) -> str:
    """Phrase française sous la carte : parcelles (ou îlots, si ``ilots`` est donné) par classe, ce qui est montré,
    confiance et couches manquantes (celles des parcelles)."""
    if potentiel is None or potentiel.empty:
        return "Aucune parcelle dans cette commune : pas de potentiel à montrer."
    unites = potentiel if ilots is None else ilots
    nom, exclues = ("parcelles", "les parcelles exclues") if ilots is None else ("îlots", "les îlots exclus")
    comptes = unites["classe_potentiel"].value_counts()
    classes = ", ".join(f"{formater_nombre(int(comptes[c]))} {CLASSES_POTENTIEL[c].split(' (')[0]}"
                        for c in CLASSES_POTENTIEL if c in comptes.index)
    confiance = float(potentiel["confiance_potentiel"].iloc[0])
    manquantes = str(potentiel["couches_manquantes"].iloc[0])
    debut = "" if ilots is None else f"{formater_nombre(len(potentiel))} parcelles regroupées en "
    texte = (f"{debut}{formater_nombre(len(unites))} {nom} : {classes}. Carte : les "
             f"{formater_nombre(nombre_montrees)} plus forts scores de chaque classe et {exclues}. "
             f"Confiance {formater_nombre(100 * confiance, 0, '%')} des critères")
    return texte + (f" ; couches manquantes : {manquantes}." if manquantes else ".")
