"""Résumés des notifications par courriel (issue 16) : `desimper notifications envoyer` (pour cron).

Pour chaque compte actif dont le résumé est dû (fréquence choisie, dernier envoi plus vieux que sa période), les
notifications non lues et jamais envoyées sont groupées en un courriel (texte et HTML) et envoyées par SMTP. Ce
n'est qu'**après** l'acceptation du serveur qu'elles sont marquées envoyées, avec la date du résumé, en une
transaction : un serveur qui refuse ou ne répond pas laisse tout en l'état (nouvel essai au prochain passage,
refus journalisé) ; une notification marquée n'est plus jamais renvoyée. Un verrou de fichier empêche deux envois
simultanés du même territoire (deux cron qui se chevauchent).
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from donnees.config import dossier_donnees, url_base
from donnees.courriel import ConfigurationSmtp, ErreurEnvoi, envoyer_message, lire_configuration_smtp
from donnees.erreurs import ErreurDonnees
from donnees.magasin import Magasin

from donnees.referentiel import lire_territoire
from vues.courriels import composer_courriel, construire_resume

_journal = logging.getLogger(__name__)
NOM_VERROU = ".envoi_notifications.verrou"


@dataclass
class BilanEnvoi:
    """Ce qu'a fait un passage : résumés envoyés, reportés (refus du serveur), comptes sans nouveauté."""

    envoyes: list[tuple[str, int]] = field(default_factory=list)  # (adresse, nombre de notifications)
    reportes: list[tuple[str, str]] = field(default_factory=list)  # (adresse, motif)
    sans_nouveaute: int = 0
    rappels_agenda: int = 0  # rappels « à venir » de l'agenda créés juste avant l'envoi

    def resumer(self) -> str:
        lignes = [f"{len(self.envoyes)} résumé(s) envoyé(s), {len(self.reportes)} reporté(s), "
                  f"{self.sans_nouveaute} compte(s) sans nouvelle notification."]
        if self.rappels_agenda:
            lignes.append(f"  {self.rappels_agenda} rappel(s) d'événement de l'agenda ajouté(s) aux notifications.")
        lignes += [f"  envoyé à {email} : {nombre} notification(s)" for email, nombre in self.envoyes]
        lignes += [f"  reporté pour {email} : {motif}" for email, motif in self.reportes]
        return "\n".join(lignes)


@contextmanager
def verrouiller_envoi(dossier: Path):
    """Verrou exclusif du territoire le temps d'un passage ; un second passage simultané est refusé."""
    chemin = Path(dossier) / NOM_VERROU
    with open(chemin, "a+") as fichier:
        try:
            fcntl.flock(fichier.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ErreurDonnees("Un envoi des résumés est déjà en cours pour ce territoire : relancez plus tard "
                                f"(verrou {chemin}).", "notifications") from None
        try:
            yield
        finally:
            fcntl.flock(fichier.fileno(), fcntl.LOCK_UN)


def envoyer_resumes(magasin: Magasin, territoire: str, configuration: ConfigurationSmtp,
                    maintenant: datetime | None = None,
                    envoyer: Callable[[ConfigurationSmtp, object], None] = envoyer_message) -> BilanEnvoi:
    """Un passage d'envoi (voir le module) ; renvoie son bilan."""
    from donnees.magasin.notifications import lire_genres_notification

    maintenant = maintenant or datetime.now(UTC).replace(tzinfo=None)  # UTC sans fuseau, comme le magasin
    libelles = lire_genres_notification()
    bilan = BilanEnvoi()
    for abonne in magasin.lister_resumes_dus(maintenant).itertuples(index=False):
        compte = magasin.lire_utilisateur(abonne.email)
        if compte is None or not compte["actif"]:
            continue  # compte supprimé ou désactivé : plus rien ne lui part
        notifications = magasin.lire_notifications_a_envoyer(abonne.email)
        if notifications.empty:
            bilan.sans_nouveaute += 1
            continue
        resume = construire_resume(abonne.email, compte["nom"], territoire, abonne.frequence, notifications,
                                   libelles, configuration.url_application, abonne.jeton)
        try:
            envoyer(configuration, composer_courriel(resume, configuration.expediteur))
        except ErreurEnvoi as erreur:
            _journal.warning("Résumé de %s reporté : %s", abonne.email, erreur)
            bilan.reportes.append((abonne.email, str(erreur)))
            continue
        magasin.marquer_resume_envoye(abonne.email, notifications["id"].astype(int).tolist(), maintenant)
        bilan.envoyes.append((abonne.email, len(notifications)))
    return bilan


def envoyer_resumes_territoire(dossier: Path | None = None, environnement: dict | None = None,
                               maintenant: datetime | None = None) -> BilanEnvoi:
    """`desimper notifications envoyer` : configuration SMTP de l'environnement, verrou, un passage."""
    dossier = Path(dossier) if dossier is not None else dossier_donnees()
    configuration = lire_configuration_smtp(environnement)
    nom = str(lire_territoire(dossier).get("nom") or "Désimper")
    magasin = Magasin(url_base(dossier))
    try:
        magasin.creer_tables()
        with verrouiller_envoi(dossier):
            # Agenda : rappels « à venir » aux inscrits, une fois par inscription, avant de composer les résumés.
            rappels = magasin.generer_rappels_agenda(maintenant)
            bilan = envoyer_resumes(magasin, nom, configuration, maintenant)
            bilan.rappels_agenda = rappels
            return bilan
    finally:
        magasin.fermer()
