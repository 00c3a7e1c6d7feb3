"""Notifications dans l'application (issue 16) : table ``notification``, créée dans la transaction de l'écriture
qui la cause.

Une notification a un destinataire (adresse du compte), un genre (``donnees/nomenclatures/notifications.csv``), un
texte, un lien interne (``/fiche?id=12`` : page et objet), sa date de création, de lecture (``lue_le``) et d'envoi
dans un résumé par courriel (``envoyee_le``). :func:`ajouter_notifications` est la seule porte d'entrée : les
échanges, la validation des opérations (et demain les ressources et l'agenda) l'appellent avec la connexion de
leur transaction, si bien qu'une écriture annulée n'en laisse aucune. Chacun ne lit que les siennes (droits :
:mod:`donnees.droits.echanges`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from donnees.erreurs import ErreurDonnees
from donnees.magasin.convertisseurs import lire_resultat
from donnees.magasin.journal import _maintenant
from donnees.magasin.tables import table_notification, table_utilisateur
from donnees.nomenclatures import lire_libelles
from donnees.validation import lire_parametres_justifies

CHEMIN_PARAMETRES = Path(__file__).resolve().parents[1] / "parametres_echanges.json"
COLONNES_NOTIFICATIONS = ["id", "genre", "texte", "lien", "cree_le", "lue_le", "envoyee_le"]


@lru_cache(maxsize=None)
def lire_genres_notification() -> dict[str, str]:
    """Genres de notification : code → libellé (``donnees/nomenclatures/notifications.csv``)."""
    return lire_libelles("notifications.csv")


@lru_cache(maxsize=None)
def lire_parametres_echanges() -> dict:
    """Limites des échanges et des notifications (``donnees/parametres_echanges.json``, avec leur raison)."""
    return lire_parametres_justifies(CHEMIN_PARAMETRES, ("longueur_max_message", "longueur_max_motif",
                                                         "longueur_max_extrait_notification",
                                                         "nombre_max_notifications_affichees"), "parametres_echanges")


def extraire(texte, longueur: int | None = None) -> str:
    """Texte sur une ligne, coupé à ``longueur`` caractères (paramètre ``longueur_max_extrait_notification``)."""
    longueur = longueur or lire_parametres_echanges()["longueur_max_extrait_notification"]
    propre = " ".join(str(texte or "").split())
    return propre if len(propre) <= longueur else propre[:longueur - 1] + "…"


def verifier_lien(lien) -> str | None:
    """Lien interne (``/page?parametres``) ou None ; tout autre lien (absolu, ``//hôte``, ``javascript:``, espaces
    ou caractères de contrôle) est refusé."""
    if lien is None:
        return None
    texte = str(lien)
    if not texte.startswith("/") or texte.startswith("//") or any(c.isspace() or ord(c) < 32 for c in texte):
        raise ErreurDonnees(f"Notification, champ « lien » : « {extraire(texte, 60)} » n'est pas un lien interne "
                            "(ex. /fiche?id=12).", "notification", "lien")
    return texte


def ajouter_notifications(conn: Connection, destinataires: Iterable[str], genre: str, texte: str,
                          lien: str | None = None, quand: datetime | None = None) -> int:
    """Crée, dans la transaction ``conn`` de l'écriture qui la cause, une notification par destinataire distinct
    (adresses vides ignorées) ; renvoie leur nombre. Genre inconnu, texte vide ou lien externe :
    :class:`ErreurDonnees` (l'écriture entière est alors annulée)."""
    if genre not in lire_genres_notification():
        raise ErreurDonnees(f"Notification : genre « {genre} » inconnu (genres : "
                            f"{', '.join(lire_genres_notification())}).", "notification", "genre")
    if not isinstance(texte, str) or not texte.strip():
        raise ErreurDonnees("Notification : texte vide.", "notification", "texte")
    lien = verifier_lien(lien)
    adresses = sorted({str(d).strip() for d in destinataires if isinstance(d, str) and d.strip()})
    if not adresses:
        return 0
    quand = quand or _maintenant()
    conn.execute(table_notification.insert(), [
        {"destinataire": adresse, "genre": genre, "texte": texte.strip(), "lien": lien, "cree_le": quand}
        for adresse in adresses])
    return len(adresses)


def lire_referents_commune(conn: Connection, code_insee: str) -> list[str]:
    """Adresses des référents actifs rattachés à la commune ``code_insee`` (dans la transaction ``conn``)."""
    u = table_utilisateur.c
    lignes = conn.execute(select(u.email, u.communes).where(u.role == "referent", u.actif.is_(True))).all()
    return [email for email, communes in lignes if code_insee in (communes or "").split(",")]


def notifier_decision_validation(conn: Connection, operation: dict, diff: dict, auteur: str,
                                 quand: datetime) -> int:
    """Notifications d'une décision du syndicat sur ``operation`` (état après écriture : ``id``, ``nom``,
    ``code_insee``, ``validation``, ``commentaire_validation``), aux référents de sa commune sauf l'auteur :
    validée, ou renvoyée à corriger (nouvelle demande ou commentaire changé). Rien pour une autre modification."""
    validation = operation.get("validation")
    if "validation" not in diff and not (validation == "a_corriger" and "commentaire_validation" in diff):
        return 0
    if validation not in ("validee", "a_corriger"):
        return 0
    nom = extraire(operation.get("nom"))
    if validation == "validee":
        genre = "operation_validee"
        texte = f"Opération n° {operation['id']} « {nom} » validée par le syndicat de bassin."
    else:
        commentaire = extraire(operation.get("commentaire_validation"), 300)
        genre, texte = "operation_a_corriger", (f"Opération n° {operation['id']} « {nom} » renvoyée à corriger par "
                                               f"le syndicat de bassin : {commentaire}")
    destinataires = [e for e in lire_referents_commune(conn, str(operation.get("code_insee"))) if e != auteur]
    return ajouter_notifications(conn, destinataires, genre, texte, f"/fiche?id={int(operation['id'])}", quand)


class NotificationsMagasin:
    """Méthodes du magasin pour les notifications (mêlées à :class:`donnees.magasin.Magasin`)."""

    def lire_notifications(self, destinataire: str, limite: int | None = None) -> pd.DataFrame:
        """Notifications d'un compte, des plus récentes aux plus anciennes (au plus ``limite``)."""
        n = table_notification.c
        requete = (select(*[n[c] for c in COLONNES_NOTIFICATIONS]).where(n.destinataire == str(destinataire))
                   .order_by(n.cree_le.desc(), n.id.desc()))
        if limite is not None:
            requete = requete.limit(int(limite))
        with self._lire() as conn:
            return lire_resultat(conn.execute(requete), COLONNES_NOTIFICATIONS)

    def compter_notifications_non_lues(self, destinataire: str) -> int:
        """Nombre de notifications non lues d'un compte."""
        n = table_notification.c
        with self._lire() as conn:
            return int(conn.execute(select(func.count()).select_from(table_notification).where(
                n.destinataire == str(destinataire), n.lue_le.is_(None))).scalar_one())

    def marquer_notifications_lues(self, destinataire: str, identifiants: Iterable[int] | None = None) -> int:
        """Marque lues les notifications non lues d'un compte (toutes, ou celles de ``identifiants`` : celles d'un
        autre compte sont ignorées) ; renvoie leur nombre."""
        n = table_notification.c
        requete = update(table_notification).where(n.destinataire == str(destinataire), n.lue_le.is_(None))
        if identifiants is not None:
            ids = [int(i) for i in identifiants]
            if not ids:
                return 0
            requete = requete.where(n.id.in_(ids))
        with self._ecrire() as conn:
            return int(conn.execute(requete.values(lue_le=_maintenant())).rowcount)

    def lire_notifications_a_envoyer(self, destinataire: str) -> pd.DataFrame:
        """Notifications non lues et jamais envoyées d'un compte (résumé par courriel), des plus anciennes aux
        plus récentes."""
        n = table_notification.c
        with self._lire() as conn:
            return lire_resultat(conn.execute(
                select(*[n[c] for c in COLONNES_NOTIFICATIONS]).where(
                    n.destinataire == str(destinataire), n.lue_le.is_(None), n.envoyee_le.is_(None))
                .order_by(n.cree_le, n.id)), COLONNES_NOTIFICATIONS)

    @staticmethod
    def noter_notifications_envoyees(conn: Connection, destinataire: str, identifiants: Iterable[int],
                                     quand: datetime) -> int:
        """Dans la transaction ``conn`` de l'envoi : ``envoyee_le`` des notifications envoyées (jamais deux fois)."""
        n = table_notification.c
        ids = [int(i) for i in identifiants]
        if not ids:
            return 0
        return int(conn.execute(update(table_notification).where(
            n.destinataire == str(destinataire), n.id.in_(ids), n.envoyee_le.is_(None)).values(envoyee_le=quand)
        ).rowcount)


__all__ = ["NotificationsMagasin", "ajouter_notifications", "lire_genres_notification", "lire_parametres_echanges",
           "lire_referents_commune", "notifier_decision_validation"]
