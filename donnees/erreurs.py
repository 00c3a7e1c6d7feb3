"""L'exception des données invalides et le catalogue des messages français réutilisés.

Toute anomalie de données lève :class:`ErreurDonnees`, dont le message en français dit quoi corriger.
Les morceaux de message qui reviennent dans plusieurs modules (format d'un code INSEE, d'un identifiant
de parcelle, raisons d'invalidité d'une géométrie…) vivent ici, une seule fois.
"""

from __future__ import annotations

import errno
import re

import shapely


class ErreurDonnees(Exception):
    """Données invalides : le message, en français, dit quoi corriger."""

    def __init__(self, message: str, couche: str | None = None, colonne: str | None = None,
                 lignes: list | None = None):
        super().__init__(message)
        self.couche = couche
        self.colonne = colonne
        self.lignes = list(lignes or [])


# Morceaux de messages réutilisés ; ``{…}`` se remplit avec :func:`message`.
MESSAGES: dict[str, str] = {
    "exemple_code_insee": "ex. 34301, ou 2A004 en Corse",
    "format_code_insee": (
        "Un code INSEE de commune a 5 caractères : 2 chiffres de département puis 3 chiffres (34301), "
        "2A/2B pour la Corse (2A004), 971 à 976 pour l'outre-mer (97411). Le code postal (34200) n'est "
        "pas le code INSEE."),
    "exemple_id_parcelle": "34301000AB0123",
    "format_id_parcelle": ("14 caractères attendus (commune, préfixe, section, numéro ; ex. "
                           "34301000AB0123)"),
    "systeme_absent": "{nom} : système de coordonnées absent (fichier .prj manquant ?). {conseil}",
    "surface_hors_projection": ("Surface incalculable en Lambert-93 : une zone est hors du domaine de la "
                                "projection. Vérifiez ses coordonnées."),
}


def message(cle: str, **valeurs) -> str:
    """Message du catalogue :data:`MESSAGES`, complété par ``valeurs``."""
    return MESSAGES[cle].format(**valeurs) if valeurs else MESSAGES[cle]


# Raisons d'invalidité de GEOS (shapely.is_valid_reason) traduites pour les messages.
RAISONS_GEOS = {
    "Ring Self-intersection": "un anneau se recoupe",
    "Self-intersection": "le contour se recoupe (auto-intersection)",
    "Too few points": "trop peu de points",
    "Hole lies outside shell": "un trou est hors du contour",
    "Nested shells": "contours imbriqués",
    "Interior is disconnected": "intérieur coupé en morceaux",
    "Duplicate Rings": "anneaux en double",
    "Invalid Coordinate": "coordonnée invalide",
    "Nested holes": "trous imbriqués",
    "Ring is not closed": "anneau non fermé",
}


def decrire_invalidite(geometrie) -> str:
    """Raison, en français, pour laquelle une géométrie est invalide (d'après GEOS), avec son lieu."""
    raison = shapely.is_valid_reason(geometrie)
    m = re.match(r"^([^\[]+)(\[(.*)\])?", raison)
    if not m:
        return raison
    libelle = RAISONS_GEOS.get(m[1].strip(), m[1].strip())
    if m[3]:
        coords = m[3].split()
        if len(coords) >= 2:
            try:
                libelle += f" vers {float(coords[0]):.6f}, {float(coords[1]):.6f}"
            except ValueError:
                pass
    return libelle


# ------------------------------------------------------------------------------------------ pannes
# Pannes du système (disque, droits, base) : traduites ici, une seule fois, en messages français ; le
# magasin, les photos, l'import et la démonstration lèvent :class:`ErreurPanne`, que les pages et la CLI
# affichent comme toute :class:`ErreurDonnees` (jamais de trace Python).


class ErreurPanne(ErreurDonnees):
    """Panne du système (disque plein, dossier en lecture seule, base injoignable) : rien n'a été écrit à
    moitié ; ``genre`` : ``disque_plein``, ``lecture_seule``, ``base_indisponible``, ``base_occupee``,
    ``entree_sortie``."""

    def __init__(self, message: str, genre: str):
        super().__init__(message, "panne")
        self.genre = genre


PANNES: dict[str, str] = {
    "disque_plein": ("Disque plein : plus de place pour écrire dans {lieu}. {suite}Libérez de la place sur le "
                     "disque (ou demandez-le à l'administrateur), puis réessayez."),
    "lecture_seule": ("Écriture impossible : {lieu} est en lecture seule ou inaccessible. {suite}L'administrateur "
                      "doit le rendre accessible en écriture au compte qui fait tourner Désimper, puis réessayez."),
    "base_indisponible": ("Base de données indisponible (serveur arrêté ou connexion perdue). {suite}Réessayez "
                          "dans un instant ; si cela dure, prévenez l'administrateur."),
    "base_occupee": ("Base de données occupée par une autre écriture trop longue. {suite}Réessayez dans un "
                     "instant."),
    "entree_sortie": ("Erreur du disque en lisant ou en écrivant dans {lieu}. {suite}Prévenez l'administrateur "
                      "(disque ou partage réseau défaillant) ; `desimper verifier` contrôle les données."),
}
SUITES = {"ecriture": "Rien n'a été enregistré. ", "lecture": ""}

# Indices des messages de SQLite et de PostgreSQL (psycopg), en minuscules, vers le genre de panne.
_INDICES_PANNE = (
    ("disk is full", "disque_plein"), ("no space left", "disque_plein"),
    ("readonly database", "lecture_seule"), ("read-only", "lecture_seule"),
    ("unable to open database file", "lecture_seule"), ("permission denied", "lecture_seule"),
    ("database is locked", "base_occupee"), ("disk i/o error", "entree_sortie"),
    ("connection refused", "base_indisponible"), ("server closed the connection", "base_indisponible"),
    ("terminating connection", "base_indisponible"), ("connection is closed", "base_indisponible"),
    ("the database system is", "base_indisponible"), ("could not connect", "base_indisponible"),
    ("connection failed", "base_indisponible"), ("no such file or directory", "base_indisponible"),
    ("consuming input failed", "base_indisponible"), ("connection timeout", "base_indisponible"),
)
_INDICES_FICHIERS = (("no space left", "disque_plein"), ("disk quota", "disque_plein"),
                     ("read-only file system", "lecture_seule"), ("permission denied", "lecture_seule"),
                     ("input/output error", "entree_sortie"))
_ERRNO_PANNE = {errno.ENOSPC: "disque_plein", errno.EDQUOT: "disque_plein", errno.EROFS: "lecture_seule",
                errno.EACCES: "lecture_seule", errno.EPERM: "lecture_seule", errno.EIO: "entree_sortie"}


def _genre_panne(exc: BaseException) -> str | None:
    """Genre de panne d'une exception du système, de SQLite, de psycopg ou de SQLAlchemy ; None sinon."""
    if isinstance(exc, ErreurPanne):
        return exc.genre
    if isinstance(exc, OSError):
        if exc.errno in _ERRNO_PANNE:
            return _ERRNO_PANNE[exc.errno]
        texte = str(exc).lower()  # pyarrow et d'autres lèvent un OSError sans errno, le texte du système dedans
        return next((g for i, g in _INDICES_FICHIERS if i in texte), None)
    origine = getattr(exc, "orig", None)  # sqlalchemy.exc.DBAPIError : l'erreur du pilote
    if getattr(exc, "connection_invalidated", False):
        return "base_indisponible"
    candidates = [e for e in (origine, exc) if e is not None]
    if not any(type(e).__name__ in ("OperationalError", "InterfaceError") for e in candidates):
        return None
    texte = " ".join(str(e) for e in candidates).lower()
    for indice, genre in _INDICES_PANNE:
        if indice in texte:
            return genre
    if any(type(e).__module__.startswith("psycopg") for e in candidates):
        return "base_indisponible"  # psycopg.OperationalError : la connexion au serveur a échoué
    return None


def traduire_panne(exc: BaseException, lieu: str = "le dossier de données",
                   action: str = "ecriture") -> ErreurPanne | None:
    """:class:`ErreurPanne` au message français pour une panne du système (disque plein, lecture seule, base
    injoignable…) ; None si ``exc`` n'en est pas une (erreur de programme, contrainte d'intégrité…).

    ``lieu`` : ce qui ne peut être écrit (dossier, fichier) ; ``action`` : ``ecriture`` ou ``lecture``."""
    if isinstance(exc, ErreurPanne):
        return exc
    genre = _genre_panne(exc)
    if genre is None:
        return None
    return ErreurPanne(PANNES[genre].format(lieu=lieu, suite=SUITES.get(action, "")), genre)


class _Panne:
    """Contexte qui lève :class:`ErreurPanne` à la place d'une panne du système (voir :func:`sur_panne`)."""

    def __init__(self, lieu: str, action: str):
        self.lieu, self.action = lieu, action

    def __enter__(self):
        return self

    def __exit__(self, type_exc, exc, trace):
        if exc is None or isinstance(exc, ErreurPanne):
            return False
        panne = traduire_panne(exc, self.lieu, self.action)
        if panne is None:
            return False
        raise panne from exc


def sur_panne(lieu: str = "le dossier de données", action: str = "ecriture") -> _Panne:
    """``with sur_panne(lieu):`` : toute panne du système levée dans le bloc devient :class:`ErreurPanne`."""
    return _Panne(lieu, action)
