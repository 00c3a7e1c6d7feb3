"""Configuration : dossier de données et URL de la base, lus dans l'environnement.

Variables d'environnement :
- ``DESIMPER_DONNEES`` : dossier de données (défaut : ``donnees/local/`` dans le dépôt) ;
- ``DESIMPER_BASE_URL`` : URL SQLAlchemy de la base (défaut : SQLite ``desimper.sqlite`` dans le
  dossier de données ; ``postgresql+psycopg://…`` pour PostgreSQL + PostGIS) ;
- ``DESIMPER_INSTANCE`` : dossier de l'instance, qui porte le registre ``instance.json`` des territoires
  (défaut : le dossier de données ; voir :mod:`donnees.instance`).

Territoire actif : quand une instance a plusieurs territoires, l'application (à chaque exécution du script) et la
ligne de commande (``--territoire``) posent le territoire actif (:func:`activer_territoire`), variable de
contexte que :func:`dossier_donnees` et :func:`url_base` consultent d'abord ; sans territoire actif, rien ne
change (dossier et base lus dans l'environnement).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from pathlib import Path

RACINE_PROJET = Path(__file__).resolve().parent.parent
DOSSIER_DEFAUT = RACINE_PROJET / "donnees" / "local"
NOM_BASE_SQLITE = "desimper.sqlite"
NOM_FICHIER_TERRITOIRE = "territoire.json"
NOM_FICHIER_INSTANCE = "instance.json"
SOUS_DOSSIER_PHOTOS = "photos"


@dataclass(frozen=True)
class TerritoireActif:
    """Territoire d'une instance en cours d'usage : code, dossier de données (absolu), URL de sa base (None :
    SQLite dans son dossier)."""

    code: str
    dossier: Path
    url: str | None = None


_TERRITOIRE_ACTIF: ContextVar[TerritoireActif | None] = ContextVar("desimper_territoire_actif", default=None)


def territoire_actif() -> TerritoireActif | None:
    """Territoire actif de l'exécution en cours (fil ou tâche), ou None (dossier et base de l'environnement)."""
    return _TERRITOIRE_ACTIF.get()


def activer_territoire(actif: TerritoireActif | None) -> Token:
    """Pose le territoire actif pour la suite de l'exécution en cours (None : celui de l'environnement)."""
    return _TERRITOIRE_ACTIF.set(actif)


def retablir_territoire(jeton: Token) -> None:
    """Rétablit le territoire actif d'avant :func:`activer_territoire` (son jeton)."""
    _TERRITOIRE_ACTIF.reset(jeton)


@contextmanager
def dans_territoire(actif: TerritoireActif | None):
    """``with dans_territoire(t):`` : ``t`` est le territoire actif dans le bloc, puis l'ancien revient."""
    jeton = _TERRITOIRE_ACTIF.set(actif)
    try:
        yield actif
    finally:
        _TERRITOIRE_ACTIF.reset(jeton)


def _dossier_environnement() -> Path:
    valeur = os.environ.get("DESIMPER_DONNEES", "").strip()
    return Path(valeur).expanduser().resolve() if valeur else DOSSIER_DEFAUT


def dossier_donnees() -> Path:
    """Dossier de données : celui du territoire actif, sinon ``$DESIMPER_DONNEES`` ou ``donnees/local/``."""
    actif = _TERRITOIRE_ACTIF.get()
    return actif.dossier if actif is not None else _dossier_environnement()


def dossier_instance() -> Path:
    """Dossier de l'instance (registre ``instance.json``) : ``$DESIMPER_INSTANCE``, sinon le dossier de données de
    l'environnement (jamais celui du territoire actif)."""
    valeur = os.environ.get("DESIMPER_INSTANCE", "").strip()
    return Path(valeur).expanduser().resolve() if valeur else _dossier_environnement()


def url_base(dossier: Path | None = None) -> str:
    """URL SQLAlchemy du magasin : celle du territoire actif (pour son dossier), sinon ``$DESIMPER_BASE_URL``, sinon
    SQLite dans le dossier de données."""
    actif = _TERRITOIRE_ACTIF.get()
    if actif is not None and (dossier is None or Path(dossier).resolve() == actif.dossier):
        return actif.url or f"sqlite:///{(actif.dossier / NOM_BASE_SQLITE).as_posix()}"
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
