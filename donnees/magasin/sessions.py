"""Sessions de connexion dans le magasin : création, lecture (avec l'état courant du compte), activité, révocation.

Les règles (durées, rotation, motifs) vivent dans :mod:`donnees.sessions` ; ici, seulement l'accès à la table
``session_utilisateur``. Le jeton n'arrive jamais jusqu'ici : seule son empreinte SHA-256 est écrite et cherchée.
Les sessions ne sont pas journalisées (ce ne sont pas des données métier) ; les refus le sont dans le journal du
serveur par :mod:`donnees.sessions`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from donnees.magasin.convertisseurs import _verifier_auteur
from donnees.magasin.journal import _ligne_journal, _maintenant
from donnees.magasin.tables import table_session, table_utilisateur
from donnees.erreurs import ErreurDonnees

MOTIFS_REVOCATION = ("deconnexion", "rotation", "tous_appareils", "autres_sessions", "administration", "inactivite",
                     "duree", "compte", "restauration")
LONGUEUR_AGENT = 300  # caractères gardés de l'agent utilisateur (information d'affichage seulement)


def _verifier_empreinte(empreinte: str) -> str:
    if not isinstance(empreinte, str) or len(empreinte) != 64:
        raise ErreurDonnees("Session : empreinte SHA-256 (64 caractères hexadécimaux) attendue.", "utilisateur")
    return empreinte


class SessionsMagasin:
    """Méthodes du magasin pour les sessions (mêlées à :class:`donnees.magasin.Magasin`)."""

    def creer_session(self, email: str, empreinte: str, maintenant: datetime, expire_le: datetime,
                      agent: str | None = None) -> int:
        """Enregistre une session du compte ``email`` ; renvoie son identifiant."""
        empreinte = _verifier_empreinte(empreinte)
        ut = table_utilisateur
        with self._ecrire() as conn:
            compte = conn.execute(select(ut.c.id).where(ut.c.email == str(email).strip().lower())).first()
            if compte is None:
                raise ErreurDonnees(f"Aucun compte pour l'adresse « {email} ».", "utilisateur", "email")
            ligne = {"empreinte": empreinte, "utilisateur_id": compte.id, "cree_le": maintenant,
                     "derniere_activite": maintenant, "expire_le": expire_le,
                     "agent": agent[:LONGUEUR_AGENT] if isinstance(agent, str) else None}
            return int(conn.execute(table_session.insert(), ligne).inserted_primary_key[0])

    def lire_session(self, empreinte: str) -> dict | None:
        """Session d'une empreinte avec l'état **courant** de son compte (email, nom, rôle, communes, actif)."""
        if not isinstance(empreinte, str) or len(empreinte) != 64:
            return None
        se, ut = table_session, table_utilisateur
        requete = (select(se.c.id, se.c.cree_le, se.c.derniere_activite, se.c.expire_le, se.c.revoquee_le,
                          se.c.motif_revocation, ut.c.email, ut.c.nom, ut.c.role, ut.c.communes, ut.c.actif)
                   .join(ut, ut.c.id == se.c.utilisateur_id).where(se.c.empreinte == empreinte))
        with self._lire() as conn:
            ligne = conn.execute(requete).mappings().first()
        if ligne is None:
            return None
        session = dict(ligne)
        session["communes"] = [c for c in (session["communes"] or "").split(",") if c]
        return session

    def noter_activite_session(self, empreinte: str, maintenant: datetime) -> None:
        """Avance la dernière activité d'une session encore ouverte."""
        se = table_session
        with self._ecrire() as conn:
            conn.execute(update(se).where(se.c.empreinte == _verifier_empreinte(empreinte),
                                          se.c.revoquee_le.is_(None))
                         .values(derniere_activite=maintenant))

    def revoquer_session(self, empreinte: str, maintenant: datetime, motif: str) -> bool:
        """Révoque une session encore ouverte ; renvoie ``True`` si elle l'était."""
        se = table_session
        with self._ecrire() as conn:
            resultat = conn.execute(update(se).where(se.c.empreinte == _verifier_empreinte(empreinte),
                                                     se.c.revoquee_le.is_(None))
                                    .values(revoquee_le=maintenant, motif_revocation=_motif(motif)))
        return resultat.rowcount == 1

    def revoquer_sessions_compte(self, email: str, maintenant: datetime, motif: str, sauf_empreinte: str | None = None,
                                 auteur: str | None = None) -> int:
        """Révoque les sessions ouvertes d'un compte (sauf celle de ``sauf_empreinte``) ; renvoie leur nombre.

        ``auteur`` : la fermeture est journalisée (« sessions_ouvertes » : [n, 0] sur le compte) dans la même
        transaction, si au moins une session a été fermée.
        """
        se, ut = table_session, table_utilisateur
        auteur = _verifier_auteur(auteur) if auteur is not None else None
        with self._ecrire() as conn:
            compte = conn.execute(select(ut.c.id).where(ut.c.email == str(email).strip().lower())).scalar()
            if compte is None:
                raise ErreurDonnees(f"Aucun compte pour l'adresse « {email} ».", "utilisateur", "email")
            condition = [se.c.utilisateur_id == compte, se.c.revoquee_le.is_(None)]
            if sauf_empreinte is not None:
                condition.append(se.c.empreinte != _verifier_empreinte(sauf_empreinte))
            resultat = conn.execute(update(se).where(*condition)
                                    .values(revoquee_le=maintenant, motif_revocation=_motif(motif)))
            nombre = int(resultat.rowcount)
            if auteur is not None and nombre:
                self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "modification", "utilisateur",
                                                            compte, {"sessions_ouvertes": [nombre, 0]})])
        return nombre

    def purger_sessions(self, maintenant: datetime) -> int:
        """Supprime les sessions dont la durée de vie absolue est passée (leur cookie a expiré lui aussi : elles ne
        servent plus qu'à grossir la table) ; renvoie leur nombre."""
        with self._ecrire() as conn:
            return int(conn.execute(delete(table_session).where(table_session.c.expire_le <= maintenant)).rowcount)

    def lister_sessions_ouvertes(self, email: str, maintenant: datetime) -> list[dict]:
        """Sessions non révoquées et non expirées d'un compte (création, dernière activité, expiration, agent)."""
        se, ut = table_session, table_utilisateur
        requete = (select(se.c.id, se.c.cree_le, se.c.derniere_activite, se.c.expire_le, se.c.agent)
                   .join(ut, ut.c.id == se.c.utilisateur_id)
                   .where(ut.c.email == str(email).strip().lower(), se.c.revoquee_le.is_(None),
                          se.c.expire_le > maintenant).order_by(se.c.id))
        with self._lire() as conn:
            return [dict(ligne) for ligne in conn.execute(requete).mappings()]


def _motif(motif: str) -> str:
    if motif not in MOTIFS_REVOCATION:
        raise ErreurDonnees(f"Motif de révocation inconnu « {motif} » : {', '.join(MOTIFS_REVOCATION)}.",
                            "utilisateur")
    return motif
