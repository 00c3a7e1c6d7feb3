"""Politique des mots de passe (OWASP ASVS 4.0.3 niveau 1, § V2.1) : longueur, caractères, listes.

Règles : longueur minimale et maximale (``parametres_comptes.json``), aucun caractère de contrôle (octet
NUL, retour chariot, séquences ANSI…), au moins quelques caractères différents, pas une suite de clavier,
pas un des 10 000 mots de passe les plus courants (``mots_de_passe_courants.txt``, même suivi ou précédé
de chiffres et de symboles : « Password1234 »), ni l'adresse électronique ou sa partie locale, ni le nom
du territoire. Chaque refus lève :class:`ErreurDonnees` avec une explication en français ; le mot de
passe n'apparaît jamais dans le message.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre

__all__ = ["controler_mot_de_passe", "lire_mots_de_passe_courants", "lire_nom_territoire"]

DOSSIER = Path(__file__).resolve().parent
CHEMIN_LISTE = DOSSIER / "mots_de_passe_courants.txt"
CHEMIN_POLITIQUE = DOSSIER / "politique_mots_de_passe.json"
CONSEIL = "Une phrase de passe de plusieurs mots est plus facile à retenir."


@lru_cache(maxsize=None)
def lire_politique() -> dict:
    """Seuils de ``politique_mots_de_passe.json`` (caractères distincts, suites de clavier)."""
    return json.loads(CHEMIN_POLITIQUE.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def lire_mots_de_passe_courants() -> frozenset[str]:
    """Les mots de passe courants de la liste embarquée (minuscules), lignes « # » ignorées."""
    lignes = CHEMIN_LISTE.read_text(encoding="utf-8").splitlines()
    return frozenset(ligne.strip().lower() for ligne in lignes if ligne.strip() and not ligne.startswith("#"))


def lire_nom_territoire() -> str | None:
    """Nom du territoire du dossier de données courant ; None s'il n'y en a pas (ou s'il est illisible)."""
    from donnees.referentiel import lire_territoire

    try:
        return lire_territoire().get("nom")
    except ErreurDonnees:
        return None


def _refus(texte: str) -> ErreurDonnees:
    return ErreurDonnees(f"Mot de passe refusé : {texte}", "utilisateur", "mot_de_passe")


def _simplifier(texte: str) -> str:
    """Minuscules sans accents ni espaces, pour comparer à un nom ou à une liste."""
    sans_accents = unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[\s\-_'.]", "", sans_accents.lower())


def _est_suite(texte: str) -> bool:
    """Vrai si ``texte`` est un morceau d'une suite de clavier répétée, à l'endroit ou à l'envers."""
    for suite in lire_politique()["suites_clavier"]:
        longue = suite * (len(texte) // len(suite) + 2)
        if texte in longue or texte in longue[::-1]:
            return True
    return False


def _controler_contenu(mot_de_passe: str) -> None:
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in mot_de_passe):
        raise _refus("il contient un caractère de contrôle ou invisible (octet nul, tabulation, retour à la "
                     "ligne, séquence d'échappement…). Utilisez seulement des lettres, chiffres, espaces et "
                     "signes de ponctuation.")
    minimum = lire_politique()["caracteres_distincts_min"]
    if len(set(mot_de_passe.lower())) < minimum:
        raise _refus(f"il répète trop les mêmes caractères ({minimum} caractères différents au moins). "
                     f"{CONSEIL}")
    simple = mot_de_passe.lower()
    if _est_suite(simple):
        raise _refus(f"c'est une suite de chiffres, de lettres ou de touches du clavier. {CONSEIL}")
    coeur = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", simple)
    courants = lire_mots_de_passe_courants()
    if simple in courants or (coeur and coeur in courants) or _simplifier(simple) in courants:
        raise _refus("il fait partie des mots de passe les plus courants ou déjà divulgués (liste des 10 000 "
                     f"plus fréquents), que les attaquants essaient en premier. {CONSEIL}")


def _controler_noms(mot_de_passe: str, email: Any, territoire: Any) -> None:
    minimum = lire_politique()["longueur_min_nom"]
    simple = _simplifier(mot_de_passe)
    if isinstance(email, str) and "@" in email:
        adresse = email.strip().lower()
        for morceau in (adresse, adresse.split("@")[0]):
            if len(_simplifier(morceau)) >= minimum and _simplifier(morceau) in simple:
                raise _refus("il contient l'adresse électronique du compte (ou la partie avant « @ »), que "
                             "tout le monde peut deviner. Choisissez-en un autre.")
    if isinstance(territoire, str) and len(_simplifier(territoire)) >= minimum \
            and _simplifier(territoire) in simple:
        raise _refus(f"il contient le nom du territoire (« {territoire} »), que tout le monde peut deviner. "
                     "Choisissez-en un autre.")


def controler_mot_de_passe(mot_de_passe: str, minimum: int, maximum: int, email: Any = None,
                           territoire: Any = None) -> None:
    """Lève :class:`ErreurDonnees` si ``mot_de_passe`` enfreint la politique (voir le module).

    ``minimum`` et ``maximum`` : longueurs en caractères ; la longueur est contrôlée d'abord, pour ne
    jamais parcourir un texte démesuré (50 Mo). ``territoire`` : nom du territoire, ou None.
    """
    if not isinstance(mot_de_passe, str) or not mot_de_passe.strip(" "):
        raise ErreurDonnees(f"Mot de passe manquant : choisissez-en un d'au moins {minimum} caractères. "
                            f"{CONSEIL}", "utilisateur", "mot_de_passe")
    longueur = len(mot_de_passe)
    if longueur < minimum:
        raise ErreurDonnees(f"Mot de passe trop court : {minimum} caractères au moins (il en a {longueur}). "
                            f"{CONSEIL}", "utilisateur", "mot_de_passe")
    if longueur > maximum:
        raise ErreurDonnees(f"Mot de passe trop long : {maximum} caractères au plus (il en a "
                            f"{formater_nombre(longueur)}).",
                            "utilisateur", "mot_de_passe")
    _controler_contenu(mot_de_passe)
    _controler_noms(mot_de_passe, email, territoire)
