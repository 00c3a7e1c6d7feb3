"""Accès au magasin des opérations pour les services : ouverture et fermeture sûres."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from donnees.config import url_base
from donnees.magasin import Magasin


@contextmanager
def ouvrir_magasin(dossier: Path | None = None):
    """Magasin du dossier de données (``None`` : dossier configuré), fermé à la sortie du bloc."""
    magasin = Magasin(url_base(dossier))
    try:
        yield magasin
    finally:
        magasin.fermer()


def lire_registre(dossier: Path | None = None) -> tuple:
    """Opérations, zones et financements du magasin (registre entier, sans filtre de droits)."""
    with ouvrir_magasin(dossier) as magasin:
        return magasin.lire_operations(), magasin.lire_zones(), magasin.lire_financements()


def preparer_magasin(url: str) -> Magasin:
    """Magasin ouvert pour la durée du processus, tables créées si la base est neuve (territoire réel tout juste
    initialisé : base encore vide)."""
    magasin = Magasin(url)
    magasin.creer_tables()
    return magasin
