"""Courriel de résumé des notifications (issue 16) : texte brut et HTML (gabarits Jinja2), sans Streamlit.

Les textes des notifications viennent des saisies des membres (titres, extraits de messages) : échappés dans le
HTML (autoescape), caractères de contrôle neutralisés dans le texte brut ; jamais dans un en-tête. Les liens sont
ceux de l'application (chemins internes ``/page?…`` seulement ; tout autre lien mène à la page des
notifications). En-têtes ``List-Unsubscribe`` (RFC 2369, RFC 8058) et ``Auto-Submitted`` (RFC 3834).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import jinja2
import pandas as pd

from donnees.format import formater_horodatage, formater_nombre, neutraliser_controles

DOSSIER_GABARITS = Path(__file__).resolve().parent / "gabarits"
PAGE_NOTIFICATIONS = "/notifications"
LONGUEUR_MAX_TEXTE = 300  # caractères d'une notification dans le résumé (le détail est dans l'application)
FREQUENCES_LIBELLES = {"quotidienne": "quotidien", "hebdomadaire": "hebdomadaire"}


@dataclass
class LigneResume:
    quand: str
    texte: str
    url: str


@dataclass
class GroupeResume:
    titre: str
    lignes: list[LigneResume] = field(default_factory=list)


@dataclass
class Resume:
    """Contenu d'un résumé : destinataire, sujet, groupes de notifications par genre, liens."""

    email: str
    nom: str
    territoire: str
    frequence: str
    sujet: str
    introduction: str
    groupes: list[GroupeResume]
    url_notifications: str
    url_desabonnement: str


@lru_cache(maxsize=1)
def _environnement() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(DOSSIER_GABARITS),
                              autoescape=lambda nom: bool(nom) and nom.endswith(".html.j2"),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def construire_lien(url_application: str, lien) -> str:
    """Adresse absolue d'un lien interne (``/fiche?id=12``) ; tout autre lien (absolu, ``//hôte``, ``javascript:``,
    caractères de contrôle) devient la page des notifications."""
    texte = str(lien or "").strip()
    if not texte.startswith("/") or texte.startswith("//") or any(c.isspace() or ord(c) < 32 for c in texte):
        texte = PAGE_NOTIFICATIONS
    return url_application.rstrip("/") + quote(texte, safe="/?=&%-_.~")


def _texte_court(texte) -> str:
    propre = neutraliser_controles(" ".join(str(texte or "").split()))
    return propre if len(propre) <= LONGUEUR_MAX_TEXTE else propre[:LONGUEUR_MAX_TEXTE - 1] + "…"


def construire_resume(email: str, nom: str, territoire: str, frequence: str, notifications: pd.DataFrame,
                      libelles_genres: dict[str, str], url_application: str, jeton_desabonnement: str) -> Resume:
    """Résumé des ``notifications`` (colonnes ``genre``, ``texte``, ``lien``, ``cree_le``, des plus anciennes aux
    plus récentes) groupées par genre dans l'ordre de ``libelles_genres`` ; genre inconnu → « Autres »."""
    groupes: dict[str, GroupeResume] = {}
    ordre = list(libelles_genres) + ["__autres__"]
    for ligne in notifications.sort_values("cree_le", kind="stable").itertuples(index=False):
        genre = ligne.genre if ligne.genre in libelles_genres else "__autres__"
        groupe = groupes.setdefault(genre, GroupeResume(libelles_genres.get(genre, "Autres notifications")))
        groupe.lignes.append(LigneResume(formater_horodatage(ligne.cree_le, vide=""), _texte_court(ligne.texte),
                                         construire_lien(url_application, ligne.lien)))
    nombre = len(notifications)
    territoire_propre = neutraliser_controles(" ".join(str(territoire).split()))
    sujet = f"Désimper — {formater_nombre(nombre)} notification{'s' if nombre > 1 else ''} ({territoire_propre})"
    introduction = (f"{formater_nombre(nombre)} nouvelle{'s' if nombre > 1 else ''} notification"
                    f"{'s' if nombre > 1 else ''} depuis votre dernier résumé :")
    base = url_application.rstrip("/")
    return Resume(email=email, nom=neutraliser_controles(" ".join(str(nom or email).split())),
                  territoire=territoire_propre, frequence=FREQUENCES_LIBELLES.get(frequence, frequence), sujet=sujet,
                  introduction=introduction, groupes=[groupes[g] for g in ordre if g in groupes],
                  url_notifications=base + PAGE_NOTIFICATIONS,
                  url_desabonnement=f"{base}/connexion?desabonner={quote(jeton_desabonnement, safe='')}")


def rendre_resume(resume: Resume) -> tuple[str, str]:
    """(texte brut, HTML) du résumé."""
    env = _environnement()
    return (env.get_template("resume_notifications.txt.j2").render(resume=resume),
            env.get_template("resume_notifications.html.j2").render(resume=resume))


def composer_courriel(resume: Resume, expediteur: str) -> EmailMessage:
    """Message prêt à l'envoi : texte brut + HTML, désabonnement en un clic, réponse automatique signalée."""
    texte, html = rendre_resume(resume)
    message = EmailMessage()
    message["Subject"] = resume.sujet
    message["From"] = formataddr(("Désimper", expediteur))
    message["To"] = resume.email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=expediteur.rpartition("@")[2].rstrip(">") or None)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{resume.url_desabonnement}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(texte)
    message.add_alternative(html, subtype="html")
    return message
