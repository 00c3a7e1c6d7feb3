"""Comptes locaux : mots de passe (argon2), authentification avec blocage temporaire, sessions.

Les règles chiffrées (longueur minimale, échecs avant blocage, durée du blocage, inactivité de session)
sont dans ``donnees/parametres_comptes.json``, avec leur justification.

Toute écriture passe par le magasin (:class:`donnees.magasin.Magasin`) et y est journalisée. Les
empreintes ne sont jamais journalisées ni renvoyées par les lectures de comptes.

L'échec d'une connexion lève toujours :class:`ErreurAuthentification` avec **le même message**, que
l'adresse soit inconnue, le mot de passe faux, le compte bloqué ou désactivé : on ne peut pas savoir de
l'extérieur si une adresse a un compte. Le motif exact (``motif``) sert au journal du serveur et aux
tests ; il ne doit pas être affiché. Chaque refus est consigné (module :mod:`logging`, niveau WARNING) avec
sa raison ; jamais le mot de passe, ni le texte saisi comme adresse quand elle n'a pas de compte (ce peut être
un mot de passe tapé dans le mauvais champ) : seule une empreinte courte de celle-ci permet de recouper.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from donnees import nomenclatures
from donnees.magasin import Magasin
from donnees.modeles_json import ParametresComptes
from donnees.mots_de_passe import controler_mot_de_passe, lire_nom_territoire
from donnees.erreurs import ErreurDonnees
from donnees.validation import valider_json

__all__ = [
    "ErreurAuthentification",
    "ROLE_VISITEUR",
    "Utilisateur",
    "VISITEUR",
    "associer_compte_oidc",
    "authentifier",
    "creer_compte",
    "desactiver_compte",
    "generer_mot_de_passe",
    "hacher_mot_de_passe",
    "lire_compte",
    "lire_parametres_comptes",
    "lister_comptes",
    "modifier_compte",
    "reinitialiser_mot_de_passe",
    "session_expiree",
    "verifier_mot_de_passe",
    "verifier_politique_mot_de_passe",
]

logger = logging.getLogger(__name__)

CHEMIN_PARAMETRES = Path(__file__).resolve().parent / "parametres_comptes.json"
ROLE_VISITEUR = "visiteur"
# Alphabet des mots de passe générés : sans caractères ambigus (0/O, 1/l/I).
ALPHABET_GENERE = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# Paramètres argon2id par défaut d'argon2-cffi (profil « faible mémoire » de la RFC 9106 : t=3,
# m=64 Mio, p=4). Une empreinte aux paramètres périmés est refaite à la connexion suivante.
HACHEUR = PasswordHasher()


# ------------------------------------------------------------------------------------- paramètres


@lru_cache(maxsize=None)
def lire_parametres_comptes() -> dict:
    """Paramètres des comptes (``parametres_comptes.json``), vérifiés."""
    try:
        parametres = json.loads(CHEMIN_PARAMETRES.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ErreurDonnees(f"Paramètres des comptes illisibles ({CHEMIN_PARAMETRES}) : {exc}.",
                            "parametres_comptes") from None
    valider_json(ParametresComptes, parametres, CHEMIN_PARAMETRES.name, "parametres_comptes")
    return parametres


def _duree(cle: str) -> timedelta:
    return timedelta(minutes=lire_parametres_comptes()[cle])


# ------------------------------------------------------------------------------------- utilisateur


@dataclass(frozen=True)
class Utilisateur:
    """Personne qui agit : compte local (ou associé à un fournisseur OIDC), ou visiteur anonyme."""

    email: str
    nom: str
    role: str
    communes: frozenset[str] = frozenset()
    actif: bool = True

    def __post_init__(self):
        object.__setattr__(self, "communes", frozenset(self.communes or ()))

    @property
    def est_visiteur(self) -> bool:
        """Vrai pour le public non connecté (et pour un compte désactivé)."""
        return self.role == ROLE_VISITEUR or not self.actif

    @property
    def est_administrateur(self) -> bool:
        return self.actif and self.role == "administrateur"

    @property
    def libelle_role(self) -> str:
        """Libellé français du rôle."""
        return nomenclatures.ROLES.get(self.role, "Visiteur")

    @classmethod
    def depuis_compte(cls, compte: dict) -> Utilisateur:
        """Construit un utilisateur à partir d'une ligne de compte du magasin."""
        return cls(email=compte["email"], nom=compte["nom"], role=compte["role"],
                   communes=frozenset(compte.get("communes") or ()), actif=bool(compte["actif"]))


VISITEUR = Utilisateur(email="", nom="Visiteur", role=ROLE_VISITEUR, communes=frozenset(), actif=True)


class ErreurAuthentification(ErreurDonnees):
    """Connexion refusée ; le message est le même quel que soit le motif (pas d'énumération)."""

    MOTIFS = ("inconnu", "mot_de_passe", "bloque", "inactif")

    def __init__(self, motif: str):
        parametres = lire_parametres_comptes()
        message = ("Adresse électronique ou mot de passe incorrect. Après "
                   f"{parametres['echecs_avant_blocage']} échecs consécutifs, le compte est bloqué "
                   f"{parametres['duree_blocage_minutes']} minutes. En cas d'oubli ou de blocage, "
                   "demandez à un administrateur du syndicat de bassin de réinitialiser votre mot de passe.")
        super().__init__(message, "utilisateur", "email")
        self.motif = motif  # pour le journal du serveur et les tests, jamais pour l'affichage


# ---------------------------------------------------------------------------------- mots de passe


def verifier_politique_mot_de_passe(mot_de_passe: Any, email: str | None = None,
                                   territoire: str | None = None) -> None:
    """Lève :class:`ErreurDonnees` (message en français) si le mot de passe ne respecte pas la politique
    (:mod:`donnees.mots_de_passe`) ; ``territoire`` : nom du territoire (défaut : celui du dossier courant)."""
    parametres = lire_parametres_comptes()
    controler_mot_de_passe(mot_de_passe, parametres["longueur_min_mot_de_passe"],
                           parametres["longueur_max_mot_de_passe"], email,
                           territoire if territoire is not None else lire_nom_territoire())


def hacher_mot_de_passe(mot_de_passe: str) -> str:
    """Empreinte argon2id d'un mot de passe (sel aléatoire inclus)."""
    return HACHEUR.hash(mot_de_passe)


def verifier_mot_de_passe(empreinte: str | None, mot_de_passe: Any) -> bool:
    """Vrai si le mot de passe correspond à l'empreinte ; faux sinon (empreinte absente ou illisible)."""
    if not isinstance(empreinte, str) or not isinstance(mot_de_passe, str):
        return False
    try:
        return HACHEUR.verify(empreinte, mot_de_passe)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generer_mot_de_passe(nb_groupes: int = 4, taille_groupe: int = 5) -> str:
    """Mot de passe aléatoire lisible (ex. ``k7RmQ-x2VbN-…``) : 4 × 5 caractères ≈ 115 bits."""
    return "-".join("".join(secrets.choice(ALPHABET_GENERE) for _ in range(taille_groupe))
                    for _ in range(nb_groupes))


@lru_cache(maxsize=1)
def _empreinte_leurre() -> str:
    """Empreinte factice : vérifiée quand le compte n'existe pas, pour un temps de réponse comparable."""
    return HACHEUR.hash(secrets.token_urlsafe(16))


# Motif d'un refus → raison écrite au journal du serveur.
RAISONS_REFUS = {
    "inconnu": "compte inconnu",
    "mot_de_passe": "mot de passe faux",
    "bloque": "compte bloqué",
    "inactif": "compte désactivé",
}


def _designer_adresse_saisie(email: Any) -> str:
    """Adresse saisie sans compte, pour le journal : empreinte courte (SHA-256), jamais le texte saisi."""
    texte = _normaliser_email(email)
    if not texte:
        return "adresse vide"
    return f"adresse sans compte, empreinte {hashlib.sha256(texte.encode('utf-8')).hexdigest()[:12]}"


def _journaliser_refus(motif: str, designation: str, precision: str | None = None) -> None:
    """Consigne un refus de connexion : raison, compte (ou empreinte de l'adresse saisie), précision."""
    raison = RAISONS_REFUS[motif] + (f" ({precision})" if precision else "")
    logger.warning("Connexion refusée : %s — %s.", raison, designation,
                   extra={"motif": motif, "raison": raison})


def _refuser(motif: str, designation: str, mot_de_passe: Any = None, verifier_leurre: bool = True,
             precision: str | None = None) -> ErreurAuthentification:
    """Erreur de connexion, consignée ; le leurre garde un temps de réponse comparable à un vrai contrôle."""
    if verifier_leurre:
        verifier_mot_de_passe(_empreinte_leurre(), mot_de_passe if isinstance(mot_de_passe, str) else "")
    _journaliser_refus(motif, designation, precision)
    return ErreurAuthentification(motif)


# ------------------------------------------------------------------------------------------ temps


def _instant(maintenant: datetime | None) -> datetime:
    """Instant en UTC sans fuseau (comme dans le magasin) ; l'heure courante si ``None``."""
    if maintenant is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    if not isinstance(maintenant, datetime):
        raise ErreurDonnees(f"Instant attendu (datetime), reçu {type(maintenant).__name__}.", "utilisateur")
    if maintenant.tzinfo is not None:
        return maintenant.astimezone(timezone.utc).replace(tzinfo=None)
    return maintenant


def session_expiree(debut_ou_derniere_activite: datetime | None, maintenant: datetime | None = None) -> bool:
    """Vrai si la session est restée inactive au moins la durée de ``parametres_comptes.json``."""
    if debut_ou_derniere_activite is None:
        return True
    ecoule = _instant(maintenant) - _instant(debut_ou_derniere_activite)
    return ecoule >= _duree("duree_inactivite_session_minutes")


# ------------------------------------------------------------------------------------------ comptes


def _normaliser_email(email: Any) -> str:
    return email.strip().lower() if isinstance(email, str) else ""


def lire_compte(magasin: Magasin, email: str) -> Utilisateur | None:
    """Utilisateur d'une adresse, ou ``None`` s'il n'a pas de compte."""
    compte = magasin.lire_utilisateur(email)
    return Utilisateur.depuis_compte(compte) if compte else None


def _exiger_compte(magasin: Magasin, email: str) -> Utilisateur:
    utilisateur = lire_compte(magasin, email)
    if utilisateur is None:
        raise ErreurDonnees(f"Aucun compte pour l'adresse « {email} ».", "utilisateur", "email")
    return utilisateur


def lister_comptes(magasin: Magasin) -> pd.DataFrame:
    """Comptes (sans empreintes) : email, nom, rôle, communes, actif, dates de création et de connexion."""
    return magasin.lire_utilisateurs()


def creer_compte(magasin: Magasin, email: str, nom: str, role: str, communes: Iterable[str] | str | None,
                 mot_de_passe: str | None, auteur: str) -> Utilisateur:
    """Crée un compte local ; ``mot_de_passe=None`` : connexion par OIDC (ProConnect) seulement."""
    empreinte = None
    if mot_de_passe is not None:
        verifier_politique_mot_de_passe(mot_de_passe, email)
        empreinte = hacher_mot_de_passe(mot_de_passe)
    magasin.creer_utilisateur(email, nom, role, communes, empreinte, actif=True, auteur=auteur)
    return _exiger_compte(magasin, email)


def modifier_compte(magasin: Magasin, email: str, auteur: str, *, nom: str | None = None,
                    role: str | None = None, communes: Iterable[str] | str | None = None,
                    actif: bool | None = None) -> Utilisateur:
    """Modifie le nom, le rôle, les communes ou l'état d'un compte (``None`` : inchangé)."""
    modifications: dict[str, Any] = {}
    for champ, valeur in (("nom", nom), ("role", role), ("communes", communes), ("actif", actif)):
        if valeur is not None:
            modifications[champ] = list(valeur) if isinstance(valeur, (set, frozenset)) else valeur
    if modifications:
        magasin.modifier_utilisateur(email, modifications, auteur)
    return _exiger_compte(magasin, email)


def desactiver_compte(magasin: Magasin, email: str, auteur: str) -> Utilisateur:
    """Désactive un compte (il ne peut plus se connecter ; l'historique est gardé)."""
    return modifier_compte(magasin, email, auteur, actif=False)


def reinitialiser_mot_de_passe(magasin: Magasin, email: str, auteur: str, mot_de_passe: str | None = None) -> str:
    """Pose ``mot_de_passe`` (ou un mot de passe généré) et lève le blocage ; renvoie le mot de passe posé.

    Le mot de passe renvoyé est à transmettre une seule fois à la personne, par un canal sûr.
    """
    _exiger_compte(magasin, email)
    if mot_de_passe is None:
        mot_de_passe = generer_mot_de_passe()
    verifier_politique_mot_de_passe(mot_de_passe, email)
    magasin.modifier_utilisateur(email, {"mot_de_passe_hash": hacher_mot_de_passe(mot_de_passe)}, auteur)
    return mot_de_passe


# ---------------------------------------------------------------------------------- authentification


def authentifier(magasin: Magasin, email: str, mot_de_passe: str, maintenant: datetime | None = None) -> Utilisateur:
    """Vérifie adresse et mot de passe ; renvoie l'utilisateur ou lève :class:`ErreurAuthentification`.

    Chaque échec sur un compte existant est compté ; au-delà du seuil, le compte est bloqué pour la
    durée prévue (tentatives refusées sans être comptées pendant le blocage). Une réussite remet le
    compteur à zéro et note ``derniere_connexion``. ``maintenant`` (UTC) sert aux tests.
    """
    instant = _instant(maintenant)
    parametres = lire_parametres_comptes()
    compte = magasin.lire_utilisateur(_normaliser_email(email)) if _normaliser_email(email) else None
    if compte is None:
        raise _refuser("inconnu", _designer_adresse_saisie(email), mot_de_passe)
    if not compte["mot_de_passe_hash"]:
        raise _refuser("inconnu", compte["email"], mot_de_passe, precision="pas de mot de passe local, "
                       "connexion par le fournisseur d'identité seulement")
    if not compte["actif"]:
        raise _refuser("inactif", compte["email"], mot_de_passe)
    if compte["bloque_jusqua"] is not None and instant < compte["bloque_jusqua"]:
        raise _refuser("bloque", compte["email"], mot_de_passe,
                       precision=f"jusqu'à {compte['bloque_jusqua']:%Y-%m-%d %H:%M} UTC")
    if not verifier_mot_de_passe(compte["mot_de_passe_hash"], mot_de_passe):
        etat = magasin.enregistrer_echec_connexion(compte["email"], instant, parametres["echecs_avant_blocage"],
                                                   _duree("duree_blocage_minutes")) or {}
        raise _refuser("mot_de_passe", compte["email"], verifier_leurre=False, precision=_decrire_echecs(etat))
    nouvelle_empreinte = None
    try:
        if HACHEUR.check_needs_rehash(compte["mot_de_passe_hash"]):
            nouvelle_empreinte = hacher_mot_de_passe(mot_de_passe)
    except InvalidHashError:  # pragma: no cover - empreinte déjà vérifiée
        pass
    if not magasin.enregistrer_connexion(compte["email"], instant, nouvelle_empreinte, verifier_blocage=True):
        # Bloqué entre la lecture et l'écriture par des échecs simultanés : le blocage l'emporte.
        raise _refuser("bloque", compte["email"], verifier_leurre=False, precision="bloqué pendant la vérification")
    return Utilisateur.depuis_compte(compte)


def _decrire_echecs(etat: dict) -> str | None:
    """« 5 échecs consécutifs, compte bloqué jusqu'à … » d'après l'état renvoyé par le magasin."""
    echecs, bloque = etat.get("echecs_connexion"), etat.get("bloque_jusqua")
    if echecs is None:
        return None
    texte = f"{echecs} échec{'s' if echecs > 1 else ''} consécutif{'s' if echecs > 1 else ''}"
    return texte + (f", compte bloqué jusqu'à {bloque:%Y-%m-%d %H:%M} UTC" if isinstance(bloque, datetime) else "")


def associer_compte_oidc(magasin: Magasin, email: str, maintenant: datetime | None = None) -> Utilisateur:
    """Compte local associé à l'adresse vérifiée par un fournisseur OIDC (``st.login``, ProConnect).

    Le fournisseur atteste l'identité ; le rôle et les communes viennent du compte local. Sans compte
    actif pour cette adresse, la connexion est refusée (même message qu'un mot de passe faux).
    """
    compte = magasin.lire_utilisateur(_normaliser_email(email)) if _normaliser_email(email) else None
    if compte is None:
        _journaliser_refus("inconnu", _normaliser_email(email) or "adresse vide", "fournisseur d'identité")
        raise ErreurAuthentification("inconnu")
    if not compte["actif"]:
        _journaliser_refus("inactif", compte["email"], "fournisseur d'identité")
        raise ErreurAuthentification("inactif")
    magasin.enregistrer_connexion(compte["email"], _instant(maintenant))
    return Utilisateur.depuis_compte(compte)
