"""Référentiel : couches GeoParquet du dossier de données et fichier du territoire.

Chaque couche est validée à l'écriture et à la lecture (:mod:`donnees.schemas`). L'écriture est
atomique : un fichier temporaire remplace l'ancien d'un seul coup, si bien qu'un échec laisse la couche
précédente en place.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from donnees.config import chemin_territoire, dossier_donnees
from donnees.schemas import SCHEMAS, ErreurDonnees, valider_couche

COUCHES_OBLIGATOIRES = ("communes", "communes_affichage", "parcelles", "occupation", "objectifs",
                        "nouvelles_surfaces")


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


def ecrire_couche(nom: str, table: pd.DataFrame, dossier: Path | None = None) -> Path:
    """Valide puis écrit une couche (GeoParquet si géographique), en remplaçant l'ancienne d'un coup."""
    table = valider_couche(nom, table)
    chemin = chemin_couche(nom, dossier)
    _remplacer_atomiquement(chemin, lambda t: table.to_parquet(t, index=False))
    return chemin


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
            "Lancez `desimper demo` pour créer le territoire de démonstration.", nom)
    try:
        if schema.geographique and (colonnes is None or "geometry" in colonnes):
            table = gpd.read_parquet(chemin, columns=colonnes)
        else:
            table = pd.read_parquet(chemin, columns=colonnes)
    except Exception as exc:  # fichier tronqué, pas du Parquet, etc.
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » illisible ({chemin.name}) : {exc}. "
            "Régénérez-la (`desimper demo`) ou réimportez-la.", nom) from None
    if valider and colonnes is None:
        table = valider_couche(nom, table)
    return table


def ecrire_territoire(description: dict, dossier: Path | None = None) -> Path:
    """Écrit le fichier du territoire (nom, codes INSEE, démonstration, paramètres)."""
    chemin = chemin_territoire(dossier)
    texte = json.dumps(description, ensure_ascii=False, indent=2)
    _remplacer_atomiquement(chemin, lambda t: t.write_text(texte, encoding="utf-8"))
    return chemin


def lire_territoire(dossier: Path | None = None) -> dict:
    """Lit le fichier du territoire. Lève :class:`ErreurDonnees` s'il manque ou est illisible."""
    chemin = chemin_territoire(dossier)
    if not chemin.exists():
        raise ErreurDonnees(
            f"Aucun territoire dans le dossier de données ({chemin.parent}) : le fichier "
            f"{chemin.name} n'existe pas. Lancez `desimper demo` pour créer le territoire de "
            "démonstration.", "territoire")
    try:
        description = json.loads(chemin.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ErreurDonnees(f"Fichier du territoire illisible ({chemin}) : {exc}. "
                            "Relancez `desimper demo`.", "territoire") from None
    for cle in ("nom", "codes_insee"):
        if cle not in description:
            raise ErreurDonnees(f"Fichier du territoire ({chemin}) : clé « {cle} » manquante. "
                                "Relancez `desimper demo`.", "territoire", cle)
    return description
