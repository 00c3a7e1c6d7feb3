"""L'exception des données invalides et le catalogue des messages français réutilisés.

Toute anomalie de données lève :class:`ErreurDonnees`, dont le message en français dit quoi corriger.
Les morceaux de message qui reviennent dans plusieurs modules (format d'un code INSEE, d'un identifiant
de parcelle, raisons d'invalidité d'une géométrie…) vivent ici, une seule fois.
"""

from __future__ import annotations

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
