"""Référentiel : couches GeoParquet du dossier de données et fichier du territoire.

Chaque couche est validée à l'écriture (:mod:`donnees.schemas`). Les grandes couches (parcelles, occupation du
sol, bâtiments) sont rangées par commune sous un manifeste (:mod:`donnees.partitions`) : lues par commune ou par
emprise, et contrôlées légèrement à la lecture ; les autres sont un fichier ``nom.parquet``, validé aussi à la
lecture, comme l'ancien format des grandes couches (toujours lu, converti par ``desimper couches partitionner``).
L'écriture est atomique : fichier temporaire renommé, ou manifeste posé en dernier, si bien qu'un échec laisse la
couche précédente en place.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from donnees.config import chemin_territoire, dossier_donnees
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_CALCUL, en_lambert93, en_wgs84
from donnees.modeles_json import Territoire
from donnees.partitions import (
    COLONNES_PARTITION,
    chemin_manifeste,
    ecrire_couche_partitionnee,
    est_partitionnable,
    est_partitionnee,
    lire_couche_partitionnee,
)
from donnees.schemas import SCHEMAS, table_vide, valider_couche
from donnees.validation import valider_json

_journal = logging.getLogger(__name__)

COUCHES_OBLIGATOIRES = ("communes", "communes_affichage", "parcelles", "occupation", "objectifs",
                        "nouvelles_surfaces")
# Un territoire réel peut n'avoir importé que ses communes : les autres couches sont facultatives.
COUCHES_REQUISES_REEL = ("communes", "communes_affichage")
COUCHES_FACULTATIVES_REEL = ("parcelles", "batiments", "occupation", "objectifs", "nouvelles_surfaces",
                             "sol", "nappe", "sites_pollues", "captages", "cavites")
TOLERANCE_AFFICHAGE_M = 5.0


def chemin_couche(nom: str, dossier: Path | None = None) -> Path:
    """Fichier qui représente une couche, et dont la date et l'empreinte la signent : le manifeste
    ``nom/_manifeste.json`` d'une couche partitionnée, sinon le fichier ``nom.parquet``."""
    dossier = dossier or dossier_donnees()
    manifeste = chemin_manifeste(nom, dossier)
    return manifeste if manifeste.is_file() else dossier / f"{nom}.parquet"


def _remplacer_atomiquement(chemin: Path, ecrire) -> None:
    chemin.parent.mkdir(parents=True, exist_ok=True)
    descripteur, temporaire = tempfile.mkstemp(prefix=f".{chemin.stem}-", suffix=chemin.suffix,
                                               dir=chemin.parent)
    os.close(descripteur)
    try:
        ecrire(Path(temporaire))
        os.chmod(temporaire, 0o644)
        os.replace(temporaire, chemin)
    except BaseException:
        Path(temporaire).unlink(missing_ok=True)
        raise


def ecrire_fichier_atomiquement(chemin: Path, texte: str) -> Path:
    """Écrit un fichier texte (UTF-8) en remplaçant l'ancien d'un seul coup."""
    _remplacer_atomiquement(Path(chemin), lambda t: t.write_text(texte, encoding="utf-8"))
    return Path(chemin)


def couche_presente(nom: str, dossier: Path | None = None) -> bool:
    """Vrai si le fichier de la couche existe (sans la lire ni la valider)."""
    return chemin_couche(nom, dossier).exists()


def couche_vide(nom: str) -> pd.DataFrame:
    """Table vide aux colonnes et types du schéma de la couche (GeoDataFrame WGS84 si géographique)."""
    return table_vide(nom)


def lire_couche_facultative(nom: str, dossier: Path | None = None, **selection) -> pd.DataFrame:
    """Comme :func:`lire_couche` (mêmes ``communes``, ``emprise``, ``colonnes``, ``manquantes``), mais une couche
    facultative absente (territoire réel partiellement importé) donne une table vide au lieu d'une erreur."""
    if nom in COUCHES_FACULTATIVES_REEL and not couche_presente(nom, dossier):
        vide = couche_vide(nom)
        return vide if selection.get("colonnes") is None else vide[list(selection["colonnes"])]
    return lire_couche(nom, dossier, **selection)


def couches_presentes(dossier: Path | None = None) -> dict[str, bool]:
    """Présence de chaque couche connue : ``{nom: présente ?}`` (couches facultatives d'un territoire réel)."""
    return {nom: couche_presente(nom, dossier) for nom in SCHEMAS}


def construire_communes_affichage(communes: gpd.GeoDataFrame,
                                  tolerance_m: float = TOLERANCE_AFFICHAGE_M) -> gpd.GeoDataFrame:
    """Contours simplifiés pour les cartes : simplification en Lambert-93, résultat en WGS84."""
    en_metres = en_lambert93(communes)
    simplifiees = shapely.simplify(en_metres.geometry.values, tolerance_m, preserve_topology=True)
    return gpd.GeoDataFrame({"code_insee": en_metres["code_insee"].to_numpy(), "nom": en_metres["nom"].to_numpy()},
                            geometry=simplifiees, crs=CRS_CALCUL).pipe(en_wgs84)


def ecrire_couche(nom: str, table: pd.DataFrame, dossier: Path | None = None,
                  partitionner: bool | None = None) -> Path:
    """Valide puis écrit une couche (GeoParquet si géographique), en remplaçant l'ancienne d'un coup.

    Les couches de :data:`~donnees.partitions.COLONNES_PARTITION` sont rangées par commune (sauf
    ``partitionner=False`` : un seul fichier, l'ancien format) ; renvoie :func:`chemin_couche`."""
    dossier = dossier or dossier_donnees()
    if est_partitionnable(nom) and partitionner is not False:
        return ecrire_couche_partitionnee(nom, table, dossier)
    table = valider_couche(nom, table)
    chemin = dossier / f"{nom}.parquet"
    _remplacer_atomiquement(chemin, lambda t: table.to_parquet(t, index=False))
    if est_partitionnee(nom, dossier):  # retour à l'ancien format : le manifeste primerait sinon
        shutil.rmtree(chemin_manifeste(nom, dossier).parent)
    return chemin


def _conseil_couche_absente(nom: str) -> str:
    importables = {nom: nom for nom in ("communes", "parcelles", "batiments", "occupation", "sol", "nappe",
                                        "sites_pollues", "captages", "cavites")} | {"communes_affichage": "communes"}
    if nom in importables:
        return (f"Importez-la (`desimper importer {importables[nom]}`) ou lancez `desimper demo` pour créer "
                "le territoire de démonstration.")
    return "Lancez `desimper demo` pour créer le territoire de démonstration."


def lire_couche(nom: str, dossier: Path | None = None, colonnes: list[str] | None = None,
                valider: bool = True, communes=None, emprise: tuple | None = None,
                manquantes: list | None = None) -> pd.DataFrame:
    """Lit une couche, entière ou seulement les ``communes`` données (codes INSEE) et/ou les lignes dont la
    boîte touche ``emprise`` (lon min, lat min, lon max, lat max, WGS84). Lève :class:`ErreurDonnees` si
    elle manque ou est illisible.

    Couche partitionnée : seules les partitions utiles sont lues, avec un contrôle léger (validée à
    l'écriture) ; une commune sans partition lisible est ajoutée à ``manquantes`` (liste fournie) ou lève
    :class:`~donnees.partitions.ErreurPartitions`. Fichier unique (ancien format) : lu entier, validé si
    ``valider`` et toutes les colonnes sont lues, puis filtré.
    """
    if nom not in SCHEMAS:
        raise ErreurDonnees(f"Couche inconnue « {nom} ».", nom)
    dossier = dossier or dossier_donnees()
    if est_partitionnee(nom, dossier):
        return lire_couche_partitionnee(nom, dossier, communes, emprise, colonnes, manquantes)
    schema = SCHEMAS[nom]
    chemin = dossier / f"{nom}.parquet"
    if not chemin.exists():
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » absente : le fichier {chemin} n'existe pas. "
            f"{_conseil_couche_absente(nom)}", nom)
    selection = communes is not None or emprise is not None
    lues = colonnes
    if selection and colonnes is not None:
        lues = list(dict.fromkeys([*colonnes, _colonne_commune(nom)] + (["geometry"] if emprise else [])))
    try:
        if schema.geographique and (lues is None or "geometry" in lues):
            table = gpd.read_parquet(chemin, columns=lues)
        else:
            table = pd.read_parquet(chemin, columns=lues)
    except Exception as exc:  # fichier tronqué, pas du Parquet, etc. : toute erreur du lecteur
        _journal.warning("Couche %s illisible (%s)", nom, chemin, exc_info=True)
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » illisible ({chemin.name}) : {exc}. "
            "Régénérez-la (`desimper demo`) ou réimportez-la.", nom) from None
    if valider and colonnes is None:
        table = valider_couche(nom, table)
    if selection:
        table = _filtrer(nom, table, communes, emprise)
        table = table if colonnes is None else table[list(colonnes)]
    return table


def _colonne_commune(nom: str) -> str:
    """Colonne du code INSEE de la commune d'une ligne (``commune`` ou ``code_insee``)."""
    return COLONNES_PARTITION.get(nom, "code_insee")


def _filtrer(nom: str, table: pd.DataFrame, communes, emprise: tuple | None) -> pd.DataFrame:
    """Lignes d'une couche lue entière qui sont des ``communes`` et dont la boîte touche ``emprise``."""
    garder = pd.Series(True, index=table.index)
    if communes is not None:
        garder &= table[_colonne_commune(nom)].astype(str).isin([str(c) for c in communes])
    if emprise is not None:
        bornes = shapely.bounds(table.geometry.values)
        garder &= ((bornes[:, 2] >= emprise[0]) & (bornes[:, 0] <= emprise[2]) & (bornes[:, 3] >= emprise[1])
                   & (bornes[:, 1] <= emprise[3]))
    return table[garder.to_numpy()].reset_index(drop=True)


def ecrire_territoire(description: dict, dossier: Path | None = None) -> Path:
    """Écrit le fichier du territoire (nom, codes INSEE, démonstration, paramètres), validé par
    :class:`donnees.modeles_json.Territoire`."""
    valider_json(Territoire, description, f"du territoire ({chemin_territoire(dossier)})", "territoire")
    return ecrire_fichier_atomiquement(chemin_territoire(dossier),
                                       json.dumps(description, ensure_ascii=False, indent=2))


def lire_territoire(dossier: Path | None = None) -> dict:
    """Lit le fichier du territoire. Lève :class:`ErreurDonnees` s'il manque ou est illisible."""
    chemin = chemin_territoire(dossier)
    if not chemin.exists():
        raise ErreurDonnees(
            f"Aucun territoire dans le dossier de données ({chemin.parent}) : le fichier "
            f"{chemin.name} n'existe pas. Lancez `desimper demo` pour créer le territoire de "
            "démonstration, ou `desimper territoire initialiser` pour un territoire réel.", "territoire")
    try:
        description = json.loads(chemin.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _journal.warning("Fichier du territoire illisible (%s) : %s", chemin, exc)
        raise ErreurDonnees(f"Fichier du territoire illisible ({chemin}) : {exc}. "
                            "Relancez `desimper demo`.", "territoire") from None
    valider_json(Territoire, description, f"du territoire ({chemin})", "territoire",
                 "Relancez `desimper demo`, ou corrigez le fichier.")
    return description
