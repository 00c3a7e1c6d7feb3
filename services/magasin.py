"""Accès au magasin des opérations pour les services : ouverture et fermeture sûres."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from donnees.comptes import Utilisateur
from donnees.config import url_base
from donnees.droits import conditions_lecture_sql
from donnees.magasin import Magasin, table_operation
from indicateurs.agregats import RegistreAgrege, coefficients_revetements


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


def lire_agregats(magasin: Magasin, utilisateur: Utilisateur, parametres) -> RegistreAgrege:
    """Agrégats du registre calculés par la base, limités à ce que ``utilisateur`` peut lire (règles de
    :mod:`donnees.droits` appliquées dans la requête) ; ``parametres`` : paramètres de modèle du territoire
    (tolérance d'écart entre surface déclarée et dessinée). Quelques milliers de lignes, quelle que soit la
    taille du registre."""
    visible, detaillee = conditions_lecture_sql(utilisateur, table_operation.c)
    tables = magasin.agreger_registre(*coefficients_revetements(), visible, detaillee,
                                      float(parametres["ecart_surface_declaree"]))
    return RegistreAgrege(**tables)
