"""Outils communs aux indicateurs : filtres, division sûre, préparation des zones.

Conventions (valables pour tous les modules d'``indicateurs``) :

- les surfaces sont en m², calculées en Lambert-93 (EPSG:2154) ;
- une somme sur une sélection vide vaut 0 ; un rapport dont le dénominateur est nul, absent ou qui
  n'est pas fini vaut NaN (jamais ``inf``) : voir :func:`diviser` ;
- les entrées ne sont jamais modifiées : chaque fonction travaille sur des copies ou de nouvelles tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import geopandas as gpd
import numpy as np
import pandas as pd

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import en_lambert93
from donnees.nomenclatures import STATUTS, VALIDATIONS, lire_types_site
from indicateurs.parametres import lire_parametres, lire_parametres_revetements

# Conversions d'unités (pas des paramètres de modèle).
POURCENT = 100.0
MM_PAR_M = 1000.0

CODE_BASSIN = "bassin"
LIBELLE_BASSIN = "Ensemble du bassin"


# --------------------------------------------------------------------------------------- filtres


def _normaliser(valeurs, conversion=str) -> tuple | None:
    if valeurs is None:
        return None
    if isinstance(valeurs, (str, int, np.integer)):
        valeurs = [valeurs]
    return tuple(sorted({conversion(v) for v in valeurs}))


@dataclass(frozen=True)
class Filtres:
    """Sélection d'opérations, appliquée de la même façon par tous les indicateurs.

    Chaque critère vaut ``None`` (pas de filtre) ou une collection de valeurs admises ; une collection
    vide ne retient rien. ``annees`` porte sur l'année de fin des travaux (réelle ou prévue) : une
    opération sans année est écartée dès que ``annees`` est donné. ``communes`` porte sur le code INSEE
    de l'opération et sur les lignes communes des tableaux. L'objet est figé et hachable (cache).

    Les chiffres « réalisés » s'obtiennent avec ``Filtres(statuts=("realisee",))`` ; sans filtre de
    statut, les opérations programmées et en travaux sont comptées aussi.
    """

    annees: tuple[int, ...] | None = None
    types: tuple[str, ...] | None = None
    statuts: tuple[str, ...] | None = None
    validations: tuple[str, ...] | None = None
    communes: tuple[str, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "annees", _normaliser(self.annees, int))
        for nom in ("types", "statuts", "validations", "communes"):
            object.__setattr__(self, nom, _normaliser(getattr(self, nom)))
        for nom, connus in (("types", lire_types_site()), ("statuts", STATUTS), ("validations", VALIDATIONS)):
            inconnus = [v for v in (getattr(self, nom) or ()) if v not in connus]
            if inconnus:
                raise ErreurDonnees(f"Filtre « {nom} » : valeur(s) inconnue(s) {', '.join(inconnus)} "
                                    f"(valeurs admises : {', '.join(connus)}).", "filtres", nom)

    def sans(self, *criteres: str) -> Filtres:
        """Copie des filtres sans les critères nommés (ex. ``filtres.sans("annees")``)."""
        return Filtres(**{f.name: (None if f.name in criteres else getattr(self, f.name))
                          for f in fields(self)})


COLONNES_FILTRES = {"annees": "annee", "types": "type_site", "statuts": "statut",
                    "validations": "validation", "communes": "code_insee"}


def masque_filtres(table: pd.DataFrame, filtres: Filtres | None, ignorer: Iterable[str] = ()) -> np.ndarray:
    """Masque booléen des lignes retenues par ``filtres`` (critères de ``ignorer`` non appliqués)."""
    masque = np.ones(len(table), dtype=bool)
    if filtres is None:
        return masque
    for critere, colonne in COLONNES_FILTRES.items():
        valeurs = getattr(filtres, critere)
        if valeurs is None or critere in ignorer:
            continue
        if colonne not in table.columns:
            raise ErreurDonnees(f"Filtre « {critere} » impossible : colonne « {colonne} » absente.",
                                "filtres", colonne)
        masque &= table[colonne].isin(list(valeurs)).fillna(False).to_numpy(dtype=bool)
    return masque


# -------------------------------------------------------------------------------------- calculs


def diviser(numerateur, denominateur):
    """Rapport ``numerateur / denominateur`` élément par élément.

    Renvoie NaN quand le dénominateur est nul ou absent, ou quand le résultat n'est pas fini (jamais
    ``inf``). Garde l'index d'une ``Series`` reçue en numérateur ; un scalaire donne un ``float``.
    """
    n = np.asarray(numerateur, dtype=float)
    d = np.asarray(denominateur, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        resultat = np.where(d != 0, n / np.where(d != 0, d, 1.0), np.nan)
    resultat = np.where(np.isfinite(resultat), resultat, np.nan)
    if isinstance(numerateur, pd.Series):
        return pd.Series(resultat, index=numerateur.index, name=numerateur.name)
    if resultat.ndim == 0:
        return float(resultat)
    return resultat


def identifiants_operations(operations: pd.DataFrame) -> pd.Series:
    """Identifiant des opérations (``operation_id``, à défaut ``id``)."""
    for colonne in ("operation_id", "id"):
        if colonne in operations.columns:
            return operations[colonne]
    raise ErreurDonnees("Table des opérations sans colonne « operation_id » ni « id ».", "operation", "id")


def ecarter_zones_approximatives(zones: pd.DataFrame, operations: pd.DataFrame) -> pd.DataFrame:
    """Zones sans celles des opérations à ``localisation_approximative`` : leur zone n'est qu'un
    emplacement au centre de la commune, sans surface ni revêtement réels ; elle ne compte ni dans les
    surfaces ni dans les modèles sur grille (la surface déclarée reste affichée, jamais inventée)."""
    if "localisation_approximative" not in operations.columns or not len(zones):
        return zones
    approximatives = operations["localisation_approximative"].astype("boolean").fillna(False).to_numpy(bool)
    if not approximatives.any():
        return zones
    ids = identifiants_operations(operations).to_numpy()[approximatives]
    return zones[~zones["operation_id"].isin(ids).to_numpy(bool)]


def lire_parametres_defaut(parametres=None) -> dict[str, float]:
    """Paramètres de modèle en dictionnaire (``None`` → valeurs de ``modele.csv``)."""
    if parametres is None:
        parametres = lire_parametres()
    return parametres.en_dict() if hasattr(parametres, "en_dict") else dict(parametres)


def lire_revetements_defaut(revetements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table des revêtements indexée par code (``None`` → ``revetements.csv`` validé)."""
    return lire_parametres_revetements() if revetements is None else revetements


def recalculer_surfaces(zones: gpd.GeoDataFrame) -> pd.Series:
    """Surface de chaque géométrie, recalculée en Lambert-93 (EPSG:2154).

    Unité : m². Géométrie absente → NaN. Lève :class:`ErreurDonnees` si la couche n'a pas de système
    de coordonnées.
    """
    if not isinstance(zones, gpd.GeoDataFrame) or zones.geometry.name not in zones.columns:
        raise ErreurDonnees("Recalcul des surfaces impossible : la table n'a pas de géométrie.", "zone",
                            "geometry")
    if len(zones) == 0:
        return pd.Series(np.zeros(0), index=zones.index, name="surface_m2")
    if zones.crs is None:
        raise ErreurDonnees("Recalcul des surfaces impossible : géométries sans système de coordonnées "
                            "(attendu EPSG:4326 ou EPSG:2154).", "zone", "geometry")
    geometries = en_lambert93(zones.geometry)
    surfaces = geometries.area.astype(float)
    surfaces[geometries.isna().to_numpy()] = np.nan
    return surfaces.rename("surface_m2")


def preparer_zones(zones: pd.DataFrame, operations: pd.DataFrame,
                   revetements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Zones des opérations données, avec les paramètres de leurs revêtements.

    Colonnes : ``zone_id``, ``operation_id``, ``surface_m2`` (recalculée en Lambert-93 si la géométrie
    est fournie, sinon celle de la table), ``revetement_avant``/``revetement_apres``, ``c_avant``,
    ``c_apres`` (coefficients de ruissellement), ``impermeable_avant``/``impermeable_apres`` et les
    champs de l'opération utiles aux indicateurs (``code_insee``, ``annee``, ``statut``,
    ``deconnexion_reseau``). Les zones d'opérations absentes de ``operations`` sont écartées.
    """
    revetements = lire_revetements_defaut(revetements)
    ids = identifiants_operations(operations)
    table = pd.DataFrame({
        "zone_id": zones["zone_id"].to_numpy() if "zone_id" in zones.columns else np.arange(len(zones)),
        "operation_id": zones["operation_id"].to_numpy(),
        "revetement_avant": zones["revetement_avant"].astype(str).to_numpy(),
        "revetement_apres": zones["revetement_apres"].astype(str).to_numpy(),
    })
    geographique = isinstance(zones, gpd.GeoDataFrame) and zones.geometry.name in zones.columns
    surfaces = recalculer_surfaces(zones).to_numpy() if geographique else np.full(len(zones), np.nan)
    if "surface_m2" in zones.columns:
        surfaces = np.where(np.isnan(surfaces), zones["surface_m2"].to_numpy(dtype=float), surfaces)
    if np.isnan(surfaces).any():
        raise ErreurDonnees("Zones sans géométrie ni surface : impossible de calculer leur surface.", "zone",
                            "surface_m2", list(table.loc[np.isnan(surfaces), "zone_id"])[:5])
    table["surface_m2"] = surfaces
    table = table[table["operation_id"].isin(ids.to_numpy())].reset_index(drop=True)
    for moment in ("avant", "apres"):
        codes = table[f"revetement_{moment}"]
        inconnus = sorted(set(codes) - set(revetements.index))
        if inconnus:
            raise ErreurDonnees(f"Zones : revêtement {moment} inconnu ({', '.join(inconnus)}). Codes admis : "
                                f"{', '.join(revetements.index)}.", "zone", f"revetement_{moment}")
        table[f"c_{moment}"] = revetements["c_ruissellement"].astype(float).reindex(codes).to_numpy()
        table[f"impermeable_{moment}"] = revetements["impermeable"].astype(bool).reindex(codes).to_numpy()
    champs = pd.DataFrame({"operation_id": ids.to_numpy(),
                           "code_insee": operations["code_insee"].astype(str).to_numpy(),
                           "annee": operations["annee"].astype("Int64").array,
                           "statut": operations["statut"].astype(str).to_numpy(),
                           "deconnexion_reseau": operations["deconnexion_reseau"].fillna(False)
                           .astype(bool).to_numpy()})
    return table.merge(champs, on="operation_id", how="left", validate="many_to_one")
