"""Référentiel du territoire pour l'application : description, couches et leurs fichiers."""

from __future__ import annotations

from pathlib import Path

from donnees.config import dossier_donnees
from donnees.referentiel import chemin_couche, lire_couche_facultative, lire_territoire

__all__ = ["chemin_couche", "lire_couche_territoire", "lire_territoire", "signer_couches", "signer_fichier"]


def lire_couche_territoire(nom: str, dossier: Path | None = None):
    """Couche validée du référentiel ; une couche facultative absente est une table vide (territoire réel
    partiellement importé)."""
    return lire_couche_facultative(nom, Path(dossier) if dossier else dossier_donnees())


def signer_fichier(chemin: Path) -> int:
    """Date de modification (ns) d'un fichier, 0 s'il manque : invalide un cache après régénération."""
    return chemin.stat().st_mtime_ns if chemin.exists() else 0


def signer_couches(dossier: Path, *noms: str) -> tuple:
    """Signatures des fichiers des couches ``noms`` (petite clé de cache)."""
    return tuple(signer_fichier(chemin_couche(nom, dossier)) for nom in noms)
