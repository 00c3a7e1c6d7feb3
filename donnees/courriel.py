"""Envoi de courriels par SMTP (résumés de notifications, issue 16).

Configuration lue dans l'environnement (jamais dans le dépôt) :

- ``DESIMPER_SMTP_HOTE`` (obligatoire pour envoyer), ``DESIMPER_SMTP_PORT`` (défaut : 587 en STARTTLS, 465 en
  TLS direct, 25 sans chiffrement) ;
- ``DESIMPER_SMTP_SECURITE`` : ``starttls`` (défaut), ``tls`` (TLS dès la connexion) ou ``aucune`` (réseau local
  de confiance, tests) ;
- ``DESIMPER_SMTP_UTILISATEUR`` et ``DESIMPER_SMTP_MOT_DE_PASSE`` (facultatifs : sans eux, pas
  d'authentification) ;
- ``DESIMPER_SMTP_EXPEDITEUR`` : adresse d'expédition (obligatoire) ;
- ``DESIMPER_URL_APPLICATION`` : adresse publique de l'application (liens des courriels et du désabonnement).

Une panne du serveur (refus, coupure, délai) lève :class:`ErreurEnvoi` (message français) : l'appelant garde le
résumé pour l'essai suivant, rien n'est marqué envoyé.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

from donnees.erreurs import ErreurDonnees

SECURITES = {"starttls": 587, "tls": 465, "aucune": 25}
DELAI_CONNEXION_S = 30.0  # délai d'attente du serveur SMTP : au-delà, l'envoi est remis à l'essai suivant


class ErreurEnvoi(ErreurDonnees):
    """Le serveur SMTP a refusé ou n'a pas répondu : le résumé sera renvoyé à l'essai suivant."""


@dataclass(frozen=True)
class ConfigurationSmtp:
    """Serveur SMTP, sécurité, identifiants, expéditeur et adresse publique de l'application."""

    hote: str
    port: int
    securite: str
    expediteur: str
    url_application: str
    utilisateur: str | None = None
    mot_de_passe: str | None = None

    def __repr__(self) -> str:  # jamais le mot de passe dans un journal
        return (f"ConfigurationSmtp(hote={self.hote!r}, port={self.port}, securite={self.securite!r}, "
                f"expediteur={self.expediteur!r}, utilisateur={self.utilisateur!r})")


def verifier_adresse(adresse: str, champ: str) -> str:
    """Adresse électronique simple (``nom@domaine``), sans retour à la ligne (en-têtes injectés refusés)."""
    texte = str(adresse or "").strip()
    _, courriel = parseaddr(texte)
    local, _, domaine = courriel.rpartition("@")
    if any(c in texte for c in "\r\n") or not local or "." not in domaine:
        raise ErreurDonnees(f"Configuration du courriel : « {champ} » n'est pas une adresse électronique valable "
                            f"(« {texte[:80]} »). Exemple : desimper@syndicat-bassin.fr.", "configuration", champ)
    return texte


def lire_configuration_smtp(environnement: dict | None = None) -> ConfigurationSmtp:
    """Configuration SMTP de l'environnement ; :class:`ErreurDonnees` en français si un réglage manque ou est faux."""
    env = os.environ if environnement is None else environnement
    hote = str(env.get("DESIMPER_SMTP_HOTE", "")).strip()
    if not hote:
        raise ErreurDonnees("Envoi des courriels non configuré : renseignez DESIMPER_SMTP_HOTE (serveur SMTP), "
                            "DESIMPER_SMTP_EXPEDITEUR et DESIMPER_URL_APPLICATION (voir docs/exploitation.md).",
                            "configuration", "DESIMPER_SMTP_HOTE")
    securite = str(env.get("DESIMPER_SMTP_SECURITE", "starttls")).strip().lower() or "starttls"
    if securite not in SECURITES:
        raise ErreurDonnees(f"DESIMPER_SMTP_SECURITE vaut « {securite} » : choisissez starttls, tls ou aucune.",
                            "configuration", "DESIMPER_SMTP_SECURITE")
    port_texte = str(env.get("DESIMPER_SMTP_PORT", "")).strip()
    try:
        port = int(port_texte) if port_texte else SECURITES[securite]
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ErreurDonnees(f"DESIMPER_SMTP_PORT vaut « {port_texte} » : un numéro de port entre 1 et 65535 est "
                            "attendu (587 en STARTTLS, 465 en TLS).", "configuration", "DESIMPER_SMTP_PORT")
    expediteur = verifier_adresse(env.get("DESIMPER_SMTP_EXPEDITEUR", ""), "DESIMPER_SMTP_EXPEDITEUR")
    url = str(env.get("DESIMPER_URL_APPLICATION", "")).strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or any(c in url for c in " \r\n\"'<>"):
        raise ErreurDonnees("DESIMPER_URL_APPLICATION doit donner l'adresse publique de l'application "
                            "(https://desimper.exemple.fr) : les liens des courriels et du désabonnement en dépendent.",
                            "configuration", "DESIMPER_URL_APPLICATION")
    utilisateur = str(env.get("DESIMPER_SMTP_UTILISATEUR", "")).strip() or None
    mot_de_passe = str(env.get("DESIMPER_SMTP_MOT_DE_PASSE", "")) or None
    return ConfigurationSmtp(hote, port, securite, expediteur, url, utilisateur, mot_de_passe)


def envoyer_message(configuration: ConfigurationSmtp, message: EmailMessage) -> None:
    """Envoie un message ; :class:`ErreurEnvoi` (message français, sans mot de passe) si le serveur refuse, coupe
    ou ne répond pas : rien n'est réputé envoyé."""
    c = configuration
    try:
        if c.securite == "tls":
            serveur = smtplib.SMTP_SSL(c.hote, c.port, timeout=DELAI_CONNEXION_S,
                                       context=ssl.create_default_context())
        else:
            serveur = smtplib.SMTP(c.hote, c.port, timeout=DELAI_CONNEXION_S)
        with serveur:
            if c.securite == "starttls":
                serveur.starttls(context=ssl.create_default_context())
            if c.utilisateur:
                serveur.login(c.utilisateur, c.mot_de_passe or "")
            refuses = serveur.send_message(message)
    except smtplib.SMTPResponseException as exc:
        texte = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise ErreurEnvoi(f"Le serveur SMTP {c.hote}:{c.port} a refusé le message (code {exc.smtp_code} : "
                          f"{texte.strip()[:200]}) ; il sera renvoyé au prochain envoi.", "courriel") from None
    except (smtplib.SMTPException, OSError, socket.timeout, ssl.SSLError) as exc:
        raise ErreurEnvoi(f"Serveur SMTP {c.hote}:{c.port} injoignable ou coupé ({type(exc).__name__} : "
                          f"{str(exc)[:200]}) ; le message sera renvoyé au prochain envoi.", "courriel") from None
    if refuses:
        raise ErreurEnvoi(f"Le serveur SMTP {c.hote}:{c.port} a refusé le destinataire "
                          f"{', '.join(refuses)} ; le message sera renvoyé au prochain envoi.", "courriel")
