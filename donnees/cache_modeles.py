"""Cache disque des modèles sur grille : ``<dossier de données>/cache/<type>_<clé>.npz``.

Signatures de fichiers (nom, taille, date de modification) et empreintes pour les clés, écriture atomique
des archives NumPy (tableaux, ou tables pandas colonne par colonne), relecture tolérante (archive absente ou
abîmée → ``None``), purge des plus anciennes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

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


SEUIL_PROJECTION_OCTETS = 1 << 20  # tableaux plus gros : projetés en mémoire (memmap) au lieu d'être lus


def lire_npz(chemin: Path, projeter: bool = False) -> dict[str, np.ndarray] | None:
    """Tableaux d'une archive du cache, ou ``None`` si elle est absente ou illisible (elle sera recalculée).

    ``projeter`` : les gros tableaux (plus de ``SEUIL_PROJECTION_OCTETS``) sont ouverts en lecture seule
    (``memmap``) dans l'archive au lieu d'être lus : le premier affichage ne lit pas les grilles T_air (des
    centaines de Mo) dont il n'a pas besoin ; le système les charge à la demande."""
    chemin = Path(chemin)
    if not chemin.exists():
        return None
    try:
        with np.load(chemin, allow_pickle=False) as archive:
            if not projeter:
                return {nom: archive[nom] for nom in archive.files}
            projetes = _projeter_membres(chemin)
            return {nom: projetes[nom] if nom in projetes else archive[nom] for nom in archive.files}
    except (OSError, ValueError, KeyError, struct.error, zipfile.BadZipFile) as exc:
        journal.warning("Cache %s illisible, recalculé : %s", chemin.name, exc)
        return None


def _projeter_membres(chemin: Path) -> dict[str, np.ndarray]:
    """Gros membres non compressés d'une archive ``np.savez`` ouverts en ``memmap`` (lecture seule) : position
    des données = en-tête local ZIP (30 octets + nom + champ extra), puis en-tête ``.npy``."""
    projetes = {}
    with zipfile.ZipFile(chemin) as archive, open(chemin, "rb") as flux:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED or info.file_size < SEUIL_PROJECTION_OCTETS:
                continue
            flux.seek(info.header_offset)
            entete = flux.read(30)
            if entete[:4] != b"PK\x03\x04":
                raise ValueError(f"en-tête ZIP inattendu pour {info.filename}")
            longueur_nom, longueur_extra = struct.unpack("<HH", entete[26:30])
            flux.seek(info.header_offset + 30 + longueur_nom + longueur_extra)
            version = np.lib.format.read_magic(flux)
            lire_entete = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            forme, fortran, type_ = lire_entete(flux)
            if type_.hasobject:
                continue
            projetes[info.filename.removesuffix(".npy")] = np.memmap(
                chemin, dtype=type_, mode="r", offset=flux.tell(), shape=forme, order="F" if fortran else "C")
    return projetes


SEPARATEUR_TABLE = "__"  # noms des tableaux d'une table : ``<table>__colonnes``, ``<table>__0``…


def table_en_tableaux(nom: str, table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Table pandas en tableaux NumPy (une colonne par tableau, types gardés) pour :func:`ecrire_npz`.

    Index par défaut (0..n−1) ou index nommés ; colonnes numériques, booléennes ou de textes (``object``).
    ``TypeError`` sinon (la table n'est alors pas gardée)."""
    index_defaut = table.index.equals(pd.RangeIndex(len(table)))
    if not index_defaut and any(n is None for n in table.index.names):
        raise TypeError("index sans nom : table non gardée")
    noms_index = [] if index_defaut else list(table.index.names)
    # niveaux d'index pris tels quels (``reset_index`` changerait un index de textes ``object`` en ``str``)
    colonnes = [(n, table.index.get_level_values(i)) for i, n in enumerate(noms_index)]
    colonnes += [(c, table[c]) for c in table.columns]
    tableaux = {f"{nom}{SEPARATEUR_TABLE}colonnes": np.array([str(c) for c, _ in colonnes], dtype=str),
                f"{nom}{SEPARATEUR_TABLE}types": np.array([str(v.dtype) for _, v in colonnes], dtype=str),
                f"{nom}{SEPARATEUR_TABLE}index": np.array(noms_index, dtype=str)}
    for numero, (colonne, serie) in enumerate(colonnes):
        if serie.dtype == object or pd.api.types.is_string_dtype(serie.dtype):
            if not all(isinstance(v, str) for v in serie):
                raise TypeError(f"colonne {colonne} : textes attendus")
            valeurs = np.array(list(serie), dtype=str)
        elif serie.dtype.kind in "biuf":
            valeurs = serie.to_numpy()
        else:
            raise TypeError(f"colonne {colonne} : type {serie.dtype} non gardé")
        tableaux[f"{nom}{SEPARATEUR_TABLE}{numero}"] = valeurs
    return tableaux


def table_depuis_tableaux(nom: str, tableaux: dict[str, np.ndarray]) -> pd.DataFrame:
    """Inverse de :func:`table_en_tableaux` (``KeyError`` ou ``ValueError`` si l'archive est incomplète)."""
    colonnes = tableaux[f"{nom}{SEPARATEUR_TABLE}colonnes"].tolist()
    types = tableaux[f"{nom}{SEPARATEUR_TABLE}types"].tolist()
    if len(types) != len(colonnes):
        raise ValueError(f"table {nom} : types et colonnes en nombres différents")
    donnees = {}
    for numero, (colonne, type_colonne) in enumerate(zip(colonnes, types, strict=True)):
        valeurs = tableaux[f"{nom}{SEPARATEUR_TABLE}{numero}"]
        if type_colonne == "object":
            donnees[colonne] = pd.Series(valeurs.tolist(), dtype=object)  # sans inférer un type texte
        elif valeurs.dtype.kind == "U":  # textes d'un type pandas (``str``, ``string``)
            donnees[colonne] = pd.array(valeurs.tolist(), dtype=type_colonne)
        else:
            donnees[colonne] = valeurs.astype(type_colonne, copy=False)
    if len({len(v) for v in donnees.values()}) > 1:
        raise ValueError(f"table {nom} : colonnes de longueurs différentes")
    table = pd.DataFrame(donnees, columns=colonnes)
    noms_index = tableaux[f"{nom}{SEPARATEUR_TABLE}index"].tolist()
    return table.set_index(noms_index) if noms_index else table


def ecrire_tables_npz(chemin: Path, prefixe: str, **tables: pd.DataFrame) -> bool:
    """Écrit des tables pandas dans une archive du cache (atomiquement) puis purge les anciennes archives
    ``<prefixe>_*``. Renvoie faux, sans rien écrire, si une table n'est pas gardable ou si le dossier est en
    lecture seule (le calcul reste valable, sans cache)."""
    try:
        tableaux = {}
        for nom, table in tables.items():
            tableaux.update(table_en_tableaux(nom, table))
        ecrire_npz(chemin, **tableaux)
    except (TypeError, OSError) as exc:
        journal.warning("Cache %s non écrit : %s", Path(chemin).name, exc)
        return False
    purger_cache(Path(chemin).parent, prefixe)
    return True


def lire_tables_npz(chemin: Path, *noms: str) -> dict[str, pd.DataFrame] | None:
    """Tables ``noms`` d'une archive du cache, ou ``None`` si elle est absente, illisible ou incomplète (elles
    seront recalculées : jamais utilisées à moitié)."""
    tableaux = lire_npz(chemin)
    if tableaux is None:
        return None
    try:
        return {nom: table_depuis_tableaux(nom, tableaux) for nom in noms}
    except (KeyError, ValueError, TypeError) as exc:
        journal.warning("Cache %s incomplet, recalculé : %s", Path(chemin).name, exc)
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
