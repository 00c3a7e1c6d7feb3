"""Préférences du résumé des notifications par courriel (issue 16), dans le magasin.

Chaque compte choisit une fréquence (``donnees/nomenclatures/frequences_courriel.csv`` : jamais, quotidienne,
hebdomadaire) ; la ligne porte un jeton aléatoire de désabonnement (lien des courriels : il ne permet que de se
désabonner) et la date du dernier résumé envoyé. Sans ligne, la fréquence est « jamais ». Les droits (chacun ses
préférences) sont vérifiés par la façade.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select, update

from donnees.erreurs import ErreurDonnees
from donnees.magasin.convertisseurs import _verifier_auteur, lire_resultat
from donnees.magasin.journal import _ligne_journal, _maintenant
from donnees.magasin.tables import table_preference_courriel
from donnees.nomenclatures import lire_frequences_courriel

FREQUENCE_DEFAUT = "jamais"
OCTETS_JETON = 32  # 256 bits d'aléa : jeton de désabonnement impossible à deviner
# Un résumé quotidien lancé par cron à heure fixe reste dû si le précédent est parti quelques minutes plus tard.
TOLERANCE_CRON = timedelta(minutes=5)
COLONNES_PREFERENCES = ["email", "frequence", "jeton", "dernier_envoi"]


def verifier_frequence(frequence) -> str:
    """Code de fréquence connu ; :class:`ErreurDonnees` en français sinon."""
    frequences = lire_frequences_courriel()
    code = str(frequence or "").strip()
    if code not in frequences:
        raise ErreurDonnees(f"Fréquence du résumé « {code[:40]} » inconnue : choisissez "
                            + ", ".join(f"« {c} » ({libelle})" for c, (libelle, _) in frequences.items()) + ".",
                            "preference_courriel", "frequence")
    return code


class CourrielsMagasin:
    """Méthodes de :class:`donnees.magasin.Magasin` pour les préférences de courriel."""

    def lire_preference_courriel(self, email: str) -> dict:
        """Préférence d'un compte : ``frequence`` (« jamais » sans ligne), ``dernier_envoi``."""
        t = table_preference_courriel
        with self._lire() as conn:
            ligne = conn.execute(select(t.c.frequence, t.c.dernier_envoi).where(t.c.email == email)).first()
        if ligne is None:
            return {"frequence": FREQUENCE_DEFAUT, "dernier_envoi": None}
        return {"frequence": ligne.frequence, "dernier_envoi": ligne.dernier_envoi}

    def ecrire_preference_courriel(self, email: str, frequence, auteur: str) -> None:
        """Fixe la fréquence du résumé d'un compte (ligne créée au besoin, avec son jeton), journalisée."""
        _verifier_auteur(auteur)
        code = verifier_frequence(frequence)
        t = table_preference_courriel
        maintenant = _maintenant()
        with self._ecrire() as conn:
            ligne = conn.execute(select(t.c.id, t.c.frequence).where(t.c.email == email)).first()
            if ligne is None:
                identifiant = conn.execute(t.insert().values(
                    email=email, frequence=code, jeton=secrets.token_urlsafe(OCTETS_JETON), modifie_le=maintenant
                )).inserted_primary_key[0]
                self._inserer_journal(conn, [_ligne_journal(
                    maintenant, auteur, "creation", "preference_courriel", int(identifiant),
                    {"email": email, "frequence": code})])
            elif ligne.frequence != code:
                conn.execute(update(t).where(t.c.id == ligne.id).values(frequence=code, modifie_le=maintenant))
                self._inserer_journal(conn, [_ligne_journal(
                    maintenant, auteur, "modification", "preference_courriel", int(ligne.id),
                    {"frequence": [ligne.frequence, code]})])

    def desabonner_courriel(self, jeton) -> str:
        """Désabonnement par le lien d'un courriel : fréquence « jamais » ; renvoie l'adresse du compte.
        Jeton inconnu : :class:`ErreurDonnees` (rien d'écrit)."""
        texte = str(jeton or "").strip()
        t = table_preference_courriel
        with self._ecrire() as conn:
            ligne = conn.execute(select(t.c.id, t.c.email, t.c.frequence).where(t.c.jeton == texte)).first() \
                if 0 < len(texte) <= 64 else None
            if ligne is None:
                raise ErreurDonnees("Lien de désabonnement inconnu ou incomplet : copiez le lien entier du courriel, "
                                    "ou choisissez « Jamais » dans Notifications une fois connecté.",
                                    "preference_courriel", "jeton")
            if ligne.frequence != FREQUENCE_DEFAUT:
                maintenant = _maintenant()
                conn.execute(update(t).where(t.c.id == ligne.id).values(frequence=FREQUENCE_DEFAUT,
                                                                        modifie_le=maintenant))
                self._inserer_journal(conn, [_ligne_journal(
                    maintenant, ligne.email, "modification", "preference_courriel", int(ligne.id),
                    {"frequence": [ligne.frequence, FREQUENCE_DEFAUT], "par": "lien de désabonnement"})])
        return str(ligne.email)

    def lister_resumes_dus(self, maintenant: datetime | None = None) -> pd.DataFrame:
        """Comptes dont le résumé est dû : fréquence non nulle et dernier envoi plus vieux que sa période (ou
        jamais envoyé). Colonnes ``email``, ``frequence``, ``jeton``, ``dernier_envoi``."""
        maintenant = maintenant or _maintenant()
        t = table_preference_courriel
        with self._lire() as conn:
            table = lire_resultat(conn.execute(select(t.c.email, t.c.frequence, t.c.jeton, t.c.dernier_envoi)
                                               .order_by(t.c.email)), COLONNES_PREFERENCES)
        jours = {code: j for code, (_, j) in lire_frequences_courriel().items()}
        periode = table["frequence"].map(jours).fillna(0).astype(int)
        dernier = pd.to_datetime(table["dernier_envoi"])
        dus = periode.gt(0) & (dernier.isna() | (dernier + pd.to_timedelta(periode, unit="D")
                                                  <= pd.Timestamp(maintenant) + TOLERANCE_CRON))
        return table[dus.to_numpy(bool)].reset_index(drop=True)

    def marquer_resume_envoye(self, email: str, identifiants, maintenant: datetime) -> None:
        """Après l'acceptation du serveur, en une transaction : notifications envoyées (jamais deux fois) et date du
        dernier résumé."""
        with self._ecrire() as conn:
            self.noter_notifications_envoyees(conn, email, identifiants, maintenant)
            self.noter_resume_envoye(conn, email, maintenant)

    def noter_resume_envoye(self, conn, email: str, maintenant: datetime) -> None:
        """Dans la transaction ``conn`` de l'appelant : date du dernier résumé envoyé à ``email``."""
        t = table_preference_courriel
        conn.execute(update(t).where(t.c.email == email).values(dernier_envoi=maintenant))
