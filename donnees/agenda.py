"""Règles de l'agenda de la communauté (issue 16, partie 3), déclarées une fois pour le magasin, la façade, les
pages et la CLI : genres d'événement (``donnees/nomenclatures/genres_evenement.csv``), limites et délais
(``donnees/parametres_agenda.json``, chacun avec sa raison), heure de Paris ↔ UTC, contrôle d'une saisie.

Heures : le magasin garde ``debut`` et ``fin`` en UTC sans fuseau (comme tous ses horodatages) ; la saisie et
l'affichage sont à l'heure de Paris (``zoneinfo`` Europe/Paris, :data:`donnees.format.FUSEAU_AFFICHAGE`). Une
heure qui n'existe pas (passage à l'heure d'été : de 2 h à 3 h le dernier dimanche de mars) est refusée en
français ; une heure qui existe deux fois (dernier dimanche d'octobre, de 2 h à 3 h) est prise à sa première
occurrence (heure d'été), comme le font les agendas courants.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pandas as pd

from donnees.erreurs import ErreurDonnees
from donnees.format import FUSEAU_AFFICHAGE
from donnees.nomenclatures import lire_libelles
from donnees.validation import lire_parametres_justifies

FUSEAU_PARIS = ZoneInfo(FUSEAU_AFFICHAGE)
CHEMIN_PARAMETRES = Path(__file__).resolve().parent / "parametres_agenda.json"
STATUTS_EVENEMENT = {"prevu": "Prévu", "annule": "Annulé"}
CLES_ENTIERES = ("longueur_max_titre", "longueur_max_sujet", "longueur_max_lieu", "longueur_max_url",
                 "longueur_max_motif", "places_max_plafond", "delai_rappel_jours", "horizon_flux_jours",
                 "anciennete_flux_jours", "duree_defaut_minutes", "duree_max_jours")
# Champs d'un événement saisis par un membre (le reste — uid, séquence, statut, auteur, dates — est tenu par le
# magasin) ; libellés des messages d'erreur et du formulaire.
CHAMPS_SAISIS = {
    "genre": "genre", "titre": "titre", "sujet": "sujet", "debut": "début", "fin": "fin", "lieu": "lieu",
    "longitude": "longitude", "latitude": "latitude", "en_ligne": "en ligne", "url": "adresse (URL)",
    "places_max": "places", "partage_territoires": "partage avec les autres territoires",
}
LIBELLES_CHAMPS = {**CHAMPS_SAISIS, "motif_annulation": "motif d'annulation"}


@lru_cache(maxsize=None)
def lire_genres_evenement() -> dict[str, str]:
    """Genres d'événement : code → libellé (``donnees/nomenclatures/genres_evenement.csv``)."""
    return lire_libelles("genres_evenement.csv")


@lru_cache(maxsize=None)
def lire_parametres_agenda() -> dict:
    """Limites et délais de l'agenda (``donnees/parametres_agenda.json``), chacun justifié."""
    return lire_parametres_justifies(CHEMIN_PARAMETRES, tuple(CLES_ENTIERES), "parametres_agenda")


# ------------------------------------------------------------------------------------ heures


def paris_vers_utc(jour: date, heure: time) -> datetime:
    """Date et heure de Paris saisies → instant UTC sans fuseau ; :class:`ErreurDonnees` si l'heure n'existe pas
    ce jour-là (passage à l'heure d'été)."""
    locale = datetime.combine(jour, heure.replace(tzinfo=None, fold=0))
    instant = locale.replace(tzinfo=FUSEAU_PARIS).astimezone(UTC)
    if instant.astimezone(FUSEAU_PARIS).replace(tzinfo=None) != locale:
        raise ErreurDonnees(f"L'heure {heure:%H:%M} n'existe pas le {jour:%d/%m/%Y} à Paris (passage à l'heure "
                            "d'été : les horloges sautent de 2 h à 3 h) ; choisissez une heure à partir de 3 h.",
                            "evenement", "debut")
    return instant.replace(tzinfo=None)


def utc_vers_paris(instant: Any) -> datetime:
    """Instant UTC (sans fuseau = UTC, ou avec fuseau) → date et heure de Paris (avec fuseau)."""
    moment = pd.Timestamp(instant).to_pydatetime()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(FUSEAU_PARIS)


def formater_heure_paris(instant: Any) -> str:
    """« 12/03/2027 14:30 » à l'heure de Paris."""
    return f"{utc_vers_paris(instant):%d/%m/%Y %H:%M}"


def decrire_horaire(debut: Any, fin: Any) -> str:
    """« le 12/03/2027 de 14:30 à 16:30 » (ou « du … au … » sur plusieurs jours), heure de Paris."""
    a, b = utc_vers_paris(debut), utc_vers_paris(fin)
    if a.date() == b.date():
        return f"le {a:%d/%m/%Y} de {a:%H:%M} à {b:%H:%M}"
    return f"du {a:%d/%m/%Y %H:%M} au {b:%d/%m/%Y %H:%M}"


def en_utc(valeur: Any, champ: str) -> datetime:
    """Instant d'une saisie en UTC sans fuseau (``datetime`` avec fuseau converti ; sans fuseau : déjà UTC)."""
    if isinstance(valeur, str):
        try:
            valeur = datetime.fromisoformat(valeur)
        except ValueError:
            valeur = None
    if isinstance(valeur, pd.Timestamp):
        valeur = valeur.to_pydatetime()
    if not isinstance(valeur, datetime):
        raise ErreurDonnees(f"Événement, champ « {CHAMPS_SAISIS[champ]} » ({champ}) : date et heure attendues "
                            f"(reçu « {str(valeur)[:40]} »).", "evenement", champ)
    if valeur.tzinfo is not None:
        valeur = valeur.astimezone(UTC).replace(tzinfo=None)
    return valeur.replace(microsecond=0)


# ------------------------------------------------------------------------------------ saisie


def verifier_texte_evenement(valeur: Any, champ: str, longueur_max: int, obligatoire: bool = True) -> str | None:
    """Texte d'un champ (règle des textes de la communauté : :func:`donnees.magasin.echanges.verifier_texte`) ;
    ``None`` pour un champ facultatif vide."""
    from donnees.magasin.echanges import verifier_texte

    vide = valeur is None or (isinstance(valeur, float) and valeur != valeur) or \
        (isinstance(valeur, str) and not valeur.strip())
    if vide and not obligatoire:
        return None
    try:
        return verifier_texte(valeur, "Événement", champ, LIBELLES_CHAMPS.get(champ, champ), longueur_max)
    except ErreurDonnees as erreur:
        raise ErreurDonnees(str(erreur), "evenement", champ) from None


def verifier_url(valeur: Any) -> str:
    """Adresse http(s) d'un événement en ligne."""
    texte = verifier_texte_evenement(valeur, "url", lire_parametres_agenda()["longueur_max_url"])
    morceaux = urlsplit(texte)
    if morceaux.scheme not in ("http", "https") or not morceaux.netloc or any(c.isspace() for c in texte):
        raise ErreurDonnees(f"Événement, champ « adresse (URL) » (url) : « {texte[:60]} » n'est pas une adresse "
                            "http:// ou https:// ; copiez le lien complet de la visioconférence.", "evenement", "url")
    return texte


def _nombre(valeur: Any, champ: str) -> float | None:
    if valeur is None or (isinstance(valeur, float) and math.isnan(valeur)):
        return None
    if isinstance(valeur, bool) or not isinstance(valeur, numbers.Real) or not math.isfinite(float(valeur)):
        raise ErreurDonnees(f"Événement, champ « {CHAMPS_SAISIS[champ]} » ({champ}) : nombre attendu (reçu "
                            f"« {str(valeur)[:40]} »).", "evenement", champ)
    return float(valeur)


def verifier_evenement(saisie: Mapping, actuel: Mapping | None = None) -> dict:
    """Colonnes contrôlées d'un événement (création, ou modification de ``actuel`` : champs absents gardés) ;
    :class:`ErreurDonnees` en français qui nomme le champ et la correction. Le point n'est pas encore confronté
    au territoire (façade : :meth:`donnees.droits.agenda.EcrituresAgenda`)."""
    if not isinstance(saisie, Mapping):
        raise ErreurDonnees("Événement : dictionnaire de champs attendu.", "evenement")
    inconnus = sorted(set(saisie) - set(CHAMPS_SAISIS))
    if inconnus:
        raise ErreurDonnees(f"Événement : champ(s) {', '.join(inconnus)} inconnu(s) ou tenu(s) par l'application "
                            f"(champs permis : {', '.join(CHAMPS_SAISIS)}).", "evenement", inconnus[0])
    valeurs = {**{c: (actuel or {}).get(c) for c in CHAMPS_SAISIS}, **saisie}
    p = lire_parametres_agenda()
    genres = lire_genres_evenement()
    if valeurs["genre"] not in genres:
        raise ErreurDonnees(f"Événement, champ « genre » : « {str(valeurs['genre'])[:40]} » inconnu ; choisissez "
                            f"parmi {', '.join(genres)}.", "evenement", "genre")
    propre = {"genre": valeurs["genre"],
              "titre": verifier_texte_evenement(valeurs["titre"], "titre", p["longueur_max_titre"]),
              "sujet": verifier_texte_evenement(valeurs["sujet"], "sujet", p["longueur_max_sujet"], False)}
    debut, fin = en_utc(valeurs["debut"], "debut"), en_utc(valeurs["fin"], "fin")
    if fin <= debut:
        raise ErreurDonnees(f"Événement, champ « fin » : la fin ({formater_heure_paris(fin)}) doit suivre le début "
                            f"({formater_heure_paris(debut)}).", "evenement", "fin")
    if fin - debut > timedelta(days=p["duree_max_jours"]):
        raise ErreurDonnees(f"Événement, champ « fin » : plus de {p['duree_max_jours']} jours après le début ; "
                            "vérifiez les dates (ou créez plusieurs événements).", "evenement", "fin")
    propre.update(debut=debut, fin=fin)
    en_ligne = bool(valeurs["en_ligne"]) if valeurs["en_ligne"] is not None else False
    propre["en_ligne"] = en_ligne
    propre["lieu"] = verifier_texte_evenement(valeurs["lieu"], "lieu", p["longueur_max_lieu"], obligatoire=False)
    if en_ligne:
        propre["url"] = verifier_url(valeurs["url"])
    else:
        if propre["lieu"] is None:
            raise ErreurDonnees("Événement, champ « lieu » : vide ; donnez le lieu (salle, adresse) ou cochez "
                                "« en ligne » avec l'adresse de la visioconférence.", "evenement", "lieu")
        propre["url"] = verifier_url(valeurs["url"]) if valeurs["url"] not in (None, "") else None
    longitude, latitude = _nombre(valeurs["longitude"], "longitude"), _nombre(valeurs["latitude"], "latitude")
    if (longitude is None) != (latitude is None):
        raise ErreurDonnees("Événement, point du lieu : donnez la longitude et la latitude, ou aucune des deux.",
                            "evenement", "longitude" if longitude is None else "latitude")
    if longitude is not None and not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise ErreurDonnees(f"Événement, point du lieu : ({longitude}, {latitude}) hors des degrés WGS84 "
                            "(longitude −180 à 180, latitude −90 à 90).", "evenement", "longitude")
    propre.update(longitude=longitude, latitude=latitude)
    places = valeurs["places_max"]
    if places is None or (isinstance(places, float) and math.isnan(places)):
        propre["places_max"] = None
    elif isinstance(places, bool) or not isinstance(places, numbers.Integral) or \
            not 1 <= int(places) <= p["places_max_plafond"]:
        raise ErreurDonnees(f"Événement, champ « places » (places_max) : nombre entier de 1 à "
                            f"{p['places_max_plafond']} attendu, ou vide sans limite (reçu « {str(places)[:20]} »).",
                            "evenement", "places_max")
    else:
        propre["places_max"] = int(places)
    propre["partage_territoires"] = bool(valeurs["partage_territoires"]) \
        if valeurs["partage_territoires"] is not None else False
    return propre


__all__ = ["CHAMPS_SAISIS", "FUSEAU_PARIS", "STATUTS_EVENEMENT", "decrire_horaire", "en_utc",
           "formater_heure_paris", "lire_genres_evenement", "lire_parametres_agenda", "paris_vers_utc",
           "utc_vers_paris", "verifier_evenement", "verifier_texte_evenement", "verifier_url"]
