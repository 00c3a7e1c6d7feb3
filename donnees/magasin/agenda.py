"""Agenda de la communauté de pratiques (issue 16, partie 3) : événements, liens vers les opérations, inscriptions,
notifications « à venir » et rappel unique aux inscrits.

Chaque écriture se fait en une transaction avec sa ligne de journal (événements : création, modification,
annulation journalisée en « modification » du statut) et les notifications qu'elle cause
(:func:`donnees.magasin.notifications.ajouter_notifications`, genre ``evenement_a_venir``) :

- création : aux membres actifs du territoire, sauf l'auteur ;
- changement d'horaire ou annulation : aux inscrits (sauf l'auteur) ;
- rappel « à venir » (:meth:`AgendaMagasin.generer_rappels_agenda`, appelé par ``desimper notifications envoyer``
  avant les résumés) : aux inscrits d'un événement qui commence dans ``delai_rappel_jours`` ; ``rappel_le`` de
  l'inscription est posé dans la même transaction, sous condition qu'il soit encore vide : jamais deux rappels.

Les textes de notification ne recopient d'une saisie que des extraits sur une ligne (:func:`extraire`) ; ils sont
affichés comme du texte (page Notifications) et échappés dans les courriels (:mod:`vues.courriels`).

Liens : :data:`LIENS_EVENEMENT` déclare chaque table de liens (objet lié → table, colonne) ; lecture, écriture et
remplacement des liens en dérivent (les ressources s'y ajouteront par une entrée de plus). Une saisie invalide lève
:class:`ErreurDonnees` sans rien écrire. Les droits sont vérifiés par la façade (:mod:`donnees.droits.agenda`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from donnees.agenda import (
    decrire_horaire,
    lire_genres_evenement,
    lire_parametres_agenda,
    verifier_evenement,
    verifier_texte_evenement,
)
from donnees.erreurs import ErreurDonnees
from donnees.magasin.convertisseurs import _verifier_auteur, _verifier_identifiant, lire_resultat
from donnees.magasin.journal import _ligne_journal, _maintenant
from donnees.magasin.notifications import ajouter_notifications, extraire
from donnees.magasin.tables import (
    table_evenement,
    table_evenement_operation,
    table_evenement_ressource,
    table_inscription_evenement,
    table_operation,
    table_ressource,
    table_utilisateur,
)

GENRE_NOTIFICATION = "evenement_a_venir"
# Objet lié → (table de liens, colonne de l'objet). Un lien de plus : une entrée de plus (et son contrôle
# d'existence dans :meth:`AgendaMagasin._verifier_liens_existants`).
LIENS_EVENEMENT = {"operation": (table_evenement_operation, "operation_id"),
                   "ressource": (table_evenement_ressource, "ressource_id")}
COLONNES_EVENEMENT = [c.name for c in table_evenement.columns]
COLONNES_INSCRIPTIONS = ["evenement_id", "email", "nom", "inscrit_le", "rappel_le"]


def lien_evenement(evenement_id: int) -> str:
    """Lien interne de la fiche d'un événement (page Agenda)."""
    return f"/agenda?id={int(evenement_id)}"


def _ids(valeurs: Iterable) -> list[int]:
    return sorted({_verifier_identifiant(v, "operation_id") for v in valeurs})


class AgendaMagasin:
    """Méthodes du magasin pour l'agenda (mêlées à :class:`donnees.magasin.Magasin`)."""

    # ---------------------------------------------------------------- lectures

    def lire_evenements(self, depuis: datetime | None = None, jusqua: datetime | None = None,
                        partages_seulement: bool = False, identifiants: Iterable[int] | None = None) -> pd.DataFrame:
        """Événements (annulés compris) du plus proche au plus lointain, avec ``nombre_inscrits`` ; ``depuis`` et
        ``jusqua`` (UTC) bornent la fin et le début ; ``partages_seulement`` : ceux partagés avec les autres
        territoires de l'instance."""
        e, i = table_evenement.c, table_inscription_evenement.c
        inscrits = (select(i.evenement_id, func.count(i.id).label("nombre_inscrits"))
                    .group_by(i.evenement_id).subquery())
        requete = (select(*[e[c] for c in COLONNES_EVENEMENT],
                          func.coalesce(inscrits.c.nombre_inscrits, 0).label("nombre_inscrits"))
                   .outerjoin(inscrits, inscrits.c.evenement_id == e.id).order_by(e.debut, e.id))
        if depuis is not None:
            requete = requete.where(e.fin >= depuis)
        if jusqua is not None:
            requete = requete.where(e.debut <= jusqua)
        if partages_seulement:
            requete = requete.where(e.partage_territoires.is_(True))
        if identifiants is not None:
            requete = requete.where(e.id.in_(sorted({int(v) for v in identifiants})))
        with self._lire() as conn:
            table = lire_resultat(conn.execute(requete), COLONNES_EVENEMENT + ["nombre_inscrits"])
        for colonne in ("en_ligne", "partage_territoires"):
            table[colonne] = table[colonne].astype(bool)
        table["nombre_inscrits"] = table["nombre_inscrits"].astype(int)
        return table

    def lire_evenement(self, evenement_id: int) -> dict:
        """Un événement avec ``nombre_inscrits`` et ses liens (``operation_ids``…) ; :class:`ErreurDonnees` s'il
        n'existe pas."""
        evenement_id = _verifier_identifiant(evenement_id, "evenement_id")
        table = self.lire_evenements(identifiants=[evenement_id])
        if table.empty:
            raise ErreurDonnees(f"Événement n° {evenement_id} introuvable.", "evenement", "id")
        evenement = {c: (None if not isinstance(v, (str, list)) and pd.isna(v) else v)
                     for c, v in table.iloc[0].to_dict().items()}
        for colonne in ("debut", "fin", "cree_le", "modifie_le"):
            evenement[colonne] = pd.Timestamp(evenement[colonne]).to_pydatetime()
        for colonne in ("id", "sequence", "nombre_inscrits") + (("places_max",) if evenement["places_max"] is not None
                                                                else ()):
            evenement[colonne] = int(evenement[colonne])
        for objet, ids in self.lire_liens_evenements([evenement_id]).items():
            evenement[f"{objet}_ids"] = ids.get(evenement_id, [])
        return evenement

    def lire_liens_evenements(self, evenement_ids: Iterable[int]) -> dict[str, dict[int, list[int]]]:
        """Pour chaque genre de lien (:data:`LIENS_EVENEMENT`) : événement → identifiants liés."""
        with self._lire() as conn:
            return self._lire_liens_conn(conn, sorted({int(v) for v in evenement_ids}))

    def lire_evenements_operation(self, operation_id: int) -> list[int]:
        """Identifiants des événements liés à une opération."""
        table, colonne = LIENS_EVENEMENT["operation"]
        with self._lire() as conn:
            return sorted(int(v) for v in conn.execute(select(table.c.evenement_id).where(
                table.c[colonne] == int(operation_id))).scalars())

    def lire_inscriptions(self, evenement_id: int) -> pd.DataFrame:
        """Inscrits d'un événement (adresse, nom, date d'inscription, rappel), par ordre d'inscription."""
        i = table_inscription_evenement.c
        with self._lire() as conn:
            return lire_resultat(conn.execute(select(*[i[c] for c in COLONNES_INSCRIPTIONS])
                                              .where(i.evenement_id == int(evenement_id))
                                              .order_by(i.inscrit_le, i.id)), COLONNES_INSCRIPTIONS)

    def lire_inscriptions_membre(self, email: str) -> set[int]:
        """Événements auxquels ``email`` est inscrit."""
        i = table_inscription_evenement.c
        with self._lire() as conn:
            return {int(v) for v in conn.execute(select(i.evenement_id).where(i.email == str(email))).scalars()}

    # ---------------------------------------------------------------- outils de transaction

    @staticmethod
    def _evenement(conn: Connection, evenement_id: int, verrouiller: bool = False) -> Any:
        e = table_evenement.c
        requete = select(*[e[c] for c in COLONNES_EVENEMENT]).where(e.id == int(evenement_id))
        ligne = conn.execute(requete.with_for_update() if verrouiller else requete).first()
        if ligne is None:
            raise ErreurDonnees(f"Événement n° {evenement_id} introuvable.", "evenement", "id")
        return ligne

    @staticmethod
    def _ecrire_liens(conn: Connection, evenement_id: int, liens: Mapping[str, Iterable[int]]) -> dict:
        """Remplace les liens donnés (objet → identifiants) ; renvoie ceux écrits pour le journal."""
        ecrits = {}
        for objet, ids in liens.items():
            if objet not in LIENS_EVENEMENT:
                raise ErreurDonnees(f"Événement : lien « {objet} » inconnu ({', '.join(LIENS_EVENEMENT)}).",
                                    "evenement", objet)
            table, colonne = LIENS_EVENEMENT[objet]
            ids = _ids(ids)
            conn.execute(delete(table).where(table.c.evenement_id == int(evenement_id)))
            if ids:
                conn.execute(table.insert(), [{"evenement_id": int(evenement_id), colonne: v} for v in ids])
            ecrits[f"{objet}_ids"] = ids
        return ecrits

    @staticmethod
    def _verifier_liens_existants(conn: Connection, liens: Mapping[str, Iterable[int]] | None) -> None:
        """Chaque objet lié existe : opération non supprimée, ressource présente (masquée comprise : la façade
        vérifie qu'elle est lisible par qui la lie)."""
        for objet, ids in (liens or {}).items():
            if objet == "operation":
                o = table_operation.c
                ids = _ids(ids)
                presents = set(conn.execute(select(o.id).where(o.id.in_(ids), o.supprimee.is_(False))).scalars())
                nom, conseil = "opérations liées", "introuvable(s) ou supprimée(s)"
            elif objet == "ressource":
                r = table_ressource.c
                ids = _ids(ids)
                presents = set(conn.execute(select(r.id).where(r.id.in_(ids))).scalars())
                nom, conseil = "ressources liées", "introuvable(s)"
            else:
                continue  # lien inconnu : refusé par _ecrire_liens
            absents = [str(i) for i in ids if i not in presents]
            if absents:
                raise ErreurDonnees(f"Événement, {nom} : n° {', '.join(absents)} {conseil} ; retirez-les.",
                                    "evenement", f"{objet}_ids")

    @staticmethod
    def _membres_actifs(conn: Connection) -> list[str]:
        u = table_utilisateur.c
        return sorted(conn.execute(select(u.email).where(u.actif.is_(True))).scalars())

    def _inscrits_actifs(self, conn: Connection, evenement_id: int) -> list[str]:
        i = table_inscription_evenement.c
        inscrits = set(conn.execute(select(i.email).where(i.evenement_id == int(evenement_id))).scalars())
        return [e for e in self._membres_actifs(conn) if e in inscrits]

    @staticmethod
    def _designer(ligne: Any) -> str:
        genre = lire_genres_evenement().get(ligne.genre, ligne.genre)
        return f"{genre} « {extraire(ligne.titre)} » {decrire_horaire(ligne.debut, ligne.fin)}"

    # ---------------------------------------------------------------- écritures

    def creer_evenement(self, saisie: Mapping, auteur: str, liens: Mapping[str, Iterable[int]] | None = None,
                        uid: str | None = None) -> int:
        """Crée un événement « prévu » (séquence 0, uid stable) et ses liens (``{"operation": [ids]}``) ;
        notifie les membres actifs du territoire sauf l'auteur. Renvoie l'identifiant."""
        auteur = _verifier_auteur(auteur)
        propre = verifier_evenement(saisie)
        maintenant = _maintenant()
        with self._ecrire() as conn:
            self._verifier_liens_existants(conn, liens)
            evenement_id = int(conn.execute(table_evenement.insert().values(
                **propre, uid=uid or f"{uuid.uuid4()}@desimper", statut="prevu", sequence=0, cree_par=auteur,
                cree_le=maintenant, modifie_le=maintenant)).inserted_primary_key[0])
            ecrits = self._ecrire_liens(conn, evenement_id, liens or {})
            ligne = self._evenement(conn, evenement_id)
            destinataires = [e for e in self._membres_actifs(conn) if e != auteur]
            ajouter_notifications(conn, destinataires, GENRE_NOTIFICATION,
                                  f"Nouvel événement à l'agenda : {self._designer(ligne)}.",
                                  lien_evenement(evenement_id), maintenant)
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "creation", "evenement", evenement_id,
                                                        {**propre, **ecrits})])
        return evenement_id

    def modifier_evenement(self, evenement_id: int, modifications: Mapping, auteur: str,
                           liens: Mapping[str, Iterable[int]] | None = None) -> int:
        """Modifie un événement prévu (champs saisis, liens remplacés s'ils sont donnés) ; séquence + 1 si quelque
        chose change ; inscrits notifiés d'un changement d'horaire. Renvoie la séquence."""
        auteur = _verifier_auteur(auteur)
        evenement_id = _verifier_identifiant(evenement_id, "evenement_id")
        maintenant = _maintenant()
        with self._ecrire() as conn:
            actuel = self._evenement(conn, evenement_id, verrouiller=True)
            if actuel.statut == "annule":
                raise ErreurDonnees(f"Événement n° {evenement_id} annulé : il ne se modifie plus (créez-en un "
                                    "autre).", "evenement", "statut")
            propre = verifier_evenement(modifications, dict(actuel._mapping))
            diff = {c: v for c, v in propre.items() if getattr(actuel, c) != v}
            self._verifier_liens_existants(conn, liens)
            anciens = {f"{o}_ids": ids.get(evenement_id, [])
                       for o, ids in self._lire_liens_conn(conn, [evenement_id]).items()}
            ecrits = self._ecrire_liens(conn, evenement_id, liens or {})
            diff.update({c: v for c, v in ecrits.items() if anciens.get(c) != v})
            if not diff:
                return int(actuel.sequence)
            sequence = int(actuel.sequence) + 1
            conn.execute(update(table_evenement).where(table_evenement.c.id == evenement_id)
                         .values(**propre, sequence=sequence, modifie_le=maintenant))
            if "debut" in diff and propre["debut"] > actuel.debut:  # reporté : le rappel déjà fait est périmé
                conn.execute(update(table_inscription_evenement)
                             .where(table_inscription_evenement.c.evenement_id == evenement_id)
                             .values(rappel_le=None))
            if "debut" in diff or "fin" in diff:
                nouveau = self._evenement(conn, evenement_id)
                ajouter_notifications(conn, [e for e in self._inscrits_actifs(conn, evenement_id) if e != auteur],
                                      GENRE_NOTIFICATION,
                                      f"Horaire changé : {self._designer(nouveau)} (auparavant "
                                      f"{decrire_horaire(actuel.debut, actuel.fin)}).",
                                      lien_evenement(evenement_id), maintenant)
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "modification", "evenement",
                                                        evenement_id, diff)])
        return sequence

    @staticmethod
    def _lire_liens_conn(conn: Connection, ids: list[int]) -> dict[str, dict[int, list[int]]]:
        liens: dict[str, dict[int, list[int]]] = {}
        for objet, (table, colonne) in LIENS_EVENEMENT.items():
            liens[objet] = {}
            for evenement_id, cible in conn.execute(select(table.c.evenement_id, table.c[colonne]).where(
                    table.c.evenement_id.in_(ids)).order_by(table.c[colonne])):
                liens[objet].setdefault(int(evenement_id), []).append(int(cible))
        return liens

    def annuler_evenement(self, evenement_id: int, motif: Any, auteur: str) -> int:
        """Annule un événement (motif obligatoire) ; séquence + 1 (STATUS:CANCELLED dans le .ics) ; inscrits
        notifiés. Renvoie la séquence."""
        auteur = _verifier_auteur(auteur)
        evenement_id = _verifier_identifiant(evenement_id, "evenement_id")
        motif = verifier_texte_evenement(motif, "motif_annulation", lire_parametres_agenda()["longueur_max_motif"])
        maintenant = _maintenant()
        with self._ecrire() as conn:
            actuel = self._evenement(conn, evenement_id, verrouiller=True)
            if actuel.statut == "annule":
                raise ErreurDonnees(f"Événement n° {evenement_id} déjà annulé.", "evenement", "statut")
            sequence = int(actuel.sequence) + 1
            conn.execute(update(table_evenement).where(table_evenement.c.id == evenement_id).values(
                statut="annule", motif_annulation=motif, sequence=sequence, modifie_le=maintenant))
            ajouter_notifications(conn, [e for e in self._inscrits_actifs(conn, evenement_id) if e != auteur],
                                  GENRE_NOTIFICATION,
                                  f"Annulé : {self._designer(actuel)}. Motif : {extraire(motif)}",
                                  lien_evenement(evenement_id), maintenant)
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "modification", "evenement",
                                                        evenement_id, {"statut": "annule",
                                                                       "motif_annulation": motif})])
        return sequence

    def inscrire_evenement(self, evenement_id: int, email: str, nom: str,
                           maintenant: datetime | None = None) -> bool:
        """Inscrit ``email`` ; faux s'il l'était déjà. Refusé (message français) pour un événement annulé, passé
        (commencé) ou complet ; l'événement est verrouillé le temps du comptage (PostgreSQL) ou la base l'est
        (SQLite, BEGIN IMMEDIATE) : deux inscriptions simultanées ne dépassent pas les places."""
        email = _verifier_auteur(email)
        evenement_id = _verifier_identifiant(evenement_id, "evenement_id")
        maintenant = maintenant or _maintenant()
        i = table_inscription_evenement.c
        with self._ecrire() as conn:
            ligne = self._evenement(conn, evenement_id, verrouiller=True)
            if conn.execute(select(i.id).where(i.evenement_id == evenement_id, i.email == email)).first():
                return False
            titre = f"« {extraire(ligne.titre, 80)} »"
            if ligne.statut == "annule":
                raise ErreurDonnees(f"Inscription impossible : l'événement {titre} est annulé.", "inscription",
                                    "statut")
            if ligne.debut <= maintenant:
                raise ErreurDonnees(f"Inscription impossible : l'événement {titre} a déjà commencé ou est passé.",
                                    "inscription", "debut")
            if ligne.places_max is not None:
                nombre = conn.execute(select(func.count(i.id)).where(i.evenement_id == evenement_id)).scalar_one()
                if nombre >= ligne.places_max:
                    raise ErreurDonnees(f"Inscription impossible : l'événement {titre} est complet "
                                        f"({ligne.places_max} places, toutes prises).", "inscription",
                                        "places_max")
            try:
                with conn.begin_nested():
                    conn.execute(table_inscription_evenement.insert().values(
                        evenement_id=evenement_id, email=email, nom=str(nom or "").strip() or email,
                        inscrit_le=maintenant))
            except IntegrityError:  # inscrit au même instant par une autre transaction
                return False
        return True

    def desinscrire_evenement(self, evenement_id: int, email: str) -> bool:
        """Retire l'inscription de ``email`` ; faux s'il n'était pas inscrit."""
        i = table_inscription_evenement.c
        with self._ecrire() as conn:
            return bool(conn.execute(delete(table_inscription_evenement).where(
                i.evenement_id == int(evenement_id), i.email == str(email))).rowcount)

    def generer_rappels_agenda(self, maintenant: datetime | None = None) -> int:
        """Rappel « à venir » aux inscrits (comptes actifs) des événements prévus qui commencent dans les
        ``delai_rappel_jours`` ; une fois par inscription (``rappel_le``), même si la fonction repasse ou si deux
        passages se croisent. Un événement reporté après le rappel est rappelé de nouveau avant sa nouvelle date
        (``rappel_le`` remis à vide par :meth:`modifier_evenement`) ; avancé, non (le changement est déjà notifié).
        Renvoie le nombre de notifications créées."""
        maintenant = maintenant or _maintenant()
        limite = maintenant + timedelta(days=lire_parametres_agenda()["delai_rappel_jours"])
        e, i = table_evenement.c, table_inscription_evenement.c
        total = 0
        with self._ecrire() as conn:
            actifs = set(self._membres_actifs(conn))
            dus = conn.execute(select(i.id, i.email, e.id.label("evenement_id"))
                               .join(table_evenement, e.id == i.evenement_id)
                               .where(i.rappel_le.is_(None), e.statut == "prevu", e.debut > maintenant,
                                      e.debut <= limite).order_by(e.debut, i.id)).all()
            for inscription_id, email, evenement_id in dus:
                pris = conn.execute(update(table_inscription_evenement).where(
                    i.id == inscription_id, i.rappel_le.is_(None)).values(rappel_le=maintenant)).rowcount
                if not pris or email not in actifs:
                    continue
                ligne = self._evenement(conn, evenement_id)
                total += ajouter_notifications(conn, [email], GENRE_NOTIFICATION,
                                               f"Rappel : vous êtes inscrit à {self._designer(ligne)}.",
                                               lien_evenement(evenement_id), maintenant)
        return total


__all__ = ["AgendaMagasin", "COLONNES_EVENEMENT", "GENRE_NOTIFICATION", "LIENS_EVENEMENT", "lien_evenement"]
