"""Sessions de connexion persistantes et révocables (jeton opaque, enregistrement côté serveur).

- **Génération** : à la connexion, ``secrets.token_urlsafe(32)`` (256 bits aléatoires). Le jeton part vers le
  navigateur (cookie, voir ``pages/commun.py``) ; le magasin n'en garde que l'empreinte SHA-256
  (table ``session_utilisateur``) : une copie de la base ne permet pas de se faire passer pour quelqu'un.
- **Expiration** : par inactivité (``duree_inactivite_session_minutes``) et durée de vie absolue
  (``duree_absolue_session_heures``), réglages de ``parametres_comptes.json`` avec leur source.
- **Rotation** : une connexion révoque le jeton que le navigateur portait déjà.
- **Révocation** : la déconnexion révoque le jeton (pour tous les onglets qui le portent) ; « se déconnecter de
  tous les appareils » révoque toutes les sessions du compte. Un jeton révoqué ou expiré est refusé à jamais.
- **Droits relus** : :func:`lire_session` renvoie l'utilisateur d'après l'état **courant** du compte (actif,
  rôle, communes) ; un compte désactivé perd aussitôt sa session.

Pas de cryptographie maison : un jeton aléatoire et son empreinte suffisent (le secret est l'aléa du jeton).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from donnees.comptes import Utilisateur, _instant, lire_parametres_comptes
from donnees.magasin import Magasin
from donnees.erreurs import ErreurPanne

__all__ = ["NOM_COOKIE", "EtatSession", "empreinte_jeton", "fermer_autres_sessions", "fermer_session",
           "fermer_sessions_compte", "lire_duree_cookie_secondes", "lire_session", "lister_sessions", "ouvrir_session",
           "purger_sessions_expirees"]

journal = logging.getLogger(__name__)

NOM_COOKIE = "desimper_session"
OCTETS_JETON = 32  # 256 bits d'aléa (OWASP : au moins 64 bits d'entropie pour un identifiant de session)
MOTIF_JETON = re.compile(r"^[A-Za-z0-9_-]{43}$")  # forme de secrets.token_urlsafe(32)

# Motif d'un refus → message montré à la personne (None : rien à dire, ex. déconnexion voulue).
MESSAGES_REFUS = {
    "inactivite": "Votre session a expiré après une période d'inactivité : reconnectez-vous.",
    "duree": "Votre session a atteint sa durée maximale : reconnectez-vous.",
    "compte": "Votre compte a été désactivé : vous voyez la vue publique.",
    "revoquee": "Vous avez été déconnecté (déconnexion depuis un autre onglet ou appareil).",
    "inconnue": None,
}


@dataclass(frozen=True)
class EtatSession:
    """Résultat de la lecture d'un jeton : l'utilisateur courant, ou le motif du refus."""

    utilisateur: Utilisateur | None
    motif: str | None = None

    @property
    def message(self) -> str | None:
        """Message français du refus (``None`` si la session est valide ou sans explication utile)."""
        return MESSAGES_REFUS.get(self.motif) if self.motif else None


def _parametres() -> tuple[timedelta, timedelta, timedelta]:
    parametres = lire_parametres_comptes()
    return (timedelta(minutes=parametres["duree_inactivite_session_minutes"]),
            timedelta(hours=parametres["duree_absolue_session_heures"]),
            timedelta(seconds=parametres["intervalle_activite_session_secondes"]))


def empreinte_jeton(jeton: Any) -> str | None:
    """Empreinte SHA-256 (hexadécimale) d'un jeton de la bonne forme, ``None`` sinon."""
    if not isinstance(jeton, str) or not MOTIF_JETON.match(jeton):
        return None
    return hashlib.sha256(jeton.encode("ascii")).hexdigest()


def ouvrir_session(magasin: Magasin, utilisateur: Utilisateur, agent: str | None = None,
                   ancien_jeton: str | None = None, maintenant: datetime | None = None) -> str:
    """Ouvre une session pour un utilisateur authentifié ; renvoie le jeton (à ne stocker que chez le client).

    ``ancien_jeton`` (celui que le navigateur portait) est révoqué : rotation à chaque connexion.
    """
    instant = _instant(maintenant)
    if empreinte_jeton(ancien_jeton):
        magasin.revoquer_session(empreinte_jeton(ancien_jeton), instant, "rotation")
    _ecrire_sans_bloquer(magasin.purger_sessions, instant)  # entretien : la connexion n'en dépend pas
    _, duree_absolue, _ = _parametres()
    jeton = secrets.token_urlsafe(OCTETS_JETON)
    magasin.creer_session(utilisateur.email, empreinte_jeton(jeton), instant, instant + duree_absolue, agent)
    return jeton


def lire_session(magasin: Magasin, jeton: Any, maintenant: datetime | None = None) -> EtatSession:
    """Utilisateur d'une session valide, relu dans le magasin (compte actif, rôle et communes à jour).

    Refus (``utilisateur=None``) : jeton inconnu ou mal formé (``inconnue``), révoqué (``revoquee``),
    inactif trop longtemps (``inactivite``), trop ancien (``duree``), compte désactivé (``compte``) ; une
    session expirée ou d'un compte désactivé est révoquée au passage. Une session valide voit sa dernière
    activité notée (au plus une écriture par ``intervalle_activite_session_secondes``).
    """
    empreinte = empreinte_jeton(jeton)
    session = magasin.lire_session(empreinte) if empreinte else None
    if session is None:
        return EtatSession(None, "inconnue")
    if session["revoquee_le"] is not None:
        journal.info("Jeton de session révoqué présenté (%s, %s).", session["email"], session["motif_revocation"])
        return EtatSession(None, "revoquee")
    instant = _instant(maintenant)
    inactivite, _, intervalle = _parametres()
    motif = ("compte" if not session["actif"] else "duree" if instant >= session["expire_le"]
             else "inactivite" if instant - session["derniere_activite"] >= inactivite else None)
    if motif:
        _ecrire_sans_bloquer(magasin.revoquer_session, empreinte, instant, motif)
        journal.info("Session fermée (%s) : %s.", motif, session["email"])
        return EtatSession(None, motif)
    if instant - session["derniere_activite"] >= intervalle:
        _ecrire_sans_bloquer(magasin.noter_activite_session, empreinte, instant)
    return EtatSession(Utilisateur(email=session["email"], nom=session["nom"], role=session["role"],
                                   communes=frozenset(session["communes"]), actif=True))


def _ecrire_sans_bloquer(ecriture, *arguments) -> None:
    """Écriture d'entretien d'une session (activité, révocation d'une session expirée) : si la base refuse
    l'écriture (dossier en lecture seule, disque plein), la lecture se poursuit et la panne est consignée ; le
    refus d'une session expirée ne dépend pas de cette écriture."""
    try:
        ecriture(*arguments)
    except (SQLAlchemyError, OSError, ErreurPanne) as exc:  # ErreurPanne : panne traduite par le magasin
        journal.warning("Session : écriture impossible dans le magasin (%s : %s).", type(exc).__name__, exc)


def fermer_session(magasin: Magasin, jeton: Any, maintenant: datetime | None = None) -> bool:
    """Déconnexion : révoque ce jeton (tous les onglets qui le portent) ; ``True`` s'il était ouvert."""
    empreinte = empreinte_jeton(jeton)
    return bool(empreinte) and magasin.revoquer_session(empreinte, _instant(maintenant), "deconnexion")


def fermer_sessions_compte(magasin: Magasin, email: str, maintenant: datetime | None = None,
                           administrateur: str | None = None) -> int:
    """« Se déconnecter de tous les appareils » : révoque toutes les sessions du compte ; renvoie leur nombre.

    ``administrateur`` : fermeture décidée par cet administrateur (page Administration), journalisée à son nom.
    """
    motif = "administration" if administrateur else "tous_appareils"
    return magasin.revoquer_sessions_compte(email, _instant(maintenant), motif, auteur=administrateur)


def fermer_autres_sessions(magasin: Magasin, email: str, jeton_courant: Any, maintenant: datetime | None = None) -> int:
    """Ferme les autres sessions du compte (autres navigateurs, postes) et garde celle de ``jeton_courant`` ;
    renvoie leur nombre. Sans jeton valable, rien n'est fermé (0)."""
    empreinte = empreinte_jeton(jeton_courant)
    if not empreinte:
        return 0
    return magasin.revoquer_sessions_compte(email, _instant(maintenant), "autres_sessions", sauf_empreinte=empreinte)


def lister_sessions(magasin: Magasin, email: str, jeton_courant: Any = None,
                    maintenant: datetime | None = None) -> list[dict]:
    """Sessions encore utilisables d'un compte, de la plus récente à la plus ancienne : ``debut``,
    ``derniere_activite``, ``expiration`` (la plus proche de la fin par inactivité et de la durée absolue),
    ``agent`` (navigateur déclaré) et ``courante`` (celle de ``jeton_courant``). Jamais le jeton ni son
    empreinte."""
    instant = _instant(maintenant)
    inactivite, _, _ = _parametres()
    courante = empreinte_jeton(jeton_courant)
    session_courante = magasin.lire_session(courante) if courante else None
    sessions = []
    for ligne in magasin.lister_sessions_ouvertes(email, instant):
        fin_inactivite = ligne["derniere_activite"] + inactivite
        if fin_inactivite <= instant:
            continue
        sessions.append({"debut": ligne["cree_le"], "derniere_activite": ligne["derniere_activite"],
                         "expiration": min(ligne["expire_le"], fin_inactivite), "agent": ligne["agent"],
                         "courante": session_courante is not None and session_courante["id"] == ligne["id"]})
    return sorted(sessions, key=lambda s: s["debut"], reverse=True)


def purger_sessions_expirees(magasin: Magasin, maintenant: datetime | None = None) -> int:
    """Supprime les sessions dont la durée de vie absolue est passée ; renvoie leur nombre (``desimper sessions
    purger`` ; aussi fait à chaque connexion)."""
    return magasin.purger_sessions(_instant(maintenant))


def lire_duree_cookie_secondes() -> int:
    """Durée de vie du cookie (s) : la durée absolue de la session, au-delà de laquelle il ne sert plus à rien."""
    return int(_parametres()[1].total_seconds())
