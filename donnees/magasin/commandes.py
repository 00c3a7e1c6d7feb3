"""Commandes ``desimper base migrer`` et ``desimper base version`` (enregistrées dans cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from donnees.config import dossier_donnees, url_base
from donnees.magasin.noyau import Magasin
from donnees.magasin.schema import revision_base, revision_tete
from donnees.magasin.tables import TABLES
from donnees.erreurs import ErreurDonnees


def _decrire_version(magasin: Magasin) -> str:
    """Révision de la base en clair (base vide, d'avant les migrations, ou numéro)."""
    with magasin._lire() as conn:
        revision = revision_base(conn)
        if revision is not None:
            return f"révision {revision}"
        if set(TABLES) & set(inspect(conn).get_table_names()):
            return "version d'avant les migrations (sans numéro de révision)"
        return "base vide"


def commande_base_migrer(magasin: Magasin) -> int:
    """Met le schéma de la base à niveau et dit ce qui a été fait."""
    etat_avant = _decrire_version(magasin)
    _, apres = magasin.mettre_a_niveau()
    if etat_avant == f"révision {apres}":
        print(f"Base déjà à jour : révision {apres}.")
    else:
        print(f"Base mise à niveau : {etat_avant} → révision {apres}.")
    return 0


def commande_base_version(magasin: Magasin) -> int:
    """Affiche la révision du schéma de la base et la dernière connue ; 1 si une mise à niveau manque."""
    tete = revision_tete()
    etat = _decrire_version(magasin)
    print(f"Schéma de la base : {etat}. Dernière révision connue : {tete}.")
    if etat == f"révision {tete}":
        print("La base est à jour.")
        return 0
    print("Mise à niveau nécessaire : lancez `desimper base migrer` (faite aussi au démarrage de l'application).")
    return 1


def executer_commande_base(args) -> int:
    """Point d'entrée de ``desimper base ACTION`` (``args.action`` : migrer ou version, ``args.dossier``)."""
    dossier = Path(args.dossier).resolve() if getattr(args, "dossier", None) else dossier_donnees()
    magasin = Magasin(url_base(dossier))
    try:
        if args.action == "migrer":
            return commande_base_migrer(magasin)
        return commande_base_version(magasin)
    except ErreurDonnees as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"Erreur : base inaccessible ou migration impossible ({exc.__class__.__name__} : {exc}).",
              file=sys.stderr)
        return 1
    finally:
        magasin.fermer()
