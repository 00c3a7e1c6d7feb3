"""Couches partitionnées par commune : GeoParquet en disposition « hive », sous un manifeste.

Disposition : ``<dossier>/<couche>/code_insee=34301/part-<génération>.parquet`` (une partition par commune,
chaque fichier avec sa colonne ``bbox`` GeoParquet 1.1 pour le filtre par emprise) et
``<dossier>/<couche>/_manifeste.json`` qui dit quelles partitions sont valides : pour chacune son fichier,
son nombre de lignes, sa taille, son empreinte SHA-256 et son emprise WGS84.

**Le manifeste est écrit en dernier**, par renommage atomique : un lecteur ne lit que les fichiers qu'il
nomme, si bien qu'une écriture interrompue (exception, ``kill -9``) laisse l'ancienne couche lisible ; les
fichiers orphelins (écrits mais jamais nommés) sont retirés à l'écriture suivante. Chaque écriture pose des
fichiers de nom neuf (génération aléatoire) : un lecteur qui tient l'ancien manifeste lit encore des fichiers
complets, retirés seulement après la pose du nouveau manifeste.

La validation complète du schéma (:func:`donnees.schemas.valider_couche`) a lieu à l'écriture ; la lecture ne
fait qu'un contrôle léger : version du manifeste, colonnes du schéma, taille et nombre de lignes de chaque
fichier lu (l'empreinte SHA-256 complète est vérifiée par ``desimper verifier``, :func:`verifier_empreintes`).
Une partition manquante ou illisible est signalée par commune, les autres restent lisibles.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_STOCKAGE
from donnees.schemas import SCHEMAS, table_vide, valider_couche

try:
    import fcntl
except ImportError:  # pragma: no cover - hors POSIX : pas de verrou entre processus
    fcntl = None

_journal = logging.getLogger(__name__)

VERSION_MANIFESTE = 1
NOM_MANIFESTE = "_manifeste.json"
CLE_HIVE = "code_insee"
VERROU = ".verrou"
# Couches partitionnées par commune et la colonne qui porte le code INSEE de la commune. Les petites couches
# (communes, objectifs…) restent en un seul fichier : elles se lisent toujours entières.
COLONNES_PARTITION = {"parcelles": "commune", "occupation": "code_insee", "batiments": "commune"}


class ErreurPartitions(ErreurDonnees):
    """Partitions manquantes ou illisibles : ``communes`` les nomme (codes INSEE)."""

    def __init__(self, message: str, couche: str, communes: list[str]):
        super().__init__(message, couche, "code_insee", communes)
        self.communes = list(communes)


def est_partitionnable(nom: str) -> bool:
    """Vrai si la couche ``nom`` se range par commune (:data:`COLONNES_PARTITION`)."""
    return nom in COLONNES_PARTITION


def dossier_couche(nom: str, dossier: Path) -> Path:
    """Dossier d'une couche partitionnée : ``<dossier>/<nom>``."""
    return Path(dossier) / nom


def chemin_manifeste(nom: str, dossier: Path) -> Path:
    """Manifeste d'une couche partitionnée : ``<dossier>/<nom>/_manifeste.json`` (sa signature)."""
    return dossier_couche(nom, dossier) / NOM_MANIFESTE


def est_partitionnee(nom: str, dossier: Path) -> bool:
    """Vrai si la couche est rangée par commune (son manifeste existe ; il prime sur un ancien ``nom.parquet``)."""
    return chemin_manifeste(nom, dossier).is_file()


def _empreinte(chemin: Path) -> str:
    somme = hashlib.sha256()
    with open(chemin, "rb") as fichier:
        for bloc in iter(lambda: fichier.read(1 << 20), b""):
            somme.update(bloc)
    return somme.hexdigest()


def _forcer_sur_disque(chemin: Path) -> None:
    descripteur = os.open(chemin, os.O_RDONLY)
    try:
        os.fsync(descripteur)
    finally:
        os.close(descripteur)


@contextmanager
def verrouiller_couche(nom: str, dossier: Path):
    """Une écriture à la fois par couche (verrou ``flock`` sur ``<couche>/.verrou``, relâché même après ``kill -9``)."""
    racine = dossier_couche(nom, dossier)
    racine.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    with open(racine / VERROU, "a") as verrou:
        fcntl.flock(verrou, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(verrou, fcntl.LOCK_UN)


def lire_manifeste(nom: str, dossier: Path) -> dict:
    """Manifeste d'une couche partitionnée ; :class:`ErreurDonnees` s'il est illisible ou d'une autre version."""
    chemin = chemin_manifeste(nom, dossier)
    try:
        manifeste = json.loads(chemin.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ErreurDonnees(f"Manifeste de la couche « {nom} » illisible ({chemin}) : {exc}. Réécrivez la couche "
                            "(`desimper demo` ou un nouvel import).", nom) from None
    if not isinstance(manifeste, dict) or manifeste.get("version") != VERSION_MANIFESTE:
        version = manifeste.get("version") if isinstance(manifeste, dict) else None
        raise ErreurDonnees(f"Manifeste de la couche « {nom} » ({chemin}) en version {version!r}, attendu "
                            f"{VERSION_MANIFESTE} : réécrivez la couche (`desimper demo` ou un nouvel import).", nom)
    return manifeste


def _ecrire_manifeste(chemin: Path, manifeste: dict) -> None:
    """Pose le manifeste d'un coup (fichier caché puis renommage) : c'est l'instant où l'écriture est décidée."""
    temporaire = chemin.parent / f".{NOM_MANIFESTE}.{secrets.token_hex(4)}"
    try:
        temporaire.write_text(json.dumps(manifeste, ensure_ascii=False, indent=1), encoding="utf-8")
        os.chmod(temporaire, 0o644)
        _forcer_sur_disque(temporaire)
        os.replace(temporaire, chemin)
        _forcer_sur_disque(chemin.parent)
    except BaseException:
        temporaire.unlink(missing_ok=True)
        raise


def _verifier_commune(nom: str, code: str, table: pd.DataFrame) -> None:
    colonne = COLONNES_PARTITION[nom]
    autres = table.index[table[colonne].astype(str).ne(code).to_numpy()]
    if len(autres):
        raise ErreurDonnees(f"Couche « {SCHEMAS[nom].libelle} » ({nom}), partition {code} : {len(autres)} ligne(s) "
                            f"d'une autre commune dans la colonne « {colonne} » (lignes "
                            f"{', '.join(map(str, list(autres)[:5]))}). Une partition ne porte que les lignes de sa "
                            "commune : écrivez chaque commune dans sa partition.", nom, colonne, list(autres)[:5])


def _poser_fichier(nom: str, code: str, table: pd.DataFrame, dossier: Path, generation: str) -> dict:
    """Écrit le fichier d'une partition (nom neuf, non encore référencé) ; renvoie son entrée de manifeste."""
    relatif = f"{CLE_HIVE}={code}/part-{generation}.parquet"
    chemin = dossier_couche(nom, dossier) / relatif
    chemin.parent.mkdir(parents=True, exist_ok=True)
    temporaire = chemin.parent / f".{chemin.name}.{secrets.token_hex(4)}"
    try:
        if isinstance(table, gpd.GeoDataFrame):
            table.to_parquet(temporaire, index=False, write_covering_bbox=True)
        else:
            table.to_parquet(temporaire, index=False)
        os.chmod(temporaire, 0o644)
        _forcer_sur_disque(temporaire)
        os.replace(temporaire, chemin)
    except BaseException:
        temporaire.unlink(missing_ok=True)
        raise
    emprise = None
    if isinstance(table, gpd.GeoDataFrame) and len(table):
        emprise = [float(v) for v in shapely.total_bounds(table.geometry.values)]
    return {"fichier": relatif, "lignes": int(len(table)), "octets": chemin.stat().st_size,
            "empreinte": _empreinte(chemin), "emprise": emprise}


def _nouveau_manifeste(nom: str, table: pd.DataFrame) -> dict:
    return {"version": VERSION_MANIFESTE, "couche": nom, "colonne_partition": COLONNES_PARTITION[nom],
            "colonnes": [str(c) for c in table.columns], "crs": CRS_STOCKAGE,
            "ecrit_le": datetime.now(timezone.utc).replace(microsecond=0).isoformat(), "partitions": {}}


def preparer_partitions(nom: str, table: pd.DataFrame, dossier: Path) -> dict:
    """Écrit toutes les partitions d'une table **déjà validée** sous des noms neufs et renvoie le manifeste à
    poser (rien n'est encore visible). Ordre des partitions : celui de la première ligne de chaque commune."""
    colonne = COLONNES_PARTITION[nom]
    generation = secrets.token_hex(6)
    manifeste = _nouveau_manifeste(nom, table)
    codes = table[colonne].astype(str)
    for code, morceau in table.groupby(codes.to_numpy(), sort=False):
        manifeste["partitions"][str(code)] = _poser_fichier(nom, str(code), morceau.reset_index(drop=True),
                                                            dossier, generation)
    return manifeste


def nettoyer_couche(nom: str, dossier: Path, manifeste: dict | None = None) -> None:
    """Retire les fichiers de la couche que le manifeste ne nomme pas (écritures interrompues, anciennes
    générations), les dossiers de partition vides et l'ancien fichier unique ``nom.parquet``."""
    racine = dossier_couche(nom, dossier)
    manifeste = manifeste if manifeste is not None else lire_manifeste(nom, dossier)
    gardes = {e["fichier"] for e in manifeste["partitions"].values() if e.get("fichier")}
    for sous in sorted(racine.glob(f"{CLE_HIVE}=*")):
        for fichier in sous.iterdir():
            if f"{sous.name}/{fichier.name}" not in gardes:
                fichier.unlink(missing_ok=True)
        if not any(sous.iterdir()):
            sous.rmdir()
    (Path(dossier) / f"{nom}.parquet").unlink(missing_ok=True)


def ecrire_couche_partitionnee(nom: str, table: pd.DataFrame, dossier: Path, valider: bool = True) -> Path:
    """Valide puis écrit une couche entière, une partition par commune ; remplace l'ancienne d'un coup (pose du
    manifeste). Renvoie le chemin du manifeste."""
    if valider:
        table = valider_couche(nom, table)
    with verrouiller_couche(nom, dossier):
        manifeste = preparer_partitions(nom, table, dossier)
        _ecrire_manifeste(chemin_manifeste(nom, dossier), manifeste)
        nettoyer_couche(nom, dossier, manifeste)
    return chemin_manifeste(nom, dossier)


def ecrire_partition(nom: str, code_insee: str, table: pd.DataFrame, dossier: Path,
                     valider: bool = True) -> Path:
    """Écrit ou remplace la partition d'UNE commune (les autres restent) ; une table vide note la commune sans
    ligne. Toutes les lignes doivent être de la commune. Renvoie le chemin du manifeste."""
    _verifier_commune(nom, str(code_insee), table)
    return ecrire_partitions(nom, table, dossier, communes=[str(code_insee)], valider=valider)


def ecrire_partitions(nom: str, table: pd.DataFrame, dossier: Path, communes=None, valider: bool = True) -> Path:
    """Écrit ou remplace les partitions des communes de ``table`` (et des ``communes`` données, vides si elles
    n'ont aucune ligne), en une seule pose du manifeste ; les autres partitions restent. L'ancien format
    (``nom.parquet``) est d'abord converti. Renvoie le chemin du manifeste."""
    if valider and len(table):
        table = valider_couche(nom, table)
    if not est_partitionnee(nom, dossier) and (Path(dossier) / f"{nom}.parquet").exists():
        partitionner_couche(nom, dossier)
    codes = table[COLONNES_PARTITION[nom]].astype(str).to_numpy()
    with verrouiller_couche(nom, dossier):
        manifeste = lire_manifeste(nom, dossier) if est_partitionnee(nom, dossier) else _nouveau_manifeste(nom, table)
        generation, anciennes = secrets.token_hex(6), []
        for code, morceau in table.groupby(codes, sort=False):
            anciennes.append(manifeste["partitions"].get(str(code)))
            manifeste["partitions"][str(code)] = _poser_fichier(nom, str(code), morceau.reset_index(drop=True),
                                                                dossier, generation)
        presents = set(codes.tolist())
        for code in [str(c) for c in ([] if communes is None else communes) if str(c) not in presents]:
            anciennes.append(manifeste["partitions"].get(code))
            manifeste["partitions"][code] = {"fichier": None, "lignes": 0, "octets": 0, "empreinte": None,
                                             "emprise": None}
        manifeste["ecrit_le"] = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        _ecrire_manifeste(chemin_manifeste(nom, dossier), manifeste)
        for ancienne in anciennes:
            if ancienne and ancienne.get("fichier"):
                (dossier_couche(nom, dossier) / ancienne["fichier"]).unlink(missing_ok=True)
    return chemin_manifeste(nom, dossier)


def partitionner_couche(nom: str, dossier: Path) -> Path:
    """Convertit l'ancien fichier unique ``nom.parquet`` en couche partitionnée (validée une dernière fois),
    puis retire l'ancien fichier. Renvoie le chemin du manifeste."""
    ancien = Path(dossier) / f"{nom}.parquet"
    try:
        table = gpd.read_parquet(ancien)
    except Exception as exc:  # fichier tronqué, pas du Parquet : toute erreur du lecteur
        _journal.warning("Couche %s illisible (%s)", nom, ancien, exc_info=True)
        raise ErreurDonnees(f"Couche « {nom} » illisible ({ancien.name}) : {exc}. Réimportez-la.", nom) from None
    return ecrire_couche_partitionnee(nom, table, dossier)


def retirer_couche_partitionnee(nom: str, dossier: Path) -> None:
    """Efface le dossier d'une couche partitionnée (s'il existe)."""
    shutil.rmtree(dossier_couche(nom, dossier), ignore_errors=True)


# ---------------------------------------------------------------------------------------------- lecture


def _intersecte(boite: list | None, emprise: tuple | None) -> bool:
    if emprise is None:
        return True
    if boite is None:
        return False
    return not (boite[2] < emprise[0] or boite[0] > emprise[2] or boite[3] < emprise[1] or boite[1] > emprise[3])


def selectionner_partitions(manifeste: dict, communes=None,
                            emprise: tuple | None = None) -> tuple[list[tuple[str, dict]], list[str]]:
    """Partitions utiles (dans l'ordre du manifeste) : celles des ``communes`` (toutes si ``None``) dont
    l'emprise touche ``emprise`` (lon min, lat min, lon max, lat max) ; et les communes demandées absentes."""
    partitions = manifeste["partitions"]
    demandees = None if communes is None else list(dict.fromkeys(str(c) for c in communes))
    absentes = [] if demandees is None else [c for c in demandees if c not in partitions]
    gardees = set(demandees) if demandees is not None else None
    retenues = [(code, entree) for code, entree in partitions.items()
                if (gardees is None or code in gardees) and entree.get("fichier")
                and _intersecte(entree.get("emprise"), emprise)]
    return retenues, absentes


def _controler_colonnes(nom: str, manifeste: dict, colonnes: list[str] | None) -> None:
    presentes = set(manifeste.get("colonnes", []))
    attendues = list(SCHEMAS[nom].colonnes.columns) + (["geometry"] if SCHEMAS[nom].geographique else [])
    manquantes = [c for c in attendues + list(colonnes or []) if c not in presentes]
    if manquantes:
        raise ErreurDonnees(f"Couche « {SCHEMAS[nom].libelle} » ({nom}) : colonne « {manquantes[0]} » absente du "
                            f"manifeste (colonnes : {', '.join(sorted(presentes))}). Réécrivez la couche.",
                            nom, manquantes[0])


def _filtre_emprise(emprise: tuple):
    """Filtre pyarrow sur la colonne ``bbox`` (GeoParquet 1.1) : boîtes qui touchent ``emprise``."""
    xmin, ymin, xmax, ymax = emprise
    return ((pc.field("bbox", "xmax") >= xmin) & (pc.field("bbox", "xmin") <= xmax)
            & (pc.field("bbox", "ymax") >= ymin) & (pc.field("bbox", "ymin") <= ymax))


def _lire_fichier(chemin: Path, entree: dict, colonnes: list[str] | None, emprise: tuple | None) -> pa.Table:
    """Table Arrow d'un fichier de partition après un contrôle léger (taille, lignes) ; OSError/ValueError
    s'il est abîmé. Avec ``emprise``, seules les lignes dont la boîte touche l'emprise sont lues."""
    if chemin.stat().st_size != entree["octets"]:
        raise ValueError(f"taille {chemin.stat().st_size} octets, le manifeste en annonce {entree['octets']}")
    try:
        table = pq.read_table(chemin, columns=colonnes, filters=None if emprise is None else _filtre_emprise(emprise))
    except pa.ArrowException as exc:  # ArrowInvalid, ArrowIOError… : fichier abîmé
        raise ValueError(str(exc)) from None
    if emprise is None and table.num_rows != entree["lignes"]:
        raise ValueError(f"{table.num_rows} lignes, le manifeste en annonce {entree['lignes']}")
    return table


def _vers_pandas(table: pa.Table) -> pd.DataFrame:
    """DataFrame (GeoDataFrame WGS84 si la table a sa colonne ``geometry`` en WKB) d'une table Arrow lue :
    le système de coordonnées est celui du manifeste, sans le relire dans chaque fichier."""
    if "geometry" not in table.column_names:
        return table.to_pandas()
    geometries = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    attributs = table.drop_columns(["geometry"]).to_pandas()
    resultat = gpd.GeoDataFrame(attributs, geometry=gpd.GeoSeries(geometries, crs=CRS_STOCKAGE), crs=CRS_STOCKAGE)
    return resultat[table.column_names]


def lire_couche_partitionnee(nom: str, dossier: Path, communes=None, emprise: tuple | None = None,
                             colonnes: list[str] | None = None, manquantes: list | None = None) -> pd.DataFrame:
    """Lit les seules partitions utiles d'une couche partitionnée (voir :func:`selectionner_partitions`) et,
    avec ``emprise``, les seules lignes dont la boîte touche l'emprise (colonne ``bbox`` GeoParquet).

    Une commune demandée sans partition, ou dont le fichier manque ou est illisible, est signalée : ajoutée à
    la liste ``manquantes`` si elle est fournie (les autres communes sont rendues), sinon
    :class:`ErreurPartitions` qui la nomme. Contrôle léger seulement (voir le module).
    """
    manifeste = lire_manifeste(nom, dossier)
    _controler_colonnes(nom, manifeste, colonnes)
    retenues, absentes = selectionner_partitions(manifeste, communes, emprise)
    lues = None if colonnes is None else list(colonnes)
    if lues is None:
        lues = [c for c in manifeste["colonnes"] if c != "bbox"]
    morceaux, illisibles = [], []
    for code, entree in retenues:
        chemin = dossier_couche(nom, dossier) / entree["fichier"]
        try:
            morceaux.append(_lire_fichier(chemin, entree, lues, emprise))
        except (OSError, ValueError) as exc:  # fichier absent, tronqué ou remplacé : la commune est signalée
            _journal.warning("Partition %s de la couche %s illisible (%s) : %s", code, nom, chemin, exc)
            illisibles.append(code)
    fautives = absentes + illisibles
    if fautives and manquantes is None:
        raise ErreurPartitions(
            f"Couche « {SCHEMAS[nom].libelle} » ({nom}) : partition absente ou illisible pour "
            f"{len(fautives)} commune(s) : {', '.join(fautives[:10])}{' …' if len(fautives) > 10 else ''}. "
            "Les autres communes sont lisibles ; réimportez ces communes ou régénérez la couche.", nom, fautives)
    if manquantes is not None:
        manquantes.extend(fautives)
    if not morceaux:
        vide = table_vide(nom)
        return vide if colonnes is None else vide[[c for c in colonnes]]
    # Types unifiés entre partitions (une colonne toute vide dans une commune est lue de type « null »).
    return _vers_pandas(pa.concat_tables(morceaux, promote_options="permissive") if len(morceaux) > 1 else morceaux[0])


def verifier_empreintes(nom: str, dossier: Path) -> list[str]:
    """Communes dont le fichier de partition manque ou ne correspond plus à l'empreinte SHA-256 du manifeste
    (contrôle complet, pour ``desimper verifier``)."""
    manifeste = lire_manifeste(nom, dossier)
    ecarts = []
    for code, entree in manifeste["partitions"].items():
        if not entree.get("fichier"):
            continue
        chemin = dossier_couche(nom, dossier) / entree["fichier"]
        if not chemin.is_file() or _empreinte(chemin) != entree["empreinte"]:
            ecarts.append(code)
    return ecarts


def lister_communes(nom: str, dossier: Path) -> list[str]:
    """Codes INSEE des partitions d'une couche partitionnée (ordre du manifeste)."""
    return list(lire_manifeste(nom, dossier)["partitions"])
