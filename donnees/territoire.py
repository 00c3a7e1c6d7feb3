"""Territoire réel : initialisation par codes INSEE et adresses des sources de données ouvertes.

Un territoire est un nom, une liste de codes INSEE et des paramètres : rien n'est propre à un bassin.

Initialiser un territoire réel à la place de la démonstration (``remplacer=True``) range d'abord les
fichiers de la démonstration dans ``archives/demo-<horodatage>/`` (couches, base SQLite, photos, cache des
modèles, ``sources.json``) : aucune couche synthétique ne reste à côté des couches réelles. Remplacer un
territoire réel range de même ses couches, son fichier et ses sources dans ``archives/territoire-<horodatage>/``
mais garde la base des opérations et les photos, qui sont des saisies réelles.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from donnees.cadastre import departement_de, est_code_insee_commune  # noqa: F401 - departement_de réexporté
from donnees.config import NOM_BASE_SQLITE, SOUS_DOSSIER_PHOTOS, chemin_territoire, dossier_donnees, url_base
from donnees.erreurs import ErreurDonnees, message
from donnees.partitions import COLONNES_PARTITION
from donnees.referentiel import ecrire_territoire, lire_territoire
from donnees.schemas import SCHEMAS

SOURCES_DEFAUT = {"geo_api": "https://geo.api.gouv.fr", "cadastre": "https://cadastre.data.gouv.fr"}
VARIABLES_SOURCES = {"geo_api": "DESIMPER_URL_GEO_API", "cadastre": "DESIMPER_URL_CADASTRE"}
SOUS_DOSSIER_ARCHIVES = "archives"
NOM_SOURCES = "sources.json"


def lire_codes_insee(valeur: str | list[str]) -> list[str]:
    """Codes INSEE validés (5 caractères, département reconnaissable), sans doublon, dans l'ordre donné."""
    brut = valeur.replace(";", ",").replace(" ", ",").split(",") if isinstance(valeur, str) else list(valeur)
    codes = [str(c).strip().upper() for c in brut if str(c).strip()]
    if not codes:
        raise ErreurDonnees("Aucun code INSEE donné : passez par exemple --insee 34301,34157.", "territoire",
                            "codes_insee")
    fautifs = [c for c in codes if not est_code_insee_commune(c)]
    if fautifs:
        raise ErreurDonnees(f"Codes INSEE invalides : {', '.join(fautifs[:10])}. {message('format_code_insee')}",
                            "territoire", "codes_insee")
    doublons = sorted({c for c in codes if codes.count(c) > 1})
    if doublons:
        raise ErreurDonnees(f"Codes INSEE en double : {', '.join(doublons)}. Donnez chaque commune une fois.",
                            "territoire", "codes_insee")
    return codes


def urls_sources(territoire: dict | None = None) -> dict[str, str]:
    """Adresses de base des sources : variable d'environnement, sinon territoire.json, sinon défaut."""
    declarees = (territoire or {}).get("sources") or {}
    urls = {}
    for cle, defaut in SOURCES_DEFAUT.items():
        valeur = os.environ.get(VARIABLES_SOURCES[cle], "").strip() or declarees.get(cle) or defaut
        urls[cle] = str(valeur).rstrip("/")
    return urls


def _horodatage_fichier() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def _ranger(dossier: Path, archive: Path, noms: list[str]) -> list[str]:
    """Déplace les fichiers et dossiers nommés (s'ils existent) dans ``archive`` ; renvoie ceux déplacés."""
    ranges = []
    for nom in noms:
        chemin = dossier / nom
        if chemin.exists():
            archive.mkdir(parents=True, exist_ok=True)
            shutil.move(str(chemin), str(archive / nom))
            ranges.append(nom)
    return ranges


def _verifier_base_demo(dossier: Path) -> None:
    """Refuse de garder une base non SQLite qui contient les opérations de la démonstration."""
    url = url_base(dossier)
    if url.startswith("sqlite"):
        return
    from donnees.magasin import Magasin  # import local : seulement pour une base PostgreSQL

    magasin = Magasin(url)
    try:
        magasin.creer_tables()
        operations = magasin.compter().get("operation", 0)
    finally:
        magasin.fermer()
    if operations:
        raise ErreurDonnees(
            f"La base des opérations ({url.split('@')[-1]}) contient {operations} opérations de la "
            "démonstration : elles passeraient pour réelles. Videz cette base ou indiquez une base neuve "
            "(DESIMPER_BASE_URL) avant d'initialiser le territoire.", "territoire")


def initialiser_territoire(nom: str, codes_insee: str | list[str], dossier: Path | None = None,
                           parametres: dict | None = None, remplacer: bool = False) -> dict:
    """Écrit ``territoire.json`` d'un territoire réel et renvoie sa description.

    ``parametres`` : valeurs des paramètres des modèles écrites dans la clé ``parametres`` (modifiables
    ensuite à la main). Un territoire existant (démonstration ou réel) n'est remplacé qu'avec
    ``remplacer=True`` ; ses fichiers sont alors rangés dans ``archives/`` (voir le module). La clé
    ``archive`` de la description renvoyée (non écrite) donne le dossier d'archive, ou None.
    """
    dossier = Path(dossier) if dossier else dossier_donnees()
    nom = (nom or "").strip()
    if not nom:
        raise ErreurDonnees("Nom du territoire vide : passez par exemple --nom \"Bassin de Thau\".", "territoire",
                            "nom")
    codes = lire_codes_insee(codes_insee)
    archive = None
    if chemin_territoire(dossier).exists():
        try:
            ancien = lire_territoire(dossier)
        except ErreurDonnees:
            ancien = {"nom": "(illisible)", "demo": False}
        genre = "de démonstration" if ancien.get("demo") else "réel"
        if not remplacer:
            raise ErreurDonnees(
                f"Le dossier {dossier} contient déjà un territoire {genre} (« {ancien.get('nom')} »). Ajoutez "
                "--remplacer pour le remplacer : ses fichiers seront rangés dans "
                f"{dossier / SOUS_DOSSIER_ARCHIVES}, ou choisissez un autre dossier (--dossier).", "territoire")
        couches = [f"{n}.parquet" for n in SCHEMAS] + list(COLONNES_PARTITION)  # fichiers et dossiers par commune
        if ancien.get("demo"):
            _verifier_base_demo(dossier)
            archive = dossier / SOUS_DOSSIER_ARCHIVES / f"demo-{_horodatage_fichier()}"
            noms = couches + ["territoire.json", NOM_SOURCES, "cache", SOUS_DOSSIER_PHOTOS] + [
                NOM_BASE_SQLITE + s for s in ("", "-wal", "-shm", "-journal")]
        else:
            archive = dossier / SOUS_DOSSIER_ARCHIVES / f"territoire-{_horodatage_fichier()}"
            noms = couches + ["territoire.json", NOM_SOURCES, "cache"]
        _ranger(dossier, archive, noms)
    description = {
        "nom": nom, "demo": False, "codes_insee": codes,
        "parametres": dict(parametres or {}),
        "sources": dict(SOURCES_DEFAUT),
        "initialise_le": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }
    dossier.mkdir(parents=True, exist_ok=True)
    ecrire_territoire(description, dossier)
    return {**description, "archive": str(archive) if archive else None}
