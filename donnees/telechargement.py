"""Téléchargement des données ouvertes : essais répétés, cache, contrôles de taille et de gzip.

- Nouvel essai, avec une attente qui double à chaque fois, sur erreur serveur (5xx, 408, 429), délai
  dépassé, connexion impossible ou fichier incomplet ; pas sur une erreur 404 ou 4xx.
- Cache : chaque adresse est gardée dans ``<dossier de données>/telechargements/`` (clé : empreinte de
  l'adresse) et n'est pas téléchargée deux fois, sauf ``forcer=True``.
- Contrôles : taille reçue = ``Content-Length`` ; un gzip est entièrement décompressé avant d'être
  accepté ; un fichier refusé n'est jamais gardé en cache.
- Réglages par variables d'environnement (tests, réseaux lents) : ``DESIMPER_TELECHARGEMENT_DELAI_S``
  (délai d'attente d'une réponse, 60 s), ``DESIMPER_TELECHARGEMENT_ESSAIS`` (4),
  ``DESIMPER_TELECHARGEMENT_ATTENTE_S`` (première attente entre deux essais, 1 s).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from pathlib import Path

from donnees.erreurs import ErreurDonnees

SOUS_DOSSIER_TELECHARGEMENTS = "telechargements"
AGENT = "desimper/0.1 (import de donnees ouvertes)"
_TAILLE_BLOC = 1 << 16
_STATUTS_A_REESSAYER = {408, 429}


class ErreurTelechargement(ErreurDonnees):
    """Téléchargement impossible : le message dit quel fichier récupérer, où, et comment le passer."""

    def __init__(self, message: str, url: str, raison: str, statut: int | None = None):
        super().__init__(message, "telechargement")
        self.url = url
        self.raison = raison
        self.statut = statut


@dataclass(frozen=True)
class FichierTelecharge:
    """Fichier obtenu : adresse, chemin dans le cache, taille, venu du cache ?, date du serveur."""

    url: str
    chemin: Path
    taille: int
    depuis_cache: bool
    date_serveur: str | None


class _EssaiRate(Exception):
    """Échec d'un essai ; ``reessayer`` dit si un nouvel essai a un sens."""

    def __init__(self, raison: str, reessayer: bool, statut: int | None = None):
        super().__init__(raison)
        self.raison = raison
        self.reessayer = reessayer
        self.statut = statut


def _reglage(nom: str, defaut: float) -> float:
    valeur = os.environ.get(nom, "").strip()
    try:
        return float(valeur) if valeur else defaut
    except ValueError:
        return defaut


def dossier_telechargements(dossier: Path) -> Path:
    """Dossier du cache des téléchargements : ``<dossier de données>/telechargements``."""
    return Path(dossier) / SOUS_DOSSIER_TELECHARGEMENTS


def nom_fichier_url(url: str) -> str:
    """Nom de fichier tiré de l'adresse (dernier segment du chemin), sans caractère gênant."""
    segment = urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or "fichier"
    return re.sub(r"[^A-Za-z0-9._-]", "_", segment)[:100]


def chemin_cache(url: str, dossier_cache: Path) -> Path:
    """Chemin du fichier en cache pour une adresse."""
    empreinte = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return Path(dossier_cache) / f"{empreinte}-{nom_fichier_url(url)}"


def est_gzip(chemin: Path) -> bool:
    """Vrai si le fichier commence par la signature gzip."""
    with open(chemin, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def verifier_gzip(chemin: Path) -> None:
    """Décompresse entièrement le fichier ; lève ``ValueError`` s'il est tronqué ou corrompu."""
    try:
        with gzip.open(chemin, "rb") as f:
            while f.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"gzip tronqué ou corrompu ({exc})") from None


def _date_serveur(entete: str | None) -> str | None:
    if not entete:
        return None
    try:
        return parsedate_to_datetime(entete).date().isoformat()
    except (TypeError, ValueError):
        return None


def _essayer(url: str, temporaire: Path, delai_s: float, progression: bool, gz_attendu: bool) -> str | None:
    """Un essai : écrit le corps dans ``temporaire`` et renvoie la date du serveur ; lève _EssaiRate."""
    requete = urllib.request.Request(url, headers={"User-Agent": AGENT, "Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(requete, timeout=delai_s) as reponse:
            attendu = reponse.headers.get("Content-Length")
            attendu = int(attendu) if attendu and attendu.isdigit() else None
            date = _date_serveur(reponse.headers.get("Last-Modified"))
            recu = 0
            barre = None
            if progression:
                from tqdm import tqdm

                barre = tqdm(total=attendu, unit="o", unit_scale=True, unit_divisor=1024, leave=False,
                             desc=nom_fichier_url(url)[:40], file=sys.stderr)
            try:
                with open(temporaire, "wb") as sortie:
                    while bloc := reponse.read(_TAILLE_BLOC):
                        sortie.write(bloc)
                        recu += len(bloc)
                        if barre is not None:
                            barre.update(len(bloc))
            finally:
                if barre is not None:
                    barre.close()
    except urllib.error.HTTPError as exc:
        reessayer = exc.code >= 500 or exc.code in _STATUTS_A_REESSAYER
        raise _EssaiRate(f"le serveur a répondu {exc.code} ({exc.reason})", reessayer, exc.code) from None
    except (TimeoutError, socket.timeout):
        raise _EssaiRate(f"pas de réponse en {delai_s:g} s (délai dépassé)", True) from None
    except urllib.error.URLError as exc:
        raison = exc.reason
        if isinstance(raison, (TimeoutError, socket.timeout)):
            raise _EssaiRate(f"pas de réponse en {delai_s:g} s (délai dépassé)", True) from None
        raise _EssaiRate(f"serveur injoignable ({raison} ; hors ligne ?)", True) from None
    except (HTTPException, ConnectionError, OSError) as exc:
        raise _EssaiRate(f"connexion interrompue ({type(exc).__name__} : {exc})", True) from None
    if attendu is not None and recu != attendu:
        raise _EssaiRate(f"fichier incomplet : {recu} octets reçus sur {attendu} annoncés", True)
    if recu == 0:
        raise _EssaiRate("réponse vide", True)
    if gz_attendu or est_gzip(temporaire):
        try:
            verifier_gzip(temporaire)
        except ValueError as exc:
            raise _EssaiRate(str(exc), True) from None
    return date


def telecharger_fichier(url: str, dossier_cache: Path, *, forcer: bool = False, delai_s: float | None = None,
                        essais: int | None = None, attente_s: float | None = None, progression: bool = False,
                        conseil: str = "") -> FichierTelecharge:
    """Télécharge ``url`` dans le cache (ou l'y reprend) et renvoie le fichier obtenu.

    ``delai_s`` : délai d'attente d'une réponse ; ``essais`` : nombre d'essais ; ``attente_s`` : première
    attente entre deux essais (doublée à chaque fois) ; par défaut, les variables d'environnement du module.
    ``conseil`` est ajouté au message d'erreur (par exemple la commande ``--depuis`` à lancer).
    Lève :class:`ErreurTelechargement` ; rien n'est gardé en cache après un échec.
    """
    delai_s = delai_s if delai_s is not None else _reglage("DESIMPER_TELECHARGEMENT_DELAI_S", 60.0)
    essais = int(essais if essais is not None else _reglage("DESIMPER_TELECHARGEMENT_ESSAIS", 4))
    attente_s = attente_s if attente_s is not None else _reglage("DESIMPER_TELECHARGEMENT_ATTENTE_S", 1.0)
    dossier_cache = Path(dossier_cache)
    chemin = chemin_cache(url, dossier_cache)
    meta = chemin.with_name(chemin.name + ".json")
    if not forcer and chemin.exists() and meta.exists():
        try:
            infos = json.loads(meta.read_text(encoding="utf-8"))
            if infos.get("url") == url and infos.get("taille") == chemin.stat().st_size:
                return FichierTelecharge(url, chemin, chemin.stat().st_size, True, infos.get("date_serveur"))
        except (OSError, ValueError):
            pass
    dossier_cache.mkdir(parents=True, exist_ok=True)
    gz_attendu = urllib.parse.urlsplit(url).path.endswith(".gz")
    derniere: _EssaiRate | None = None
    for numero in range(max(1, essais)):
        if numero:
            time.sleep(attente_s * 2 ** (numero - 1))
        descripteur, nom_temporaire = tempfile.mkstemp(prefix=".telechargement-", dir=dossier_cache)
        os.close(descripteur)
        temporaire = Path(nom_temporaire)
        try:
            date = _essayer(url, temporaire, delai_s, progression, gz_attendu)
        except _EssaiRate as exc:
            temporaire.unlink(missing_ok=True)
            derniere = exc
            if not exc.reessayer:
                break
            continue
        except BaseException:
            temporaire.unlink(missing_ok=True)
            raise
        meta.unlink(missing_ok=True)
        os.replace(temporaire, chemin)
        taille = chemin.stat().st_size
        meta.write_text(json.dumps({"url": url, "taille": taille, "date_serveur": date,
                                    "telecharge_le": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}),
                        encoding="utf-8")
        return FichierTelecharge(url, chemin, taille, False, date)
    chemin.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)
    assert derniere is not None
    tentatives = f" après {numero + 1} essais" if numero else ""
    message = f"Téléchargement impossible de {url}{tentatives} : {derniere.raison}."
    if conseil:
        message += " " + conseil
    raise ErreurTelechargement(message, url, derniere.raison, derniere.statut)
