"""Référentiel : couches GeoParquet du dossier de données et fichier du territoire.

Chaque couche est validée à l'écriture et à la lecture (:mod:`donnees.schemas`). L'écriture est
atomique : un fichier temporaire remplace l'ancien d'un seul coup, si bien qu'un échec laisse la couche
précédente en place.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from donnees.config import chemin_territoire, dossier_donnees
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_CALCUL, CRS_STOCKAGE, en_lambert93, en_wgs84
from donnees.modeles_json import Territoire
from donnees.schemas import SCHEMAS, valider_couche
from donnees.validation import valider_json

_journal = logging.getLogger(__name__)

COUCHES_OBLIGATOIRES = ("communes", "communes_affichage", "parcelles", "occupation", "objectifs",
                        "nouvelles_surfaces")
# Un territoire réel peut n'avoir importé que ses communes : les autres couches sont facultatives.
COUCHES_REQUISES_REEL = ("communes", "communes_affichage")
COUCHES_FACULTATIVES_REEL = ("parcelles", "batiments", "occupation", "objectifs", "nouvelles_surfaces")
TOLERANCE_AFFICHAGE_M = 5.0


def chemin_couche(nom: str, dossier: Path | None = None) -> Path:
    """Chemin du fichier Parquet d'une couche."""
    return (dossier or dossier_donnees()) / f"{nom}.parquet"


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
    schema = SCHEMAS[nom]
    colonnes = {colonne: pd.Series(dtype=str(definition.dtype) if definition.dtype else object)
                for colonne, definition in schema.colonnes.columns.items()}
    if schema.geographique:
        return gpd.GeoDataFrame(colonnes, geometry=gpd.GeoSeries([], crs=CRS_STOCKAGE), crs=CRS_STOCKAGE)
    return pd.DataFrame(colonnes)


def lire_couche_facultative(nom: str, dossier: Path | None = None) -> pd.DataFrame:
    """Comme :func:`lire_couche`, mais une couche facultative absente (territoire réel partiellement importé)
    donne une table vide au lieu d'une erreur."""
    if nom in COUCHES_FACULTATIVES_REEL and not couche_presente(nom, dossier):
        return couche_vide(nom)
    return lire_couche(nom, dossier)


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


def ecrire_couche(nom: str, table: pd.DataFrame, dossier: Path | None = None) -> Path:
    """Valide puis écrit une couche (GeoParquet si géographique), en remplaçant l'ancienne d'un coup."""
    table = valider_couche(nom, table)
    chemin = chemin_couche(nom, dossier)
    _remplacer_atomiquement(chemin, lambda t: table.to_parquet(t, index=False))
    return chemin


def _conseil_couche_absente(nom: str) -> str:
    importables = {"communes": "communes", "communes_affichage": "communes", "parcelles": "parcelles",
                   "batiments": "batiments", "occupation": "occupation"}
    if nom in importables:
        return (f"Importez-la (`desimper importer {importables[nom]}`) ou lancez `desimper demo` pour créer "
                "le territoire de démonstration.")
    return "Lancez `desimper demo` pour créer le territoire de démonstration."


def lire_couche(nom: str, dossier: Path | None = None, colonnes: list[str] | None = None,
                valider: bool = True) -> pd.DataFrame:
    """Lit et valide une couche. Lève :class:`ErreurDonnees` si elle manque ou est illisible."""
    if nom not in SCHEMAS:
        raise ErreurDonnees(f"Couche inconnue « {nom} ».", nom)
    schema = SCHEMAS[nom]
    chemin = chemin_couche(nom, dossier)
    if not chemin.exists():
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » absente : le fichier {chemin} n'existe pas. "
            f"{_conseil_couche_absente(nom)}", nom)
    try:
        if schema.geographique and (colonnes is None or "geometry" in colonnes):
            table = gpd.read_parquet(chemin, columns=colonnes)
        else:
            table = pd.read_parquet(chemin, columns=colonnes)
    except Exception as exc:  # fichier tronqué, pas du Parquet, etc. : toute erreur du lecteur
        _journal.warning("Couche %s illisible (%s)", nom, chemin, exc_info=True)
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » illisible ({chemin.name}) : {exc}. "
            "Régénérez-la (`desimper demo`) ou réimportez-la.", nom) from None
    if valider and colonnes is None:
        table = valider_couche(nom, table)
    return table


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
