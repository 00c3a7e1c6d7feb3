"""Cache disque des modèles sur grille : ``<dossier de données>/cache/<type>_<clé>.npz``.

Signatures de fichiers (nom, taille, date de modification) et empreintes pour les clés, écriture atomique
des archives NumPy, relecture tolérante (archive absente ou abîmée → ``None``), purge des plus anciennes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

SOUS_DOSSIER_CACHE = "cache"
NB_FICHIERS_CACHE = 3  # fichiers de résultats gardés par type (les plus récents)

journal = logging.getLogger(__name__)


def signer_fichiers(*chemins) -> str:
    """Signature (nom, taille, date de modification en ns) de fichiers : change quand l'un d'eux change."""
    morceaux = []
    for chemin in chemins:
        chemin = Path(chemin)
        try:
            etat = chemin.stat()
            morceaux.append(f"{chemin.name}:{etat.st_size}:{etat.st_mtime_ns}")
        except OSError:
            morceaux.append(f"{chemin.name}:absent")
    return "|".join(morceaux)


def calculer_empreinte(*morceaux) -> str:
    """Empreinte courte (20 caractères hexadécimaux) des morceaux donnés : clé d'un fichier du cache."""
    return hashlib.sha256("§".join(map(str, morceaux)).encode("utf-8")).hexdigest()[:20]


def dossier_cache(dossier: Path) -> Path:
    """Dossier des résultats gardés : ``<dossier de données>/cache``."""
    return Path(dossier) / SOUS_DOSSIER_CACHE


def chemin_cache(dossier: Path, prefixe: str, cle: str) -> Path:
    """Fichier du cache d'un résultat : ``<dossier>/cache/<prefixe>_<cle>.npz``."""
    return dossier_cache(dossier) / f"{prefixe}_{cle}.npz"


def purger_cache(dossier: Path, prefixe: str) -> None:
    """Garde les :data:`NB_FICHIERS_CACHE` fichiers ``<prefixe>_*.npz`` les plus récents de ``dossier``."""
    fichiers = sorted(Path(dossier).glob(f"{prefixe}_*.npz"), key=lambda f: f.stat().st_mtime, reverse=True)
    for ancien in fichiers[NB_FICHIERS_CACHE:]:
        ancien.unlink(missing_ok=True)


def ecrire_atomiquement(chemin: Path, ecrire: Callable[[Path], None]) -> None:
    """Écrit un fichier du cache d'un coup : ``ecrire(temporaire)`` dans le même dossier, puis renommage. Un
    lecteur voit l'ancien fichier ou le nouveau, jamais un fichier à moitié écrit ; en cas d'échec (ou de
    processus tué) le temporaire, caché (``.nom-…``), n'est jamais relu."""
    chemin = Path(chemin)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    descripteur, temporaire = tempfile.mkstemp(prefix=f".{chemin.stem}-", suffix=chemin.suffix, dir=chemin.parent)
    os.close(descripteur)
    try:
        ecrire(Path(temporaire))
        os.replace(temporaire, chemin)
    except BaseException:
        Path(temporaire).unlink(missing_ok=True)
        raise


def ecrire_npz(chemin: Path, **tableaux) -> None:
    """Écrit une archive NumPy d'un coup (fichier temporaire puis renommage)."""
    def ecrire(temporaire: Path) -> None:
        with open(temporaire, "wb") as flux:
            np.savez(flux, **tableaux)

    ecrire_atomiquement(chemin, ecrire)


def lire_npz(chemin: Path) -> dict[str, np.ndarray] | None:
    """Tableaux d'une archive du cache, ou ``None`` si elle est absente ou illisible (elle sera recalculée)."""
    chemin = Path(chemin)
    if not chemin.exists():
        return None
    try:
        with np.load(chemin, allow_pickle=False) as archive:
            return {nom: archive[nom] for nom in archive.files}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        journal.warning("Cache %s illisible, recalculé : %s", chemin.name, exc)
        return None


class CibleNpy:
    """Grille ``.npy`` écrite fenêtre par fenêtre (``cible[fenêtre] = bloc``), depuis n'importe quel processus de
    la même machine : seul le chemin voyage (picklable), le fichier est ouvert en ``memmap`` à chaque écriture.

    Le fichier est d'abord un fichier caché ``.<nom>.<pid>.partiel.npy`` ; :meth:`publier` le renomme d'un
    coup (``os.replace``) quand toutes les tuiles sont écrites, :meth:`abandonner` l'efface : une grille à
    moitié écrite n'est jamais visible sous son nom final."""

    def __init__(self, chemin: Path, forme: tuple[int, int], dtype="float32"):
        self.chemin = Path(chemin)
        self.partiel = self.chemin.with_name(f".{self.chemin.stem}.{os.getpid()}.partiel.npy")
        self.forme = tuple(int(n) for n in forme)
        self.dtype = np.dtype(dtype).str

    def creer(self) -> CibleNpy:
        """Crée le fichier partiel (rempli de ``NaN``, écrit par bandes : la grille n'est jamais en mémoire)."""
        self.partiel.parent.mkdir(parents=True, exist_ok=True)
        grille = np.lib.format.open_memmap(self.partiel, mode="w+", dtype=self.dtype, shape=self.forme)
        for debut in range(0, self.forme[0], 1024):
            grille[debut:debut + 1024] = np.nan
        grille.flush()
        del grille
        return self

    def __setitem__(self, fenetre, bloc) -> None:
        grille = np.load(self.partiel, mmap_mode="r+")
        grille[fenetre] = bloc
        grille.flush()
        del grille

    def publier(self) -> Path:
        os.replace(self.partiel, self.chemin)
        return self.chemin

    def abandonner(self) -> None:
        self.partiel.unlink(missing_ok=True)


def lire_npy(chemin: Path, forme: tuple[int, int]) -> np.ndarray | None:
    """Grille ``.npy`` ouverte en lecture seule (``memmap``), ou ``None`` si elle manque ou n'a pas la forme
    attendue (elle sera recalculée)."""
    try:
        grille = np.load(chemin, mmap_mode="r")
    except (OSError, ValueError) as exc:
        journal.warning("Grille %s illisible, recalculée : %s", Path(chemin).name, exc)
        return None
    return grille if grille.shape == tuple(forme) else None
