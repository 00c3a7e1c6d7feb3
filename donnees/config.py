"""Configuration : dossier de données et URL de la base, lus dans l'environnement.

Variables d'environnement :
- ``DESIMPER_DONNEES`` : dossier de données (défaut : ``donnees/local/`` dans le dépôt) ;
- ``DESIMPER_BASE_URL`` : URL SQLAlchemy de la base (défaut : SQLite ``desimper.sqlite`` dans le
  dossier de données ; ``postgresql+psycopg://…`` pour PostgreSQL + PostGIS).
"""

from __future__ import annotations

import os
from pathlib import Path

RACINE_PROJET = Path(__file__).resolve().parent.parent
DOSSIER_DEFAUT = RACINE_PROJET / "donnees" / "local"
NOM_BASE_SQLITE = "desimper.sqlite"
NOM_FICHIER_TERRITOIRE = "territoire.json"
SOUS_DOSSIER_PHOTOS = "photos"


def dossier_donnees() -> Path:
    """Dossier de données : ``$DESIMPER_DONNEES`` ou ``donnees/local/``."""
    valeur = os.environ.get("DESIMPER_DONNEES", "").strip()
    return Path(valeur).expanduser().resolve() if valeur else DOSSIER_DEFAUT


def url_base(dossier: Path | None = None) -> str:
    """URL SQLAlchemy du magasin : ``$DESIMPER_BASE_URL`` ou SQLite dans le dossier de données."""
    valeur = os.environ.get("DESIMPER_BASE_URL", "").strip()
    if valeur:
        return valeur
    dossier = dossier or dossier_donnees()
    return f"sqlite:///{(dossier / NOM_BASE_SQLITE).as_posix()}"


def chemin_sqlite(url: str) -> Path | None:
    """Fichier de la base SQLite d'une URL SQLAlchemy ; None pour PostgreSQL ou une base en mémoire."""
    from sqlalchemy.engine import make_url

    adresse = make_url(url)
    base = adresse.database or ""
    if adresse.get_backend_name() != "sqlite" or not base or base == ":memory:" or base.startswith("file:"):
        return None
    return Path(base).expanduser()


def dossier_photos(dossier: Path | None = None) -> Path:
    """Dossier où sont rangées les photos des opérations."""
    return (dossier or dossier_donnees()) / SOUS_DOSSIER_PHOTOS


def chemin_territoire(dossier: Path | None = None) -> Path:
    """Fichier JSON qui décrit le territoire (nom, codes INSEE, démonstration ou non)."""
    return (dossier or dossier_donnees()) / NOM_FICHIER_TERRITOIRE
