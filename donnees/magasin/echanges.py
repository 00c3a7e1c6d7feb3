"""Échanges de la communauté de pratiques (issue 16) : fils de discussion, messages, modération, abonnements.

Un fil est attaché à un objet : une opération (``objet = "operation"``). Le retour d'expérience d'une opération
n'a pas de fil à lui : c'est un champ de l'opération (un par opération, même commune, mêmes référents pour
répondre) ; la galerie des retours montre le fil de l'opération sous chaque retour, et la fiche le même fil, pour
qu'une question posée d'un côté trouve sa réponse de l'autre sans conversation coupée en deux ni double abonnement.

Chaque écriture se fait en une transaction avec sa ligne de journal (messages : création, masquage =
« suppression », restauration) et les notifications qu'elle cause (:func:`donnees.magasin.notifications.
ajouter_notifications`) ; une saisie invalide lève :class:`ErreurDonnees` (message français qui nomme le champ)
sans rien écrire. Les droits sont vérifiés par la façade (:mod:`donnees.droits.echanges`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from donnees.erreurs import ErreurDonnees
from donnees.magasin.convertisseurs import _verifier_auteur, _verifier_identifiant, lire_resultat
from donnees.magasin.journal import _ligne_journal, _maintenant
from donnees.magasin.notifications import (
    ajouter_notifications,
    extraire,
    lire_parametres_echanges,
    lire_referents_commune,
)
from donnees.magasin.tables import (
    GENRES_MESSAGE,
    table_abonnement_fil,
    table_fil_discussion,
    table_message,
    table_operation,
    table_utilisateur,
)

OBJET_OPERATION = "operation"
LIBELLES_GENRE_MESSAGE = {"question": "Question", "reponse": "Réponse"}
COLONNES_MESSAGES = ["id", "operation_id", "auteur_email", "auteur_nom", "genre", "texte", "cree_le", "masque",
                     "masque_par", "masque_le", "motif_masquage"]
CONTROLES_PERMIS = "\n\t"


def verifier_texte(valeur: Any, contexte: str, champ: str, libelle: str, longueur_max: int) -> str:
    """Texte saisi nettoyé (fins de ligne unifiées, blancs de bord retirés) ; :class:`ErreurDonnees` en français
    s'il est vide, trop long ou porte un caractère de contrôle."""
    if valeur is None or (isinstance(valeur, float) and valeur != valeur):
        valeur = ""
    if not isinstance(valeur, str):
        raise ErreurDonnees(f"{contexte}, champ « {libelle} » ({champ}) : texte attendu.", "message_fil", champ)
    texte = valeur.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not texte:
        raise ErreurDonnees(f"{contexte}, champ « {libelle} » ({champ}) : texte vide ; écrivez votre {libelle}.",
                            "message_fil", champ)
    if len(texte) > longueur_max:
        raise ErreurDonnees(f"{contexte}, champ « {libelle} » ({champ}) : {len(texte)} caractères, au plus "
                            f"{longueur_max} ; raccourcissez-le (ou partagez un document).", "message_fil", champ)
    interdits = sorted({f"U+{ord(c):04X}" for c in texte if (ord(c) < 32 or ord(c) == 127)
                        and c not in CONTROLES_PERMIS})
    if interdits:
        raise ErreurDonnees(f"{contexte}, champ « {libelle} » ({champ}) : caractère(s) de contrôle "
                            f"{', '.join(interdits)} refusé(s) ; retirez-les.", "message_fil", champ)
    return texte


def _ids(valeurs: Iterable) -> list[int]:
    return sorted({int(v) for v in valeurs})


class EchangesMagasin:
    """Méthodes du magasin pour les échanges (mêlées à :class:`donnees.magasin.Magasin`)."""

    # ---------------------------------------------------------------- lectures

    def lire_etat_operations(self, operation_ids: Iterable[int]) -> pd.DataFrame:
        """État léger d'opérations (``id``, ``nom``, ``code_insee``, ``validation``, ``supprimee``) : de quoi
        décider des droits sur leur fil sans lire zones ni photos."""
        o = table_operation.c
        with self._lire() as conn:
            return lire_resultat(conn.execute(select(o.id, o.nom, o.code_insee, o.validation, o.supprimee)
                                              .where(o.id.in_(_ids(operation_ids))).order_by(o.id)))

    def lire_messages(self, operation_ids: Iterable[int], inclure_masques: bool = False) -> pd.DataFrame:
        """Messages des fils de ces opérations, du plus ancien au plus récent (masqués seulement sur demande)."""
        m, f = table_message.c, table_fil_discussion.c
        requete = (select(m.id, f.objet_id.label("operation_id"), m.auteur_email, m.auteur_nom, m.genre, m.texte,
                          m.cree_le, m.masque, m.masque_par, m.masque_le, m.motif_masquage)
                   .join(table_fil_discussion, f.id == m.fil_id)
                   .where(f.objet == OBJET_OPERATION, f.objet_id.in_(_ids(operation_ids)))
                   .order_by(m.cree_le, m.id))
        if not inclure_masques:
            requete = requete.where(m.masque.is_(False))
        with self._lire() as conn:
            table = lire_resultat(conn.execute(requete), COLONNES_MESSAGES)
        table["masque"] = table["masque"].astype(bool)
        return table

    def compter_messages(self, operation_ids: Iterable[int], inclure_masques: bool = False) -> dict[int, int]:
        """Nombre de messages du fil de chaque opération (0 sans fil)."""
        ids = _ids(operation_ids)
        m, f = table_message.c, table_fil_discussion.c
        requete = (select(f.objet_id, func.count(m.id)).join(table_fil_discussion, f.id == m.fil_id)
                   .where(f.objet == OBJET_OPERATION, f.objet_id.in_(ids)).group_by(f.objet_id))
        if not inclure_masques:
            requete = requete.where(m.masque.is_(False))
        with self._lire() as conn:
            comptes = {int(i): int(n) for i, n in conn.execute(requete).all()}
        return {i: comptes.get(i, 0) for i in ids}

    def lire_message(self, message_id: int) -> dict:
        """Un message (avec l'``operation_id`` de son fil) ; :class:`ErreurDonnees` s'il n'existe pas."""
        message_id = _verifier_identifiant(message_id, "message_id")
        m, f = table_message.c, table_fil_discussion.c
        with self._lire() as conn:
            ligne = conn.execute(select(*[m[c] for c in COLONNES_MESSAGES if c != "operation_id"],
                                        f.objet_id.label("operation_id"))
                                 .join(table_fil_discussion, f.id == m.fil_id).where(m.id == message_id)).first()
        if ligne is None:
            raise ErreurDonnees(f"Message n° {message_id} introuvable.", "message_fil", "id")
        return dict(ligne._mapping)

    def suit_fil(self, operation_id: int, email: str) -> bool:
        """Vrai si ``email`` suit le fil de l'opération."""
        a, f = table_abonnement_fil.c, table_fil_discussion.c
        with self._lire() as conn:
            return conn.execute(select(a.id).join(table_fil_discussion, f.id == a.fil_id).where(
                f.objet == OBJET_OPERATION, f.objet_id == int(operation_id), a.email == str(email))).first() \
                is not None

    def lire_abonnes(self, operation_id: int) -> list[str]:
        """Adresses qui suivent le fil de l'opération."""
        with self._lire() as conn:
            return self._abonnes(conn, operation_id)

    # ---------------------------------------------------------------- outils de transaction

    @staticmethod
    def _fil(conn: Connection, operation_id: int, creer: bool) -> int | None:
        f = table_fil_discussion.c
        requete = select(f.id).where(f.objet == OBJET_OPERATION, f.objet_id == int(operation_id))
        ident = conn.execute(requete).scalar()
        if ident is not None or not creer:
            return ident
        try:
            with conn.begin_nested():
                return int(conn.execute(table_fil_discussion.insert().values(
                    objet=OBJET_OPERATION, objet_id=int(operation_id), cree_le=_maintenant())).inserted_primary_key[0])
        except IntegrityError:  # créé au même instant par une autre transaction
            return int(conn.execute(requete).scalar_one())

    @staticmethod
    def _operation(conn: Connection, operation_id: int) -> Any:
        o = table_operation.c
        ligne = conn.execute(select(o.id, o.nom, o.code_insee, o.validation, o.supprimee)
                             .where(o.id == int(operation_id))).first()
        if ligne is None or ligne.supprimee:
            raise ErreurDonnees(f"Opération n° {operation_id} introuvable (supprimée ?) : pas de fil d'échanges.",
                                "message_fil", "operation_id")
        return ligne

    @staticmethod
    def _abonnes(conn: Connection, operation_id: int) -> list[str]:
        a, f = table_abonnement_fil.c, table_fil_discussion.c
        return sorted(conn.execute(select(a.email).join(table_fil_discussion, f.id == a.fil_id).where(
            f.objet == OBJET_OPERATION, f.objet_id == int(operation_id))).scalars())

    @staticmethod
    def _lecteurs(conn: Connection, emails: Iterable[str], operation: Any) -> list[str]:
        """Parmi ``emails``, les comptes actifs qui peuvent encore lire le fil de l'opération (une opération
        repassée « à valider » n'est plus lue par les référents des autres communes) : une notification ne dit rien
        à qui ne peut plus voir son objet."""
        from donnees.comptes import Utilisateur
        from donnees.droits.politique import peut

        u = table_utilisateur.c
        emails = sorted(set(emails))
        if not emails:
            return []
        etat = {"id": operation.id, "code_insee": operation.code_insee, "validation": operation.validation,
                "supprimee": bool(operation.supprimee)}
        lecteurs = []
        for ligne in conn.execute(select(u.email, u.nom, u.role, u.communes, u.actif).where(u.email.in_(emails))):
            compte = Utilisateur(ligne.email, ligne.nom, ligne.role,
                                 frozenset(c for c in (ligne.communes or "").split(",") if c), bool(ligne.actif))
            if peut(compte, "lire_echanges", noms_communes={}) and peut(compte, "lire", operation=etat,
                                                                           noms_communes={}):
                lecteurs.append(ligne.email)
        return lecteurs

    @staticmethod
    def _abonner(conn: Connection, fil_id: int, email: str, quand: datetime) -> bool:
        a = table_abonnement_fil.c
        if conn.execute(select(a.id).where(a.fil_id == fil_id, a.email == email)).first() is not None:
            return False
        try:
            with conn.begin_nested():
                conn.execute(table_abonnement_fil.insert().values(fil_id=fil_id, email=email, cree_le=quand))
        except IntegrityError:  # abonné au même instant par une autre transaction
            return False
        return True

    # ---------------------------------------------------------------- écritures

    def publier_message(self, operation_id: int, genre: str, texte: Any, auteur_email: str, auteur_nom: str) -> int:
        """Publie une question ou une réponse dans le fil de l'opération (fil créé au besoin) ; l'auteur suit le fil ;
        notifications dans la même transaction : une question aux référents de la commune de l'opération, tout
        message aux abonnés du fil — une seule par destinataire, jamais à l'auteur. Renvoie l'identifiant."""
        auteur_email = _verifier_auteur(auteur_email)
        operation_id = _verifier_identifiant(operation_id)
        if genre not in GENRES_MESSAGE:
            raise ErreurDonnees(f"Message, champ « genre » : « {genre} » inconnu ({', '.join(GENRES_MESSAGE)}).",
                                "message_fil", "genre")
        texte = verifier_texte(texte, "Message", "texte", "message",
                               lire_parametres_echanges()["longueur_max_message"])
        nom = str(auteur_nom or "").strip() or auteur_email
        maintenant = _maintenant()
        with self._ecrire() as conn:
            operation = self._operation(conn, operation_id)
            fil_id = self._fil(conn, operation_id, creer=True)
            message_id = int(conn.execute(table_message.insert().values(
                fil_id=fil_id, auteur_email=auteur_email, auteur_nom=nom, genre=genre, texte=texte,
                cree_le=maintenant, masque=False)).inserted_primary_key[0])
            abonnes = self._lecteurs(conn, [e for e in self._abonnes(conn, operation_id) if e != auteur_email],
                                     operation)
            self._abonner(conn, fil_id, auteur_email, maintenant)
            titre = extraire(operation.nom)
            lien = f"/fiche?id={operation_id}"
            referents = []
            if genre == "question":
                referents = [e for e in lire_referents_commune(conn, operation.code_insee) if e != auteur_email]
                ajouter_notifications(conn, referents, "question_commune",
                                      f"Question de {extraire(nom, 80)} sur l'opération n° {operation_id} "
                                      f"« {titre} » de votre commune.", lien, maintenant)
            libelle = "Nouvelle question" if genre == "question" else "Nouvelle réponse"
            ajouter_notifications(conn, [e for e in abonnes if e not in referents], "message_fil",
                                  f"{libelle} de {extraire(nom, 80)} dans le fil de l'opération n° {operation_id} "
                                  f"« {titre} », que vous suivez.", lien, maintenant)
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur_email, "creation", "message_fil",
                                                        message_id, {"operation_id": operation_id, "genre": genre,
                                                                     "texte": texte})])
        return message_id

    def masquer_message(self, message_id: int, motif: Any, auteur: str) -> None:
        """Masque un message (modération) ; motif obligatoire ; journal « suppression »."""
        auteur = _verifier_auteur(auteur)
        motif = verifier_texte(motif, "Masquage", "motif_masquage", "motif",
                               lire_parametres_echanges()["longueur_max_motif"])
        self._basculer_masque(message_id, True, auteur, motif)

    def restaurer_message(self, message_id: int, auteur: str) -> None:
        """Rend visible un message masqué ; journal « restauration »."""
        self._basculer_masque(message_id, False, _verifier_auteur(auteur), None)

    def _basculer_masque(self, message_id: int, masquer: bool, auteur: str, motif: str | None) -> None:
        message_id = _verifier_identifiant(message_id, "message_id")
        m = table_message.c
        maintenant = _maintenant()
        with self._ecrire() as conn:
            actuel = conn.execute(select(m.masque, m.motif_masquage).where(m.id == message_id)).first()
            if actuel is None:
                raise ErreurDonnees(f"Message n° {message_id} introuvable.", "message_fil", "id")
            if bool(actuel.masque) == masquer:
                etat = "déjà masqué" if masquer else "n'est pas masqué"
                raise ErreurDonnees(f"Message n° {message_id} : {etat}.", "message_fil", "masque")
            valeurs = ({"masque": True, "masque_par": auteur, "masque_le": maintenant, "motif_masquage": motif}
                       if masquer else {"masque": False, "masque_par": None, "masque_le": None,
                                        "motif_masquage": None})
            conn.execute(update(table_message).where(m.id == message_id).values(**valeurs))
            diff = {"masque": [not masquer, masquer]}
            diff["motif_masquage"] = [None, motif] if masquer else [actuel.motif_masquage, None]
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "suppression" if masquer
                                                        else "restauration", "message_fil", message_id, diff)])

    def suivre_fil(self, operation_id: int, email: str) -> bool:
        """Abonne ``email`` au fil de l'opération (fil créé au besoin) ; faux s'il le suivait déjà."""
        email = _verifier_auteur(email)
        operation_id = _verifier_identifiant(operation_id)
        with self._ecrire() as conn:
            self._operation(conn, operation_id)
            return self._abonner(conn, self._fil(conn, operation_id, creer=True), email, _maintenant())

    def ne_plus_suivre_fil(self, operation_id: int, email: str) -> bool:
        """Désabonne ``email`` du fil de l'opération ; faux s'il ne le suivait pas."""
        email = _verifier_auteur(email)
        operation_id = _verifier_identifiant(operation_id)
        with self._ecrire() as conn:
            fil_id = self._fil(conn, operation_id, creer=False)
            if fil_id is None:
                return False
            a = table_abonnement_fil.c
            return conn.execute(delete(table_abonnement_fil).where(a.fil_id == fil_id, a.email == email)).rowcount > 0


__all__ = ["LIBELLES_GENRE_MESSAGE", "OBJET_OPERATION", "EchangesMagasin", "verifier_texte"]
