"""Publication des couches importées et de leurs fiches ``sources.json`` : tout ou rien, même après un ``kill -9``.

Ordre d'une publication (:func:`publier_couches`) :

1. chaque couche, puis le nouveau ``sources.json`` (fiches avec l'``empreinte`` SHA-256 du fichier de la couche),
   sont écrits à part sous ``.provisoire-<nom>`` et forcés sur le disque ;
2. le manifeste ``.publication.json`` (liste des renommages) est posé d'un coup (renommage atomique) : dès
   lors la publication est décidée ;
3. chaque fichier provisoire est renommé à sa place (couches d'abord, ``sources.json`` en dernier), puis le
   manifeste est retiré.

Un arrêt brutal avant l'étape 2 laisse les anciennes couches et l'ancien ``sources.json`` (plus des fichiers
provisoires, retirés à la publication suivante) ; après l'étape 2, :func:`reprendre_publication` termine les
renommages (appelée au début de chaque import). ``desimper verifier`` signale un manifeste en suspens, un
fichier provisoire orphelin et une couche dont l'empreinte ne correspond pas à sa fiche.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from donnees.erreurs import sur_panne
from donnees.modeles_json import Sources
from donnees.partitions import NOM_MANIFESTE as NOM_MANIFESTE_COUCHE
from donnees.partitions import chemin_manifeste, est_partitionnable, nettoyer_couche, preparer_partitions
from donnees.referentiel import chemin_couche
from donnees.sources import NOM_FICHIER_SOURCES, lire_sources
from donnees.validation import valider_json

try:
    import fcntl
except ImportError:  # pragma: no cover - hors POSIX : pas de verrou entre processus
    fcntl = None

_journal = logging.getLogger(__name__)

MANIFESTE = ".publication.json"
PREFIXE_PROVISOIRE = ".provisoire-"
VERROU = ".publication.verrou"
# Fichiers temporaires laissés par une écriture interrompue : ceux d'une publication, et ceux de
# donnees.referentiel._remplacer_atomiquement (« .<nom>-<8 caractères de mkstemp>.<extension> »).
MOTIF_TEMPORAIRE = re.compile(rf"^(?:{re.escape(PREFIXE_PROVISOIRE)}.+|\.[a-z_]+-[a-z0-9_]{{8}}\.(?:parquet|json))$")


def empreinte_fichier(chemin: Path) -> str:
    """SHA-256 (hexadécimal) du contenu d'un fichier, lu par blocs de 1 Mo."""
    somme = hashlib.sha256()
    with open(chemin, "rb") as fichier:
        for bloc in iter(lambda: fichier.read(1 << 20), b""):
            somme.update(bloc)
    return somme.hexdigest()


def _forcer_sur_disque(chemin: Path) -> None:
    """fsync d'un fichier ou d'un dossier : un renommage ou un contenu survit à une coupure."""
    descripteur = os.open(chemin, os.O_RDONLY)
    try:
        os.fsync(descripteur)
    finally:
        os.close(descripteur)


@contextmanager
def _verrouiller(dossier: Path):
    """Une publication à la fois par dossier de données (verrou ``flock`` relâché même après ``kill -9``)."""
    if fcntl is None:
        yield
        return
    with open(dossier / VERROU, "a") as verrou:
        fcntl.flock(verrou, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(verrou, fcntl.LOCK_UN)


def lister_temporaires(dossier: Path) -> list[str]:
    """Noms des fichiers temporaires (orphelins si aucune écriture n'est en cours) du dossier de données."""
    if not dossier.is_dir():
        return []
    return sorted(p.name for p in dossier.iterdir() if p.is_file() and MOTIF_TEMPORAIRE.match(p.name))


def _appliquer_manifeste(dossier: Path) -> list[str]:
    """Termine les renommages du manifeste (s'il existe), puis le retire ; renvoie les fichiers publiés."""
    manifeste = dossier / MANIFESTE
    if not manifeste.exists():
        return []
    renommages = json.loads(manifeste.read_text(encoding="utf-8"))["renommages"]
    for provisoire, final in renommages:
        if (dossier / provisoire).exists():  # sinon : déjà renommé avant l'arrêt
            os.replace(dossier / provisoire, dossier / final)
    _forcer_sur_disque(dossier)
    manifeste.unlink()
    _forcer_sur_disque(dossier)
    return [final for _, final in renommages]


def reprendre_publication(dossier: Path) -> list[str]:
    """Termine une publication interrompue après sa décision (manifeste présent) et retire les fichiers
    provisoires orphelins d'une publication interrompue avant ; renvoie les fichiers publiés par la reprise."""
    dossier = Path(dossier)
    if not dossier.is_dir():
        return []
    with sur_panne(f"le dossier de données {dossier}"), _verrouiller(dossier):
        return _reprendre(dossier)


def _reprendre(dossier: Path) -> list[str]:
    publies = _appliquer_manifeste(dossier)
    if publies:
        _journal.warning("Publication interrompue terminée dans %s : %s", dossier, ", ".join(publies))
    for nom in lister_temporaires(dossier):
        if nom.startswith(PREFIXE_PROVISOIRE):
            (dossier / nom).unlink(missing_ok=True)
            _journal.warning("Fichier provisoire orphelin retiré : %s", dossier / nom)
    return publies


def publier_couches(dossier: Path, tables: dict[str, pd.DataFrame], fiches: dict[str, dict]) -> None:
    """Remplace les couches ``tables`` (déjà validées) et leurs fiches de ``sources.json`` ensemble, tout ou rien
    (voir le module) ; chaque fiche reçoit l'``empreinte`` SHA-256 du fichier de sa couche. Une panne (disque
    plein, dossier en lecture seule) lève :class:`~donnees.erreurs.ErreurPanne` et laisse l'état précédent."""
    dossier = Path(dossier)
    with sur_panne(f"le dossier de données {dossier}"), _verrouiller(dossier):
        _reprendre(dossier)
        renommages: list[tuple[str, str]] = []
        try:
            for nom, table in tables.items():
                provisoire, final = _preparer_couche(dossier, nom, table)
                renommages.append((provisoire.name, final))
                fiches[nom] = {**fiches[nom], "empreinte": empreinte_fichier(provisoire)}
            contenu = {**lire_sources(dossier), **fiches}
            valider_json(Sources, contenu, f"des sources ({dossier / NOM_FICHIER_SOURCES})", "sources")
            renommages.append((f"{PREFIXE_PROVISOIRE}{NOM_FICHIER_SOURCES}", NOM_FICHIER_SOURCES))
            _ecrire_force(dossier / renommages[-1][0], json.dumps(contenu, ensure_ascii=False, indent=2))
            _ecrire_force(dossier / f"{PREFIXE_PROVISOIRE}{MANIFESTE}",
                          json.dumps({"renommages": renommages}, ensure_ascii=False))
            os.replace(dossier / f"{PREFIXE_PROVISOIRE}{MANIFESTE}", dossier / MANIFESTE)  # la décision
        except BaseException:
            for provisoire, _ in renommages + [(f"{PREFIXE_PROVISOIRE}{MANIFESTE}", "")]:
                (dossier / provisoire).unlink(missing_ok=True)
            raise
        _forcer_sur_disque(dossier)
        _appliquer_manifeste(dossier)
        for nom in tables:
            if est_partitionnable(nom):
                nettoyer_couche(nom, dossier)


def _preparer_couche(dossier: Path, nom: str, table: pd.DataFrame) -> tuple[Path, str]:
    """Écrit la couche à part : fichier provisoire, ou, pour une couche rangée par commune, ses partitions (de
    noms neufs, invisibles tant que le manifeste ne les nomme pas) et son manifeste provisoire. Renvoie le
    provisoire et sa place finale (relative au dossier) ; le manifeste publié est la signature de la couche."""
    if est_partitionnable(nom):
        manifeste = preparer_partitions(nom, table, dossier)
        provisoire = dossier / f"{PREFIXE_PROVISOIRE}{nom}{NOM_MANIFESTE_COUCHE}"
        _ecrire_force(provisoire, json.dumps(manifeste, ensure_ascii=False, indent=1))
        return provisoire, chemin_manifeste(nom, dossier).relative_to(dossier).as_posix()
    final = f"{nom}.parquet"
    provisoire = dossier / f"{PREFIXE_PROVISOIRE}{final}"
    table.to_parquet(provisoire, index=False)
    os.chmod(provisoire, 0o644)
    _forcer_sur_disque(provisoire)
    return provisoire, final


def _ecrire_force(chemin: Path, texte: str) -> None:
    chemin.write_text(texte, encoding="utf-8")
    os.chmod(chemin, 0o644)
    _forcer_sur_disque(chemin)


def comparer_empreintes(dossier: Path, sources: dict[str, dict]) -> list[str]:
    """Couches présentes dont le fichier ne correspond plus à l'``empreinte`` de leur fiche (import interrompu,
    fichier remplacé à la main) ; les fiches sans empreinte (démonstration, anciens imports) sont passées."""
    ecarts = []
    for nom, fiche in sources.items():
        attendue = fiche.get("empreinte")
        chemin = chemin_couche(nom, dossier)
        if attendue and chemin.exists() and empreinte_fichier(chemin) != attendue:
            ecarts.append(nom)
    return ecarts
