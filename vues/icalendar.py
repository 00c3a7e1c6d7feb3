"""Calendriers iCalendar (RFC 5545) des événements de l'agenda, sans dépendance : un ``.ics`` par événement et le
flux abonnable du territoire.

Règles appliquées : lignes terminées par CRLF et pliées à 75 octets UTF-8 (suite précédée d'une espace, jamais au
milieu d'un caractère multioctet, §3.1) ; dans les valeurs TEXT, ``\\``, ``;``, ``,`` et les fins de ligne
échappés (§3.3.11) ; instants en UTC (``…Z``) ; ``UID`` stable et ``SEQUENCE`` de l'événement (un client met à
jour l'événement qu'il a déjà) ; ``STATUS:CANCELLED`` pour un annulé ; ``GEO`` si le lieu a un point. Les textes
des membres (titre, sujet, lieu) n'y sont que des valeurs TEXT échappées : rien n'y est interprété.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

LONGUEUR_MAX_LIGNE = 75  # octets, CRLF non compris (RFC 5545 §3.1)
PRODID = "-//Désimper//Agenda de la communauté//FR"
STATUTS_ICS = {"prevu": "CONFIRMED", "annule": "CANCELLED"}


def echapper_texte(valeur: Any) -> str:
    """Valeur TEXT : ``\\`` ``;`` ``,`` et fins de ligne échappés ; autres caractères de contrôle retirés."""
    texte = str(valeur if valeur is not None else "").replace("\r\n", "\n").replace("\r", "\n")
    texte = "".join(c for c in texte if c == "\n" or c == "\t" or not (ord(c) < 32 or ord(c) == 127))
    return (texte.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n"))


def plier_ligne(ligne: str) -> str:
    """Ligne de contenu pliée à 75 octets UTF-8 (suites précédées d'une espace), terminée par CRLF."""
    morceaux, courant, taille, limite = [], [], 0, LONGUEUR_MAX_LIGNE
    for caractere in ligne:
        octets = len(caractere.encode("utf-8"))
        if taille + octets > limite:
            morceaux.append("".join(courant))
            courant, taille, limite = [" "], 1, LONGUEUR_MAX_LIGNE
        courant.append(caractere)
        taille += octets
    morceaux.append("".join(courant))
    return "\r\n".join(morceaux) + "\r\n"


def formater_instant(valeur: Any) -> str:
    """Instant UTC (sans fuseau = UTC) au format ``AAAAMMJJTHHMMSSZ``."""
    moment = pd.Timestamp(valeur).to_pydatetime()
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return f"{moment:%Y%m%dT%H%M%S}Z"


def _propriete(nom: str, valeur: str) -> str:
    return plier_ligne(f"{nom}:{valeur}")


def _vide(valeur: Any) -> bool:
    return valeur is None or (not isinstance(valeur, str) and pd.isna(valeur)) or valeur == ""


def construire_vevent(evenement: Mapping, maintenant: datetime, lien: str | None = None,
                      territoire: str | None = None) -> str:
    """Bloc ``VEVENT`` d'un événement (colonnes du magasin ; ``operations`` : liste de ``{"id", "nom"}`` déjà
    limitée à ce que le lecteur peut voir, ``ressources`` : ``{"id", "titre"}`` de même ; ``genre_libelle``
    facultatif) ; ``lien`` : adresse de sa fiche."""
    lignes = [plier_ligne("BEGIN:VEVENT"),
              _propriete("UID", echapper_texte(evenement["uid"])),
              _propriete("DTSTAMP", formater_instant(maintenant)),
              _propriete("DTSTART", formater_instant(evenement["debut"])),
              _propriete("DTEND", formater_instant(evenement["fin"])),
              _propriete("SEQUENCE", str(int(evenement.get("sequence") or 0))),
              _propriete("STATUS", STATUTS_ICS.get(evenement.get("statut"), "CONFIRMED"))]
    if not _vide(evenement.get("modifie_le")):
        lignes.append(_propriete("LAST-MODIFIED", formater_instant(evenement["modifie_le"])))
    titre = str(evenement["titre"])
    if evenement.get("statut") == "annule":
        titre = f"ANNULÉ : {titre}"
    lignes.append(_propriete("SUMMARY", echapper_texte(titre)))
    description = []
    if not _vide(evenement.get("genre_libelle")):
        description.append(str(evenement["genre_libelle"]) + (f" — territoire {territoire}" if territoire else ""))
    if not _vide(evenement.get("sujet")):
        description.append(str(evenement["sujet"]))
    if evenement.get("statut") == "annule" and not _vide(evenement.get("motif_annulation")):
        description.append(f"Annulé : {evenement['motif_annulation']}")
    operations = list(evenement.get("operations") or [])
    if operations:
        description.append("Opérations liées :\n" + "\n".join(f"- n° {int(o['id'])} {o['nom']}" for o in operations))
    ressources = list(evenement.get("ressources") or [])
    if ressources:
        description.append("Ressources liées :\n" + "\n".join(f"- {r['titre']}" for r in ressources))
    if lien:
        description.append(f"Fiche : {lien}")
    if description:
        lignes.append(_propriete("DESCRIPTION", echapper_texte("\n\n".join(description))))
    lieu = evenement.get("lieu")
    if evenement.get("en_ligne"):
        lieu = "En ligne" + (f" — {lieu}" if not _vide(lieu) else "")
    if not _vide(lieu):
        lignes.append(_propriete("LOCATION", echapper_texte(lieu)))
    if not _vide(evenement.get("latitude")) and not _vide(evenement.get("longitude")):
        lignes.append(_propriete("GEO", f"{float(evenement['latitude']):.6f};{float(evenement['longitude']):.6f}"))
    url = evenement.get("url") if not _vide(evenement.get("url")) else lien
    if not _vide(url):
        lignes.append(_propriete("URL", str(url).replace("\r", "").replace("\n", "")))
    lignes.append(plier_ligne("END:VEVENT"))
    return "".join(lignes)


def construire_calendrier(evenements: Iterable[Mapping], nom: str, maintenant: datetime | None = None,
                          liens: Mapping[Any, str] | None = None, territoires: Mapping[Any, str] | None = None) -> str:
    """``VCALENDAR`` (PRODID, VERSION:2.0, METHOD:PUBLISH, X-WR-CALNAME) des ``evenements`` ; ``liens`` et
    ``territoires`` : par ``uid``, adresse de la fiche et territoire d'origine (événement partagé)."""
    maintenant = maintenant or datetime.now(UTC).replace(tzinfo=None)
    liens, territoires = liens or {}, territoires or {}
    lignes = [plier_ligne("BEGIN:VCALENDAR"), _propriete("PRODID", PRODID), plier_ligne("VERSION:2.0"),
              plier_ligne("CALSCALE:GREGORIAN"), plier_ligne("METHOD:PUBLISH"),
              _propriete("X-WR-CALNAME", echapper_texte(nom)), plier_ligne("X-WR-TIMEZONE:Europe/Paris")]
    for evenement in evenements:
        lignes.append(construire_vevent(evenement, maintenant, liens.get(evenement["uid"]),
                                        territoires.get(evenement["uid"])))
    lignes.append(plier_ligne("END:VCALENDAR"))
    return "".join(lignes)


__all__ = ["LONGUEUR_MAX_LIGNE", "PRODID", "construire_calendrier", "construire_vevent", "echapper_texte",
           "formater_instant", "plier_ligne"]
