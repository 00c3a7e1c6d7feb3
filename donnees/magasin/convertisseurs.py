"""Convertisseurs des saisies : un champ à la fois, message français qui nomme le champ.

Partagés par la vérification des opérations (``verifications``) et les comptes (``comptes``). Les
fonctions lèvent :class:`ErreurDonnees` avec ``« contexte, champ « libellé » (champ) : quoi corriger »``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from donnees.schemas import ErreurDonnees

ANNEE_MIN, ANNEE_MAX = 1950, 2100
MOTIF_INSEE = re.compile(r"^\d[\dAB]\d{3}$")
MOTIF_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

LIBELLES = {
    "code_insee": "code INSEE de la commune", "nom": "nom", "type_site": "type de site",
    "statut": "statut", "validation": "validation", "commentaire_validation": "commentaire de validation",
    "date_fin_travaux": "date de fin des travaux", "maitre_ouvrage": "maître d'ouvrage",
    "description": "description", "retour_experience": "retour d'expérience", "contact": "contact",
    "cout_ht_eur": "coût HT (€)", "arbres_plantes": "arbres plantés",
    "deconnexion_reseau": "déconnexion du réseau", "volume_stockage_m3": "volume de stockage (m³)",
    "parcelles": "parcelles cadastrales", "surface_declaree_m2": "surface déclarée (m²)",
    "localisation_approximative": "localisation approximative", "source": "source", "zones": "zones",
    "financements": "financements", "photos": "photos", "cree_le": "date de création",
    "cree_par": "auteur de la création", "geometrie": "géométrie",
    "revetement_avant": "revêtement avant travaux", "revetement_apres": "revêtement après travaux",
    "financeur": "financeur", "montant_eur": "montant (€)", "moment": "moment (avant ou après)",
    "chemin": "chemin du fichier", "legende": "légende", "ajoutee_le": "date d'ajout",
    "email": "adresse électronique", "role": "rôle", "communes": "communes",
    "mot_de_passe_hash": "empreinte du mot de passe", "actif": "actif", "auteur": "auteur",
}


def _euros(montant: float) -> str:
    return f"{montant:,.2f}".replace(",", " ").replace(".", ",").removesuffix(",00") + " €"


def _erreur(contexte: str, champ: str, texte: str, lignes: list | None = None,
            couche: str = "operation") -> ErreurDonnees:
    libelle = LIBELLES.get(champ, champ)
    return ErreurDonnees(f"{contexte}, champ « {libelle} » ({champ}) : {texte}", couche, champ, lignes)


def _est_absent(valeur: Any) -> bool:
    if valeur is None or valeur is pd.NA or valeur is pd.NaT:
        return True
    if isinstance(valeur, (float, np.floating)) and math.isnan(valeur):
        return True
    return isinstance(valeur, str) and not valeur.strip()


def _texte(contexte: str, champ: str, valeur: Any, obligatoire: bool = False) -> str | None:
    if _est_absent(valeur):
        if obligatoire:
            raise _erreur(contexte, champ, "obligatoire. Renseignez-le.")
        return None
    if not isinstance(valeur, str):
        raise _erreur(contexte, champ, f"texte attendu (reçu {type(valeur).__name__}).")
    return valeur.strip()


def _code(contexte: str, champ: str, valeur: Any, codes: Iterable[str], defaut: str | None = None) -> str:
    codes = list(codes)
    if _est_absent(valeur):
        if defaut is not None:
            return defaut
        raise _erreur(contexte, champ, f"obligatoire. Valeurs possibles : {', '.join(codes)}.")
    if not isinstance(valeur, str) or valeur.strip() not in codes:
        raise _erreur(contexte, champ, f"valeur « {valeur} » inconnue. Valeurs possibles : "
                                       f"{', '.join(codes)}.")
    return valeur.strip()


def _nombre(contexte: str, champ: str, valeur: Any, obligatoire: bool = False) -> float | None:
    if _est_absent(valeur):
        if obligatoire:
            raise _erreur(contexte, champ, "obligatoire. Indiquez un nombre positif ou nul.")
        return None
    if isinstance(valeur, (bool, np.bool_)) or not isinstance(valeur, (numbers.Real, Decimal)):
        raise _erreur(contexte, champ, f"nombre attendu (reçu « {valeur} »).")
    nombre = float(valeur)
    if not math.isfinite(nombre):
        raise _erreur(contexte, champ, "nombre fini attendu. Indiquez un nombre positif ou nul.")
    if nombre < 0:
        raise _erreur(contexte, champ, f"{nombre:g} est négatif. Indiquez un nombre positif ou nul.")
    return nombre


def _entier(contexte: str, champ: str, valeur: Any, defaut: int = 0) -> int:
    if _est_absent(valeur):
        return defaut
    nombre = _nombre(contexte, champ, valeur)
    if not float(nombre).is_integer():
        raise _erreur(contexte, champ, f"nombre entier attendu (reçu {nombre:g}).")
    return int(nombre)


def _booleen(contexte: str, champ: str, valeur: Any, defaut: bool = False) -> bool:
    if _est_absent(valeur):
        return defaut
    if isinstance(valeur, (bool, np.bool_)):
        return bool(valeur)
    if isinstance(valeur, numbers.Integral) and valeur in (0, 1):
        return bool(valeur)
    raise _erreur(contexte, champ, f"oui/non attendu (True ou False), reçu « {valeur} ».")


def _date(contexte: str, champ: str, valeur: Any) -> date | None:
    if _est_absent(valeur):
        return None
    if isinstance(valeur, np.datetime64):
        valeur = pd.Timestamp(valeur)
    if isinstance(valeur, datetime):
        resultat = valeur.date()
    elif isinstance(valeur, date):
        resultat = valeur
    elif isinstance(valeur, str):
        try:
            resultat = date.fromisoformat(valeur.strip())
        except ValueError:
            raise _erreur(contexte, champ, f"date « {valeur} » illisible. Format attendu : AAAA-MM-JJ.") from None
    else:
        raise _erreur(contexte, champ, f"date attendue (reçu {type(valeur).__name__}).")
    if not ANNEE_MIN <= resultat.year <= ANNEE_MAX:
        raise _erreur(contexte, champ, f"date {resultat.isoformat()} invraisemblable (années "
                                       f"{ANNEE_MIN} à {ANNEE_MAX}). Corrigez l'année.")
    return resultat


def _horodatage(contexte: str, champ: str, valeur: Any) -> datetime | None:
    if _est_absent(valeur):
        return None
    if isinstance(valeur, np.datetime64):
        valeur = pd.Timestamp(valeur)
    if isinstance(valeur, str):
        try:
            valeur = datetime.fromisoformat(valeur.strip())
        except ValueError:
            raise _erreur(contexte, champ, f"date et heure « {valeur} » illisibles. Format attendu : "
                                           "AAAA-MM-JJ HH:MM:SS.") from None
    if isinstance(valeur, pd.Timestamp):
        valeur = valeur.to_pydatetime()
    if isinstance(valeur, datetime):
        if valeur.tzinfo is not None:
            valeur = valeur.astimezone(UTC).replace(tzinfo=None)
        return valeur
    if isinstance(valeur, date):
        return datetime(valeur.year, valeur.month, valeur.day)
    raise _erreur(contexte, champ, f"date et heure attendues (reçu {type(valeur).__name__}).")


def _code_insee(contexte: str, champ: str, valeur: Any) -> str:
    if _est_absent(valeur):
        raise _erreur(contexte, champ, "obligatoire. Indiquez le code INSEE à 5 caractères (ex. 34301).")
    if not isinstance(valeur, str) or not MOTIF_INSEE.match(valeur.strip()):
        raise _erreur(contexte, champ, f"« {valeur} » n'est pas un code INSEE : 5 caractères attendus "
                                       "(ex. 34301, ou 2A004 en Corse), en texte.")
    return valeur.strip()



def _communes(contexte: str, valeur: Any) -> list[str]:
    """Codes INSEE distincts d'une liste ou d'un texte séparé par virgules, points-virgules ou espaces."""
    if _est_absent(valeur):
        return []
    if isinstance(valeur, str):
        valeur = re.split(r"[,;\s]+", valeur)
    if not isinstance(valeur, (list, tuple, set)):
        raise _erreur(contexte, "communes", "liste de codes INSEE attendue.", couche="utilisateur")
    codes: list[str] = []
    for code in valeur:
        if isinstance(code, str) and not code.strip():
            continue
        code = _code_insee(contexte, "communes", code)
        if code not in codes:
            codes.append(code)
    return codes



def _verifier_auteur(auteur: Any) -> str:
    if not isinstance(auteur, str) or not auteur.strip():
        raise ErreurDonnees("Auteur de la saisie manquant : indiquez qui enregistre (adresse ou nom).",
                            "journal", "auteur")
    return auteur.strip()


def _verifier_identifiant(valeur: Any, nom: str = "operation_id") -> int:
    if isinstance(valeur, (bool, np.bool_)) or not isinstance(valeur, numbers.Integral):
        raise ErreurDonnees(f"Identifiant « {nom} » entier attendu (reçu « {valeur} »).", "operation", nom)
    return int(valeur)

