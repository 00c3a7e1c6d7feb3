"""Sources des couches du référentiel : d'où vient chaque couche, sous quelle licence, de quand.

Le fichier ``sources.json`` du dossier de données garde, pour chaque couche écrite par
``desimper importer`` ou ``desimper demo``, une fiche lue par :func:`lire_sources` ::

    {
      "communes": {
        "couche": "communes",                      # nom de la couche (fichier communes.parquet)
        "libelle": "communes",                     # libellé lisible
        "source": "IGN – ADMIN EXPRESS, via geo.api.gouv.fr",
        "producteur": "IGN",
        "licence": "Licence Ouverte / Etalab 2.0",
        "url_licence": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        "attribution": "Source : IGN – ADMIN EXPRESS (geo.api.gouv.fr)",   # texte à afficher
        "origine": "telechargement",               # telechargement | fichier | demonstration
        "urls": ["https://geo.api.gouv.fr/communes?code=34301&…"],         # [] si fichiers locaux
        "fichiers": ["/chemin/ADMIN-EXPRESS.gpkg"],                         # [] si téléchargé
        "millesime": "2025-04-01",                 # texte (date ou année) ou None si inconnu
        "importe_le": "2026-11-24T15:46:00+00:00",  # UTC, ISO 8601
        "nombre": 25,                              # lignes de la couche
        "par_commune": {"34301": 1, …},            # lignes par code INSEE
        "demo": false                              # vrai pour les couches synthétiques
      },
      …
    }

Une couche absente du fichier (par exemple ``objectifs`` saisis à la main) n'a simplement pas de fiche ;
la présence des fichiers se lit avec :func:`donnees.referentiel.couches_presentes`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from donnees.config import dossier_donnees
from donnees.erreurs import ErreurDonnees
from donnees.referentiel import ecrire_fichier_atomiquement
from donnees.modeles_json import Sources
from donnees.schemas import SCHEMAS
from donnees.validation import valider_json

NOM_FICHIER_SOURCES = "sources.json"
LICENCE_OUVERTE = "Licence Ouverte / Etalab 2.0"
URL_LICENCE_OUVERTE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
SOURCE_DEMO = "Démonstration (données synthétiques)"


def chemin_sources(dossier: Path | None = None) -> Path:
    """Fichier ``sources.json`` du dossier de données."""
    return (dossier or dossier_donnees()) / NOM_FICHIER_SOURCES


def lire_sources(dossier: Path | None = None) -> dict[str, dict]:
    """Fiches des sources par couche (voir le module) ; ``{}`` si aucune couche n'a été importée."""
    chemin = chemin_sources(dossier)
    if not chemin.exists():
        return {}
    try:
        contenu = json.loads(chemin.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ErreurDonnees(f"Fichier des sources illisible ({chemin}) : {exc}. Supprimez-le puis réimportez "
                            "les couches (`desimper importer …`).", "sources") from None
    if not isinstance(contenu, dict):
        raise ErreurDonnees(f"Fichier des sources ({chemin}) : un objet JSON était attendu. Supprimez-le puis "
                            "réimportez les couches.", "sources")
    valider_json(Sources, contenu, f"des sources ({chemin})", "sources",
                 "Supprimez-le puis réimportez les couches (`desimper importer …`).")
    return contenu


def horodater() -> str:
    """Date et heure UTC au format ISO 8601, à la seconde."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def construire_fiche(couche: str, *, source: str, producteur: str, attribution: str, origine: str,
                     nombre: int, par_commune: dict[str, int], urls: list[str] | None = None,
                     fichiers: list[str] | None = None, millesime: str | None = None,
                     licence: str = LICENCE_OUVERTE, url_licence: str | None = URL_LICENCE_OUVERTE,
                     demo: bool = False) -> dict:
    """Fiche d'une couche au format de ``sources.json``."""
    return {
        "couche": couche, "libelle": SCHEMAS[couche].libelle if couche in SCHEMAS else couche,
        "source": source, "producteur": producteur, "licence": licence, "url_licence": url_licence,
        "attribution": attribution, "origine": origine, "urls": list(urls or []),
        "fichiers": [str(f) for f in (fichiers or [])], "millesime": millesime, "importe_le": horodater(),
        "nombre": int(nombre), "par_commune": {str(k): int(v) for k, v in sorted(par_commune.items())},
        "demo": bool(demo),
    }


def enregistrer_sources(fiches: dict[str, dict], dossier: Path | None = None, remplacer_tout: bool = False) -> Path:
    """Met à jour les fiches des couches données (ou remplace tout le fichier), d'un seul coup."""
    contenu = {} if remplacer_tout else lire_sources(dossier)
    contenu.update(fiches)
    valider_json(Sources, contenu, f"des sources ({chemin_sources(dossier)})", "sources")
    return ecrire_fichier_atomiquement(chemin_sources(dossier), json.dumps(contenu, ensure_ascii=False, indent=2))


def fiches_demo(comptes: dict[str, tuple[int, dict[str, int]]],
                reelles: dict[str, dict] | None = None) -> dict[str, dict]:
    """Fiches des couches de la démonstration : ``comptes[couche] = (nombre, par_commune)``.

    ``reelles[couche]`` (par exemple les communes, contours IGN embarqués) donne source, producteur,
    licence, attribution, URL et millésime d'une couche réelle ; les autres couches sont synthétiques.
    """
    reelles = reelles or {}
    fiches = {}
    for couche, (nombre, par_commune) in comptes.items():
        reelle = reelles.get(couche)
        if reelle is None:
            fiches[couche] = construire_fiche(
                couche, source=SOURCE_DEMO, producteur="Désimper (générateur de démonstration)",
                attribution="Données de démonstration : parcelles, occupation du sol et opérations synthétiques.",
                origine="demonstration", nombre=nombre, par_commune=par_commune, licence="Données synthétiques",
                url_licence=None, demo=True)
        else:
            fiches[couche] = construire_fiche(
                couche, source=reelle["source"], producteur=reelle["producteur"],
                attribution=reelle["attribution"], origine="demonstration", nombre=nombre,
                par_commune=par_commune, urls=reelle.get("urls"), fichiers=[reelle["fichier"]],
                millesime=reelle.get("millesime"), licence=reelle["licence"], url_licence=reelle.get("url_licence"),
                demo=True)
    return fiches
